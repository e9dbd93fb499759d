"""Learning progress, quiz answers, the weekly snippet schedule and completion figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select, update
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
    member = Champion.status.in_(MEMBERS)
    per_snippet = (
        await session.execute(
            select(
                SnippetProgress.snippet_id,
                func.count(),
                func.count(SnippetProgress.quiz_correct),
                func.sum(case((SnippetProgress.quiz_correct.is_(True), 1), else_=0)),
            )
            .join(Champion, Champion.id == SnippetProgress.champion_id)
            .where(member)
            .group_by(SnippetProgress.snippet_id)
        )
    ).all()
    by_snippet = {row[0]: (row[1], row[2], int(row[3] or 0)) for row in per_snippet}
    topics = []
    for topic in library.topics():
        ids = library.in_topic(topic)
        read, answered, right = (sum(by_snippet.get(i, (0, 0, 0))[k] for i in ids) for k in range(3))
        topics.append(TopicFigures(topic, read, members * len(ids), answered, right))
    known = set(library.all_ids())
    reads_by_area = dict(
        (
            await session.execute(
                select(Champion.area_id, func.count())
                .join(SnippetProgress, SnippetProgress.champion_id == Champion.id)
                .where(member, SnippetProgress.snippet_id.in_(known))
                .group_by(Champion.area_id)
            )
        ).all()
    )
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
    it, their reads and their quiz answers: one aggregate over their progress, each champion's
    rows first grouped by topic in SQL, then counted per topic."""
    member: list[ColumnElement[bool]] = [Champion.status.in_(MEMBERS)]
    if area_id is not None:
        member.append(Champion.area_id == area_id)
    members = int(await session.scalar(select(func.count()).select_from(Champion).where(*member)) or 0)
    sizes = {topic: len(library.in_topic(topic)) for topic in library.topics()}
    topic_of = {snippet_id: topic for topic in sizes for snippet_id in library.in_topic(topic)}
    if not topic_of:
        return members, []
    per_champion = (
        select(
            case(topic_of, value=SnippetProgress.snippet_id).label("topic"),
            func.count().label("read"),
            func.count(SnippetProgress.quiz_correct).label("answered"),
            func.sum(case((SnippetProgress.quiz_correct.is_(True), 1), else_=0)).label("right"),
        )
        .join(Champion, Champion.id == SnippetProgress.champion_id)
        .where(*member, SnippetProgress.snippet_id.in_(topic_of))
        .group_by(SnippetProgress.champion_id, "topic")  # the label: one CASE, not two to match
        .subquery()
    )
    done = case((per_champion.c.read >= case(sizes, value=per_champion.c.topic), 1), else_=0)
    rows = await session.execute(
        select(
            per_champion.c.topic,
            func.count(),
            func.sum(done),
            func.sum(per_champion.c.read),
            func.sum(per_champion.c.answered),
            func.sum(per_champion.c.right),
        ).group_by(per_champion.c.topic)
    )
    found = {row[0]: [int(value or 0) for value in row[1:]] for row in rows}
    return members, [
        TopicCompletion(topic, size, *found.get(topic, [0, 0, 0, 0, 0])) for topic, size in sizes.items()
    ]
