"""Settings and rights: help, language, privacy, pause/resume, stop, a copy of one's data, erasure."""

from __future__ import annotations

import json

from telegram import InputFile, Update

from bot.context import Context
from bot.i18n import LANGUAGES, translator
from handlers.common import (
    answer,
    answer_and_clear,
    buttons,
    clear_step,
    help_text,
    language_buttons,
    reply,
    require_member,
    save_step,
    stale_button,
)
from handlers.onboarding import privacy_notice
from storage import champions
from storage.models import Status

ERASE_STEP = "erase:confirm"


async def show_help(update: Update, context: Context) -> None:
    """List what the bot can do for this person."""
    await reply(update, help_text(context))


async def cancel(update: Update, context: Context) -> None:
    """Leave whatever multi-step flow the chat is in."""
    assert update.effective_chat
    _ = context.t.gettext
    if context.state is None:
        await reply(update, _("There is nothing to cancel."))
        return
    await clear_step(update, context)
    await reply(update, _("Cancelled. Send /help to see what you can do."))


async def ask_language(update: Update, context: Context) -> None:
    """Offer the shipped languages."""
    if await require_member(update, context) is None:
        return
    await reply(
        update, context.t.gettext("Choose your language."), language_buttons(context.t.language, "lang:")
    )


async def set_language(update: Update, context: Context) -> None:
    """Switch to the chosen language and confirm in it."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    language = query.data.split(":", 1)[1]
    if champion is None:
        await answer(query)
        return
    if language not in LANGUAGES:
        await stale_button(update, context)
        return
    async with context.db.begin() as session:
        await champions.set_language(session, champion.id, language)
    await answer_and_clear(update)
    context.t = translator(language)
    await reply(update, context.t.gettext("Done. I will write to you in English from now on."))


async def show_privacy(update: Update, context: Context) -> None:
    """Show the privacy notice and the person's current choices, with a button to change one."""
    _ = context.t.gettext
    await reply(update, privacy_notice(context))
    champion = context.champion
    if champion is None or champion.consent_at is None:
        return
    if champion.share_consent:
        text = _("You agreed that what you report may be used, without your name, in reports to partners.")
        markup = buttons([(_("Stop sharing"), "privacy:share:no")])
    else:
        text = _("You chose not to let what you report be used in reports to partners.")
        markup = buttons([(_("Allow sharing"), "privacy:share:yes")])
    await reply(update, text, markup)


async def change_sharing(update: Update, context: Context) -> None:
    """Record a changed choice about sharing reports with partners."""
    query = update.callback_query
    assert query and query.data
    champion = context.champion
    if champion is None or champion.consent_at is None:
        await stale_button(update, context)
        return
    share = query.data.endswith(":yes")
    async with context.db.begin() as session:
        await champions.set_share_consent(session, champion.id, share)
    await answer_and_clear(update)
    _ = context.t.gettext
    await reply(update, _("Thank you, your choice is saved."))


QUIET_STARTS = (20, 21, 22, 23)
QUIET_ENDS = (6, 7, 8, 9)


async def ask_quiet_hours(update: Update, context: Context) -> None:
    """Show the quiet hours and offer when they should start."""
    champion = await require_member(update, context)
    if champion is None:
        return
    _ = context.t.gettext
    if champion.quiet_start is not None and champion.quiet_end is not None:
        current = _("Your quiet hours are {start} to {end}: nothing that can wait is sent then.").format(
            start=f"{champion.quiet_start:02d}:00", end=f"{champion.quiet_end:02d}:00"
        )
    else:
        current = _("You have no quiet hours.")
    choices = [(f"{hour:02d}:00", f"quiet:s:{hour}") for hour in QUIET_STARTS]
    choices.append((_("No quiet hours"), "quiet:off"))
    await reply(update, current + "\n" + _("When should quiet hours start?"), buttons(choices, columns=4))


async def choose_quiet_start(update: Update, context: Context) -> None:
    """Offer when quiet hours should end."""
    query = update.callback_query
    assert query and query.data
    start = int(query.data.rsplit(":", 1)[1])
    if await require_member(update, context) is None or start not in QUIET_STARTS:
        await stale_button(update, context)
        return
    await answer_and_clear(update)
    choices = [(f"{hour:02d}:00", f"quiet:e:{start}:{hour}") for hour in QUIET_ENDS]
    await reply(update, context.t.gettext("And when should they end?"), buttons(choices, columns=4))


async def choose_quiet_end(update: Update, context: Context) -> None:
    """Save quiet hours, or turn them off."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    parts = query.data.split(":")
    hours = (int(parts[2]), int(parts[3])) if len(parts) == 4 else None
    if champion is None or (hours and (hours[0] not in QUIET_STARTS or hours[1] not in QUIET_ENDS)):
        await stale_button(update, context)
        return
    await answer_and_clear(update)
    async with context.db.begin() as session:
        await champions.set_quiet_hours(session, champion.id, *(hours or (None, None)))
    _ = context.t.gettext
    if hours is None:
        await reply(update, _("Quiet hours are off."))
    else:
        await reply(
            update,
            _("Saved. Your quiet hours are {start} to {end}.").format(
                start=f"{hours[0]:02d}:00", end=f"{hours[1]:02d}:00"
            ),
        )


async def pause(update: Update, context: Context) -> None:
    """Pause campaign messages."""
    await _change_status(update, context, Status.PAUSED)


async def resume(update: Update, context: Context) -> None:
    """Resume campaign messages."""
    await _change_status(update, context, Status.ACTIVE)


async def stop(update: Update, context: Context) -> None:
    """Opt out of all messages."""
    await _change_status(update, context, Status.STOPPED)


async def _change_status(update: Update, context: Context, status: Status) -> None:
    _ = context.t.gettext
    champion = context.champion
    if status == Status.STOPPED and champion is not None and champion.status != Status.STOPPED:
        async with context.db.begin() as session:
            await champions.change_status(session, champion.id, status)
        await reply(
            update,
            _(
                "You will not get any more messages from us. We still keep your details so you can "
                "come back with /start; to delete them, send /deleteme."
            ),
        )
        return
    champion = await require_member(update, context)
    if champion is None:
        return
    if champion.status == status:
        already = {
            Status.PAUSED: _("Campaign messages are already paused. Send /resume to get them again."),
            Status.ACTIVE: _("You are already getting campaign messages."),
        }
        await reply(update, already[status])
        return
    async with context.db.begin() as session:
        await champions.change_status(session, champion.id, status)
    done = {
        Status.PAUSED: _("Campaign messages are paused. Send /resume to get them again."),
        Status.ACTIVE: _("Welcome back! You will get campaign messages again."),
    }
    await reply(update, done[status])


async def my_data(update: Update, context: Context) -> None:
    """Send everything held about the person as a JSON file."""
    assert update.effective_chat
    _ = context.t.gettext
    if context.champion is None:
        await reply(update, _("We hold no data about you."))
        return
    async with context.db() as session:
        data = await champions.personal_data(session, context.champion)
    document = InputFile(json.dumps(data, ensure_ascii=False, indent=2).encode(), filename="my-data.json")
    await update.effective_chat.send_document(document, caption=_("This is everything we hold about you."))


async def ask_delete(update: Update, context: Context) -> None:
    """Ask for confirmation before erasing; only a press on this question erases."""
    assert update.effective_chat
    _ = context.t.gettext
    if context.champion is None:
        await reply(update, _("We hold no data about you."))
        return
    await save_step(update, context, ERASE_STEP, {})
    await reply(
        update,
        _("This deletes everything we hold about you and cannot be undone. Are you sure?"),
        buttons([(_("Yes, delete everything"), "erase:yes"), (_("No, keep it"), "erase:no")]),
    )


async def confirm_delete(update: Update, context: Context) -> None:
    """Erase the person, or keep them if they changed their mind."""
    query = update.callback_query
    assert query and query.data
    assert update.effective_chat
    _ = context.t.gettext
    champion = context.champion
    if champion is None or context.state is None or context.state.step != ERASE_STEP:
        await stale_button(update, context)
        return
    await answer_and_clear(update)
    if not query.data.endswith(":yes"):
        await clear_step(update, context)
        await reply(update, _("Nothing was deleted."))
        return
    async with context.db.begin() as session:
        await champions.erase(session, champion)
    context.champion = None
    await reply(update, _("Everything we held about you has been deleted. Goodbye, and thank you."))
