"""Split the token's budget between the processes sending with it: each notes itself in the database
every HEARTBEAT_SECONDS and sends at its share, the overall rate divided by the processes seen lately.

A process that stops cleanly removes its row, so the others go back up at their next beat; one that
dies is no longer counted after ALIVE_BEATS missed beats (until then the others stay below the
limit, never above it). A newcomer that finds others holds its sends for one beat, the time they
take to see it and slow down. Only the overall rate is shared: each process keeps the one-a-second
gap per chat for its own sends only. On SQLite there is usually one process, which gets it all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.budget import Budget
from storage import sending
from storage.db import CONNECTION_ERRORS

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
ALIVE_BEATS = 3  # a process not seen for this many beats is taken for dead
ALIVE = timedelta(seconds=ALIVE_BEATS * HEARTBEAT_SECONDS)
NEWCOMER_HOLD = HEARTBEAT_SECONDS + 0.5  # one beat of the others, and their query's round trip
DATABASE_ERRORS = (SQLAlchemyError, *CONNECTION_ERRORS)


class Heartbeat:
    """This process's row in `sending_process`, and its budget's share from the rows seen lately;
    `more` budgets (the WhatsApp number's) are split between the same processes."""

    def __init__(
        self,
        budget: Budget,
        sessions: async_sessionmaker[AsyncSession],
        name: str | None = None,
        more: tuple[Budget, ...] = (),
    ) -> None:
        self.budget = budget
        self.more = more
        self.sessions = sessions
        self.name = name or f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._beats = 0

    async def beat(self) -> int:
        """Note this process, count the live ones and take this one's share; return the count."""
        async with self.sessions.begin() as session:
            await sending.note(session, self.name, ALIVE)
        async with self.sessions() as session:  # after the commit: two newcomers at once see each other
            processes = max(1, await sending.count_seen(session, ALIVE))
        if processes != self.budget.processes:
            log.info("%s processes send with this token; this one takes its share", processes)
        for budget in (self.budget, *self.more):
            budget.share(processes)
            if self._beats == 0 and processes > 1:
                budget.back_off(NEWCOMER_HOLD)
        self._beats += 1
        return processes

    async def leave(self) -> None:
        """Remove this process's row, so the others take its share at their next beat."""
        async with self.sessions.begin() as session:
            await sending.forget(session, self.name)

    async def run(self) -> None:
        """Beat every HEARTBEAT_SECONDS until cancelled; a database error keeps the last share."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self.try_beat()

    async def try_beat(self) -> None:
        """Beat; a database error is logged and the last share kept."""
        try:
            await self.beat()
        except DATABASE_ERRORS as exc:
            log.warning("Could not note this sending process (%s); keeping its share", type(exc).__name__)


@asynccontextmanager
async def sharing(
    budget: Budget, sessions: async_sessionmaker[AsyncSession], *more: Budget
) -> AsyncIterator[None]:
    """Keep this process's share of `budget` (and of `more`) while the block runs (the first beat
    before it starts); an unlimited budget has nothing to share."""
    if not budget.per_second:
        yield
        return
    heartbeat = Heartbeat(budget, sessions, more=tuple(b for b in more if b.per_second))
    await heartbeat.try_beat()
    beating = asyncio.create_task(heartbeat.run(), name="heartbeat")
    try:
        yield
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        try:
            await heartbeat.leave()
        except DATABASE_ERRORS as exc:
            log.warning("Could not remove this sending process (%s); it ages out", type(exc).__name__)
