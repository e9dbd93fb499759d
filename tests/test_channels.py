"""Channels: the webhook checks Telegram's secret token; polling and webhook reach the same handlers;
the command menu is registered per language; a restart mid-flow loses nothing; Bot API errors."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, Update

from bot.app import ChatOrderProcessor, build_application, shutdown
from bot.channels import poll, serve_webhook, start
from bot.context import App
from bot.emulator import Emulator
from bot.i18n import LANGUAGES, translator
from bot.settings import load_settings
from storage import champions
from tests.conftest import WEBHOOK_SECRET as SECRET
from tests.conftest import BotHarness, post


def update_json(user_id: int, text: str, update_id: int = 1) -> str:
    user = {"id": user_id, "is_bot": False, "first_name": "W"}
    message = {
        "message_id": 1,
        "date": 0,
        "text": text,
        "chat": {"id": user_id, "type": "private"},
        "from": user,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
    }
    return json.dumps({"update_id": update_id, "message": message})


async def test_webhook_processes_a_verified_update_before_answering(webhook: str, emulator: Emulator) -> None:
    emulator.add_user(501, "Wil", started=True)  # the update below is as if from them
    assert await post(webhook, update_json(501, "/help")) == 200
    assert emulator.history(501)[-1]["text"].startswith("Here is what I can do:")
    assert emulator.webhook == (webhook, SECRET)


@pytest.mark.parametrize("secret", [None, "", "wrong"])
async def test_webhook_refuses_a_missing_or_wrong_secret(
    webhook: str, emulator: Emulator, secret: str | None
) -> None:
    emulator.add_user(502, "Wil")
    assert await post(webhook, update_json(502, "/help"), secret) == 403
    assert emulator.history(502) == []


@pytest.mark.parametrize(
    "body", ["not json", "[1, 2]", '{"no": "update id"}', '"text"', "x" * (2 * 1024 * 1024)]
)
async def test_webhook_refuses_malformed_or_oversized_bodies(webhook: str, body: str) -> None:
    assert await post(webhook, body) in {400, 413}


async def test_emulator_delivers_to_the_webhook(webhook: str, emulator: Emulator) -> None:
    emulator.add_user(503, "Wil")
    emulator.send(503, "/help")
    assert await emulator.wait_for_change(503, 5)  # the user's own message
    while len(emulator.history(503)) < 2:
        assert await emulator.wait_for_change(503, 5)
    assert emulator.history(503)[-1]["text"].startswith("Here is what I can do:")


async def test_command_menu_is_registered_in_every_language(bot: BotHarness) -> None:
    menus = bot.emulator.commands
    assert {language for _scope, language in menus} == {"", *(code for code in LANGUAGES if code != "en")}
    urdu = {c["command"]: c["description"] for c in menus[("default", "ur")]}
    assert urdu["language"] == translator("ur").gettext("Change language")
    assert "deleteme" not in urdu and "start" in urdu


async def test_a_failing_command_menu_does_not_stop_the_bot(
    emulator: Emulator,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.fail(0, 400, times=None)  # setMyCommands carries no chat id, so it is "chat 0" here
    application = build_application(
        load_settings(api_base_url=emulator.base_url, database_url=database_url), sessions
    )
    await start(application)
    await application.stop()
    await shutdown(application)
    emulator.clear_fault(0)
    assert emulator.commands == {}
    assert "Could not register the en command menu" in caplog.text


async def test_restart_mid_join_continues_where_they_were(bot: BotHarness, places: None) -> None:
    ana = bot.person(504, "Ana")
    await ana.send("/start")
    await ana.press("English")
    await ana.press("Yes, I agree")
    await ana.press("No")
    await bot.restart()
    assert await ana.send("Ana") == ["Which area do you mostly work in?"]
    await ana.press("Riverside")
    assert (await ana.press("Done"))[0].startswith("You're all set, Ana!")
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 504)
        assert champion and champion.area and champion.area.name == "Riverside"


async def test_rate_limit_answers_are_retried(bot: BotHarness, places: None) -> None:
    ana = bot.person(505)
    bot.emulator.fail(505, 429, times=1, retry_after=1)
    replies = await ana.send("/help")
    assert len(replies) == 1 and replies[0].startswith("Here is what I can do:")


async def test_serve_webhook_registers_itself_and_answers_until_stopped(
    emulator: Emulator, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(
        api_base_url=emulator.base_url,
        database_url=database_url,
        webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_port=port,
        webhook_secret=SECRET,
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(serve_webhook(build_application(settings, sessions), settings, stop, ready))
    emulator.add_user(507, "Wil", started=True)
    await asyncio.wait_for(ready.wait(), 10)
    assert emulator.webhook == (f"http://127.0.0.1:{port}/hook", SECRET)
    assert await post(f"http://127.0.0.1:{port}/hook", update_json(507, "/help")) == 200
    assert emulator.history(507)[-1]["text"].startswith("Here is what I can do:")
    stop.set()
    await asyncio.wait_for(serving, 10)


class Batch:
    """The parts of an Application that `poll` uses, handling updates with a hook per update."""

    def __init__(self, bot: Bot, handle: Callable[[Update], Awaitable[None]]) -> None:
        self.bot = bot
        self.update_processor = ChatOrderProcessor(8)
        self.handle = handle

    async def process_update(self, update: object) -> None:
        assert isinstance(update, Update)
        await self.handle(update)


async def test_polling_handles_other_chats_beside_a_slow_one_and_one_chats_in_order(
    emulator: Emulator,
) -> None:
    """A fetched batch is handled at once: the first chat's update waits for the second chat's to be
    handled (one by one, it never would be), and the first chat's second update waits its turn."""
    for user_id in (1, 2):
        emulator.add_user(user_id, "W")
    first, second, later = emulator.send(1, "a"), emulator.send(2, "b"), emulator.send(1, "c")
    stop = asyncio.Event()
    other_chat_done = asyncio.Event()
    handled: list[int] = []

    async def handle(update: Update) -> None:
        if update.update_id == first:
            await asyncio.wait_for(other_chat_done.wait(), 5)
        handled.append(update.update_id)
        if update.update_id == second:
            other_chat_done.set()
        if len(handled) == 3:
            stop.set()

    async with Bot("1:t", base_url=f"{emulator.base_url}/bot") as bot:
        await asyncio.wait_for(poll(cast("App", Batch(bot, handle)), stop), 10)
    assert handled == [second, first, later]
