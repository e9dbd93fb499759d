"""Quick taps through the real webhook: a chat's updates apply one after another, whether they reach
one process at once or two workers (two Applications on one database) at the same moment."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_application
from bot.emulator import Emulator
from bot.settings import load_settings
from bot.webhook import webhook_app
from handlers import gate
from storage import conversation, directory
from storage.db import make_engine, make_sessions
from storage.models import ConversationState
from tests.conftest import REPLY_TIMEOUT, WEBHOOK_SECRET, post, texts

ANA = 9601
NETWORKS = ["Faith groups", "Youth clubs", "Mosque", "Market", "School gate", "Football club"]


class Chat:
    """Ana's side of the chat, posting straight to a webhook: each post returns once it is handled."""

    def __init__(self, emulator: Emulator, url: str) -> None:
        self.emulator = emulator
        self.url = url
        self.ids = itertools.count(5000)
        self.user = emulator.add_user(ANA, "Ana", "en", started=True).as_api()

    def message(self, text: str) -> str:
        message: dict[str, Any] = {
            "message_id": next(self.ids),
            "date": 0,
            "text": text,
            "chat": {"id": ANA, "type": "private"},
            "from": self.user,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return json.dumps({"update_id": next(self.ids), "message": message})

    def tap(self, label: str) -> str:
        """A press of the button with this label on the newest bot message that has it."""
        for message in reversed(self.emulator.history(ANA)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] in {label, f"✓ {label}"}:
                        shown = {k: v for k, v in message.items() if k not in {"from_bot", "edited"}}
                        query = {
                            "id": f"{ANA}:{next(self.ids)}",
                            "from": self.user,
                            "chat_instance": str(ANA),
                            "data": button["callback_data"],
                            "message": {**shown, "chat": {"id": ANA, "type": "private"}},
                        }
                        return json.dumps({"update_id": next(self.ids), "callback_query": query})
        raise AssertionError(f"No button {label!r}")

    async def say(self, text: str) -> None:
        assert await post(self.url, self.message(text)) == 200

    async def press(self, label: str, url: str | None = None) -> None:
        assert await post(url or self.url, self.tap(label)) == 200

    async def join_until_networks(self) -> None:
        await self.say("/start")
        await self.press("English")
        await self.press("Yes, I agree")
        await self.press("No")
        await self.say("Ana")
        await self.press("Northfield")

    def ticked(self) -> set[str]:
        """The networks shown ticked on the newest network buttons."""
        for message in reversed(self.emulator.history(ANA)):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            labels = [button["text"] for row in rows for button in row]
            if "Done" in labels:
                return {label.removeprefix("✓ ") for label in labels if label.startswith("✓ ")}
        return set()


@pytest.fixture
async def networks(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions.begin() as session:
        await directory.add_areas(session, ["Northfield"])
        await directory.add_networks(session, NETWORKS)
        return sorted(network.id for network in await directory.list_networks(session))


async def chosen(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        state = await session.get(ConversationState, ANA)
        assert state is not None and state.step == "join:networks"
        return list(state.data["networks"])


async def test_taps_in_flight_together_on_one_webhook_all_count(
    webhook: str, emulator: Emulator, sessions: async_sessionmaker[AsyncSession], networks: list[int]
) -> None:
    chat = Chat(emulator, webhook)
    await chat.join_until_networks()
    taps = [chat.tap(name) for name in NETWORKS]
    assert await asyncio.gather(*(post(webhook, tap) for tap in taps)) == [200] * len(NETWORKS)
    assert await chosen(sessions) == networks
    assert chat.ticked() == set(NETWORKS)
    await chat.press("Done")
    assert texts(emulator.history(ANA)[-2:])[0].startswith("You're all set, Ana!")


@pytest.fixture
async def second_worker(
    emulator: Emulator, database_url: str, webhook: str
) -> AsyncIterator[str]:
    """Another webhook worker: its own Application and engine on the same database; its URL. Not
    paced, like the first (see `webhook`)."""
    engine = make_engine(database_url)
    settings = load_settings(api_base_url=emulator.base_url, database_url=database_url, delivery_rate=0)
    application = build_application(settings, make_sessions(engine))
    async with application:
        await application.start()
        server = TestServer(webhook_app(application, WEBHOOK_SECRET, "/telegram"))
        await server.start_server()
        yield str(server.make_url("/telegram"))
        await server.close()
        await application.stop()
    await engine.dispose()


async def test_taps_on_two_workers_at_the_same_moment_both_count(
    webhook: str,
    second_worker: str,
    emulator: Emulator,
    sessions: async_sessionmaker[AsyncSession],
    networks: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat = Chat(emulator, webhook)
    await chat.join_until_networks()

    # Both workers load Ana's state before either writes: the race, every time.
    loaded, both = 0, asyncio.Event()
    identify = gate.identify

    async def identify_together(update: Any, context: Any) -> None:
        nonlocal loaded
        await identify(update, context)
        loaded += 1
        if loaded == 2:
            both.set()
        if loaded <= 2:
            await asyncio.wait_for(both.wait(), REPLY_TIMEOUT)

    monkeypatch.setattr(gate, "identify", identify_together)
    first, second = chat.tap(NETWORKS[0]), chat.tap(NETWORKS[1])
    answered = emulator.calls.get("answercallbackquery", 0)
    assert await asyncio.gather(post(webhook, first), post(second_worker, second)) == [200, 200]
    assert loaded == 3  # the tap that lost the race ran again on fresh state...
    assert emulator.calls["answercallbackquery"] == answered + 2  # ...and was answered once
    assert await chosen(sessions) == networks[:2]
    assert chat.ticked() == set(NETWORKS[:2])


async def test_a_state_write_over_a_state_not_read_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        assert await conversation.set_state(session, ANA, "a", {}, read=None) == 1
    with pytest.raises(conversation.StateConflict):  # another worker inserted it meanwhile
        async with sessions.begin() as session:
            await conversation.set_state(session, ANA, "b", {}, read=None)
    async with sessions.begin() as session:
        assert await conversation.set_state(session, ANA, "c", {"n": 1}, read=1) == 2
    with pytest.raises(conversation.StateConflict):  # written since version 1 was read
        async with sessions.begin() as session:
            await conversation.set_state(session, ANA, "d", {}, read=1)
    with pytest.raises(conversation.StateConflict):
        async with sessions.begin() as session:
            await conversation.clear_state(session, ANA, read=1)
    with pytest.raises(conversation.StateConflict):  # it read no state, but there is one now
        async with sessions.begin() as session:
            await conversation.clear_state(session, ANA, read=None)
    async with sessions() as session:
        state = await conversation.get_state(session, ANA)
        assert state is not None and (state.step, state.data, state.version) == ("c", {"n": 1}, 2)
    async with sessions.begin() as session:
        await conversation.clear_state(session, ANA, read=2)
        assert await conversation.set_state(session, ANA, "e", {}) == 1  # a blind write starts anew
