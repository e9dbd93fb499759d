"""The learning figures' snapshot: the same figures storage/learning.py counts live, for everyone
and each area, refreshed by a job every ten minutes; read while fresh, counted afresh (and stored)
when missing, older than half an hour or made from other content. And the engine's JIT is off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Context
from handlers.learning_job import EVERY, refresh_job
from storage import learning, learning_snapshot
from storage.content import Library
from storage.learning_snapshot import STALE_AFTER, Figures
from storage.models import Area, Champion, LearningSnapshot, SnippetProgress
from tests.conftest import BotHarness
from tests.test_learning_figures import big_library
from tests.test_learning_figures import seed as seed_big
from tests.test_web_learning import LIBRARY, ONE, TWO, seed

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


async def live(session: AsyncSession, library: Library, area_id: int | None) -> tuple[object, ...]:
    """The figures as storage/learning.py counts them live, in a snapshot's shape."""
    members, topics = await learning.topic_completion(session, library, area_id)
    _members, _topics, by_area = await learning.completion(session, library)
    return members, topics, by_area


def shape(figures: Figures | None) -> tuple[object, ...]:
    assert figures is not None
    return figures.members, figures.topics, figures.by_area


async def test_the_snapshot_holds_the_live_figures_of_everyone_and_each_area(sessions: Sessions) -> None:
    north = await seed(sessions)
    async with sessions.begin() as session:
        empty = Area(name="Empty")  # no members at all
        session.add(empty)
        await session.flush()
        await learning_snapshot.refresh(session, LIBRARY, NOW)
    async with sessions() as session:
        south = await session.scalar(select(Area.id).where(Area.name == "South"))
        for area_id in (None, north, south, empty.id):
            assert shape(await learning_snapshot.latest(session, area_id)) == await live(
                session, LIBRARY, area_id
            )
        everyone = await learning_snapshot.latest(session)
    assert everyone is not None and everyone.computed_at == NOW
    assert everyone.members == 3 and (everyone.topics[0].started, everyone.topics[0].finished) == (2, 1)


async def test_the_snapshot_matches_over_several_passes(sessions: Sessions) -> None:
    library = big_library()
    area_id = await seed_big(sessions, library)
    async with sessions.begin() as session:
        await learning_snapshot.refresh(session, library, NOW)
    async with sessions() as session:
        for wanted in (None, area_id):
            expected = await live(session, library, wanted)
            assert shape(await learning_snapshot.latest(session, wanted)) == expected


async def test_a_refresh_replaces_the_snapshot_before(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await learning_snapshot.latest(session) is None
    for minutes in (0, 10):
        async with sessions.begin() as session:
            await learning_snapshot.refresh(session, LIBRARY, NOW + timedelta(minutes=minutes))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LearningSnapshot)) == 1
        figures = await learning_snapshot.latest(session)
    assert figures is not None and figures.computed_at == NOW + timedelta(minutes=10)


async def read_more(sessions: Sessions) -> None:
    """Dee, of North, reads the first snippet after the snapshot was taken."""
    async with sessions.begin() as session:
        dee = await session.scalar(select(Champion.id).where(Champion.display_name == "Dee"))
        assert dee is not None
        session.add(SnippetProgress(champion_id=dee, snippet_id=ONE))


async def test_fresh_figures_are_read_and_stale_ones_counted_afresh(sessions: Sessions) -> None:
    north = await seed(sessions)
    async with sessions.begin() as session:
        first = await learning_snapshot.current(session, LIBRARY, north, NOW)  # none yet: counted
    assert first.computed_at == NOW and first.topics[0].started == 1
    await read_more(sessions)
    async with sessions.begin() as session:
        kept = await learning_snapshot.current(session, LIBRARY, north, NOW + STALE_AFTER)
    assert kept == first  # half an hour old: still shown
    later = NOW + STALE_AFTER + timedelta(seconds=1)
    async with sessions.begin() as session:
        fresh = await learning_snapshot.current(session, LIBRARY, north, later)
    assert fresh.computed_at == later and fresh.topics[0].started == 2
    async with sessions() as session:
        stored = await learning_snapshot.latest(session, north)
        assert stored == fresh  # kept for the next visit
        assert shape(stored) == await live(session, LIBRARY, north)


async def test_a_snapshot_of_other_content_is_counted_afresh(sessions: Sessions) -> None:
    north = await seed(sessions)
    fewer = Library()
    fewer.snippets = {key: snippet for key, snippet in LIBRARY.snippets.items() if snippet.id != TWO}
    async with sessions.begin() as session:
        await learning_snapshot.refresh(session, fewer, NOW)
    async with sessions.begin() as session:
        figures = await learning_snapshot.current(session, LIBRARY, north, NOW + timedelta(minutes=1))
    assert figures.computed_at == NOW + timedelta(minutes=1)
    assert figures.topics[0].snippets == 2 and figures.topics[0].finished == 1


async def test_the_job_refreshes_the_snapshot_every_ten_minutes(bot: BotHarness) -> None:
    assert bot.application.job_queue
    jobs = {job.name: job for job in bot.application.job_queue.jobs()}
    assert refresh_job.__name__ in jobs and EVERY == 600
    async with bot.sessions() as session:
        assert await learning_snapshot.latest(session) is None
    await refresh_job(Context(bot.application))
    async with bot.sessions() as session:
        figures = await learning_snapshot.latest(session)
    assert figures is not None and datetime.now(UTC) - figures.computed_at < timedelta(minutes=1)


async def test_postgresql_runs_the_app_s_queries_without_jit(sessions: Sessions) -> None:
    async with sessions() as session:
        if session.bind.dialect.name != "postgresql":
            return  # SQLite has no JIT
        assert await session.scalar(text("SHOW jit")) == "off"
