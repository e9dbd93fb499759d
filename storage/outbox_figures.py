"""What the outbox holds, per kind: rows in each state, how long the oldest due row has waited, why
rows failed, and which rows may have been received twice. For `champbot outbox`: rows are named by
id, kind and champion id only, never by a name, a Telegram id or what the message says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery
from storage.outbox import BLOCKED, CLAIMED, FAILED, PENDING, SENT, SKIPPED

STATES = (PENDING, CLAIMED, SENT, FAILED, BLOCKED, SKIPPED)  # in the order they are shown
REASONS_SHOWN = 3  # the most common failure reasons shown per kind


@dataclass
class KindFigures:
    """One kind's rows: how many in each state, the oldest due pending row, why rows failed."""

    kind: str
    counts: dict[str, int] = field(default_factory=dict)
    oldest_due: datetime | None = None  # when the longest-waiting pending row fell due
    reasons: list[tuple[str | None, int]] = field(default_factory=list)  # commonest first


@dataclass
class Row:
    """One outbox row as an operator may see it."""

    id: int
    kind: str
    champion_id: int
    attempts: int
    error: str | None


def _of_kind(kind: str | None) -> ColumnElement[bool]:
    """Rows of `kind`, or of every kind."""
    return true() if kind is None else Delivery.kind == kind


async def by_kind(session: AsyncSession, now: datetime, kind: str | None = None) -> list[KindFigures]:
    """Figures for every kind that has rows (or only `kind`), by kind name. A pending row counts
    as waiting from when it fell due (`not_before`: its time, or the end of a hold or a backoff)."""
    figures: dict[str, KindFigures] = {}

    def of(name: str) -> KindFigures:  # a kind first seen by a later query (rows queued meanwhile)
        return figures.setdefault(name, KindFigures(name))

    counts = select(Delivery.kind, Delivery.state, func.count()).where(_of_kind(kind))
    for row_kind, state, count in await session.execute(counts.group_by(Delivery.kind, Delivery.state)):
        of(row_kind).counts[state] = count
    due = select(Delivery.kind, func.min(Delivery.not_before)).where(
        _of_kind(kind), Delivery.state == PENDING, Delivery.not_before <= now
    )
    for row_kind, oldest in await session.execute(due.group_by(Delivery.kind)):
        of(row_kind).oldest_due = oldest
    times = func.count().label("times")
    reasons = select(Delivery.kind, Delivery.error, times).where(_of_kind(kind), Delivery.state == FAILED)
    ordered = reasons.group_by(Delivery.kind, Delivery.error).order_by(times.desc(), Delivery.error)
    for row_kind, error, count in await session.execute(ordered):
        shown = of(row_kind).reasons
        if len(shown) < REASONS_SHOWN:
            shown.append((error, count))
    return [figures[name] for name in sorted(figures)]


async def _rows(session: AsyncSession, chosen: ColumnElement[bool], limit: int) -> tuple[list[Row], int]:
    """The first `limit` rows chosen, oldest first, and how many there are."""
    total = await session.scalar(select(func.count()).select_from(Delivery).where(chosen))
    shown = await session.execute(
        select(Delivery.id, Delivery.kind, Delivery.champion_id, Delivery.attempts, Delivery.error)
        .where(chosen)
        .order_by(Delivery.id)
        .limit(limit)
    )
    return [Row(*row) for row in shown], total or 0


async def failed(session: AsyncSession, kind: str | None = None, limit: int = 100) -> tuple[list[Row], int]:
    """The first `limit` failed rows (or only those of `kind`), oldest first, and how many there are."""
    return await _rows(session, and_(_of_kind(kind), Delivery.state == FAILED), limit)


async def possibly_twice(
    session: AsyncSession, kind: str | None = None, limit: int = 100
) -> tuple[list[Row], int]:
    """The first `limit` rows that were in flight when their worker stopped, so may have been
    received twice (or only those of `kind`), oldest first, and how many there are."""
    return await _rows(session, and_(_of_kind(kind), Delivery.in_flight_at_crash.is_(True)), limit)
