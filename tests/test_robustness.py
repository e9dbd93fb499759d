"""Abuse and failure: floods are slowed down without starving others, champions replaying coordinators'
buttons change nothing, the webhook refuses bad requests without side effects, and updates sent while
the database is away are handled once it is back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import Emulator
from bot.flood import FloodGate, Verdict
from bot.i18n import translator
from bot.settings import load_settings
from bot.webhook import MAX_BODY
from handlers import gate
from storage import broadcasts
from storage.audience import Audience
from storage.db import make_engine, make_sessions
from storage.models import Base, Broadcast, Campaign, Champion, Status, utcnow
from tests.conftest import WEBHOOK_SECRET as SECRET
from tests.conftest import BotHarness, Person, join, make_coordinator, post

SLOW_DOWN = "You're sending messages very fast. Please wait a moment and try again."
ONLY = ["Sorry, only coordinators can do that."]


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    """Every row of every table, to show that something changed nothing."""
    async with sessions() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in (await session.execute(select(table))).all())
            for table in Base.metadata.sorted_tables
        }


def bot_texts(person: Person) -> list[dict[str, Any]]:
    return [m for m in person.history if m.get("from_bot")]


# ------------------------------------------------------------------ flood control


def test_the_flood_gate_allows_a_burst_then_warns_once_per_burst() -> None:
    now = [0.0]
    flood = FloodGate(burst=3, rate=1.0, clock=lambda: now[0])
    assert [flood.check(1) for _ in range(6)] == [Verdict.ALLOW] * 3 + [
        Verdict.WARN,
        Verdict.DROP,
        Verdict.DROP,
    ]
    assert flood.check(2) == Verdict.ALLOW  # other chats have buckets of their own
    now[0] = 1.0  # one token back
    assert [flood.check(1) for _ in range(3)] == [Verdict.ALLOW, Verdict.WARN, Verdict.DROP]
    now[0] = 100.0  # refilled, but never beyond the burst
    assert [flood.check(1) for _ in range(4)] == [Verdict.ALLOW] * 3 + [Verdict.WARN]
    assert {FloodGate(burst=1, rate=0).check(1) for _ in range(50)} == {Verdict.ALLOW}  # 0: no limit


@pytest.mark.bot_settings(flood_burst=20, flood_rate=0.001)  # no refill during the test
async def test_a_flooding_chat_is_slowed_down_once_and_others_still_get_answers(
    bot: BotHarness, places: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    kasia = bot.person(9201, "Kasia", "pl")  # not joined: the bot answers in Telegram's language
    bob = bot.person(9202, "Bob", "en")
    loaded: list[int] = []
    identify = gate.identify

    async def counting(update: Any, context: Any) -> None:
        loaded.append(update.effective_chat.id)
        await identify(update, context)

    monkeypatch.setattr(gate, "identify", counting)
    first = [bot.emulator.send(kasia.id, f"cześć {n}") for n in range(50)]
    bobs = bot.emulator.send(bob.id, "/help")
    rest = [bot.emulator.send(kasia.id, f"cześć {n}") for n in range(50, 100)]
    for update_id in (*first, bobs, *rest):
        await bot.processed(update_id)

    pl = translator("pl")
    hello = pl.gettext("Hello! Send /start to join.")
    assert hello != "Hello! Send /start to join."
    said = bot_texts(kasia)
    assert [m["text"] for m in said] == [hello] * 20 + [pl.gettext(SLOW_DOWN)]  # one slow-down, in Polish
    (answer,) = bot_texts(bob)
    assert answer["text"].startswith("Here is what I can do:")
    # Bob's message, sent in the middle of the flood, is answered as soon as its turn comes: the 30
    # updates of Kasia's before it that were over the limit, and the 50 after, cost no reply and no
    # database work.
    assert len([m for m in said if m["message_id"] < answer["message_id"]]) == 21
    assert loaded.count(kasia.id) == 21 and loaded.count(bob.id) == 1


# ------------------------------------------------------ coordinators' buttons


def callback_data(person: Person) -> list[str]:
    """Every button's callback data on the messages the bot sent this person."""
    return [
        button["callback_data"]
        for message in bot_texts(person)
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for button in row
    ]


async def test_a_champion_replaying_a_coordinators_live_buttons_is_refused_and_changes_nothing(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(9301, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(9302, "Ana")
    await join(ana)
    async with bot.sessions.begin() as session:
        session.add(Champion(telegram_id=9303, language="en", display_name="Zara", status=Status.PENDING))
        campaign = Campaign(name="Winter flu", audience={})
        session.add(campaign)
        await session.flush()
        await broadcasts.create_broadcast(
            session,
            texts={"en": "Winter flu"},
            audience=Audience(),
            send_at=utcnow() + timedelta(days=7),
            campaign_id=campaign.id,
        )
    await sam.send("/pending")
    await sam.send("/campaigns")
    await sam.send("/invite")
    await sam.send("/broadcast")
    await sam.send("Clinic open late on Thursday")
    await sam.press("Everyone · 1")
    await sam.press("Continue")
    await sam.press("Send now")
    coordinators = ("approve:", "camp:", "invite:", "bc:")
    captured = [data for data in callback_data(sam) if data.startswith(coordinators)]
    for prefix in (*coordinators, "bc:ok"):
        assert any(data.startswith(prefix) for data in captured), prefix

    before = await snapshot(bot.sessions)
    own = bot_texts(ana)[-1]["message_id"]
    for data in captured:
        assert await ana.press_data(own, data) == ONLY, data
    assert await snapshot(bot.sessions) == before

    # The buttons were live all along: the coordinator's own press still works.
    assert (await sam.press("Confirm"))[0].startswith("Sending to 1 champion")
    async with bot.sessions() as session:
        assert len(list(await session.scalars(select(Broadcast.id)))) == 2


# ------------------------------------------------------------------- webhook


def start_update(user_id: int) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "W", "language_code": "en"}
    message = {
        "message_id": 1,
        "date": 0,
        "text": "/start",
        "chat": {"id": user_id, "type": "private"},
        "from": user,
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    return {"update_id": 1, "message": message}


START = json.dumps(start_update(9401)).encode()
NOT_UPDATES = [
    b"not json",
    b"",
    b"[1, 2]",
    b'"text"',
    b"null",
    b'{"no": "update id"}',
    b'{"update_id": "1"}',
    b'{"update_id": true}',
    b'{"update_id": 1, "message": "hello"}',
    b'{"update_id": 1, "message": {"text": "/start"}}',
    b'{"update_id": 1, "callback_query": [1]}',
    json.dumps({**start_update(9401), "message": {**start_update(9401)["message"], "chat": 5}}).encode(),
]
OVERSIZED = START[:-1] + b', "padding": "' + b"x" * MAX_BODY + b'"}'


@pytest.mark.parametrize(
    ("secret", "body", "chunked", "status"),
    [
        *[(secret, START, False, 403) for secret in (None, "", "wrong", SECRET[:-1], SECRET + "x")],
        (None, OVERSIZED, False, 403),  # the secret is checked before the body is read
        *[(SECRET, body, False, 400) for body in NOT_UPDATES],
        (SECRET, OVERSIZED, False, 413),
        (SECRET, OVERSIZED, True, 413),  # chunked, so no Content-Length to go by
    ],
)
async def test_the_webhook_refuses_bad_requests_without_side_effects(
    webhook: str,
    emulator: Emulator,
    sessions: async_sessionmaker[AsyncSession],
    secret: str | None,
    body: bytes,
    chunked: bool,
    status: int,
) -> None:
    emulator.add_user(9401, "W", started=True)  # the updates below are as if from them
    before = await snapshot(sessions)
    assert await post(webhook, body, secret, chunked=chunked) == status
    assert emulator.history(9401) == [] and emulator.messages_sent == 0
    assert await snapshot(sessions) == before
    # The same endpoint still takes a good update.
    assert await post(webhook, START, SECRET) == 200
    assert emulator.history(9401)[-1]["text"] == "Welcome! Please choose your language."


# ------------------------------------------------------- the database going away


class Proxy:
    """A TCP proxy in front of PostgreSQL that the test can cut: while cut it drops every connection,
    old and new, as a restarting or unreachable server would."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.open = True
        self.refused = 0
        self._refusal = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.open = False
        for writer in self._writers:
            writer.transport.abort()

    def mend(self) -> None:
        self.open = True

    async def refusals(self, count: int) -> None:
        """Wait until `count` connections have been refused since the start."""
        async with asyncio.timeout(30):
            while self.refused < count:
                await self._refusal.wait()
                self._refusal.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            self.refused += 1
            self._refusal.set()
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            writer.transport.abort()
            up_writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(64 * 1024):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


@pytest.fixture
async def through_proxy(
    emulator: Emulator, database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[tuple[BotHarness, Proxy]]:
    """The bot on PostgreSQL reached through a proxy the test can cut."""
    if not database_url.startswith("postgresql"):
        pytest.skip("cutting the database connection is tested on PostgreSQL")
    url = make_url(database_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    proxied = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    engine = make_engine(proxied)
    settings = load_settings(api_base_url=emulator.base_url, database_url=proxied, data_dir=tmp_path)
    harness = BotHarness(emulator, make_sessions(engine), settings)
    await harness.start()
    yield harness, proxy
    await harness.stop()
    await engine.dispose()
    await proxy.stop()


async def test_updates_sent_while_the_database_is_away_are_handled_when_it_is_back(
    through_proxy: tuple[BotHarness, Proxy], places: None
) -> None:
    bot, proxy = through_proxy
    ana = bot.person(9501, "Ana")
    await join(ana)
    proxy.cut()
    sent = [bot.emulator.send(ana.id, text) for text in ("/progress", "/quiet", "/help")]
    await proxy.refusals(3)  # the bot keeps trying
    assert bot_texts(ana)[-1]["text"].startswith("Here is what I can do:")  # nothing answered meanwhile
    proxy.mend()
    before = len(bot_texts(ana))
    for update_id in sent:
        await bot.processed(update_id)
    answers = [m["text"] for m in bot_texts(ana)[before:]]
    assert len(answers) == 3
    assert answers[1].startswith("You have no quiet hours.") and answers[2].startswith(
        "Here is what I can do:"
    )
    assert not any("something went wrong" in answer for answer in answers)


async def test_the_bot_recovers_when_the_database_drops_its_connections(
    bot: BotHarness, places: None, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    ana = bot.person(9601, "Ana")
    await join(ana)
    terminate = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    admin = make_engine(database_url)  # a connection of its own, which the query spares
    try:
        for command in ("/help", "/quiet", "/progress"):
            async with admin.connect() as connection:
                assert await connection.scalar(terminate) >= 1  # the bot's pooled connection, at least
            replies = await ana.send(command)
            assert len(replies) == 1 and "something went wrong" not in replies[0]
    finally:
        await admin.dispose()
