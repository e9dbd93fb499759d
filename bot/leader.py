"""Exactly one scheduler: of all the bot processes on one PostgreSQL, only the one holding an
advisory lock runs the scheduled jobs (due broadcasts, weekly snippets, the digest, replies).

The lock belongs to one database connection this process keeps open, so when the process dies its
connection closes and the next process to try becomes the leader within one job interval. SQLite
means one machine and one bot process, which always leads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.context import Context

log = logging.getLogger(__name__)

LOCK_KEY = 0x43484D50  # "CHMP": the advisory lock every bot process of this project tries for


class Leader:
    """Whether this process runs the scheduled jobs, decided afresh each time a job is due."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._checking = asyncio.Lock()  # jobs fall due together; one connection takes one query

    async def leads(self) -> bool:
        """True if this process holds the lock, taking it if no other process does."""
        if self._engine.dialect.name != "postgresql":
            return True
        async with self._checking:
            return await self._check()

    async def _check(self) -> bool:
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                await self._connection.commit()
                return True
            except DBAPIError:
                log.warning("Lost the scheduler lock's connection; trying to lead again")
                await self.close()
        connection = await self._engine.connect()
        try:
            held = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
            await connection.commit()  # the lock is the session's: it outlives the transaction
        except DBAPIError:
            await connection.close()
            raise
        if not held:
            await connection.close()  # back to the pool: it holds no lock
            return False
        log.info("This process now runs the scheduled jobs")
        self._connection = connection
        return True

    async def close(self) -> None:
        """Give the lock up by really closing its connection (returned to the pool, it would keep
        the lock)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.invalidate()
            await connection.close()


Job = Callable[[Context], Coroutine[Any, Any, None]]


def when_leading(job: Job) -> Job:
    """A scheduled job that runs only in the process that leads."""

    async def run(context: Context) -> None:
        leader = context.bot_data.leader
        if leader is None or await leader.leads():
            await job(context)

    run.__name__ = run.__qualname__ = job.__name__
    run.__doc__ = job.__doc__
    return run
