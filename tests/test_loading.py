"""What every update loads first (handlers.gate): the champion and the chat's step in one statement."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import champions, conversation, directory
from storage.models import Champion
from tests.conftest import BotHarness, join


async def test_champion_and_state_load_together_either_missing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await directory.add_areas(session, ["Riverside"])
        area = (await directory.list_areas(session))[0]
        session.add(Champion(telegram_id=1, language="en", area_id=area.id))  # and a step
        session.add(Champion(telegram_id=2, language="pl"))  # no step
        await conversation.set_state(session, 1, "learn:topics", {"page": 2})
        await conversation.set_state(session, 3, "join:language", {"language": "cy"})  # not joined yet
    async with sessions() as session:
        champion, state = await champions.with_state(session, 1, 1)
        assert champion and champion.area and champion.area.name == "Riverside"
        assert state and state.step == "learn:topics" and state.data == {"page": 2} and state.version == 1
        champion, state = await champions.with_state(session, 2, 2)
        assert champion and champion.language == "pl" and champion.area is None and state is None
        champion, state = await champions.with_state(session, 3, 3)
        assert champion is None and state and state.data == {"language": "cy"}
        assert await champions.with_state(session, 4, 4) == (None, None)
        champion, _ = await champions.with_state(session, 1, 1)
        with pytest.raises(InvalidRequestError):  # not loaded with the champion: asked for where read
            assert champion and champion.networks


async def test_an_update_loads_with_one_select(bot: BotHarness, places: None) -> None:
    ana = bot.person(101, "Ana")
    await join(ana, networks=("Youth clubs",))
    engine = bot.sessions.kw["bind"]
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert (await ana.send("/help"))[0]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements
