"""WhatsApp's status webhooks (sent, delivered, read, failed) on the outbox rows they are about.

A status may arrive before the worker has recorded the send it is about, and statuses come out of
order: each is kept, and applied to its row both now and when the send is recorded (`apply`), only
ever moving a row forward (read implies delivered; a failure after delivery changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, WhatsAppStatus

FAILED = "failed"
READ = "read"
DELIVERED = "delivered"


@dataclass(frozen=True)
class Status:
    wa_message_id: str
    status: str  # sent, delivered, read, failed
    at: datetime
    code: int | None = None  # a failure's error code


async def keep(session: AsyncSession, statuses: Sequence[Status]) -> None:
    """Store statuses as they came, then apply them to the rows already recorded."""
    if not statuses:
        return
    session.add_all(
        WhatsAppStatus(wa_message_id=s.wa_message_id, status=s.status, at=s.at, code=s.code) for s in statuses
    )
    await session.flush()
    await apply(session, [s.wa_message_id for s in statuses])


async def apply(session: AsyncSession, wa_message_ids: Sequence[str]) -> None:
    """Move these messages' outbox rows on by the statuses kept for them, then forget those."""
    kept = list(
        await session.scalars(select(WhatsAppStatus).where(WhatsAppStatus.wa_message_id.in_(wa_message_ids)))
    )
    recorded = set(
        await session.scalars(
            select(Delivery.wa_message_id).where(Delivery.wa_message_id.in_(wa_message_ids))
        )
    )
    for status in kept:
        if status.wa_message_id not in recorded:
            continue  # its send is not recorded yet: `apply` runs again when it is
        row = Delivery.wa_message_id == status.wa_message_id
        if status.status in (DELIVERED, READ):
            await session.execute(
                update(Delivery)
                .where(row)
                .values(delivered_at=func.coalesce(Delivery.delivered_at, status.at))
            )
        if status.status == READ:
            await session.execute(
                update(Delivery).where(row).values(read_at=func.coalesce(Delivery.read_at, status.at))
            )
        if status.status == FAILED:
            await session.execute(
                update(Delivery)
                .where(row, Delivery.delivered_at.is_(None))
                .values(state="failed", channel_error=status.code, error=f"WhatsApp {status.code}")
            )
        await session.delete(status)


async def prune(session: AsyncSession, before: datetime) -> None:
    """Forget statuses no outbox row took (those of replies to people who wrote) from before then."""
    await session.execute(delete(WhatsAppStatus).where(WhatsAppStatus.at < before))
