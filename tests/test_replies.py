"""The reply API: how choices fit WhatsApp, and how the Telegram side spends one round trip a press."""

from __future__ import annotations

import ast
import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, User
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.budget import Priority
from bot.replies import BUTTONS_MAX, LIST_ROWS, Choice, whatsapp_pages
from bot.steps import StepData, read
from bot.telegram_replies import TelegramReplies, markup
from storage.models import ConversationState


def numbered(n: int) -> list[Choice]:
    return [Choice(f"Area {i}", f"a:{i}") for i in range(n)]


def layout(n: int) -> list[tuple[int, bool]]:
    return [(len(page.choices), page.as_list) for page in whatsapp_pages(numbered(n), "More…")]


def test_three_choices_are_buttons_and_more_a_list() -> None:
    assert layout(BUTTONS_MAX) == [(3, False)]
    assert layout(4) == [(4, True)]
    assert layout(LIST_ROWS) == [(10, True)]
    with_notes = [Choice("1", "q:1", note="Call NHS 111 and choose the mental health option")]
    assert [page.as_list for page in whatsapp_pages(with_notes, "More…")] == [True]  # buttons have no notes


def test_more_than_ten_choices_page_with_more() -> None:
    pages = whatsapp_pages(numbered(23), "More…")
    assert [len(p.choices) for p in pages] == [10, 10, 5]
    assert [p.choices[-1] for p in pages[:-1]] == [Choice("More…", "more:1"), Choice("More…", "more:2")]
    shown = [c.data for p in pages for c in p.choices if not c.data.startswith("more:")]
    assert shown == [f"a:{i}" for i in range(23)]  # every choice once, in order


def test_a_note_follows_the_label_on_telegram() -> None:
    keyboard = markup([Choice("Vaccines", "learn:t:v", note="3 of 5 done")], columns=1)
    assert isinstance(keyboard, InlineKeyboardMarkup)
    assert keyboard.inline_keyboard[0][0].text == "Vaccines · 3 of 5 done"
    assert markup([]) is None


class SlowBot:
    """A Bot stand-in whose answers and edits wait for `release`, so a test can see what the
    handler's next step does meanwhile."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_edit: Exception | None = None

    async def answer_callback_query(self, callback_query_id: str, **kwargs: Any) -> bool:
        self.calls.append(("answer", kwargs))
        await self.release.wait()
        return True

    async def edit_message_text(self, text: str, **kwargs: Any) -> bool:
        self.calls.append(("edit", {"text": text, **kwargs}))
        await self.release.wait()
        if self.fail_edit is not None:
            raise self.fail_edit
        return True

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Message:
        self.calls.append(("send", {"text": text}))
        return Message(len(self.calls), datetime.now(), Chat(chat_id, Chat.PRIVATE), text=text)


def press(bot: SlowBot, question: str) -> TelegramReplies:
    chat = Chat(7, Chat.PRIVATE)
    keyboard = InlineKeyboardMarkup.from_button(InlineKeyboardButton("Northfield", callback_data="a:1"))
    message = Message(41, datetime.now(), chat, text=question, reply_markup=keyboard)
    query = CallbackQuery("q1", User(7, "Ana", False), "7", message=message, data="a:1")
    query.set_bot(cast("ExtBot[Priority]", bot))
    return TelegramReplies(cast("ExtBot[Priority]", bot), 7, query)


async def test_the_next_step_does_not_wait_for_the_answer_or_the_echo() -> None:
    bot = SlowBot()
    replies = press(bot, "Which area?")
    await replies.picked("Northfield")
    await asyncio.wait_for(replies.say("How many people?"), timeout=5)  # while both still wait
    assert [name for name, _ in bot.calls] == ["answer", "edit", "send"]
    edit = bot.calls[1][1]
    assert edit["text"] == "Which area?\n\n\u2068✓ Northfield\u2069" and edit["reply_markup"] is None
    flushing = asyncio.ensure_future(replies.flush())
    await asyncio.sleep(0)
    assert not flushing.done()  # flush waits for them
    bot.release.set()
    await asyncio.wait_for(flushing, timeout=5)


async def test_an_edit_that_changes_nothing_is_harmless_but_other_failures_are_raised() -> None:
    bot = SlowBot()
    bot.release.set()
    bot.fail_edit = BadRequest("Message is not modified: specified new message content is the same")
    replies = press(bot, "Which area?")
    await replies.picked("Northfield")
    await replies.flush()
    bot.fail_edit = BadRequest("Chat not found")
    replies = press(bot, "Which area?")
    await replies.picked("Northfield")
    with pytest.raises(BadRequest, match="Chat not found"):
        await replies.flush()


class Draft(StepData):
    VERSION = 2
    topic: str | None = None


def state(data: dict[str, Any], step: str = "rep:topic") -> ConversationState:
    return ConversationState(chat_id=1, step=step, data=data, version=1)


def test_step_data_is_read_only_in_its_own_version_and_shape() -> None:
    models = {"rep": Draft}
    assert read(state(Draft(topic="vaccines").stored()), models) == Draft(topic="vaccines")
    assert read(state({"topic": "vaccines"}), models) is None  # the previous release's, unversioned
    assert read(state({"v": 1, "topic": "vaccines"}), models) is None  # another version
    assert read(state({"v": 2, "topic": 3}), models) is None  # the wrong type
    assert read(state({"v": 2, "topc": "x"}), models) is None  # a field this release doesn't know
    assert read(state(Draft().stored(), step="bc:text"), models) is None  # no such journey


CHANNEL_CALLS = ("edit_message_", "answer_callback", "send_", "copy_message", "forward_", "delete_message")
CHANNEL_CALLS += ("reply_text", "reply_photo", "reply_document", "reply_voice", "reply_html")
CHANNEL_TYPES = {"InlineKeyboardMarkup", "InlineKeyboardButton", "InputFile", "ReplyKeyboardMarkup"}


def test_handlers_speak_only_through_the_reply_api() -> None:
    """No handler calls the Bot API or builds Telegram's keyboards: they say what to show through
    `context.reply`, and bot/telegram_replies.py renders it."""
    found = []
    for path in sorted((Path(__file__).parent.parent / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("telegram", "bot.telegram_replies"):
                names = {alias.name for alias in node.names}
                if node.module == "bot.telegram_replies" or names & CHANNEL_TYPES:
                    found.append(f"{path.name}:{node.lineno} imports {sorted(names)}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                receiver = node.func.value
                ours = isinstance(receiver, ast.Attribute) and receiver.attr == "reply"  # context.reply
                if not ours and (node.func.attr == "answer" or node.func.attr.startswith(CHANNEL_CALLS)):
                    found.append(f"{path.name}:{node.lineno} calls {node.func.attr}")
    assert found == []
