"""WhatsApp's status webhooks (sent, delivered, read, failed) on the outbox rows they are about.

A status may arrive before the worker has recorded the send it is about, and statuses come out of
order: each is kept, and applied to its row both now and when the send is recorded (`apply`), only
ever moving a row forward (read implies delivered; a failure after delivery changes nothing).

Meta reports some refusals only this way, after accepting the send: a closed window (131047) puts a
session message back in the outbox to go as its template (the code on the row tells the worker so),
an unreachable person (131026) blocks the row and marks the champion unreachable, and the
marketing cap (131049) skips it; any other code fails it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Champion, Delivery, WhatsAppStatus

FAILED = "failed"
READ = "read"
DELIVERED = "delivered"
KEPT = frozenset((DELIVERED, READ, FAILED))  # "sent" says nothing the send's own answer didn't
WINDOW_CLOSED = 131047  # a session message outside the 24-hour window: send its template instead
UNDELIVERABLE = 131026  # the person cannot be reached on WhatsApp
MARKETING_CAP = 131049  # Meta holds back marketing to someone who has had their share


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
    await _one_at_a_time(session, wa_message_ids)
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
            await _failed(session, status)
        await session.delete(status)


async def _one_at_a_time(session: AsyncSession, wa_message_ids: Sequence[str]) -> None:
    """On PostgreSQL, let one transaction at a time apply a message's statuses, until it commits.
    Otherwise a status kept while its send is being recorded is seen by neither: each transaction
    looks for the other's row before the other has committed, and the status is never applied.
    (SQLite has one writer at a time.) Locks are taken in one order, so two never wait on each other."""
    if session.get_bind().dialect.name != "postgresql" or not wa_message_ids:
        return
    keys = sorted(
        {
            int.from_bytes(hashlib.blake2b(wamid.encode(), digest_size=8).digest(), "big", signed=True)
            for wamid in wa_message_ids
        }
    )
    await session.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"), {"keys": keys}
    )


async def _failed(session: AsyncSession, status: WhatsAppStatus) -> None:
    """A send Meta failed after accepting it (only a row still standing as sent, not delivered:
    a repeated webhook must not move a row that is being sent again)."""
    row = (
        Delivery.wa_message_id == status.wa_message_id,
        Delivery.state == "sent",
        Delivery.delivered_at.is_(None),
    )
    error = f"WhatsApp {status.code}"
    if status.code == WINDOW_CLOSED:
        await session.execute(
            update(Delivery)
            .where(*row, Delivery.template.is_(None))
            .values(
                state="pending",
                not_before=status.at,
                claimed_by=None,
                claimed_at=None,
                channel_error=status.code,
                error=error,
            )
        )
    if status.code == UNDELIVERABLE:
        champion_ids = select(Delivery.champion_id).where(*row).scalar_subquery()
        await session.execute(
            update(Champion).where(Champion.id.in_(champion_ids)).values(unreachable_at=status.at)
        )
    state = {UNDELIVERABLE: "blocked", MARKETING_CAP: "skipped"}.get(status.code or 0, "failed")
    await session.execute(
        update(Delivery).where(*row).values(state=state, channel_error=status.code, error=error)
    )


async def prune(session: AsyncSession, before: datetime) -> None:
    """Forget statuses no outbox row took (those of replies to people who wrote) from before then."""
    await session.execute(delete(WhatsAppStatus).where(WhatsAppStatus.at < before))
