"""The one error handler: log it, mark blocked chats unreachable, tell the person something useful."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from bot.context import Context
from handlers.gate import identify
from storage import champions
from storage.models import Status

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log the error; reply in the person's language unless they cannot be reached."""
    log.error("Error while handling update %s", getattr(update, "update_id", None), exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_user is None:
        return
    try:
        await identify(update, context)
    except Exception:
        log.exception("Could not load who sent update %s", update.update_id)
    if isinstance(context.error, Forbidden):
        if context.champion is not None:
            async with context.db.begin() as session:
                await champions.set_status(session, context.champion.id, Status.UNREACHABLE)
        return
    _ = context.t.gettext
    try:
        await update.effective_chat.send_message(
            _("Sorry, something went wrong on our side. Please try again, or send /help.")
        )
    except Exception:  # the apology itself failing must not raise again
        log.exception("Could not tell chat %s about the error", update.effective_chat.id)
