"""Wake the delivery workers when a row is queued, instead of at their next look for work.

In one process, the handler that queued rows rings the `Wake` after its commit. Across processes
on PostgreSQL, queueing also does `pg_notify('champbot_outbox', '<lane>')`, delivered at commit;
`listening` keeps one connection LISTENing on that channel and rings the local `Wake` for each.
A lost notification costs only the workers' idle wait, never a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

CHANNEL = "champbot_outbox"
FIRST_DELAY = 1.0  # seconds before listening again after a lost connection; doubles up to MAX_DELAY
MAX_DELAY = 30.0
PING_SECONDS = 30.0  # how often the quiet connection is checked, to notice one that died silently


class Wake:
    """One event per outbox lane, rung after a commit that queued rows in that lane."""

    def __init__(self) -> None:
        self._events: dict[int, asyncio.Event] = {}

    def _event(self, lane: int) -> asyncio.Event:
        return self._events.setdefault(lane, asyncio.Event())

    def ring(self, lane: int) -> None:
        """Rows were queued in `lane`: its workers look now."""
        self._event(lane).set()

    def ring_all(self) -> None:
        """Every lane someone waits on looks now (notifications may have been missed)."""
        for event in self._events.values():
            event.set()

    async def wait(self, lane: int, timeout: float) -> bool:
        """Return when `lane` is rung (True) or after `timeout` seconds (False), whichever is first."""
        event = self._event(lane)
        if not event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        rung = event.is_set()
        event.clear()
        return rung


@contextlib.asynccontextmanager
async def listening(engine: AsyncEngine, wake: Wake) -> AsyncIterator[None]:
    """While inside, ring `wake` for every notification on CHANNEL (PostgreSQL; nothing on SQLite).
    Entering waits for the first LISTEN, or its failure (retried in the background), so a row
    queued from then on is heard."""
    if engine.dialect.name != "postgresql":
        yield
        return
    started = asyncio.Event()
    task = asyncio.create_task(_listen(engine, wake, started), name="outbox-listener")
    try:
        await started.wait()
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _listen(engine: AsyncEngine, wake: Wake, started: asyncio.Event) -> None:
    """Listen until cancelled; after a lost connection, listen again after a growing delay."""
    delay = FIRST_DELAY
    while True:
        try:
            await _listen_once(engine, wake, started)
            reason = "closed"
            delay = FIRST_DELAY  # it had been listening: the next try comes soon
        except Exception as exc:  # the database is away, or refused us: try again later all the same
            reason = type(exc).__name__
        started.set()
        log.warning("Not listening for queued outbox rows (%s); trying again in %.0f s", reason, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_DELAY)


async def _listen_once(engine: AsyncEngine, wake: Wake, started: asyncio.Event) -> None:
    """Hold one connection LISTENing until it is lost; it is closed afterwards, never pooled (it
    would go on listening)."""
    lost = asyncio.Event()

    def notified(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload.isdigit():
            wake.ring(int(payload))

    async with engine.connect() as connection:
        try:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection  # asyncpg's Connection
            driver.add_termination_listener(lambda _connection: lost.set())
            await driver.add_listener(CHANNEL, notified)
            wake.ring_all()  # rows queued while nobody listened are looked for now
            started.set()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                if not lost.is_set():
                    await driver.execute("SELECT 1")  # a connection that died silently raises here
        finally:
            await connection.invalidate()
