"""What happens to anything no journey claimed: free text, unknown commands, media, old buttons."""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from handlers import onboarding
from handlers.broadcast import media_during_broadcast, text_during_broadcast
from handlers.common import reply
from handlers.insights import media_during_insights, text_during_insights
from handlers.report import media_during_report, text_during_report


async def text(update: Update, context: Context) -> None:
    """Route free text to the step waiting for it, or explain what the bot understands."""
    if context.state is not None and context.state.step.startswith("join:"):
        await onboarding.on_text(update, context)
        return
    if (
        await text_during_broadcast(update, context)
        or await text_during_report(update, context)
        or await text_during_insights(update, context)
    ):
        return
    _ = context.t.gettext
    if context.champion is None:
        await reply(update, _("Hello! Send /start to join."))
    else:
        await reply(update, _("Sorry, I didn't understand that. Send /help to see what I can do."))


async def unknown_command(update: Update, context: Context) -> None:
    """Say the command is unknown and point to /help."""
    await reply(update, context.t.gettext("I don't know that command. Send /help to see what I can do."))


async def other_message(update: Update, context: Context) -> None:
    """Photos, stickers, voice notes and the like where none is expected."""
    if (
        await media_during_broadcast(update, context)
        or await media_during_report(update, context)
        or await media_during_insights(update, context)
    ):
        return
    _ = context.t.gettext
    if context.state is not None and context.state.step == "join:name":
        await reply(update, _("Please type your name as text."))
        return
    await reply(update, _("Sorry, I can only read text here. Send /help to see what I can do."))
