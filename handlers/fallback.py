"""What happens to anything no journey claimed: free text, unknown commands, media, old buttons."""

from __future__ import annotations

from telegram import Update

from bot import steps
from bot.context import Context
from handlers import answer_back, compose
from handlers.common import reply
from handlers.insights import media_during_insights, text_during_insights
from handlers.onboarding import text_during_join
from handlers.report import media_during_report, text_during_report


async def text(update: Update, context: Context) -> None:
    """Route free text to the step waiting for it, or explain what the bot understands."""
    journey = _journey(context)
    if journey == "bc":
        await compose.on_text(update, context)
        return
    if journey == "ans":
        await answer_back.on_text(update, context)
        return
    if (
        await text_during_join(update, context)
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
    if _journey(context) == "bc":
        await compose.on_media(update, context)
        return
    if await media_during_report(update, context) or await media_during_insights(update, context):
        return
    _ = context.t.gettext
    if context.state is not None and context.state.step == "join:name":
        await reply(update, _("Please type your name as text."))
        return
    await reply(update, _("Sorry, I can only read text here. Send /help to see what I can do."))


def _journey(context: Context) -> str:
    """The journey whose step the chat is on ("" for none)."""
    return steps.journey(context.state.step) if context.state is not None else ""
