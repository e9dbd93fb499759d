"""A journey's old buttons go when it moves on or ends (issue 16): answered by typing, /cancel, another
journey started, a restart between — not only when a press answers them; with no extra Bot API call
when a press already took them away."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from telegram import Chat, Message
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.budget import Priority
from bot.emulator import Emulator
from bot.replies import Choice, Sent
from bot.steps import read
from bot.telegram_replies import TelegramReplies
from handlers.report import Reporting
from storage import conversation
from storage.models import ConversationState
from tests.conftest import BotHarness, Person, join

TOPIC_QUESTION = "What is it about? Choose a topic, or send /cancel."
KIND_QUESTION = "What kind of thing did you hear?"
HEARD_QUESTION = "What did you hear? Type it, or send a voice note or a photo."
PEOPLE_QUESTION = "How many people does it concern?"
HEARD = "Neighbours think the flu jab gives you flu, so they skip it."


def newest(person: Person, text: str) -> dict[str, Any]:
    """The bot's newest message saying `text`."""
    return next(m for m in reversed(person.history) if m.get("from_bot") and m.get("text") == text)


def keyboards(person: Person) -> list[str]:
    """What the bot's messages since joining that still have buttons say, oldest first (the
    welcome's main menu is not a journey's)."""
    welcome = max(i for i, m in enumerate(person.history) if m.get("text", "").startswith("You're all set"))
    return [m["text"] for m in person.history[welcome + 1 :] if m.get("from_bot") and m.get("reply_markup")]


def unchosen(emulator: Emulator) -> int:
    return emulator.calls.get("editmessagereplymarkup", 0)


async def at_heard(bot: BotHarness) -> Person:
    """A joined champion on /report's "what did you hear" step, its Back and Cancel showing."""
    ana = bot.person(5101, "Ana")
    await join(ana)
    await ana.send("/report")
    await ana.press("Vaccinations")
    assert await ana.press("Misinformation heard") == [HEARD_QUESTION]
    assert keyboards(ana) == [HEARD_QUESTION]
    return ana


async def test_typing_the_answer_takes_the_questions_buttons_away(bot: BotHarness, places: None) -> None:
    ana = await at_heard(bot)
    question = newest(ana, HEARD_QUESTION)
    before = unchosen(bot.emulator)
    assert await ana.send(HEARD) == [PEOPLE_QUESTION]
    assert "reply_markup" not in question and question["edited"]
    assert unchosen(bot.emulator) == before + 1
    assert keyboards(ana) == [PEOPLE_QUESTION]  # only the question now asked can be answered
    assert await ana.press("A few people") == ["Which area is it about?"]


async def test_cancel_takes_the_buttons_away(bot: BotHarness, places: None) -> None:
    ana = await at_heard(bot)
    assert await ana.send("/cancel") == ["Cancelled. Send /help to see what you can do."]
    assert keyboards(ana) == []


async def test_another_journey_takes_the_first_ones_buttons_away(bot: BotHarness, places: None) -> None:
    ana = await at_heard(bot)
    (asked,) = await ana.send("/deleteme")
    assert keyboards(ana) == [asked]  # the report's Back and Cancel are gone, the new question stays
    assert await ana.press("No, keep it") == ["Nothing was deleted."]
    assert keyboards(ana) == []


async def test_a_command_that_leaves_the_journey_on_leaves_its_buttons(bot: BotHarness, places: None) -> None:
    ana = await at_heard(bot)
    await ana.send("/help")
    assert keyboards(ana) == [HEARD_QUESTION]  # the report goes on: its question can still be answered
    assert await ana.press("Back") == [KIND_QUESTION]


async def test_the_question_is_kept_across_a_restart(bot: BotHarness, places: None) -> None:
    ana = await at_heard(bot)
    await bot.restart()
    assert await ana.send(HEARD) == [PEOPLE_QUESTION]
    assert keyboards(ana) == [PEOPLE_QUESTION]


async def test_a_question_asked_again_is_the_one_whose_buttons_stay(bot: BotHarness, places: None) -> None:
    ana = bot.person(5102, "Ana")
    await join(ana)
    await ana.send("/report")
    await ana.press("Vaccinations")
    assert await ana.send("a rumour") == ["Please choose one of the buttons.", KIND_QUESTION]
    assert keyboards(ana) == [KIND_QUESTION]  # the newer of the two
    assert await ana.send("/cancel") == ["Cancelled. Send /help to see what you can do."]
    assert keyboards(ana) == []


async def test_a_press_that_answers_costs_no_extra_call(bot: BotHarness, places: None) -> None:
    """Picking an answer takes its buttons away in the edit that echoes it: nothing more is sent,
    whether the journey goes on or ends."""
    ana = bot.person(5103, "Ana")
    await join(ana)
    before = unchosen(bot.emulator)
    await ana.send("/report")
    await ana.press("Vaccinations")
    assert await ana.press("Misinformation heard") == [HEARD_QUESTION]
    assert await ana.press("Cancel") == ["Report cancelled. Nothing was saved."]
    assert keyboards(ana) == []
    assert unchosen(bot.emulator) == before


async def test_on_whatsapp_nothing_is_taken_away_and_nothing_is_kept() -> None:
    """A WhatsApp message can't be edited: its replies name no question to keep or take away."""
    from bot.whatsapp_replies import WhatsAppReplies

    replies = WhatsAppReplies(cast("Any", None), -7, lambda: cast("Any", None))
    await replies.unchoose(Sent(-7, 3))  # touches nothing: no client is there to call
    assert replies.asked is None and not replies.unchosen(Sent(-7, 3))


class GoneBot:
    """A Bot stand-in on which every message the bot sent before is gone."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Message:
        self.calls.append("send")
        return Message(50 + len(self.calls), datetime.now(), Chat(chat_id, Chat.PRIVATE), text=text)

    async def edit_message_reply_markup(self, **kwargs: Any) -> bool:
        self.calls.append("unchoose")
        raise BadRequest("Message can't be edited")


async def test_an_old_question_that_is_gone_is_left_be() -> None:
    bot = GoneBot()
    replies = TelegramReplies(cast("ExtBot[Priority]", bot), 7)
    await replies.unchoose(Sent(7, 12))
    asked = await replies.say("How many people?", [Choice("One", "p:1")])
    assert replies.asked == asked
    await replies.flush()  # the refusal is no one's failure
    assert bot.calls == ["send", "unchoose"]


def test_a_state_stored_before_questions_were_kept_still_reads() -> None:
    older = {"v": Reporting.VERSION, "topic": "vaccinations", "kind": "misinfo"}
    state = ConversationState(chat_id=1, step="rep:heard", data=older, version=3)
    data = read(state, {"rep": Reporting})
    assert data is not None and data.topic == "vaccinations" and data.question is None


async def test_the_question_is_stored_with_the_step(bot: BotHarness, places: None) -> None:
    ana = await at_heard(bot)
    async with bot.sessions() as session:
        state = await conversation.get_state(session, ana.id)
    assert state is not None and state.data["question"] == newest(ana, HEARD_QUESTION)["message_id"]
