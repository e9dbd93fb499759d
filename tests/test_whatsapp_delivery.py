"""The outbox delivering to WhatsApp champions through the Cloud API emulator: session messages inside
the 24-hour window, templates outside it (and on 131047), WhatsApp's error codes, status webhooks
before and after the send, a broadcast to both channels each within its own budget, and a delivery
process killed mid-broadcast across both channels."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.app import build_application
from bot.budget import Budget, Chat, Priority
from bot.context import Services
from bot.delivery import THROUGHPUT_PAUSE, DeliveryWorker, WorkerOptions
from bot.emulator import Emulator
from bot.i18n import translator
from bot.replies import Outgoing
from bot.settings import load_settings
from bot.whatsapp_api import WhatsAppClient
from bot.whatsapp_emulator import APP_SECRET, PHONE_NUMBER_ID, TOKEN, WhatsAppEmulator
from bot.whatsapp_inbound import whatsapp_routes
from bot.whatsapp_replies import WhatsAppOut
from bot.whatsapp_templates import load
from bot.wiring import MESSAGES
from handlers.reach import reach_figures
from storage import audience, broadcasts, outbox, reports, responses, whatsapp_statuses
from storage.audience import Audience
from storage.identities import TELEGRAM, WHATSAPP, whatsapp_chat_key
from storage.models import Champion, Delivery, Identity, Report, ReportReply, Status, utcnow
from storage.responses import Reach
from tests import whatsapp_openapi
from tests.conftest import BotHarness, make_coordinator
from tests.test_delivery import Clock, add_champions

CHAMPBOT = str(Path(sys.executable).parent / "champbot")
HOUR = timedelta(hours=1)


class CountingBudget(Budget):
    """A budget that notes each chat it paced, and each back-off."""

    def __init__(self, per_second: float | None = None, per_chat: float = 1.0) -> None:
        super().__init__(per_second, per_chat)
        self.taken: list[Chat | None] = []
        self.backed_off: list[float] = []

    async def take(self, chat: Chat | None, priority: Priority = Priority.BULK) -> None:
        self.taken.append(chat)
        await super().take(chat, priority)

    def back_off(self, seconds: float) -> None:
        self.backed_off.append(seconds)
        super().back_off(seconds)


def check(recorded: Any) -> None:
    """Validate a request the emulator accepted against Meta's OpenAPI description."""
    whatsapp_openapi.validate(recorded.method, recorded.path, recorded.body, recorded.content_type)


@pytest.fixture
async def wa() -> AsyncIterator[WhatsAppEmulator]:
    """The Cloud API emulator, refusing synchronously (a test asks for Meta's asynchronous refusals
    by setting `async_errors`), with the shipped catalogue's templates approved; every request it
    accepted is checked against Meta's OpenAPI description where the file is present."""
    emulator = WhatsAppEmulator(async_errors=False, statuses=False)
    for templates in load().root.values():
        for template in templates.values():
            assert template.whatsapp_code
            emulator.add_template(
                template.name,
                template.whatsapp_code,
                template.category,
                len(template.variables),
                template.body,
            )  # type: ignore[arg-type]
    await emulator.start()
    yield emulator
    await emulator.stop()
    if whatsapp_openapi.spec_path() is not None:
        for recorded in emulator.requests:
            if recorded.status is not None and recorded.status < 300:
                check(recorded)


@pytest.fixture
async def out(
    wa: WhatsAppEmulator, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[WhatsAppOut]:
    client = WhatsAppClient(wa.base_url, PHONE_NUMBER_ID, TOKEN)
    sender = WhatsAppOut(client, CountingBudget(None, 6.0), sessions, tmp_path)
    yield sender
    await client.close()


@pytest.fixture
async def bare_bot(emulator: Emulator) -> AsyncIterator[Bot]:
    bot = Bot("1:test", base_url=f"{emulator.base_url}/bot")
    async with bot:
        yield bot


async def add_whatsapp(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator | None,
    count: int,
    *,
    start: int = 1,
    wrote: datetime | None = None,
    language: str = "en",
    meta_window: bool | None = None,
) -> list[str]:
    """Active WhatsApp champions, each with an identity (phone shared) who last wrote at `wrote`
    (None: never); the emulator sees their window as the database does unless `meta_window` says
    otherwise. Returns their addresses (BSUIDs)."""
    addresses = []
    async with sessions.begin() as session:
        for n in range(start, start + count):
            address, phone = f"GB.{n:010d}", f"447700{n:06d}"
            identity = Identity(channel=WHATSAPP, address=address, phone=phone, last_inbound_at=wrote)
            session.add(identity)
            await session.flush()
            identity.chat_id = whatsapp_chat_key(identity.id)
            champion = Champion(
                telegram_id=identity.chat_id,
                display_name=f"W{n}",
                language=language,
                status=Status.ACTIVE,
                consent_at=utcnow(),
            )
            session.add(champion)
            await session.flush()
            identity.champion_id = champion.id
            addresses.append(address)
            if wa is None:
                continue
            person = wa.add_user(address, phone, f"W{n}")
            if meta_window if meta_window is not None else wrote is not None:
                person.last_inbound = wa.now()
    return addresses


def phone_of(address: str) -> str:
    return "447700" + address[-6:]


def worker(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    out: WhatsAppOut,
    *,
    budget: Budget | None = None,
    channel: str | None = None,
    name: str = "w1",
    **options: Any,
) -> DeliveryWorker:
    return DeliveryWorker(
        bot,
        sessions,
        budget or Budget(None),
        WorkerOptions(**options),
        name=name,
        clock=clock,  # type: ignore[arg-type]
        messages=MESSAGES,
        services=Services(sessions=sessions),
        whatsapp=out,
        channel=channel,
    )


async def broadcast(sessions: async_sessionmaker[AsyncSession], clock: Clock, **kwargs: Any) -> int:
    texts = kwargs.pop("texts", {"en": "Flu jabs this Saturday"})
    async with sessions.begin() as session:
        made = await broadcasts.create_broadcast(
            session, texts=texts, audience=Audience(), send_at=clock.now, **kwargs
        )
        await broadcasts.queue_due(session, clock.now, timedelta(hours=1))
        return made.id


async def rows(sessions: async_sessionmaker[AsyncSession]) -> dict[int, Delivery]:
    """Outbox rows by their champion's chat key."""
    async with sessions() as session:
        found = await session.execute(
            select(Champion.telegram_id, Delivery).join(Champion, Champion.id == Delivery.champion_id)
        )
        return {chat: delivery for chat, delivery in found.all()}


async def chat_of(sessions: async_sessionmaker[AsyncSession], address: str) -> int:
    async with sessions() as session:
        chat = await session.scalar(select(Identity.chat_id).where(Identity.address == address))
    assert chat is not None
    return chat


def bot_messages(wa: WhatsAppEmulator, address: str) -> list[dict[str, Any]]:
    return [m for m in wa.history(address) if m.get("from_bot")]


# ----------------------------------------------------------------------------- window and templates


async def test_inside_the_window_a_session_message_outside_it_the_template(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
) -> None:
    clock = Clock()
    (fresh,) = await add_whatsapp(sessions, wa, 1, start=1, wrote=clock.now - 23 * HOUR)
    (stale,) = await add_whatsapp(sessions, wa, 1, start=2, wrote=clock.now - 25 * HOUR, meta_window=False)
    (never,) = await add_whatsapp(sessions, wa, 1, start=3, language="pl")
    telegram = CountingBudget()
    await broadcast(sessions, clock, texts={"en": "Flu jabs this Saturday", "pl": "Szczepienia w sobotę"})
    assert await worker(bare_bot, sessions, clock, out, budget=telegram).run_once() == 3

    (session_message,) = bot_messages(wa, fresh)
    assert session_message["type"] == "interactive" and session_message["text"] == "Flu jabs this Saturday"
    for address, text in ((stale, "Flu jabs this Saturday"), (never, "Szczepienia w sobotę")):
        (template,) = bot_messages(wa, address)
        assert template["type"] == "template"
        assert template["template"]["name"] == "champbot_broadcast_answer_back"
        assert template["template"]["language"] == "en_GB"  # no Polish template approved: English's
        assert template["template"]["params"] == [text]  # with the champion's own text
    sent = await rows(sessions)
    by_chat = {address: sent[await chat_of(sessions, address)] for address in (fresh, stale, never)}
    assert by_chat[fresh].template is None and by_chat[stale].template == "champbot_broadcast_answer_back"
    assert all(row.state == "sent" and row.wa_message_id for row in by_chat.values())
    assert [m["wamid"] for m in bot_messages(wa, stale)] == [by_chat[stale].wa_message_id]
    # The template's buttons answer back as the session message's do.
    request = next(r.body for r in wa.requests if r.body and r.body.get("to") == phone_of(never))
    buttons = [c for c in request["template"]["components"] if c["type"] == "button"]
    payloads = [b["parameters"][0]["payload"] for b in buttons]
    assert payloads == [f"answer:{by_chat[never].id}:{kind}" for kind in ("shared", "question", "concern")]
    assert telegram.taken == []  # WhatsApp sends never take from Telegram's budget
    chats = [await chat_of(sessions, a) for a in (fresh, stale, never)]
    assert sorted(out.budget.taken) == sorted(chats)  # type: ignore[attr-defined]


async def test_the_template_payloads_validate_against_metas_description(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
) -> None:
    whatsapp_openapi.require_spec()
    clock = Clock()
    await add_whatsapp(sessions, wa, 2)
    await broadcast(sessions, clock, answer_back=False)
    await worker(bare_bot, sessions, clock, out).run_once()
    templates = [r for r in wa.requests if r.body and r.body.get("type") == "template"]
    assert len(templates) == 2 and all(r.status == 200 for r in templates)
    for recorded in templates:
        assert recorded.body["template"]["name"] == "champbot_broadcast"  # no buttons without answer-back
        whatsapp_openapi.validate(recorded.method, recorded.path, recorded.body, recorded.content_type)
    for recorded in wa.requests:
        check(recorded)  # with buttons too (answer-back), but for the description's broken index


async def test_a_reply_to_a_report_outside_the_window_fills_the_reply_template(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
) -> None:
    clock = Clock()
    (address,) = await add_whatsapp(sessions, wa, 1)
    async with sessions.begin() as session:
        champion = await session.scalar(select(Champion))
        assert champion
        report = Report(
            champion_id=champion.id,
            topic="vaccinations",
            kind="barrier",
            text="The clinic is\ntoo far",
            people="few",
            language="en",
        )
        session.add(report)
        await session.flush()
        reply = ReportReply(report_id=report.id, text="We asked for a bus")
        session.add(reply)
        await session.flush()
        await outbox.queue(session, outbox.REPLY, [champion.id], {"reply": reply.id}, not_before=clock.now)
        reference = reports.reference(report.id)
    await worker(bare_bot, sessions, clock, out).run_once()
    (row,) = (await rows(sessions)).values()
    assert (row.state, row.error) == ("sent", None)
    (sent,) = bot_messages(wa, address)
    assert sent["template"]["name"] == "champbot_report_reply"
    strip = str.maketrans("", "", "\u2068\u2069")
    assert [p.translate(strip) for p in sent["template"]["params"]] == [
        reference,
        "The clinic is too far",
        "We asked for a bus",
    ]
    async with sessions() as session:
        told = await session.get(ReportReply, reply.id)
        assert told and told.notified_at == clock.now  # a template tells them as a message does


async def test_a_session_message_refused_with_131047_goes_as_its_template_at_once(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
) -> None:
    clock = Clock()
    # The database thinks the window is open; Meta says it closed (a message of theirs never came).
    (address,) = await add_whatsapp(sessions, wa, 1, wrote=clock.now - HOUR, meta_window=False)
    await broadcast(sessions, clock)
    assert await worker(bare_bot, sessions, clock, out).run_once() == 1
    (sent,) = bot_messages(wa, address)
    assert sent["type"] == "template" and wa.refused == {131047: 1}
    (row,) = (await rows(sessions)).values()
    assert row.state == "sent" and row.template == "champbot_broadcast_answer_back" and row.attempts == 1
    assert row.wa_message_id == sent["wamid"]


# ----------------------------------------------------------------------------- error codes


async def test_throughput_and_pair_limit_refusals_are_retried_after_a_backoff(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
) -> None:
    clock = Clock()
    busy, paired, fine = await add_whatsapp(sessions, wa, 3, wrote=clock.now - HOUR)
    wa.fail(busy, 130429)
    wa.fail(paired, 131056)
    await broadcast(sessions, clock)
    delivering = worker(bare_bot, sessions, clock, out)
    await delivering.run_once()
    found = await rows(sessions)
    busy_row, paired_row = found[await chat_of(sessions, busy)], found[await chat_of(sessions, paired)]
    assert busy_row.state == paired_row.state == "pending"
    assert busy_row.not_before > clock.now and paired_row.not_before >= clock.now + timedelta(seconds=6)
    assert "130429" in (busy_row.error or "") and "131056" in (paired_row.error or "")
    assert out.budget.backed_off == [THROUGHPUT_PAUSE]  # type: ignore[attr-defined]  # the number's limit holds every send
    assert len(bot_messages(wa, fine)) == 1
    assert await delivering.run_once() == 0  # not before their backoff
    clock.now += timedelta(seconds=6)
    assert await delivering.run_once() == 2
    assert {row.state for row in (await rows(sessions)).values()} == {"sent"}
    assert len(bot_messages(wa, busy)) == len(bot_messages(wa, paired)) == 1


async def test_undeliverable_blocks_the_marketing_cap_skips_other_codes_fail_and_5xx_retry(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
) -> None:
    clock = Clock()
    gone, capped, broken, down = await add_whatsapp(sessions, wa, 4)  # all outside the window
    wa.unreachable(gone)
    wa.cap_marketing(capped)
    wa.fail(broken, 100)
    wa.fail(down, 131000)  # Graph answers 500
    await broadcast(sessions, clock)
    await worker(bare_bot, sessions, clock, out, max_attempts=3).run_once()
    found = await rows(sessions)
    gone_row, capped_row, broken_row, down_row = [
        found[await chat_of(sessions, a)] for a in (gone, capped, broken, down)
    ]
    assert (gone_row.state, gone_row.channel_error) == ("blocked", 131026)
    assert (capped_row.state, capped_row.channel_error) == ("skipped", 131049)
    assert broken_row.state == "failed" and "100" in (broken_row.error or "")
    assert down_row.state == "pending" and down_row.not_before > clock.now
    async with sessions() as session:
        unreachable = {
            c.telegram_id: c.unreachable_at is not None for c in await session.scalars(select(Champion))
        }
    assert unreachable == {
        await chat_of(sessions, gone): True,
        await chat_of(sessions, capped): False,
        await chat_of(sessions, broken): False,
        await chat_of(sessions, down): False,
    }


# ----------------------------------------------------------------------------- status webhooks


@pytest.fixture
async def webhook(
    wa: WhatsAppEmulator, sessions: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path
) -> AsyncIterator[None]:
    """The bot's WhatsApp webhook, where the emulator posts its statuses."""
    settings = load_settings(
        database_url=database_url,
        data_dir=tmp_path,
        whatsapp_token=TOKEN,
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_api_url=wa.base_url,
    )
    application = build_application(settings, sessions)
    app = Application()
    app.add_routes(whatsapp_routes(application))
    server = TestServer(app)
    await server.start_server()
    wa.webhook_url = str(server.make_url("/whatsapp"))
    yield
    await wa.drain()
    await server.close()
    assert application.bot_data.whatsapp
    await application.bot_data.whatsapp.client.close()


async def test_statuses_that_come_before_the_send_is_recorded_and_after_it_both_land(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
    webhook: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    early, late = await add_whatsapp(sessions, wa, 2, wrote=clock.now - HOUR)
    wa.statuses = True  # sent and delivered follow each send at once
    record = outbox.record

    async def statuses_first(
        session: AsyncSession,
        claimed: Sequence[outbox.Claimed],
        outcomes: Sequence[outbox.Outcome],
        now: datetime,
    ) -> None:
        await wa.drain()  # every status webhook handled before the worker records its sends
        wa.statuses = False
        await record(session, claimed, outcomes, now)

    monkeypatch.setattr(outbox, "record", statuses_first)
    await broadcast(sessions, clock)
    await worker(bare_bot, sessions, clock, out).run_once()
    found = await rows(sessions)
    early_row, late_row = found[await chat_of(sessions, early)], found[await chat_of(sessions, late)]
    assert early_row.delivered_at is not None and late_row.delivered_at is not None  # taken at record
    assert early_row.read_at is None

    wa.read(early, early_row.wa_message_id)  # type: ignore[arg-type]  # after the send was recorded
    await wa.drain()
    async with sessions() as session:
        read = await session.get(Delivery, early_row.id)
        assert read and read.read_at is not None and read.state == "sent"
        from storage.models import WhatsAppStatus

        assert list(await session.scalars(select(WhatsAppStatus))) == []  # each status taken once


async def test_failed_statuses_move_the_rows_window_closed_goes_again_as_the_template(
    sessions: async_sessionmaker[AsyncSession],
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
    webhook: None,
) -> None:
    clock = Clock()
    clock.now = utcnow()  # statuses carry the emulator's times, and a row goes again from its status's
    wa.async_errors = True  # as Meta does: accepted, then a failed status
    closed, gone, broken = await add_whatsapp(sessions, wa, 3, wrote=clock.now - HOUR)
    wa.people[closed].last_inbound = None  # Meta says their window is closed
    wa.unreachable(gone)
    wa.fail_async(broken, 131053)  # media upload error: any other code
    await broadcast(sessions, clock)
    delivering = worker(bare_bot, sessions, clock, out)
    assert await delivering.run_once() == 3
    await wa.drain()
    found = await rows(sessions)
    closed_row, gone_row, broken_row = [found[await chat_of(sessions, a)] for a in (closed, gone, broken)]
    assert (closed_row.state, closed_row.channel_error, closed_row.template) == ("pending", 131047, None)
    assert (gone_row.state, gone_row.channel_error) == ("blocked", 131026)
    assert (broken_row.state, broken_row.channel_error) == ("failed", 131053)
    async with sessions() as session:
        champion = await session.scalar(
            select(Champion).where(Champion.telegram_id == await chat_of(sessions, gone))
        )
        assert champion and champion.unreachable_at is not None
    clock.now += timedelta(seconds=5)
    assert await delivering.run_once() == 1  # the closed window's row, as its template this time
    await wa.drain()
    again = (await rows(sessions))[await chat_of(sessions, closed)]
    assert again.state == "sent" and again.template == "champbot_broadcast_answer_back"
    assert [m["type"] for m in bot_messages(wa, closed)] == ["interactive", "template"]


# ----------------------------------------------------------------------------- both channels


async def test_a_broadcast_to_both_channels_goes_out_on_each_within_its_own_budget(
    sessions: async_sessionmaker[AsyncSession],
    emulator: Emulator,
    wa: WhatsAppEmulator,
    out: WhatsAppOut,
    bare_bot: Bot,
) -> None:
    clock = Clock()
    telegram_ids = await add_champions(sessions, emulator, 20, start=5000)
    addresses = await add_whatsapp(sessions, wa, 20, wrote=clock.now - HOUR)
    await add_whatsapp(sessions, wa, 5, start=100)  # outside the window: templates
    budget = CountingBudget()
    workers = [
        worker(bare_bot, sessions, clock, out, budget=budget, channel=channel, name=channel, batch=10)
        for channel in (TELEGRAM, WHATSAPP)
    ]
    broadcast_id = await broadcast(sessions, clock)
    await asyncio.gather(*(w.run(asyncio.Event(), until_idle=True) for w in workers))
    assert all(len(emulator.history(i)) == 1 for i in telegram_ids)
    assert all(len(bot_messages(wa, a)) == 1 for a in addresses)
    assert sorted(budget.taken) == sorted(telegram_ids)  # type: ignore[type-var]
    assert len(out.budget.taken) == 25 and all(c is not None and c < 0 for c in out.budget.taken)  # type: ignore[attr-defined]
    async with sessions() as session:
        report = await broadcasts.report(session, broadcast_id)
        by_worker = dict(
            (
                await session.execute(
                    select(Champion.telegram_id, Delivery.claimed_by).join(
                        Champion, Champion.id == Delivery.champion_id
                    )
                )
            ).all()
        )
    assert report.counts == {"sent": 45} and report.status == "done"
    assert {by_worker[i] for i in telegram_ids} == {TELEGRAM}
    assert {w for chat, w in by_worker.items() if chat < 0} == {WHATSAPP}


async def test_a_whatsapp_row_without_whatsapp_configured_fails_and_telegram_goes_on(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, wa: WhatsAppEmulator, bare_bot: Bot
) -> None:
    clock = Clock()
    (telegram_id,) = await add_champions(sessions, emulator, 1, start=5000)
    await add_whatsapp(sessions, wa, 1, wrote=clock.now - HOUR)
    await broadcast(sessions, clock)
    delivering = DeliveryWorker(bare_bot, sessions, Budget(None), name="w", clock=clock)  # type: ignore[arg-type]
    assert await delivering.run_once() == 2
    states = {chat: (row.state, row.error) for chat, row in (await rows(sessions)).items()}
    assert states[telegram_id] == ("sent", None)
    assert [s for chat, s in states.items() if chat < 0] == [("failed", "WhatsApp is not configured")]


# ----------------------------------------------------------------------------- the composer's preview


@pytest.mark.bot_settings(whatsapp_daily_tier=3)
async def test_the_preview_counts_session_messages_and_templates_and_spreads_past_the_daily_tier(
    bot: BotHarness, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sam = bot.person(9500, "Sam")
    await make_coordinator(bot, sam)
    now = utcnow()
    await add_whatsapp(sessions, None, 2, start=1, wrote=now - HOUR)
    closed = await add_whatsapp(sessions, None, 5, start=10, wrote=now - 30 * HOUR)
    async with sessions.begin() as session:  # one of them had a template an hour ago
        earlier = await session.scalar(
            select(Champion.id)
            .join(Identity, Identity.chat_id == Champion.telegram_id)
            .where(Identity.address == closed[0])
        )
        assert earlier
        session.add(
            Delivery(
                champion_id=earlier,
                kind="weekly",
                state="sent",
                sent_at=now - HOUR,
                template="champbot_weekly_snippet",
            )
        )
    async with sessions() as session:
        everyone = await audience.size(session, Audience())
    await sam.send("/broadcast")
    await sam.send("Flu jabs this Saturday")
    await sam.press(f"Everyone · {everyone}")
    said = await sam.press("Continue")
    assert said[-2:] == [
        "On WhatsApp, 2 people get it as a message: they wrote to us in the last 24 hours.\n"
        "5 people get it as the approved template, the only message WhatsApp allows outside those 24 hours.\n"
        "Its category is marketing: WhatsApp charges for each one delivered.\n"
        "\n"
        "The template reads:\n"
        "A message from your Community Champions coordinators:\n"
        "\n"
        "Flu jabs this Saturday\n"
        "\n"
        "When you have shared it, or if you heard a question or a concern, tap a button below.\n"
        "\n"
        "Warning: WhatsApp lets us message 3 people a day outside the 24 hours. 1 person has had a "
        "template in the last 24 hours, so today there is room for 2 of these 4.\n"
        "Send it over 2 days to reach everyone: the templates go out a day's share at a time.",
        "Send it now, or schedule it for later?",
    ]
    assert sam.buttons() == ["Send now", "Send over 2 days", "Schedule", "Cancel"]
    (confirm,) = await sam.press("Send over 2 days")
    assert confirm == (
        f"Send to {everyone} champions now?\n"
        "The WhatsApp templates go out over 2 days, a day's share at a time."
    )
    await sam.press("Confirm")
    async with sessions() as session:
        held = dict(
            (
                await session.execute(
                    select(Identity.address, Delivery.not_before)
                    .join(Champion, Champion.id == Delivery.champion_id)
                    .join(Identity, Identity.chat_id == Champion.telegram_id)
                    .where(Delivery.broadcast_id.is_not(None))
                )
            ).all()
        )
    tomorrow = {address for address, when in held.items() if when > now + timedelta(hours=23)}
    assert len(held) == 7 and tomorrow == set(closed[3:])  # the first 2 new ones today, 2 tomorrow


async def test_the_preview_of_a_broadcast_within_the_tier_offers_no_spreading(
    bot: BotHarness, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sam = bot.person(9600, "Sam")
    await make_coordinator(bot, sam)
    await add_whatsapp(sessions, None, 1, start=1)
    async with sessions() as session:
        everyone = await audience.size(session, Audience())
    await sam.send("/broadcast")
    await sam.send("Flu jabs this Saturday")
    await sam.press(f"Everyone · {everyone}")
    said = await sam.press("Continue")
    assert said[-2].startswith(
        "On WhatsApp, 0 people get it as a message: they wrote to us in the last 24 hours.\n"
        "1 person gets it as the approved template"
    )
    assert "Warning" not in said[-2]
    assert sam.buttons() == ["Send now", "Schedule", "Cancel"]


# ----------------------------------------------------------------------------- a killed process


async def start_deliverer(
    emulator: Emulator, wa: WhatsAppEmulator, database_url: str, tmp_path: Path, *args: str
) -> asyncio.subprocess.Process:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CHAMPBOT_API_BASE_URL": emulator.base_url,
        "CHAMPBOT_DATABASE_URL": database_url,
        "CHAMPBOT_DATA_DIR": str(tmp_path),
        "CHAMPBOT_DELIVERY_RATE": "100",
        "CHAMPBOT_WHATSAPP_TOKEN": TOKEN,
        "CHAMPBOT_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "CHAMPBOT_WHATSAPP_APP_SECRET": APP_SECRET,
        "CHAMPBOT_WHATSAPP_API_URL": wa.base_url,
        "CHAMPBOT_WHATSAPP_RATE": "60",  # within the emulator's 80/s
    }
    return await asyncio.create_subprocess_exec(
        CHAMPBOT, "deliver", "--until-idle", *args, env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )


async def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_sigkill_mid_broadcast_across_both_channels_then_restart_loses_nothing_and_names_repeats(
    sessions: async_sessionmaker[AsyncSession],
    emulator: Emulator,
    wa: WhatsAppEmulator,
    database_url: str,
    tmp_path: Path,
) -> None:
    telegram_ids = await add_champions(sessions, emulator, 150, start=7000)
    now = utcnow()
    addresses = await add_whatsapp(sessions, wa, 100, wrote=now - HOUR)
    addresses += await add_whatsapp(sessions, wa, 50, start=500)  # their templates
    async with sessions.begin() as session:
        made = await broadcasts.create_broadcast(
            session, texts={"en": "Clinic open late"}, audience=Audience()
        )
        assert await broadcasts.queue_due(session, utcnow(), timedelta(hours=1)) == ([made.id], [])
        broadcast_id = made.id
    first = await start_deliverer(emulator, wa, database_url, tmp_path)
    try:
        await until(lambda: emulator.messages_sent >= 30 and wa.messages_sent >= 30)
    except TimeoutError:
        if first.returncode is None:
            first.kill()
        _out, err = await first.communicate()
        states = [(r.state, r.error) for r in (await rows(sessions)).values()][:5]
        sent = (emulator.messages_sent, wa.messages_sent, first.returncode, states)
        raise AssertionError(f"{sent} {err.decode()[-3000:]}") from None
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert first.returncode == -signal.SIGKILL
    assert emulator.messages_sent < 150 and wa.messages_sent < 150  # it died mid-broadcast on both

    second = await start_deliverer(emulator, wa, database_url, tmp_path, "--lease", "0")
    _out, err = await second.communicate()
    assert second.returncode == 0, err.decode()[-2000:]

    received = {chat: len(emulator.history(chat)) for chat in telegram_ids}
    received |= {await chat_of(sessions, a): len(bot_messages(wa, a)) for a in addresses}
    assert all(1 <= count <= 2 for count in received.values())  # everyone got it, none three times
    async with sessions.begin() as session:
        result = await broadcasts.report(session, broadcast_id)
        named = set(
            await session.scalars(select(Champion.telegram_id).where(Champion.id.in_(result.possibly_twice)))
        )
    twice = {chat for chat, count in received.items() if count == 2}
    assert twice <= named  # only those in flight at the kill got it twice, and the report names them
    assert result.counts == {"sent": 300} and result.status == "done"
    assert wa.refused == {} and emulator.rate_limited == 0, (wa.refused, emulator.rate_limited)


async def test_a_long_message_goes_in_parts_held_to_the_pair_gap_once(
    sessions: async_sessionmaker[AsyncSession], wa: WhatsAppEmulator, out: WhatsAppOut
) -> None:
    (address,) = await add_whatsapp(sessions, wa, 1, wrote=utcnow())
    chat = await chat_of(sessions, address)
    priorities: list[Priority] = []
    taking = out.budget.take

    async def take(chat: Chat | None, priority: Priority = Priority.BULK) -> None:
        priorities.append(priority)
        await taking(chat, priority)

    out.budget.take = take  # type: ignore[method-assign]
    text = "The clinic on Hill Street opens on Saturdays from next week. " * 100  # about 6,100 characters
    await out.say(chat, Outgoing(text), translator("en"), Priority.BULK)
    assert len(bot_messages(wa, address)) == 2
    assert priorities == [Priority.BULK, Priority.REPLY]  # the second part is not held 6 s behind the first


async def test_the_reach_figures_count_the_whatsapp_messages_read(
    sessions: async_sessionmaker[AsyncSession], wa: WhatsAppEmulator, out: WhatsAppOut, bare_bot: Bot
) -> None:
    clock = Clock()
    first, _second = await add_whatsapp(sessions, wa, 2, wrote=clock.now - HOUR)
    broadcast_id = await broadcast(sessions, clock)
    assert await worker(bare_bot, sessions, clock, out).run_once() == 2
    (read,) = bot_messages(wa, first)
    async with sessions.begin() as session:
        await whatsapp_statuses.keep(session, [whatsapp_statuses.Status(read["wamid"], "read", clock.now)])
    async with sessions() as session:
        recent = await responses.recent_reach(session, clock.now - HOUR)
    [figures] = [b.reach for b in recent.broadcasts if b.id == broadcast_id]
    assert (figures.sent, figures.whatsapp, figures.read) == (2, 2, 1)
    t = translator("en")
    assert reach_figures(t, figures).endswith(" · read on WhatsApp 1/2")
    assert "WhatsApp" not in reach_figures(t, Reach(sent=3))  # Telegram alone: no read figure
