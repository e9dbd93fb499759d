"""What happens to anything no journey claimed: free text, unknown commands, media, old buttons."""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from bot.steps import journey
from handlers import insights, onboarding, report
from handlers.broadcast import media_during_broadcast, text_during_broadcast
from handlers.common import reply

# The journeys that take typed text and media through on_text / on_media, by step prefix.
TYPED = {"rep": (report.on_text, report.on_media), "ins": (insights.on_text, insights.on_media)}


async def text(update: Update, context: Context) -> None:
    """Route free text to the step waiting for it, or explain what the bot understands."""
    if context.state is not None and context.state.step.startswith("join:"):
        await onboarding.on_text(update, context)
        return
    typed = TYPED.get(journey(context.state.step)) if context.state else None
    if typed is not None:
        await typed[0](update, context)
        return
    if await text_during_broadcast(update, context):
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
    typed = TYPED.get(journey(context.state.step)) if context.state else None
    if typed is not None:
        await typed[1](update, context)
        return
    if await media_during_broadcast(update, context):
        return
    _ = context.t.gettext
    if context.state is not None and context.state.step == "join:name":
        await reply(update, _("Please type your name as text."))
        return
    await reply(update, _("Sorry, I can only read text here. Send /help to see what I can do."))
