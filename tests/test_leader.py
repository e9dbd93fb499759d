"""Exactly one process runs the scheduled jobs: the one holding PostgreSQL's advisory lock."""

from __future__ import annotations

import asyncio

from bot.leader import Leader
from storage.db import make_engine


async def test_one_process_leads_and_another_takes_over_when_it_goes(database_url: str) -> None:
    first_engine, second_engine = make_engine(database_url), make_engine(database_url)
    first, second = Leader(first_engine), Leader(second_engine)
    try:
        assert await first.leads()
        if first_engine.dialect.name == "sqlite":
            assert await second.leads()  # one machine, one bot process: it always leads
            return
        assert not await second.leads()
        assert await first.leads()  # still holding it
        # Jobs that fall due together ask at once: the one connection must not be used twice.
        assert await asyncio.gather(*(first.leads() for _ in range(4))) == [True] * 4
        await first.close()  # as when its process stops or dies
        assert await second.leads()
        assert not await first.leads()
    finally:
        await first.close()
        await second.close()
        await first_engine.dispose()
        await second_engine.dispose()
