"""Waking the delivery workers: the in-process Wake, and on PostgreSQL the listener that rings it when
another process (another connection) queues rows and notifies."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import wake as wakes
from bot.channels import run_delivery
from bot.emulator import Emulator
from bot.settings import load_settings
from bot.wake import CHANNEL, Wake, listening
from storage import outbox

WAIT = 10.0
LISTENERS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'"
)


def postgresql(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine: AsyncEngine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite there is one process, which rings its own Wake")
    return engine


async def notify(engine: AsyncEngine, lane: str) -> None:
    """Another connection queues rows in `lane` and commits, as outbox.queue does."""
    async with engine.begin() as connection:
        await connection.execute(
            text("SELECT pg_notify(:channel, :lane)"), {"channel": CHANNEL, "lane": lane}
        )


async def listeners(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        return list((await connection.execute(text(LISTENERS))).scalars())


async def test_a_ring_wakes_only_its_lane_and_is_used_up() -> None:
    wake = Wake()
    wake.ring(outbox.BULK)
    assert await wake.wait(outbox.BULK, WAIT)
    assert not await wake.wait(outbox.BULK, 0)  # taken by the first wait
    assert not await wake.wait(outbox.PERSON, 0)
    waiting = asyncio.create_task(wake.wait(outbox.PERSON, WAIT))
    await asyncio.sleep(0)  # let it start waiting
    wake.ring(outbox.PERSON)
    assert await waiting


async def test_another_connections_notification_rings_the_local_wake(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    engine = postgresql(sessions)
    wake = Wake()
    async with listening(engine, wake):
        assert len(await listeners(engine)) == 1
        await notify(engine, str(outbox.PERSON))
        assert await wake.wait(outbox.PERSON, WAIT)
        assert not await wake.wait(outbox.BULK, 0)
        await notify(engine, "not a lane")  # ignored
        await notify(engine, str(outbox.BULK))
        assert await wake.wait(outbox.BULK, WAIT)
        assert not await wake.wait(outbox.PERSON, 0)


async def test_the_listener_listens_again_after_losing_its_connection(
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = postgresql(sessions)
    monkeypatch.setattr(wakes, "FIRST_DELAY", 0.0)
    wake = Wake()
    async with listening(engine, wake):
        assert not await wake.wait(outbox.BULK, 0)  # a worker waits on the bulk lane
        (pid,) = await listeners(engine)
        async with engine.begin() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # Listening again, it rings every lane waited on: rows queued meanwhile are looked for.
        with caplog.at_level(logging.WARNING, logger="bot.wake"):
            assert await wake.wait(outbox.BULK, WAIT)
        assert "Not listening for queued outbox rows (closed); trying again in 0 s" in caplog.text
        (again,) = await listeners(engine)
        assert again != pid
        await notify(engine, str(outbox.PERSON))
        assert await wake.wait(outbox.PERSON, WAIT)


async def until_listeners(engine: AsyncEngine, count: int) -> None:
    """Wait until `count` connections listen (a closed one's backend ends soon after it closes)."""
    async with asyncio.timeout(WAIT):
        while len(await listeners(engine)) != count:
            await asyncio.sleep(0.05)


async def test_delivery_listens_while_it_runs_and_stops_listening_when_it_stops(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, database_url: str
) -> None:
    engine = postgresql(sessions)
    settings = load_settings(api_base_url=emulator.base_url, database_url=database_url)
    stop = asyncio.Event()
    delivering = asyncio.create_task(run_delivery(settings, sessions, stop, workers=2))
    await until_listeners(engine, 1)  # one connection for the process, however many workers
    stop.set()
    await asyncio.wait_for(delivering, WAIT)
    await until_listeners(engine, 0)
