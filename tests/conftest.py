"""Fixtures: a migrated database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), the local
Bot API emulator, and the real Application polling it, driven as people in a dialogue."""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, Update
from telegram.ext import BaseUpdateProcessor

from bot.app import build_application, shutdown
from bot.budget import Budget
from bot.channels import start
from bot.context import App
from bot.delivery import DeliveryWorker
from bot.emulator import Emulator
from bot.i18n import compile_catalogs, translator
from bot.settings import Settings, load_settings
from bot.webhook import SECRET_HEADER, webhook_app
from bot.wiring import MESSAGES
from handlers import pastes
from handlers.report_labels import KIND_LABELS, PEOPLE_LABELS
from storage import champions, directory
from storage.db import downgrade, make_engine, make_sessions, upgrade
from storage.models import Base, utcnow

REPLY_TIMEOUT = 10.0


def _migrate_fresh(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        await downgrade(engine, "base")
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(run())


def pytest_configure(config: pytest.Config) -> None:
    """Compile the catalogs before test modules are imported: a module-level `translator("ar")`
    made earlier would keep English for the whole run."""
    compile_catalogs()


@pytest.fixture(autouse=True)
def _no_local_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep a developer's CHAMPBOT_* variables and .env file out of the tests."""
    for name in [n for n in os.environ if n.startswith("CHAMPBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per session: SQLite always, PostgreSQL when configured."""
    if request.param == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.skip("TEST_DATABASE_URL is not set, so the PostgreSQL run is skipped")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    _migrate_fresh(url)
    yield url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on an empty database. Rows are deleted after each test rather than rolled back,
    because the real Application commits in sessions of its own."""
    engine = make_engine(database_url)
    factory = make_sessions(engine)
    yield factory
    async with factory.begin() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))
    await engine.dispose()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator()
    await emu.start()
    yield emu
    await emu.stop()


class TrackingProcessor(BaseUpdateProcessor):
    """Processes updates one at a time and signals when each one is fully handled."""

    def __init__(self) -> None:
        super().__init__(max_concurrent_updates=1)
        self.done: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
        finally:
            if isinstance(update, Update):
                self.done[update.update_id].set()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class Person:
    """Someone chatting with the bot through the emulator."""

    def __init__(self, bot: BotHarness, user_id: int, name: str, language_code: str | None) -> None:
        self.bot = bot
        self.id = user_id
        self.name = name
        bot.emulator.add_user(user_id, name, language_code)

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.bot.emulator.history(self.id)

    async def send(self, text: str) -> list[str]:
        """Send text and return the texts (and captions, and button notices) the bot answered with."""
        return texts(await self.send_raw(text))

    async def send_raw(self, text: str) -> list[dict[str, Any]]:
        before = len(self.history)
        update_ids = self.bot.emulator.send_parts(self.id, text)  # a long text comes in parts
        for update_id in update_ids:
            await asyncio.wait_for(self.bot.processor.done[update_id].wait(), REPLY_TIMEOUT)
        due = pastes.due_id(self.bot.application, self.id)
        if due == -update_ids[-1]:  # its last part is held for a moment, for the rest of a paste
            await asyncio.wait_for(self.bot.processor.done[due].wait(), REPLY_TIMEOUT)
        return [m for m in self.history[before:] if m.get("from_bot")]

    async def press(self, label: str) -> list[str]:
        """Press the button with this label on the newest bot message that has it."""
        message, data = self.find_button(label)
        return await self.press_data(message["message_id"], data)

    async def press_data(self, message_id: int, data: str) -> list[str]:
        """Press a button by its callback data (which may be stale or forged)."""
        before = len(self.history)
        update_id = self.bot.emulator.press(self.id, message_id, data)
        await asyncio.wait_for(self.bot.processor.done[update_id].wait(), REPLY_TIMEOUT)
        return texts([m for m in self.history[before:] if m.get("from_bot")])

    def find_button(self, label: str) -> tuple[dict[str, Any], str]:
        for message in reversed(self.history):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    text = button["text"]
                    if text in (label, f"✓ {label}") or text.endswith(f" · {label}"):  # or its note
                        return message, button["callback_data"]
        raise AssertionError(f"No button {label!r}; last messages: {texts(self.history[-3:])}")

    def buttons(self) -> list[str]:
        """Labels on the newest bot message with buttons."""
        for message in reversed(self.history):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard")
            if rows:
                return [button["text"] for row in rows for button in row]
        return []


def texts(messages: list[dict[str, Any]]) -> list[str]:
    """What the messages say, without the Unicode isolates around names (tested on their own)."""
    said = [m.get("text") or m.get("caption") or m.get("notice") or "" for m in messages]
    return [text.replace("\u2068", "").replace("\u2069", "") for text in said]


class BotHarness:
    """The real Application polling the emulator, plus helpers to act as people."""

    def __init__(
        self, emulator: Emulator, sessions: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        self.emulator = emulator
        self.sessions = sessions
        self.settings = settings
        self.processor = TrackingProcessor()
        self.running = False
        self.application: App = build_application(settings, sessions, update_processor=self.processor)

    async def start(self) -> None:
        assert self.application.updater
        self.running = True
        await start(self.application)
        await self.application.updater.start_polling(poll_interval=0, timeout=5)

    async def stop(self) -> None:
        """Stop polling and the application (again is fine)."""
        assert self.application.updater
        if not self.running:
            return
        self.running = False
        stopping = asyncio.create_task(self.application.updater.stop())
        await asyncio.sleep(0)  # let stop() begin before answering the open long poll
        self.emulator.release_polls()
        await stopping
        await self.application.stop()
        await shutdown(self.application)

    async def restart(self) -> None:
        """Stop, then start a new Application on the same database, as a new process would."""
        await self.stop()
        self.processor = TrackingProcessor()
        self.application = build_application(self.settings, self.sessions, update_processor=self.processor)
        await self.start()

    def person(self, user_id: int, name: str = "Ana", language_code: str | None = "en") -> Person:
        return Person(self, user_id, name, language_code)

    async def deliver(self, now: datetime | None = None) -> None:
        """Let a delivery worker send everything the outbox holds that is due (at `now`, if given),
        as the bot's own workers would, then return."""
        sender = Bot("1:t", base_url=f"{self.emulator.base_url}/bot")
        services = self.application.bot_data
        clock = (lambda: now) if now is not None else utcnow
        async with sender:
            worker = DeliveryWorker(
                sender, self.sessions, Budget(None), clock=clock, messages=MESSAGES, services=services
            )
            await worker.run(asyncio.Event(), until_idle=True)

    async def processed(self, update_id: int) -> None:
        await asyncio.wait_for(self.processor.done[update_id].wait(), REPLY_TIMEOUT)


@pytest.fixture
def bot_settings(
    emulator: Emulator, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """Settings for the bot under test; `@pytest.mark.bot_settings(signup_mode=...)` overrides them."""
    marker = request.node.get_closest_marker("bot_settings")
    overrides = marker.kwargs if marker else {}
    return {
        "api_base_url": emulator.base_url,
        "database_url": database_url,
        "data_dir": tmp_path,
        "flood_rate": 0,  # tests type faster than people: flood control is tested on its own
        **overrides,
    }


@pytest.fixture
async def bot(
    emulator: Emulator, sessions: async_sessionmaker[AsyncSession], bot_settings: dict[str, Any]
) -> AsyncIterator[BotHarness]:
    harness = BotHarness(emulator, sessions, load_settings(**bot_settings))
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
async def places(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Starter areas and networks."""
    async with sessions.begin() as session:
        await directory.add_areas(session, ["Northfield", "Riverside"])
        await directory.add_networks(session, ["Faith groups", "Youth clubs"])


async def join(
    person: Person, language: str = "English", name: str | None = None, networks: tuple[str, ...] = ()
) -> None:
    """Take a person through joining with the default answers."""
    await person.send("/start")
    await person.press(language)
    await person.press(person.buttons()[0])  # agree to take part
    await person.press(person.buttons()[0])  # agree to sharing without names
    await person.send(name or person.name)
    await person.press(person.buttons()[0])  # first area
    for network in networks:
        await person.press(network)
    await person.press(person.buttons()[-1])  # Done with networks


async def answer_joining(person: Person, start: str = "/start", *, area: str = "Riverside") -> None:
    """Send `start` (with an invite's code, if any) and answer every joining step but the last, Done:
    English, agree, no sharing, their name, `area`."""
    await person.send(start)
    await person.press("English")
    await person.press("Yes, I agree")
    await person.press("No")
    await person.send(person.name)
    await person.press(area)


async def make_coordinator(bot: BotHarness, person: Person) -> None:
    async with bot.sessions.begin() as session:
        await champions.make_coordinator(session, person.id, person.name, "en")


async def send_report(
    person: Person,
    text: str = "People say the clinic is too far to walk to.",
    *,
    topic: str = "vaccinations",
    kind: str = "barrier",
    people: str = "few",
    anonymous: bool = True,
    language: str = "en",
) -> str:
    """Make a report through the chat as a joined champion whose language is `language`, in their
    own area, and return its reference (e.g. "R-1001"). `topic`, `kind` and `people` are ids."""
    _ = translator(language).gettext
    topics = person.bot.application.bot_data.topics
    await person.send("/report")
    await person.press(next(t for t in topics if t.id == topic).label(language))
    await person.press(_(KIND_LABELS[kind]))
    await person.send(text)
    await person.press(_(PEOPLE_LABELS[people]))
    await person.press(person.buttons()[0])  # their own area comes first
    await person.press(_("Stay anonymous") if anonymous else _("Share my name"))
    said = await person.press(_("Confirm"))
    found = re.search(r"R-\d+", said[-1])
    assert found, said
    return found.group()


WEBHOOK_SECRET = "s3cret-token_for-tests"


@pytest.fixture
async def webhook(
    emulator: Emulator, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> AsyncIterator[str]:
    """The bot served by its webhook app, with the emulator posting updates to it; its URL. Its sends
    are not paced (pacing has tests of its own): a test posting as two workers expects each worker's
    edits to go in the order they were made, which a paced budget can hold back by a slot."""
    settings = load_settings(api_base_url=emulator.base_url, database_url=database_url, delivery_rate=0)
    application = build_application(settings, sessions)
    async with application:
        await application.start()
        server = TestServer(webhook_app(application, WEBHOOK_SECRET, "/telegram"))
        await server.start_server()
        url = str(server.make_url("/telegram"))
        await application.bot.set_webhook(url, secret_token=WEBHOOK_SECRET)
        yield url
        await server.close()
        await application.stop()


async def post(
    url: str, body: bytes | str, secret: str | None = WEBHOOK_SECRET, *, chunked: bool = False
) -> int:
    """POST a body to a webhook as Telegram would (with the secret header unless None); the status.
    `chunked` sends it without a Content-Length."""
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret

    async def chunks() -> AsyncIterator[bytes]:
        for offset in range(0, len(data), 64 * 1024):
            yield data[offset : offset + 64 * 1024]

    sent: Any = chunks() if chunked else io.BytesIO(data)
    async with ClientSession() as client, client.post(url, data=sent, headers=headers) as response:
        return response.status
