"""Runs first for every update: drop what the bot ignores, slow down floods, then load the person and
their language (waiting for the database if it is away)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot import steps
from bot.context import Context
from bot.flood import Verdict
from bot.i18n import negotiate, translator
from handlers import pastes
from storage import champions, conversation
from storage.db import retry_while_away
from storage.models import Status

log = logging.getLogger(__name__)


async def load(update: Update, context: Context) -> None:
    """Ignore groups, channels, edits and floods; load the champion, their step and their translator."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE or update.edited_message:
        log.debug("Ignoring update %s (not a private message or button press)", update.update_id)
        raise ApplicationHandlerStop
    ours = isinstance(update, pastes.Due | pastes.Joined)  # made by the bot from the chat's messages
    verdict = Verdict.ALLOW if ours else context.bot_data.flood.check(chat.id)
    if verdict == Verdict.DROP:
        raise ApplicationHandlerStop

    async def load_person() -> None:
        # The database may be restarting: wait for it here, before anything is written, so the
        # update is handled late rather than lost. Loading is safe to repeat (its one write is
        # idempotent).
        await retry_while_away(lambda: identify(update, context), context.settings.db_retry_seconds)

    async def reload() -> None:  # after a held paste went to its step, which may have moved on
        await load_person()
        await check_step(update, context)

    await load_person()
    await check_step(update, context)
    if verdict == Verdict.WARN:
        log.info("A chat is sending too fast; dropping its updates for a moment")
        await context.reply.say(
            context.t.gettext("You're sending messages very fast. Please wait a moment and try again.")
        )
        raise ApplicationHandlerStop
    if await pastes.intercept(update, context, reload):
        raise ApplicationHandlerStop
    message = update.message
    if message and message.text and len(message.text) > pastes.JOINED_MAX:
        await context.reply.say(
            context.t.gettext("That message is too long for me. Please send something shorter.")
        )
        raise ApplicationHandlerStop


async def check_step(update: Update, context: Context) -> None:
    """Read the chat's step data as its journey's model; a state this release can't continue (left
    mid-journey by an earlier one) is ended, and the person told. A command or a press is then
    handled as from no step; anything else was an answer to the ended step, so it stops here."""
    state = context.state
    context.step_data = None  # until read again: this may be a reload, after the step moved on
    if state is None:
        return
    context.step_data = steps.read(state, context.bot_data.steps)
    if context.step_data is not None:
        return
    assert update.effective_chat is not None
    async with context.db.begin() as session:
        await conversation.clear_state(session, update.effective_chat.id, read=context.state_version)
    context.state = context.state_version = None
    log.info("Ended a conversation step this release can't continue")
    _ = context.t.gettext
    joined = context.champion is not None and context.champion.status in (Status.ACTIVE, Status.PAUSED)
    again = _("Send /help to see what you can do.") if joined else _("Send /start to join.")
    await context.reply.say(
        _("Sorry, the bot was updated while you were in the middle of something, so it has to start again.")
        + " "
        + again
    )
    message = update.message
    if message is not None and not (message.text or "").startswith("/"):
        raise ApplicationHandlerStop


async def identify(update: Update, context: Context) -> None:
    """Load the champion, their conversation step and their translator into the context."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    async with context.db.begin() as session:
        champion, state = await champions.with_state(session, user.id, chat.id)
        if champion is not None and champion.unreachable_at is not None:
            # They are writing to us, so they can be reached again; their status is untouched.
            await champions.mark_reachable(session, champion.id)
            champion.unreachable_at = None
    context.champion = champion
    context.state = state
    context.state_version = state.version if state else None  # writes are conditional on it
    language = (
        (champion.language if champion else None)
        or (state.data.get("language") if state else None)
        or negotiate(user.language_code, context.settings.default_language)
    )
    context.t = translator(language)
