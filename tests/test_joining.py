"""Joining: open, invite and approval modes, consent, names, areas and networks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from storage import champions
from storage.models import Champion, ConversationState, Status
from tests.conftest import BotHarness, Person, join, texts

UPDATED = (
    "Sorry, the bot was updated while you were in the middle of something, so it has to start again. "
    "Send /start to join."
)


def question(person: Person, start: str) -> dict[str, Any]:
    """The newest bot message beginning with `start`."""
    return next(
        m for m in reversed(person.history) if m.get("from_bot") and (m.get("text") or "").startswith(start)
    )


def answered(person: Person, start: str) -> str:
    """What a question shows once answered, which must have no buttons left to press."""
    message = question(person, start)
    assert not message.get("reply_markup"), message
    (text,) = texts([message])
    return text


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
        await session.refresh(champion, ["networks"])  # not loaded with the champion
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


async def test_each_answer_pressed_is_shown_on_its_question(bot: BotHarness, places: None) -> None:
    ana = bot.person(105, "Ana")
    await ana.send("/start")
    await ana.press("English")
    assert answered(ana, "Welcome!") == "Welcome! Please choose your language.\n\n✓ English"
    await ana.press("Yes, I agree")
    assert answered(ana, "Do you agree").endswith("at any time.\n\n✓ Yes, I agree")
    await ana.press("Yes, that's fine")
    assert answered(ana, "One more choice").endswith("the council)?\n\n✓ Yes, that's fine")
    await ana.send("Ana")
    await ana.press("Prefer not to say")
    assert answered(ana, "Which area") == "Which area do you mostly work in?\n\n✓ Prefer not to say"
    await ana.press("Youth clubs")
    await ana.press("Faith groups")
    assert question(ana, "Which communities").get("reply_markup")  # toggles keep the question open
    await ana.press("Done")
    assert answered(ana, "Which communities").endswith("press Done.\n\n✓ Faith groups, Youth clubs")


async def test_done_with_no_network_says_so(bot: BotHarness, places: None) -> None:
    bo = bot.person(106, "Bo")
    await join(bo)
    assert answered(bo, "Which area").endswith("\n\n✓ Northfield")
    assert answered(bo, "Which communities").endswith("\n\n✓ No networks")


async def test_declining_is_shown_on_the_question(bot: BotHarness, places: None) -> None:
    bo = bot.person(107, "Bo")
    await bo.send("/start")
    await bo.press("English")
    await bo.press("No, thanks")
    assert answered(bo, "Do you agree").endswith("\n\n✓ No, thanks")


async def test_a_join_left_half_way_by_the_previous_release_starts_again_kindly(
    bot: BotHarness, places: None
) -> None:
    ana = bot.person(108, "Ana")
    await ana.send("/start")
    await ana.press("English")
    await ana.press("Yes, I agree")
    await ana.press("No")
    async with bot.sessions.begin() as session:  # as the previous release wrote it: no version
        old = {"language": "en", "invite": None, "networks": []}
        await session.execute(
            update(ConversationState).where(ConversationState.chat_id == 108).values(data=old)
        )
    assert await ana.send("Ana") == [UPDATED]  # the name answered the ended step: nothing else follows
    async with bot.sessions() as session:
        assert await session.get(ConversationState, 108) is None
    assert await ana.send("/start") == ["Welcome! Please choose your language."]
    await join(ana)
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 108)
        assert champion is not None and champion.status == Status.ACTIVE


async def test_a_press_on_a_join_left_by_the_previous_release_starts_again_kindly(
    bot: BotHarness, places: None
) -> None:
    ana = bot.person(109, "Ana")
    await ana.send("/start")
    async with bot.sessions.begin() as session:
        old = {"language": "en", "invite": None, "networks": []}
        await session.execute(
            update(ConversationState).where(ConversationState.chat_id == 109).values(data=old)
        )
    assert await ana.press("English") == [UPDATED]  # the press answered with it, once
