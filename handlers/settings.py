"""Settings and rights: help, language, privacy, pause/resume, stop, a copy of one's data, erasure."""

from __future__ import annotations

import json
from collections.abc import Iterable

from telegram import Update

from bot import whatsapp_media
from bot.context import Context
from bot.i18n import LANGUAGES, N_, translator
from bot.replies import Choice, Media, Outgoing
from bot.steps import StepData
from handlers.common import (
    clear_step,
    language_choices,
    require_member,
    save_step,
    show_home,
    stale_button,
)
from storage import champions
from storage.models import Status

ERASE_STEP = "erase:confirm"


class Erasing(StepData):
    """Asked to confirm erasure; nothing else to remember."""


async def show_help(update: Update, context: Context) -> None:
    """Show what the bot can do for this person: a coordinator's tools, or a champion's help."""
    await show_home(context)


async def cancel(update: Update, context: Context) -> None:
    """Leave whatever multi-step flow the chat is in."""
    assert update.effective_chat
    _ = context.t.gettext
    if context.state is None:
        await context.reply.say(_("There is nothing to cancel."))
        return
    await clear_step(update, context)
    await context.reply.say(_("Cancelled. Send /help to see what you can do."))


async def ask_language(update: Update, context: Context) -> None:
    """Offer the shipped languages."""
    if await require_member(update, context) is None:
        return
    await context.reply.say(
        context.t.gettext("Choose your language."), language_choices(context.t.language, "lang:"), columns=2
    )


async def set_language(update: Update, context: Context) -> None:
    """Switch to the chosen language and confirm in it."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    language = query.data.split(":", 1)[1]
    if champion is None:
        await context.reply.ack()
        return
    if language not in LANGUAGES:
        await stale_button(update, context)
        return
    async with context.db.begin() as session:
        await champions.set_language(session, champion.id, language)
    await context.reply.picked(LANGUAGES[language])
    context.t = translator(language)
    await context.reply.say(context.t.gettext("Done. I will write to you in English from now on."))


KEPT = N_(
    "What we keep about you, and why\n\n"
    "We keep:\n"
    "• the name you gave us, your language and time zone\n"
    "• the area and networks you chose\n"
    "• your reports (with any photo or voice note), one you are still writing, and the replies\n"
    "• the conversations you logged with /log: how many people, the topic and the setting\n"
    "• your learning progress and quiz answers\n"
    "• the messages we sent you and your answers to them\n"
    "• your settings (such as quiet hours), and when you agreed to take part and to sharing\n"
    "• the Telegram or WhatsApp account you write from (on WhatsApp, your phone number)\n"
    "We never ask for your address.\n\n"
    "Why: to send you health messages, and to pass on what you hear to the people who can act on it.\n"
    "Who sees it: the coordinators of this programme. A report you send anonymously does not show "
    "them your name.\n"
    "How long: while you take part. After /stop we keep it so you can come back, until you send "
    "/deleteme.\n\n"
    "/mydata sends you a copy of it all; /deleteme deletes it all."
)


async def show_privacy(update: Update, context: Context) -> None:
    """Show what is kept about the person, why, who sees it and for how long; then, to a member,
    their choice about sharing reports with partners, with a button to change it (a message of its
    own, so the one with a button stays within WhatsApp's interactive body)."""
    _ = context.t.gettext
    await context.reply.say(_(KEPT))
    champion = context.champion
    if champion is None or champion.consent_at is None:
        return
    if champion.share_consent:
        text = _("You agreed that what you report may be used, without your name, in reports to partners.")
        choice = Choice(_("Stop sharing"), "privacy:share:no")
    else:
        text = _("You chose not to let what you report be used in reports to partners.")
        choice = Choice(_("Allow sharing"), "privacy:share:yes")
    await context.reply.say(text, [choice])


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
    _ = context.t.gettext
    await context.reply.picked(_("Allow sharing") if share else _("Stop sharing"))
    await context.reply.say(_("Thank you, your choice is saved."))


QUIET_STARTS = (20, 21, 22, 23)  # offered first; Another time offers every hour
QUIET_ENDS = (6, 7, 8, 9)  # offered first after one of QUIET_STARTS
HOURS = range(24)


def _hours(prefix: str, hours: Iterable[int]) -> list[Choice]:
    """A choice for each hour, "HH:00", its data the prefix and the hour."""
    return [Choice(f"{hour:02d}:00", f"{prefix}{hour}") for hour in hours]


def _ends(start: int) -> list[Choice]:
    """Every hour quiet hours starting at `start` may end at: any but the start."""
    return _hours(f"quiet:e:{start}:", (hour for hour in HOURS if hour != start))


async def ask_quiet_hours(update: Update, context: Context) -> None:
    """Show the quiet hours in the person's zone and offer when they should start: the usual evening
    hours, or any other."""
    champion = await require_member(update, context)
    if champion is None:
        return
    _ = context.t.gettext
    if champion.quiet_start is not None and champion.quiet_end is not None:
        current = _(
            "Your quiet hours are {start} to {end} ({timezone}): nothing that can wait is sent then."
        ).format(
            start=f"{champion.quiet_start:02d}:00",
            end=f"{champion.quiet_end:02d}:00",
            timezone=champion.timezone,
        )
    else:
        current = _("You have no quiet hours. Your time zone is {timezone}.").format(
            timezone=champion.timezone
        )
    choices = _hours("quiet:s:", QUIET_STARTS)
    choices.append(Choice(_("Another time"), "quiet:o"))
    choices.append(Choice(_("No quiet hours"), "quiet:off"))
    await context.reply.say(current + "\n" + _("When should quiet hours start?"), choices, columns=4)


async def other_quiet_hours(update: Update, context: Context) -> None:
    """Offer every hour: to start at ("quiet:o"), or to end at after a start ("quiet:o:<start>")."""
    query = update.callback_query
    assert query and query.data
    parts = query.data.split(":")
    start = int(parts[2]) if len(parts) == 3 else None
    if await require_member(update, context) is None or (start is not None and start not in HOURS):
        await stale_button(update, context)
        return
    _ = context.t.gettext
    await context.reply.picked(_("Another time"))
    if start is None:
        await context.reply.say(_("When should quiet hours start?"), _hours("quiet:s:", HOURS), columns=4)
    else:
        await context.reply.say(_("And when should they end?"), _ends(start), columns=4)


async def choose_quiet_start(update: Update, context: Context) -> None:
    """Offer when quiet hours should end: the usual morning hours after an evening start, else every
    hour but the start."""
    query = update.callback_query
    assert query and query.data
    start = int(query.data.rsplit(":", 1)[1])
    if await require_member(update, context) is None or start not in HOURS:
        await stale_button(update, context)
        return
    await context.reply.picked(f"{start:02d}:00")
    _ = context.t.gettext
    if start in QUIET_STARTS:
        choices = _hours(f"quiet:e:{start}:", QUIET_ENDS)
        choices.append(Choice(_("Another time"), f"quiet:o:{start}"))
    else:
        choices = _ends(start)
    await context.reply.say(_("And when should they end?"), choices, columns=4)


async def choose_quiet_end(update: Update, context: Context) -> None:
    """Save quiet hours (which may be any two different hours), or turn them off."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    parts = query.data.split(":")
    hours = (int(parts[2]), int(parts[3])) if len(parts) == 4 else None
    if champion is None or (hours and (hours[0] not in HOURS or hours[1] not in HOURS)):
        await stale_button(update, context)
        return
    _ = context.t.gettext
    if hours is not None and hours[0] == hours[1]:
        await context.reply.ack()
        await context.reply.say(
            _("Quiet hours can't start and end at the same hour. When should they end?"),
            _ends(hours[0]),
            columns=4,
        )
        return
    await context.reply.picked(f"{hours[1]:02d}:00" if hours else _("No quiet hours"))
    async with context.db.begin() as session:
        await champions.set_quiet_hours(session, champion.id, *(hours or (None, None)))
    if hours is None:
        await context.reply.say(_("Quiet hours are off."))
    else:
        await context.reply.say(
            _("Saved. Your quiet hours are {start} to {end} ({timezone}).").format(
                start=f"{hours[0]:02d}:00", end=f"{hours[1]:02d}:00", timezone=champion.timezone
            )
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
        await context.reply.say(
            _(
                "You will not get any more messages from us. We still keep your details so you can "
                "come back with /start; to delete them, send /deleteme."
            )
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
        await context.reply.say(already[status])
        return
    async with context.db.begin() as session:
        await champions.change_status(session, champion.id, status)
    done = {
        Status.PAUSED: _("Campaign messages are paused. Send /resume to get them again."),
        Status.ACTIVE: _("Welcome back! You will get campaign messages again."),
    }
    await context.reply.say(done[status])


async def my_data(update: Update, context: Context) -> None:
    """Send everything held about the person as a JSON file."""
    assert update.effective_chat
    _ = context.t.gettext
    if context.champion is None:
        await context.reply.say(_("We hold no data about you."))
        return
    async with context.db() as session:
        data = await champions.personal_data(session, context.champion)
    document = Media("document", json.dumps(data, ensure_ascii=False, indent=2).encode(), "my-data.json")
    await context.reply.say(Outgoing(_("This is everything we hold about you."), media=document))


async def ask_delete(update: Update, context: Context) -> None:
    """Ask for confirmation before erasing; only a press on this question erases."""
    assert update.effective_chat
    _ = context.t.gettext
    if context.champion is None:
        await context.reply.say(_("We hold no data about you."))
        return
    await save_step(update, context, ERASE_STEP, Erasing())
    await context.reply.say(
        _("This deletes everything we hold about you and cannot be undone. Are you sure?"),
        [Choice(_("Yes, delete it all"), "erase:yes"), Choice(_("No, keep it"), "erase:no")],
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
    erase = query.data.endswith(":yes")
    await context.reply.picked(_("Yes, delete it all") if erase else _("No, keep it"))
    if not erase:
        await clear_step(update, context)
        await context.reply.say(_("Nothing was deleted."))
        return
    async with context.db.begin() as session:
        media = await champions.erase(session, champion)
    whatsapp_media.forget(context.settings.data_dir, media)  # files kept of what they sent on WhatsApp
    context.champion = None
    await context.reply.say(_("Everything we held about you has been deleted. Goodbye, and thank you."))
