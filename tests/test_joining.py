"""Joining: open, invite and approval modes, consent, names, areas and networks."""

from __future__ import annotations

from sqlalchemy import select

from storage import champions
from storage.models import Champion, ConversationState, Status
from tests.conftest import BotHarness, join


async def test_open_signup_walks_through_every_step(bot: BotHarness, places: None) -> None:
    ana = bot.person(101, "Ana", "en")
    assert await ana.send("/start") == ["Welcome! Please choose your language."]
    assert ana.buttons()[0] == "✓ English"
    replies = await ana.press("English")
    assert replies[0].startswith("Privacy notice")
    assert replies[1].startswith("Do you agree to take part")
    replies = await ana.press("Yes, I agree")
    assert replies[0].startswith("One more choice")
    assert await ana.press("No") == ["What should we call you? Your first name or a nickname is fine."]
    assert await ana.send("  Ana  ") == ["Which area do you mostly work in?"]
    assert ana.buttons() == ["Northfield", "Riverside", "Prefer not to say"]
    assert await ana.press("Riverside") == [
        "Which communities or networks do you connect with? Choose any, then press Done."
    ]
    assert await ana.press("Youth clubs") == []
    assert ana.buttons() == ["Faith groups", "✓ Youth clubs", "Done"]
    replies = await ana.press("Done")
    assert replies[0] == "You're all set, Ana! Thank you for being a community champion."
    assert "/deleteme" in replies[1] and "NHS 111" in replies[1]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 101)
        assert champion is not None
        assert champion.display_name == "Ana"
        assert champion.status == Status.ACTIVE
        assert champion.area and champion.area.name == "Riverside"
        assert [n.name for n in champion.networks] == ["Youth clubs"]
        assert champion.consent_version == "1" and champion.consent_at is not None
        assert champion.share_consent is False and champion.share_consent_at is not None
        assert await session.get(ConversationState, 101) is None


async def test_declining_consent_keeps_nothing(bot: BotHarness, places: None) -> None:
    bo = bot.person(102, "Bo")
    await bo.send("/start")
    await bo.press("English")
    replies = await bo.press("No, thanks")
    assert replies == [
        "That's fine. We have not kept anything about you. Send /start if you change your mind."
    ]
    async with bot.sessions() as session:
        assert await session.scalar(select(Champion)) is None
        assert await session.scalar(select(ConversationState)) is None


async def test_returning_member_is_welcomed_back(bot: BotHarness, places: None) -> None:
    ana = bot.person(103, "Ana")
    await join(ana)
    replies = await ana.send("/start")
    assert replies[0] == "Welcome back, Ana!"


async def test_someone_who_stopped_can_join_again(bot: BotHarness, places: None) -> None:
    ana = bot.person(104, "Ana")
    await join(ana)
    await ana.send("/stop")
    assert await ana.send("/start") == ["Welcome! Please choose your language."]
    await join(ana, name="Ana B")
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 104)
        assert champion and champion.status == Status.ACTIVE and champion.display_name == "Ana B"
