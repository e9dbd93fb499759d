"""Runs first for every update: drop what the bot ignores, then load the person and their language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType, MessageLimit
from telegram.ext import ApplicationHandlerStop

from bot.context import Context
from bot.i18n import negotiate, translator
from storage import champions, conversation
from storage.models import Status

log = logging.getLogger(__name__)


async def load(update: Update, context: Context) -> None:
    """Ignore groups, channels and edits; load the champion, their step and their translator."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE or update.edited_message:
        log.debug("Ignoring update %s (not a private message or button press)", update.update_id)
        raise ApplicationHandlerStop
    await identify(update, context)
    message = update.message
    if message and message.text and len(message.text) > MessageLimit.MAX_TEXT_LENGTH:
        await message.reply_text(
            context.t.gettext("That message is too long for me. Please send something shorter.")
        )
        raise ApplicationHandlerStop


async def identify(update: Update, context: Context) -> None:
    """Load the champion, their conversation step and their translator into the context."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    async with context.db.begin() as session:
        champion = await champions.by_telegram_id(session, user.id)
        state = await conversation.get_state(session, chat.id)
        if champion is not None and champion.status == Status.UNREACHABLE:
            # They are writing to us, so they can be reached again.
            await champions.set_status(session, champion.id, Status.ACTIVE)
            champion.status = Status.ACTIVE
    context.champion = champion
    context.state = state
    language = (
        (champion.language if champion else None)
        or (state.data.get("language") if state else None)
        or negotiate(user.language_code, context.settings.default_language)
    )
    context.t = translator(language)
