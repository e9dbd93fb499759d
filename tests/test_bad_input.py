"""Bad input: each case gets a clear answer in the person's language or is ignored safely."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.i18n import translator
from storage import champions
from storage.models import ConversationState, Status
from tests.conftest import BotHarness, Person, join


async def start_joining(person: Person) -> None:
    await person.send("/start")
    await person.press("English")
    await person.press("Yes, I agree")
    await person.press("No")


async def test_unknown_command(bot: BotHarness, places: None) -> None:
    ana = bot.person(401)
    assert await ana.send("/frobnicate") == ["I don't know that command. Send /help to see what I can do."]


async def test_free_text_where_a_button_was_expected_asks_again(bot: BotHarness, places: None) -> None:
    ana = bot.person(402)
    await ana.send("/start")
    assert await ana.send("english please") == [
        "Please choose one of the buttons.",
        "Welcome! Please choose your language.",
    ]
    assert "✓ English" in ana.buttons()


@pytest.mark.parametrize("name", ["", "   ", "\u200b\t\n"])
async def test_empty_or_blank_names_are_refused(bot: BotHarness, places: None, name: str) -> None:
    ana = bot.person(403)
    await start_joining(ana)
    assert await ana.send(name or " ") == ["Please type a name (letters, not only spaces)."]
    assert await ana.send("x" * 65) == ["That name is too long. Please use at most 64 characters."]
    async with bot.sessions() as session:
        state = await session.get(ConversationState, 403)
        assert state and state.step == "join:name"


@pytest.mark.parametrize("name", ["Zainab 🌸", "فاطمة", "علی رضا", "Ștefan"])
async def test_emoji_and_right_to_left_names_are_kept(bot: BotHarness, places: None, name: str) -> None:
    person = bot.person(404, name)
    await join(person)
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 404)
        assert champion and champion.display_name == name


async def test_photo_where_a_name_was_expected(bot: BotHarness, places: None) -> None:
    ana = bot.person(405)
    await start_joining(ana)
    update_id = bot.emulator.send_photo(405)
    await bot.processed(update_id)
    assert ana.history[-1]["text"] == "Please type your name as text."


async def test_over_long_text_is_refused_and_nothing_is_lost(bot: BotHarness, places: None) -> None:
    ana = bot.person(406)
    await start_joining(ana)
    # a client sends it in two parts: the step gets them joined, and refuses them once
    assert await ana.send("a" * 5000) == ["That name is too long. Please use at most 64 characters."]
    assert await ana.send("Ana") == ["Which area do you mostly work in?"]


async def test_stale_and_forged_buttons_change_nothing(bot: BotHarness, places: None) -> None:
    ana = bot.person(407)
    await join(ana)
    first_message = ana.history[1]["message_id"]
    inactive = ["This button is no longer active."]
    assert await ana.press_data(first_message, "join:lang:pl") == inactive  # an old button
    assert await ana.press_data(first_message, "join:area:999") == inactive
    assert await ana.press_data(first_message, "not-a-button") == inactive  # forged data
    assert await ana.press_data(first_message, "lang:xx") == inactive
    assert await ana.press_data(first_message, "erase:yes") == inactive  # erasing needs the question first
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 407)
        assert champion is not None and champion.language == "en" and champion.status == Status.ACTIVE


async def test_group_and_channel_messages_and_edits_are_ignored(bot: BotHarness, places: None) -> None:
    ana = bot.person(408)
    await join(ana)
    bot.emulator.add_group(-100, "Neighbours")
    bot.emulator.add_group(-200, "Announcements", kind="channel")
    before = sum(len(bot.emulator.history(chat)) for chat in (408, -100, -200))
    for update_id in (
        bot.emulator.send(408, "/start", chat_id=-100),
        bot.emulator.send(408, "/deleteme", chat_id=-200),
        bot.emulator.edit(408, ana.history[-1]["message_id"], "edited"),
    ):
        await bot.processed(update_id)
    after = sum(len(bot.emulator.history(chat)) for chat in (408, -100, -200))
    assert after == before + 2  # just the two messages the user sent; the bot said nothing


async def test_a_reply_that_fails_with_403_never_marks_the_sender(bot: BotHarness, places: None) -> None:
    """The sender has just written to us; a 403 while answering is no reason to drop them from
    broadcasts (and before, it let a pending champion past approval on their next message)."""
    ana = bot.person(409)
    await join(ana)
    bot.emulator.fail(409, 403, times=1)
    assert await ana.send("/help") == [
        "Sorry, something went wrong on our side. Please try again, or send /help."
    ]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 409)
        assert champion and champion.status == Status.ACTIVE and champion.unreachable_at is None


async def test_errors_are_explained_in_the_persons_language(bot: BotHarness, places: None) -> None:
    ana = bot.person(410, "Ana", "pl")
    await join(ana, language="Polski")
    bot.emulator.fail(410, 400, times=1)  # the first reply fails; the apology gets through
    messages = await ana.send("/help")
    assert messages == [
        translator("pl").gettext("Sorry, something went wrong on our side. Please try again, or send /help.")
    ]


async def test_bad_input_leaves_the_conversation_state_alone(bot: BotHarness, places: None) -> None:
    ana = bot.person(411)
    await start_joining(ana)
    await ana.send("/frobnicate")
    await ana.send("a" * 5000)
    await ana.press_data(ana.history[-1]["message_id"], "join:done")
    async with bot.sessions() as session:
        states = list(await session.scalars(select(ConversationState)))
        assert [(s.chat_id, s.step) for s in states] == [(411, "join:name")]
