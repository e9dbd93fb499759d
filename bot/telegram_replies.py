"""The Telegram side of the reply API: inline keyboards, edits in place, answered presses.

A press costs one round trip on its critical path: the answer to the press and the edit that echoes
the choice start at once, in the background, while the handler goes on to its next question;
`flush` (run by bot.wiring when the handler returns) waits for them. Messages to the chat are sent
one after another, in the order said. An old question whose journey moved on loses its keyboard in
the background too, at `flush`, and only if the handler did not change that message itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import MessageLimit
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.budget import Priority
from bot.replies import Choice, Edited, Media, Outgoing, Replies, Sent, as_outgoing

log = logging.getLogger(__name__)

HARMLESS = ("query is too old", "message is not modified", "message to edit not found")


def markup(choices: Sequence[Choice], columns: int = 1) -> InlineKeyboardMarkup | None:
    """An inline keyboard of the choices, `columns` to a row (None for no choices)."""
    if not choices:
        return None
    keys = [
        InlineKeyboardButton(f"{c.label} · {c.note}" if c.note else c.label, callback_data=c.data)
        for c in choices
    ]
    return InlineKeyboardMarkup([keys[i : i + columns] for i in range(0, len(keys), columns)])


def _file(media: Media) -> str | InputFile:
    return media.file if isinstance(media.file, str) else InputFile(media.file, filename=media.filename)


async def send(bot: Bot, chat_id: int, outgoing: Outgoing) -> Message:
    """Send one message: a text, or a photo, voice note or document with the text as its caption.
    The caller keeps the budget: delivery workers take it themselves with a plain Bot, and replies
    go through the Application's, whose limiter takes it."""
    keyboard = markup(outgoing.choices, outgoing.columns)
    media = outgoing.media
    if media is None:
        return await bot.send_message(
            chat_id,
            outgoing.text,
            reply_markup=keyboard,
            disable_web_page_preview=None if outgoing.preview else True,
        )
    caption = outgoing.text or None
    if media.kind == "photo":
        return await bot.send_photo(chat_id, _file(media), caption=caption, reply_markup=keyboard)
    if media.kind == "voice":
        return await bot.send_voice(chat_id, _file(media), caption=caption, reply_markup=keyboard)
    return await bot.send_document(chat_id, _file(media), caption=caption, reply_markup=keyboard)


async def _harmless(call: Awaitable[object]) -> None:
    """Run an acknowledgement or an edit; Telegram refusing it because the press is too old, the
    message is gone or already shows this, changes nothing for the person."""
    try:
        await call
    except BadRequest as exc:
        if not any(reason in exc.message.lower() for reason in HARMLESS):
            raise
        log.info("Telegram had nothing to change: %s", exc.message)


async def _unchoose(bot: Bot, message: Sent) -> None:
    """Take a message's choices away; whatever Telegram answers (the message is gone, too old to
    edit, shows none already), the person's conversation goes on as it is."""
    try:
        await bot.edit_message_reply_markup(
            chat_id=message.chat_id, message_id=message.message_id, reply_markup=None
        )
    except TelegramError as exc:
        log.info("An old question kept its choices: %s", exc)


class TelegramReplies(Replies):
    """Replies in one private chat, to the button press `query` if the update was one."""

    def __init__(self, bot: ExtBot[Priority], chat_id: int, query: CallbackQuery | None = None) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.query = query
        self._acked = query is None
        self._pending: list[asyncio.Task[None]] = []
        self._asked: Sent | None = None
        self._shows_choices: dict[Sent, bool] = {}  # the messages said or changed in this update
        self._unchoose: set[Sent] = set()

    def _later(self, call: Awaitable[object]) -> None:
        self._pending.append(asyncio.ensure_future(_harmless(call)))

    def _target(self, message: Sent | None) -> tuple[int, int] | None:
        if message is not None:
            return message.chat_id, message.message_id
        pressed = self.query.message if self.query else None
        return (pressed.chat.id, pressed.message_id) if pressed is not None else None

    def _changed(self, message: Sent, choices: Sequence[Choice]) -> None:
        self._shows_choices[message] = bool(choices)

    @property
    def asked(self) -> Sent | None:
        """The newest message said with choices, if no later call of this update took them away."""
        asked = self._asked
        return asked if asked is not None and self._shows_choices.get(asked) else None

    def unchosen(self, message: Sent) -> bool:
        return self._shows_choices.get(message) is False

    async def unchoose(self, message: Sent) -> None:
        """Noted, and done by `flush` if nothing else in this update changed that message."""
        self._unchoose.add(message)

    async def say(
        self, outgoing: Outgoing | str, choices: Sequence[Choice] = (), *, columns: int = 1
    ) -> Sent:
        """Send a message after those said before; a press not yet answered is answered with it."""
        if not self._acked:
            await self.ack()
        shown = as_outgoing(outgoing, choices, columns)
        sent = await send(self.bot, self.chat_id, shown)
        said = Sent(sent.chat.id, sent.message_id)
        if shown.choices:
            self._asked = said
            self._changed(said, shown.choices)
        return said

    async def replace(
        self,
        outgoing: Outgoing | str,
        choices: Sequence[Choice] = (),
        *,
        columns: int = 1,
        message: Sent | None = None,
    ) -> None:
        """Edit the pressed message (or `message`): its text and keyboard in one call."""
        shown = as_outgoing(outgoing, choices, columns)
        if not self._acked and message is None:
            await self.ack()
        target = self._target(message)
        if target is None:
            await self.say(shown)
            return
        self._changed(Sent(*target), shown.choices)
        self._later(
            self.bot.edit_message_text(
                shown.text,
                chat_id=target[0],
                message_id=target[1],
                reply_markup=markup(shown.choices, shown.columns),
                disable_web_page_preview=None if shown.preview else True,
            )
        )

    async def rechoose(
        self, choices: Sequence[Choice], *, columns: int = 1, message: Sent | None = None
    ) -> None:
        """Edit only the keyboard of the pressed message (or `message`)."""
        if not self._acked and message is None:
            await self.ack()
        target = self._target(message)
        if target is not None:
            self._changed(Sent(*target), choices)
            self._later(
                self.bot.edit_message_reply_markup(
                    chat_id=target[0], message_id=target[1], reply_markup=markup(choices, columns)
                )
            )

    async def ack(self, notice: str | None = None, *, alert: bool = False) -> None:
        """Answer the press (once), in the background."""
        if self._acked or self.query is None:
            return
        self._acked = True
        self._later(self.query.answer(notice, show_alert=alert))

    async def picked(self, label: str | None = None) -> None:
        """Answer the press and, in one edit, show the answer under the question with its buttons
        gone (a media message, or a question too long to grow, just loses its buttons)."""
        await self.ack()
        pressed = self.query.message if self.query else None
        if not isinstance(pressed, Message):
            return
        self._changed(Sent(pressed.chat.id, pressed.message_id), ())
        if pressed.reply_markup is None:
            return
        text = pressed.text
        echoed = f"{text}\n\n\u2068✓ {label}\u2069" if text and label else None
        if echoed is not None and len(echoed) <= MessageLimit.MAX_TEXT_LENGTH:
            self._later(
                self.bot.edit_message_text(
                    echoed,
                    chat_id=pressed.chat.id,
                    message_id=pressed.message_id,
                    reply_markup=None,
                    link_preview_options=pressed.link_preview_options,  # else an edit previews anew
                )
            )
        else:
            self._later(
                self.bot.edit_message_reply_markup(
                    chat_id=pressed.chat.id, message_id=pressed.message_id, reply_markup=None
                )
            )

    async def edit(self, message: Sent, outgoing: Outgoing) -> Edited:
        """Edit text and keyboard in one call, in the budget behind replies."""
        try:
            await self.bot.edit_message_text(
                outgoing.text,
                chat_id=message.chat_id,
                message_id=message.message_id,
                reply_markup=markup(outgoing.choices, outgoing.columns),
                disable_web_page_preview=None if outgoing.preview else True,
                rate_limit_args=Priority.PERSON,
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return Edited.SHOWN
            log.warning("A message can no longer be edited: %s", exc.message)
            return Edited.GONE
        except Forbidden:
            log.warning("A message can no longer be edited: the chat blocked the bot")
            return Edited.GONE
        except TelegramError as exc:
            log.warning("A message was not edited this time: %s", exc)
            return Edited.LATER
        return Edited.SHOWN

    async def flush(self) -> None:
        """Take the choices off the old questions still to be unchosen, and wait for that, the
        acknowledgement and the edits started in the background."""
        for message in self._unchoose - self._shows_choices.keys():
            self._pending.append(asyncio.ensure_future(_unchoose(self.bot, message)))
        self._unchoose = set()
        pending, self._pending = self._pending, []
        results = await asyncio.gather(*pending, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
