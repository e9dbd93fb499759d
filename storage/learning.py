"""Learning progress, quiz answers, the weekly snippet schedule and completion figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.content import SOURCE_LANGUAGE, Library
from storage.db import rows_changed
from storage.models import Area, Champion, SnippetProgress, Status, WeeklySnippet, utcnow

MEMBERS = (Status.ACTIVE, Status.PAUSED)


async def progress(session: AsyncSession, champion_id: int) -> dict[str, SnippetProgress]:
    """What a champion has read and answered, by snippet id."""
    rows = await session.scalars(select(SnippetProgress).where(SnippetProgress.champion_id == champion_id))
    return {row.snippet_id: row for row in rows}


async def mark_read(session: AsyncSession, champion_id: int, snippet_id: str) -> None:
    """Record that a champion has seen a snippet (once)."""
    if await session.get(SnippetProgress, (champion_id, snippet_id)) is None:
        session.add(SnippetProgress(champion_id=champion_id, snippet_id=snippet_id))


async def record_answer(session: AsyncSession, champion_id: int, snippet_id: str, correct: bool) -> None:
    """Keep the champion's latest quiz answer for a snippet."""
    row = await session.get(SnippetProgress, (champion_id, snippet_id))
    if row is None:
        row = SnippetProgress(champion_id=champion_id, snippet_id=snippet_id)
        session.add(row)
    row.quiz_correct = correct
    row.answered_at = utcnow()


def next_unread(library: Library, read: set[str], snippet_ids: list[str] | None = None) -> str | None:
    """The first snippet not yet read, in library order (or within `snippet_ids`)."""
    return next((s for s in (snippet_ids or library.all_ids()) if s not in read), None)


def opens_topic(library: Library, read: set[str], snippet_id: str) -> bool:
    """Whether a snippet is the first a champion opens in its topic (none of the topic read yet):
    the one that carries the medical disclaimer, so it is shown once per topic."""
    found = library.get(snippet_id, SOURCE_LANGUAGE)
    return found is not None and not read.intersection(library.in_topic(found[0].topic))


def next_weekly(weekday: int, hour: int, timezone: str, after: datetime) -> datetime:
    """The next time after `after` that is `weekday` at `hour`:00 in `timezone`, in UTC."""
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone)
    day: date = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    due = datetime.combine(day, time(hour), tzinfo=zone)
    if due <= local:
        due = datetime.combine(day + timedelta(days=7), time(hour), tzinfo=zone)
    return due.astimezone(UTC)


async def weekly(session: AsyncSession, champion_id: int) -> WeeklySnippet | None:
    """The champion's weekly snippet choice, if any."""
    return await session.get(WeeklySnippet, champion_id)


async def set_weekly(
    session: AsyncSession, champion: Champion, weekday: int, hour: int, now: datetime | None = None
) -> WeeklySnippet:
    """Choose (or change) the weekly day and hour; the next one is computed in their timezone."""
    due = next_weekly(weekday, hour, champion.timezone, now or utcnow())
    row = await session.get(WeeklySnippet, champion.id)
    if row is None:
        row = WeeklySnippet(champion_id=champion.id, weekday=weekday, hour=hour, next_due_at=due)
        session.add(row)
    else:
        row.weekday, row.hour, row.next_due_at = weekday, hour, due
    return row


async def stop_weekly(session: AsyncSession, champion_id: int) -> bool:
    """Stop weekly snippets; False if there were none."""
    row = await session.get(WeeklySnippet, champion_id)
    if row is None:
        return False
    await session.delete(row)
    return True


async def due_weekly(session: AsyncSession, now: datetime) -> list[tuple[WeeklySnippet, Champion]]:
    """Weekly snippets due by `now`, with their champions (paused and stopped ones included)."""
    rows = await session.execute(
        select(WeeklySnippet, Champion)
        .join(Champion, Champion.id == WeeklySnippet.champion_id)
        .where(WeeklySnippet.next_due_at <= now)
        .order_by(WeeklySnippet.next_due_at)
    )
    return [(row[0], row[1]) for row in rows]


async def reschedule(session: AsyncSession, row: WeeklySnippet, next_due_at: datetime) -> bool:
    """Move a due weekly snippet on to `next_due_at` unless another run moved it since it was read;
    True for the one run that did. A conditional update, so of two leaders (or two runs of the job)
    at once exactly one claims the week and sends it."""
    result = await rows_changed(session,
        update(WeeklySnippet)
        .where(WeeklySnippet.champion_id == row.champion_id, WeeklySnippet.next_due_at == row.next_due_at)
        .values(next_due_at=next_due_at)
    )
    return bool(result)


@dataclass
class TopicFigures:
    topic: str
    read: int  # snippet reads by members
    possible: int  # members × snippets in the topic
    answered: int
    right: int


@dataclass
class AreaFigures:
    area: str | None
    members: int
    read: int
    possible: int


async def completion(
    session: AsyncSession, library: Library
) -> tuple[int, list[TopicFigures], list[AreaFigures]]:
    """Members, and how much of the content they have read and answered, by topic and by area."""
    members_by_area = dict(
        (
            await session.execute(
                select(Champion.area_id, func.count())
                .where(Champion.status.in_(MEMBERS))
                .group_by(Champion.area_id)
            )
        ).all()
    )
    members = sum(members_by_area.values())
    known = library.all_ids()
    # One pass over the progress, by area and snippet: topics sum its snippets, areas their reads.
    by_area_snippet = (
        await session.execute(
            select(
                Champion.area_id,
                SnippetProgress.snippet_id,
                func.count(),
                func.count(SnippetProgress.quiz_correct),
                func.sum(case((SnippetProgress.quiz_correct.is_(True), 1), else_=0)),
            )
            .join(Champion, Champion.id == SnippetProgress.champion_id)
            .where(Champion.status.in_(MEMBERS), SnippetProgress.snippet_id.in_(known))
            .group_by(Champion.area_id, SnippetProgress.snippet_id)
        )
    ).all()
    by_snippet: dict[str, list[int]] = {}
    reads_by_area: dict[int | None, int] = {}
    for area_id, snippet_id, read, answered, right in by_area_snippet:
        sums = by_snippet.setdefault(snippet_id, [0, 0, 0])
        for k, value in enumerate((read, answered, int(right or 0))):
            sums[k] += value
        reads_by_area[area_id] = reads_by_area.get(area_id, 0) + read
    topics = []
    for topic in library.topics():
        ids = library.in_topic(topic)
        read, answered, right = (sum(by_snippet.get(i, [0, 0, 0])[k] for i in ids) for k in range(3))
        topics.append(TopicFigures(topic, read, members * len(ids), answered, right))
    area_names: dict[int | None, str] = dict((await session.execute(select(Area.id, Area.name))).all())
    areas = [
        AreaFigures(area_names.get(area_id), count, reads_by_area.get(area_id, 0), count * len(known))
        for area_id, count in members_by_area.items()
    ]
    areas.sort(key=lambda figures: (figures.area is None, figures.area or ""))
    return members, topics, areas


@dataclass
class TopicCompletion:
    topic: str
    snippets: int  # in the topic
    started: int  # members who read at least one of its snippets
    finished: int  # members who read every one
    read: int  # snippet reads by members
    answered: int
    right: int


async def topic_completion(
    session: AsyncSession, library: Library, area_id: int | None = None
) -> tuple[int, list[TopicCompletion]]:
    """Members (of one area, or all), and for each topic how many of them started it and finished
    it, their reads and their quiz answers. Each member's progress is folded in SQL into three
    whole numbers with a bit per snippet (read, answered, right), then one row of counts is taken
    over those: one pass over the progress, grouped by champion alone (grouping by champion and
    topic, or by snippet as well, took several passes or far more groups)."""
    member: list[ColumnElement[bool]] = [Champion.status.in_(MEMBERS)]
    if area_id is not None:
        member.append(Champion.area_id == area_id)
    members = int(await session.scalar(select(func.count()).select_from(Champion).where(*member)) or 0)
    found: dict[str, TopicCompletion] = {}
    for topics in _in_passes(library):
        found.update((await _topic_pass(session, library, topics, member))[0][1])
    return members, [found[topic] for topic in library.topics()]


async def topic_completion_by_area(
    session: AsyncSession, library: Library
) -> dict[int | None, list[TopicCompletion]]:
    """topic_completion's topics for each area with members who read something (None: those of
    no area), in the same passes over the progress as one area takes, the counts grouped by area."""
    found: dict[int | None, dict[str, TopicCompletion]] = {}
    member: list[ColumnElement[bool]] = [Champion.status.in_(MEMBERS)]
    for topics in _in_passes(library):
        for area_id, figures in await _topic_pass(session, library, topics, member, by_area=True):
            found.setdefault(area_id, {}).update(figures)
    return {
        area_id: [figures.get(topic) or untouched(library, topic) for topic in library.topics()]
        for area_id, figures in found.items()
    }


def untouched(library: Library, topic: str) -> TopicCompletion:
    """A topic's figures where no member has read any of it."""
    return TopicCompletion(topic, len(library.in_topic(topic)), 0, 0, 0, 0, 0)


BITS = 62  # snippets one pass marks in a BIGINT, one bit each


def _in_passes(library: Library) -> list[list[str]]:
    """The topics in groups of at most BITS snippets, a topic never split (finishing it is having
    every one of its bits); a topic of more than BITS snippets is refused."""
    passes: list[list[str]] = []
    size = BITS
    for topic in library.topics():
        snippets = len(library.in_topic(topic))
        if snippets > BITS:
            raise ValueError(f"topic {topic} has {snippets} snippets; the learning figures take {BITS}")
        if size + snippets > BITS:
            passes.append([])
            size = 0
        passes[-1].append(topic)
        size += snippets
    return passes


async def _topic_pass(
    session: AsyncSession,
    library: Library,
    topics: list[str],
    member: list[ColumnElement[bool]],
    by_area: bool = False,
) -> list[tuple[int | None, dict[str, TopicCompletion]]]:
    """The figures of `topics` (at most BITS snippets in all) for the champions `member` picks: one
    row of them, or (`by_area`) one for each area whose champions read any of them, with its id."""
    ids = [snippet_id for topic in topics for snippet_id in library.in_topic(topic)]
    bit = {snippet_id: 1 << n for n, snippet_id in enumerate(ids)}
    mark = case(bit, value=SnippetProgress.snippet_id)

    def marks(when: ColumnElement[bool] | None = None) -> ColumnElement[int]:
        return cast(func.sum(mark if when is None else case((when, mark), else_=0)), BigInteger)

    per_champion = (
        select(
            marks().label("read"),
            marks(SnippetProgress.quiz_correct.is_not(None)).label("answered"),
            marks(SnippetProgress.quiz_correct.is_(True)).label("right"),
            *([Champion.area_id] if by_area else []),
        )
        .join(Champion, Champion.id == SnippetProgress.champion_id)
        .where(*member, SnippetProgress.snippet_id.in_(ids))
        .group_by(SnippetProgress.champion_id, *([Champion.area_id] if by_area else []))
        .subquery()
    )

    def having(column: ColumnElement[int], bits: int, every: bool = False) -> ColumnElement[int]:
        """How many champions have any (or every) one of `bits` set in `column`."""
        held = column.bitwise_and(bits)
        return func.coalesce(func.sum(case((held == bits if every else held != 0, 1), else_=0)), 0)

    columns: list[ColumnElement[Any]] = []
    for topic in topics:
        bits = sum(bit[snippet_id] for snippet_id in library.in_topic(topic))
        columns += [having(per_champion.c.read, bits), having(per_champion.c.read, bits, every=True)]
    for snippet_id in ids:
        columns += [having(per_champion.c[name], bit[snippet_id]) for name in ("read", "answered", "right")]
    query = select(*columns)
    if by_area:
        query = select(per_champion.c.area_id, *columns).group_by(per_champion.c.area_id)
    rows = (await session.execute(query)).all()
    return [
        (row[0] if by_area else None, _pass_figures(library, topics, ids, row[1:] if by_area else row))
        for row in rows
    ]


def _pass_figures(
    library: Library, topics: list[str], ids: list[str], counts: Sequence[Any]
) -> dict[str, TopicCompletion]:
    """A pass's row of counts (each topic's started and finished, each snippet's read, answered
    and right) as the figures of its topics."""
    row = iter(counts)
    started = {topic: (int(next(row)), int(next(row))) for topic in topics}
    by_snippet = {snippet_id: (int(next(row)), int(next(row)), int(next(row))) for snippet_id in ids}
    found = {}
    for topic in topics:
        snippets = library.in_topic(topic)
        read, answered, right = (sum(by_snippet[i][k] for i in snippets) for k in range(3))
        found[topic] = TopicCompletion(topic, len(snippets), *started[topic], read, answered, right)
    return found
