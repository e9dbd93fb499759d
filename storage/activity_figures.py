"""People reached, from the conversation sessions champions log with /log: the one place these
figures are counted, for /stats, the dashboard, the national export and the impact report.

A session's `people` is the number typed or the lower end of the band chosen, so reach is never
overstated. Counted in SQL over the (created_at) and (area_id, created_at) indexes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ActivityLog

By = Literal["area", "topic", "setting"]
COLUMNS = {"area": ActivityLog.area_id, "topic": ActivityLog.topic, "setting": ActivityLog.setting}


@dataclass(frozen=True)
class Reach:
    """Conversations logged and the people they reached."""

    sessions: int = 0
    people: int = 0


def _between(since: datetime, until: datetime, areas: Sequence[int] | None) -> list[ColumnElement[bool]]:
    """Sessions logged in [since, until), in these areas if given."""
    where = [ActivityLog.created_at >= since, ActivityLog.created_at < until]
    return [*where, ActivityLog.area_id.in_(areas)] if areas is not None else where


async def reach(
    session: AsyncSession, since: datetime, until: datetime, areas: Sequence[int] | None = None
) -> Reach:
    """Sessions and people reached in [since, until), in these areas if given."""
    query = select(func.count(), func.coalesce(func.sum(ActivityLog.people), 0))
    sessions, people = (await session.execute(query.where(*_between(since, until, areas)))).one()
    return Reach(int(sessions), int(people))


def summed(parts: Iterable[Reach]) -> Reach:
    """The reach of all these parts together (a period's, from its reach by setting, say)."""
    found = list(parts)
    return Reach(sum(part.sessions for part in found), sum(part.people for part in found))


async def reach_by(
    session: AsyncSession, by: By, since: datetime, until: datetime, areas: Sequence[int] | None = None
) -> dict[str | int | None, Reach]:
    """Sessions and people reached in [since, until), by area id, topic id or setting."""
    column = COLUMNS[by]
    query = select(column, func.count(), func.coalesce(func.sum(ActivityLog.people), 0)).group_by(column)
    rows = await session.execute(query.where(*_between(since, until, areas)))
    return {key: Reach(int(sessions), int(people)) for key, sessions, people in rows.all()}
