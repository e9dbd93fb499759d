"""The live delivery report on a broadcast: which message shows it and whether it is still edited.

The message's chat and id are kept on the broadcast, so whichever process leads after a restart
goes on editing the same message until its figures are final.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Broadcast, Champion


@dataclass
class OpenReport:
    """A report message still to be edited, with its coordinator's language now."""

    broadcast_id: int
    chat_id: int
    message_id: int
    language: str
    started_at: datetime  # when sending began


async def attach(session: AsyncSession, broadcast_id: int, chat_id: int, message_id: int) -> None:
    """Keep the report message's chat and id on the broadcast: it is edited until it is final."""
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .values(report_chat_id=chat_id, report_message_id=message_id)
    )


async def still_open(session: AsyncSession, fallback_language: str = "en") -> list[OpenReport]:
    """Reports not final yet, oldest first. The coordinator is the champion whose Telegram id is the
    report's chat, else whoever created the broadcast; `fallback_language` if neither is there."""
    in_chat = aliased(Champion)
    creator = aliased(Champion)
    rows = await session.execute(
        select(
            Broadcast.id,
            Broadcast.report_chat_id,
            Broadcast.report_message_id,
            func.coalesce(in_chat.language, creator.language),
            func.coalesce(Broadcast.queued_at, Broadcast.created_at),
        )
        .outerjoin(in_chat, in_chat.telegram_id == Broadcast.report_chat_id)
        .outerjoin(creator, creator.id == Broadcast.created_by)
        .where(
            Broadcast.report_chat_id.is_not(None),
            Broadcast.report_message_id.is_not(None),
            Broadcast.report_final_at.is_(None),
        )
        .order_by(Broadcast.id)
    )
    reports = []
    for broadcast_id, chat_id, message_id, language, started_at in rows:
        assert chat_id is not None and message_id is not None  # as the query asked
        language = language or fallback_language
        reports.append(OpenReport(broadcast_id, chat_id, message_id, language, started_at))
    return reports


async def finish(session: AsyncSession, broadcast_ids: Iterable[int], now: datetime) -> None:
    """Mark these reports final: they are not edited again."""
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id.in_(list(broadcast_ids)), Broadcast.report_final_at.is_(None))
        .values(report_final_at=now)
    )
