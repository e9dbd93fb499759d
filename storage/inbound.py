"""WhatsApp messages handled once, though Meta may deliver a webhook more than once, out of order,
or to two workers at the same time.

A worker claims a message id, keeping the message, before it answers Meta; it marks it handled
after, and forgets the message then. A repeat finds the claim and is dropped. A claim left
unhandled for `STALE` (its worker died mid-way) is taken up again (`retake_stale`, or by Meta's
repeat), so a message is never lost to a crash.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import InboundMessage

STALE = timedelta(minutes=2)


async def claim(session: AsyncSession, message_id: str, now: datetime, kept: dict[str, Any]) -> bool:
    """Whether this worker is the one to handle the message, kept until then (False: seen
    already, or in hand)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    fresh = dialect.insert(InboundMessage).values(id=message_id, received_at=now, kept=kept)
    if await rows_changed(session, fresh.on_conflict_do_nothing(index_elements=["id"])):
        return True
    retake = (
        update(InboundMessage)
        .where(
            InboundMessage.id == message_id,
            InboundMessage.handled_at.is_(None),
            InboundMessage.received_at <= now - STALE,
        )
        .values(received_at=now)
    )
    return bool(await rows_changed(session, retake))


async def handled(session: AsyncSession, message_id: str, now: datetime) -> None:
    """The message is handled: repeats of it are dropped from now on, and it is kept no more."""
    done = update(InboundMessage).where(InboundMessage.id == message_id).values(handled_at=now, kept=None)
    await session.execute(done)


async def retake_stale(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """The kept messages left unhandled for `STALE`, claimed again by this worker."""
    stale = (
        update(InboundMessage)
        .where(
            InboundMessage.handled_at.is_(None),
            InboundMessage.received_at <= now - STALE,
            InboundMessage.kept.is_not(None),
        )
        .values(received_at=now)
        .returning(InboundMessage.kept)
    )
    return [kept for kept in (await session.scalars(stale)).all() if kept is not None]


async def prune(session: AsyncSession, before: datetime) -> None:
    """Forget message ids from before then: Meta stops repeating a delivery after a few days."""
    await session.execute(delete(InboundMessage).where(InboundMessage.received_at < before))
