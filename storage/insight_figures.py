"""Figures about reports for /stats, the weekly digest and exports: GROUP BY counts over the indexed
columns and exports read in batches by id, so a million reports never sit in memory at once.

Periods are UTC bounds, `since` included and `until` excluded. Nothing here returns who sent an
anonymous report: an export row carries a name only when the champion chose to share it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, and_, case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Area, Champion, Report, ReportReply, Role, Status
from storage.reports import Filters

EXPORT_BATCH = 1000


@dataclass(frozen=True)
class Counts:
    """Reports in one period by topic id, kind and area name (None: no area given)."""

    total: int
    by_topic: dict[str, int]
    by_kind: dict[str, int]
    by_area: dict[str | None, int]


@dataclass(frozen=True)
class Figures:
    """A period's counts, the previous period's of equal length (for the trend), and how many
    champions are active. How many champions sent the reports is not among them: set beside the
    named reports, it could tell who sent an anonymous one."""

    current: Counts
    previous: Counts
    active_champions: int


async def _grouped(session: AsyncSession, column: Any, since: datetime, until: datetime) -> dict[Any, int]:
    """Reports in [since, until) by one column, from its (column, created_at) index alone."""
    query = (
        select(column, func.count(Report.id))
        .where(Report.created_at >= since, Report.created_at < until)
        .group_by(column)
    )
    return {key: int(count) for key, count in (await session.execute(query)).all()}


async def _by_area(session: AsyncSession, since: datetime, until: datetime) -> dict[str | None, int]:
    """Reports in [since, until) by area name (None: no area): counted by area id, then named, as
    joining the areas into the count would look up every report's row (5 times slower)."""
    by_id = await _grouped(session, Report.area_id, since, until)
    rows = await session.execute(select(Area.id, Area.name).where(Area.id.in_(by_id)))
    names: dict[int, str] = {area_id: name for area_id, name in rows}
    by_name: dict[str | None, int] = {}
    for area_id, number in by_id.items():
        name = names.get(area_id)
        by_name[name] = by_name.get(name, 0) + number
    return by_name


async def counts(session: AsyncSession, since: datetime, until: datetime) -> Counts:
    """Reports created in [since, until) by topic, kind and area."""
    by_topic = await _grouped(session, Report.topic, since, until)
    return Counts(
        total=sum(by_topic.values()),
        by_topic=by_topic,
        by_kind=await _grouped(session, Report.kind, since, until),
        by_area=await _by_area(session, since, until),
    )


async def figures(session: AsyncSession, since: datetime, until: datetime) -> Figures:
    """The /stats figures for [since, until), with the period of equal length just before it."""
    active = await session.scalar(
        select(func.count(Champion.id)).where(
            Champion.role == Role.CHAMPION, Champion.status == Status.ACTIVE
        )
    )
    return Figures(
        current=await counts(session, since, until),
        previous=await counts(session, since - (until - since), since),
        active_champions=int(active or 0),
    )


@dataclass(frozen=True)
class Waiting:
    """A report nobody has reviewed yet, as the digest lists it: no name."""

    id: int
    topic: str
    text: str | None
    media_kind: str | None


@dataclass(frozen=True)
class Digest:
    """The weekly digest's figures: last week's counts, and the reports waiting for review."""

    week: Counts
    waiting: int
    newest: list[Waiting]


async def digest(session: AsyncSession, since: datetime, until: datetime, newest: int = 5) -> Digest:
    """Counts for [since, until), how many reports are still new, and the `newest` of those."""
    waiting = await session.scalar(select(func.count(Report.id)).where(Report.status == "new"))
    rows = await session.execute(
        select(Report.id, Report.topic, Report.text, Report.media_kind)
        .where(Report.status == "new")
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(newest)
    )
    return Digest(
        week=await counts(session, since, until),
        waiting=int(waiting or 0),
        newest=[Waiting(*row) for row in rows.all()],
    )


@dataclass(frozen=True)
class ExportRow:
    """One report as the internal export shows it. For an anonymous report `champion_name` and
    `language` are None (its language would single out a reporter among few speakers)."""

    id: int
    created_at: datetime
    topic: str
    kind: str
    people: str
    area: str | None
    status: str
    language: str | None
    text: str | None
    media_kind: str | None
    media_file_id: str | None
    champion_name: str | None
    anonymous: bool
    replies: list[str]


async def count_matching(session: AsyncSession, filters: Filters, *, shareable: bool = False) -> int:
    """How many reports match the filters; with `shareable`, only those whose champion currently
    agrees to sharing with partners."""
    query = filters.apply(select(func.count(Report.id)))
    if shareable:
        query = query.join(Champion, Champion.id == Report.champion_id).where(
            Champion.share_consent.is_(True)
        )
    return int(await session.scalar(query) or 0)


async def export_rows(
    session: AsyncSession, filters: Filters, batch: int = EXPORT_BATCH
) -> AsyncIterator[ExportRow]:
    """Every report matching the filters, oldest first, read `batch` at a time by id (keyset), each
    with its replies. The name and language are chosen in SQL, so an anonymous reporter's never
    leave the database."""
    # Only a report whose champion chose "share my name" shows them; `anonymous` is never NULL.
    name = case((Report.anonymous.is_(False), Champion.display_name), else_=None)
    language = case((Report.anonymous.is_(False), Report.language), else_=None)
    # Cast: Filters.apply is typed for one-entity selects; it only adds WHERE clauses.
    columns = cast(
        "Select[Any]",
        select(
            Report.id,
            Report.created_at,
            Report.topic,
            Report.kind,
            Report.people,
            Area.name.label("area"),
            Report.status,
            language.label("language"),
            Report.text,
            Report.media_kind,
            Report.media_file_id,
            name.label("champion_name"),
            Report.anonymous,
        )
        .join(Champion, Champion.id == Report.champion_id)
        .outerjoin(Area, Area.id == Report.area_id),
    )
    query = filters.apply(columns).order_by(Report.id)
    last = 0
    while True:
        rows = (await session.execute(query.where(Report.id > last).limit(batch))).all()
        if not rows:
            return
        ids = [row[0] for row in rows]
        replies: dict[int, list[str]] = {}
        for report_id, text in await session.execute(
            select(ReportReply.report_id, ReportReply.text)
            .where(ReportReply.report_id.in_(ids))
            .order_by(ReportReply.id)
        ):
            replies.setdefault(report_id, []).append(text)
        for row in rows:
            yield ExportRow(**row._asdict(), replies=replies.get(row.id, []))
        last = ids[-1]


@dataclass(frozen=True)
class PartnerRow:
    """One report as far as a partner export may use it: no id, name, language or exact time
    leaves this module (`created_at` is only grouped by month)."""

    created_at: datetime
    topic: str
    kind: str
    area: str | None
    text: str | None


async def partner_rows(
    session: AsyncSession, filters: Filters, *, with_text: bool, batch: int = EXPORT_BATCH
) -> AsyncIterator[PartnerRow]:
    """Every report matching the filters whose champion currently agrees to sharing with partners
    (so withdrawing removes them from the next export), oldest first, read `batch` at a time; the
    text only when asked for."""
    columns = cast(
        "Select[Any]",
        select(
            Report.id,
            Report.created_at,
            Report.topic,
            Report.kind,
            Area.name,
            Report.text if with_text else null(),
        )
        .join(Champion, Champion.id == Report.champion_id)
        .outerjoin(Area, Area.id == Report.area_id)
        .where(Champion.share_consent.is_(True)),
    )
    query = filters.apply(columns).order_by(Report.created_at, Report.id)
    page = query
    while True:
        rows = (await session.execute(page.limit(batch))).all()
        if not rows:
            return
        for row in rows:
            yield PartnerRow(*row[1:])
        last_id, last_at = rows[-1][0], rows[-1][1]
        page = query.where(
            or_(Report.created_at > last_at, and_(Report.created_at == last_at, Report.id > last_id))
        )


async def topics_by_week(
    session: AsyncSession, starts: list[datetime], until: datetime
) -> list[dict[str, int]]:
    """Reports by topic id in each week from each of `starts` (in order) to the next, the last to
    `until`: the dashboard's reports-over-time chart."""
    ends = [*starts[1:], until]
    return [
        await _grouped(session, Report.topic, start, end) for start, end in zip(starts, ends, strict=True)
    ]
