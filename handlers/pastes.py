"""Join the parts of a long paste into one message before any step sees it (run by the gate).

Telegram clients send a text over 4096 characters as several messages sent together: Android cuts
at 4096, Telegram Desktop at the last line break or space in the second half of each 4096. So a
text of 2048 or more (UTF-16 units, as clients count) may go on in the next message: in a chat
that is in a flow it is held in the conversation state, not shown to the step. What comes next
decides: a text sent within the window continues it (held again if it may go on too, else the
whole paste goes to the step as one message); anything else first hands the held paste to its
step, then is handled itself. When nothing comes, a `Due` update put on the update queue after
the window hands it over. Every hand-over takes the paste out of the database only if no other
part has been added since, so a paste goes to its step once, whole, on whichever worker; a tail
never reaches a step on its own while its head is held.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from telegram import Message, Update
from telegram.constants import MessageEntityType, MessageLimit

from bot.context import App, Context
from handlers.common import telegram_length
from storage import pastes
from storage.pastes import Held

log = logging.getLogger(__name__)

SPLIT = MessageLimit.MAX_TEXT_LENGTH  # what clients split at
JOINED_MAX = 4 * SPLIT  # longer pastes are kept only this far, to be refused whole (no step takes more)
SENT_TOGETHER = 1  # seconds between the dates of two parts of one paste, at most
DUE = "paste_due"  # chat_data key: the id of the last `Due` update scheduled for the chat


class Due(Update):
    """Time to hand a held paste to its step, unless another part has come since."""

    __slots__ = ()


class Joined(Update):
    """The parts of a paste joined into one message, for the steps."""

    __slots__ = ()


def may_continue(text: str) -> bool:
    """Whether a client may have cut this text off at the split size, so the next message goes on."""
    return telegram_length(text) >= SPLIT // 2


def due_id(application: App, chat_id: int) -> int | None:
    """The id of the last `Due` update scheduled for a chat in this process (tests wait for it)."""
    value = application.chat_data[chat_id].get(DUE)
    return value if isinstance(value, int) else None


async def intercept(update: Update, context: Context, reload: Callable[[], Awaitable[None]]) -> bool:
    """Hold, join or hand over pastes; True when the update is done with, False when its handlers
    should see it (after `reload` if a held paste was handed over first)."""
    if isinstance(update, Joined):
        return False
    state = context.state
    paste = pastes.held(state.data) if state is not None else None
    if isinstance(update, Due):
        if paste is not None:
            await _hand_over(update, context, paste, -update.update_id, complete=False)
        return True
    text = _text(update)
    if paste is not None and state is not None:
        state.data = pastes.without(state.data)  # a step carrying its data on must not keep the paste
        continues = text is not None and _continues(paste, update)
        if continues and paste.handed_over:  # the window passed before this part came: not a text
            log.info("Dropped the end of a paste that was handed over without it")
            return True
        if continues and text is not None:
            await _continue(update, context, paste, text)
            return True
        # Nothing a client sends comes between a paste's parts: this update ends the paste, so no
        # text after it can be taken for a part still to come.
        if paste.handed_over:
            assert update.effective_chat is not None
            async with context.db.begin() as session:
                await pastes.end(session, update.effective_chat.id)
        else:
            await _hand_over(update, context, paste, paste.token, complete=True)
            await reload()
    if text is None or context.state is None or not may_continue(text):
        return False
    return await _hold(update, context, _part(update, text, text))


def _text(update: Update) -> str | None:
    """The text of a message that could be part of a paste (not a command)."""
    message = update.message
    if message is None or message.text is None:
        return None
    if any(e.type == MessageEntityType.BOT_COMMAND and e.offset == 0 for e in message.entities):
        return None
    return message.text


def _continues(paste: Held, update: Update) -> bool:
    """Whether a message was sent with the held paste: right after its last part, in the same or the
    next second (Telegram's dates are whole seconds; a client sends the parts at once)."""
    message = update.message
    assert message is not None
    return message.message_id > paste.message_id and message.date.timestamp() - paste.date <= SENT_TOGETHER


def _part(update: Update, text: str, part: str) -> Held:
    """The paste held as `text`, its last part being this update's `part`."""
    assert update.message is not None
    return Held(
        text=text[: JOINED_MAX + 1],
        token=update.update_id,
        message_id=update.message.message_id,
        date=update.message.date.timestamp(),
        hard_cut=telegram_length(part) == SPLIT,
    )


async def _continue(update: Update, context: Context, paste: Held, part: str) -> None:
    """Add a part to the held paste: hold it again if it may go on, else hand the whole over."""
    whole = paste.joined(part)
    if may_continue(part):  # held on even past JOINED_MAX, so no later part is taken for a message
        await _hold(update, context, _part(update, whole, part), replacing=paste.token)
        return
    if await _take(update, context, paste.token, complete=True) is None:
        log.info("Dropped the end of a paste that was handed over without it")
        return
    await _process(update, context, _part(update, whole, part))


async def _hold(update: Update, context: Context, paste: Held, replacing: int | None = None) -> bool:
    """Keep the paste in the chat's state and look again after the window; False if the chat is no
    longer in a flow, or (when `replacing`) the paste was handed over meanwhile."""
    assert update.effective_chat is not None and update.message is not None
    chat_id = update.effective_chat.id
    async with context.db.begin() as session:
        if replacing is not None and await pastes.take(session, chat_id, replacing) is None:
            log.info("Dropped the end of a paste that was handed over without it")
            return True
        if not await pastes.hold(session, chat_id, paste):
            return False
    due = Due(update_id=-paste.token, message=update.message)
    assert context.job_queue is not None and context.chat_data is not None
    context.job_queue.run_once(
        _when_due,  # type: ignore[arg-type]  # PTB types CallbackContext.job_queue as JobQueue[ST]
        context.settings.paste_window_seconds,
        data=due,
    )
    context.chat_data[DUE] = due.update_id
    return True


async def _when_due(context: Context) -> None:
    """The window has passed: queue the `Due` update, so it is handled in turn with the chat's others."""
    assert context.job is not None and isinstance(context.job.data, Due)
    await context.application.update_queue.put(context.job.data)


async def _take(update: Update, context: Context, token: int, *, complete: bool = False) -> Held | None:
    assert update.effective_chat is not None
    async with context.db.begin() as session:
        return await pastes.take(session, update.effective_chat.id, token, complete=complete)


async def _hand_over(update: Update, context: Context, paste: Held, token: int, *, complete: bool) -> None:
    """Give the held paste to its step, if it is still held as it was when `token` came; unless
    `complete`, a part still to come is then dropped as its tail."""
    taken = await _take(update, context, token, complete=complete)
    if taken is not None:
        await _process(update, context, taken)


async def _process(update: Update, context: Context, paste: Held) -> None:
    """Handle the paste as one message from the chat, through every handler, here and now."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    message = Message(
        message_id=paste.message_id,
        date=datetime.fromtimestamp(paste.date, UTC),
        chat=chat,
        from_user=user,
        text=paste.text,
    )
    message.set_bot(context.bot)
    await context.application.process_update(Joined(update_id=paste.token, message=message))
