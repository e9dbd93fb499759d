"""The learning page's figures, stored: a snapshot of every area's, refreshed by a job.

Why a snapshot: counting the figures live reads every member's snippet progress (half a million
rows for 100,000 champions) and takes 1.0-1.4 s on PostgreSQL at full size; no index brings that
under the page's 200 ms, since one join and group over those rows costs about 230 ms alone. A
table of counts kept up to date on every read and every status change was judged too risky: who
counts changes in storage/champions.py, erasure cascades rows away, and topics live only in the
content files. So a job (handlers/learning_job.py) computes every area's figures in the same few
passes (grouped by area in the queries, not a query per area) every ten minutes, and the page
reads the newest snapshot; where there is none, or it is older than STALE_AFTER (`champbot web`
running without the bot) or was made from other content, the page computes and stores a fresh
one. The figures are those storage/learning.py computes live, as of the snapshot's time.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.content import Library
from storage.learning import MEMBERS, AreaFigures, TopicCompletion, topic_completion_by_area
from storage.models import Area, Champion, LearningSnapshot

STALE_AFTER = timedelta(minutes=30)  # older than this, the page computes the figures afresh
EVERYONE = "all"  # the key of all areas' figures; an area's is its id, "none" for no area
NO_AREA = "none"


@dataclass(frozen=True)
class Figures:
    """What the learning page shows for everyone or one area, as of `computed_at`."""

    computed_at: datetime
    members: int
    topics: list[TopicCompletion]
    by_area: list[AreaFigures]  # every area's reading, as /stats lists it


def _key(area_id: int | None) -> str:
    """How an area's figures are keyed in a snapshot."""
    return NO_AREA if area_id is None else str(area_id)


async def refresh(session: AsyncSession, library: Library, now: datetime) -> LearningSnapshot:
    """Compute every area's figures and store them as of `now`, replacing the snapshots before."""
    members_by_area: dict[int | None, int] = dict(
        (
            await session.execute(
                select(Champion.area_id, func.count())
                .where(Champion.status.in_(MEMBERS))
                .group_by(Champion.area_id)
            )
        ).all()
    )
    by_area = await topic_completion_by_area(session, library)
    everyone = [  # every count is of members or reads, so all areas' is the sum of each area's
        TopicCompletion(
            topic,
            len(library.in_topic(topic)),
            *(sum(astuple(topics[n])[k] for topics in by_area.values()) for k in range(2, 7)),
        )
        for n, topic in enumerate(library.topics())
    ]
    names: dict[int | None, str] = dict((await session.execute(select(Area.id, Area.name))).all())
    snippets = len(library.all_ids())
    areas = [
        AreaFigures(
            names.get(area_id), count, sum(topic.read for topic in by_area.get(area_id, [])), count * snippets
        )
        for area_id, count in members_by_area.items()
    ]
    areas.sort(key=lambda figures: (figures.area is None, figures.area or ""))
    stored = {
        "members": {EVERYONE: sum(members_by_area.values())}
        | {_key(area_id): count for area_id, count in members_by_area.items()},
        "topics": {
            EVERYONE: [list(astuple(figures)) for figures in everyone],
            **{_key(area_id): [list(astuple(f)) for f in topics] for area_id, topics in by_area.items()},
        },
        "by_area": [list(astuple(figures)) for figures in areas],
        "content": _content(library),
    }
    snapshot = LearningSnapshot(computed_at=now, figures=stored)
    session.add(snapshot)
    await session.flush()
    await session.execute(delete(LearningSnapshot).where(LearningSnapshot.id != snapshot.id))
    return snapshot


async def _newest(session: AsyncSession) -> LearningSnapshot | None:
    """The newest snapshot (two pages refreshing at once may each have stored one)."""
    newest = LearningSnapshot.computed_at.desc(), LearningSnapshot.id.desc()
    return await session.scalar(select(LearningSnapshot).order_by(*newest).limit(1))


async def latest(session: AsyncSession, area_id: int | None = None) -> Figures | None:
    """The newest snapshot's figures for everyone (None) or one area; None if there is none."""
    snapshot = await _newest(session)
    return None if snapshot is None else _figures(snapshot, area_id)


def _content(library: Library) -> list[list[Any]]:
    """The topics and how many snippets each has: what a snapshot's figures were counted over."""
    return [[topic, len(library.in_topic(topic))] for topic in library.topics()]


def _figures(snapshot: LearningSnapshot, area_id: int | None) -> Figures:
    """A snapshot's figures for everyone (None) or one area."""
    stored: dict[str, Any] = snapshot.figures
    wanted = EVERYONE if area_id is None else _key(area_id)
    topics = stored["topics"].get(wanted)
    if topics is None:  # an area whose members read nothing, or that has none
        topics = [[topic, snippets, 0, 0, 0, 0, 0] for topic, snippets in stored["content"]]
    return Figures(
        snapshot.computed_at,
        int(stored["members"].get(wanted, 0)),
        [TopicCompletion(*figures) for figures in topics],
        [AreaFigures(*figures) for figures in stored["by_area"]],
    )


async def current(session: AsyncSession, library: Library, area_id: int | None, now: datetime) -> Figures:
    """The figures the page shows: the newest snapshot's, unless there is none, it is older than
    STALE_AFTER or it was made from other content; then a fresh snapshot's, stored for the next."""
    snapshot = await _newest(session)
    if (
        snapshot is None
        or now - snapshot.computed_at > STALE_AFTER
        or snapshot.figures["content"] != _content(library)
    ):
        snapshot = await refresh(session, library, now)
    return _figures(snapshot, area_id)
