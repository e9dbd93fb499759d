"""The one error handler: log it and tell the person something useful in their language."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import Context
from handlers.gate import identify

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log the error and apologise in the person's language. A failed send never marks the sender
    unreachable: they just wrote to us, and a message to anyone else goes through the outbox, whose
    worker marks only its recipient, so blaming the sender would be wrong either way."""
    log.error("Error while handling update %s", getattr(update, "update_id", None), exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_user is None:
        return
    try:
        await identify(update, context)
    except Exception:
        log.exception("Could not load who sent update %s", update.update_id)
    _ = context.t.gettext
    try:
        await context.reply.say(
            _("Sorry, something went wrong on our side. Please try again, or send /help.")
        )
        await context.settle()  # the press it answers, if the update was one
    except Exception:  # the apology itself failing must not raise again
        log.exception("Could not apologise for update %s", update.update_id)
