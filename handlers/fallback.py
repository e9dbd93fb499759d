"""What happens to anything no journey claimed: free text, unknown commands, media, old buttons.
Text and media for a chat on a journey's step reach that journey first (bot.wiring routes them)."""

from __future__ import annotations

from telegram import Update

from bot.context import Context


async def text(update: Update, context: Context) -> None:
    """Explain what the bot understands."""
    _ = context.t.gettext
    if context.champion is None:
        await context.reply.say(_("Hello! Send /start to join."))
    else:
        await context.reply.say(_("Sorry, I didn't understand that. Send /help to see what I can do."))


async def unknown_command(update: Update, context: Context) -> None:
    """Say the command is unknown and point to /help."""
    await context.reply.say(context.t.gettext("I don't know that command. Send /help to see what I can do."))


async def other_message(update: Update, context: Context) -> None:
    """Photos, stickers, voice notes and the like where none is expected."""
    _ = context.t.gettext
    if context.state is not None and context.state.step == "join:name":
        await context.reply.say(_("Please type your name as text."))
        return
    await context.reply.say(_("Sorry, I can only read text here. Send /help to see what I can do."))
