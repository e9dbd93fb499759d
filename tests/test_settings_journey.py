"""Settings and rights: help, language, privacy, pause/resume, stop, a copy of one's data, erasure."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from bot.i18n import translator
from storage import broadcasts, champions, responses
from storage.audience import Audience
from storage.models import (
    Champion,
    Delivery,
    Invite,
    SnippetProgress,
    Status,
    WeeklySnippet,
    champion_network,
    utcnow,
)
from tests.conftest import BotHarness, join


async def test_help_lists_commands_and_signposts(bot: BotHarness, places: None) -> None:
    ana = bot.person(201, "Ana")
    await join(ana)
    (text,) = await ana.send("/help")
    assert "/mydata" in text and "/deleteme" in text
    assert "NHS 111" in text and "999" in text
    assert "/invite" not in text  # coordinator commands are not shown to champions


async def test_language_change_answers_in_the_new_language(bot: BotHarness, places: None) -> None:
    ana = bot.person(202, "Ana")
    await join(ana)
    assert await ana.send("/language") == ["Choose your language."]
    assert "✓ English" in ana.buttons()
    (text,) = await ana.press("Polski")
    polish = translator("pl")
    assert text == polish.gettext("Done. I will write to you in English from now on.")
    assert await ana.send("/cancel") == [polish.gettext("There is nothing to cancel.")]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 202)
        assert champion and champion.language == "pl"


async def test_pause_resume_and_stop(bot: BotHarness, places: None) -> None:
    ana = bot.person(203, "Ana")
    await join(ana)
    assert await ana.send("/pause") == ["Campaign messages are paused. Send /resume to get them again."]
    assert await ana.send("/pause") == [
        "Campaign messages are already paused. Send /resume to get them again."
    ]
    assert await ana.send("/resume") == ["Welcome back! You will get campaign messages again."]
    assert await ana.send("/resume") == ["You are already getting campaign messages."]
    (text,) = await ana.send("/stop")
    assert text.startswith("You will not get any more messages from us.")
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 203)
        assert champion and champion.status == Status.STOPPED
    assert await ana.send("/pause") == ["You haven't joined yet. Send /start to join."]


async def test_privacy_shows_choices_and_lets_them_change(bot: BotHarness, places: None) -> None:
    ana = bot.person(204, "Ana")
    await join(ana)  # agrees to sharing
    replies = await ana.send("/privacy")
    assert replies[0].startswith("What we keep about you, and why")
    assert replies[1].startswith("You agreed that what you report may be used")
    assert await ana.press("Stop sharing") == ["Thank you, your choice is saved."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 204)
        assert champion and champion.share_consent is False


async def test_mydata_sends_everything_as_json(bot: BotHarness, places: None) -> None:
    ana = bot.person(205, "Ana 🌍")
    await join(ana)
    messages = await ana.send_raw("/mydata")
    assert messages[-1]["caption"] == "This is everything we hold about you."
    name, _type, content = bot.emulator.files[messages[-1]["document"]["file_id"]]
    assert name == "my-data.json"
    data = json.loads(content)
    assert data["display_name"] == "Ana 🌍"
    assert data["area"] == "Northfield"
    assert data["consent"]["version"] == "1" and data["consent"]["given_at"]
    assert data["telegram_id"] == 205
    assert data["learning"] == [] and data["weekly_snippet"] is None and data["messages_received"] == []


async def test_deleteme_asks_then_erases_everything_naming_them(bot: BotHarness, places: None) -> None:
    ana = bot.person(206, "Ana")
    await join(ana, networks=("Youth clubs",))
    await ana.send("/learn")
    await ana.press("Core20PLUS5 · 0/2")
    await ana.send("/weekly")
    await ana.press("Friday")
    await ana.press("18:00")
    assert await ana.send("/deleteme") == [
        "This deletes everything we hold about you and cannot be undone. Are you sure?"
    ]
    assert await ana.press("No, keep it") == ["Nothing was deleted."]
    await ana.send("/deleteme")
    assert await ana.press("Yes, delete it all") == [
        "Everything we held about you has been deleted. Goodbye, and thank you."
    ]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Champion)) == 0
        assert await session.scalar(select(func.count()).select_from(champion_network)) == 0
        assert await session.scalar(select(func.count()).select_from(Invite)) == 0
        assert await session.scalar(select(func.count()).select_from(SnippetProgress)) == 0
        assert await session.scalar(select(func.count()).select_from(WeeklySnippet)) == 0
    assert await ana.send("/mydata") == ["We hold no data about you."]


async def test_mydata_includes_messages_received_and_answers(bot: BotHarness, places: None) -> None:
    ana = bot.person(207, "Ana")
    await join(ana)
    async with bot.sessions.begin() as session:
        made = await broadcasts.create_broadcast(session, texts={"en": "Flu jabs"}, audience=Audience())
        await broadcasts.queue_due(session, utcnow(), timedelta(hours=1))
        delivery = await session.scalar(select(Delivery).where(Delivery.broadcast_id == made.id))
        assert delivery
        await responses.record_response(session, delivery.id, "shared")
    messages = await ana.send_raw("/mydata")
    content = bot.emulator.files[messages[-1]["document"]["file_id"]].content
    received = json.loads(content)["messages_received"]
    assert received == [{"broadcast": made.id, "state": "pending", "sent_at": None, "answers": ["shared"]}]
