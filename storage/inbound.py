"""WhatsApp messages handled exactly once, though Meta may deliver a webhook more than once, out of
order, or to two workers at the same time.

A worker claims a message id before handling it and marks it handled after; a repeat finds the
claim and is dropped. A claim left unhandled for `STALE` (its worker died mid-way) may be taken
again, so a message is never lost to a crash: it is handled again when Meta repeats it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import InboundMessage

STALE = timedelta(minutes=2)


async def claim(session: AsyncSession, message_id: str, now: datetime) -> bool:
    """Whether this worker is the one to handle the message (False: seen already, or in hand)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    fresh = dialect.insert(InboundMessage).values(id=message_id, received_at=now)
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
    """The message is handled: repeats of it are dropped from now on."""
    await session.execute(
        update(InboundMessage).where(InboundMessage.id == message_id).values(handled_at=now)
    )


async def release(session: AsyncSession, message_id: str) -> None:
    """Give a claim up (handling failed for now): Meta's repeat of the message is handled."""
    await session.execute(delete(InboundMessage).where(InboundMessage.id == message_id))


async def prune(session: AsyncSession, before: datetime) -> None:
    """Forget message ids from before then: Meta stops repeating a delivery after a few days."""
    await session.execute(delete(InboundMessage).where(InboundMessage.received_at < before))
