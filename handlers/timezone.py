"""/timezone: the zone a person's quiet hours and weekly snippet are kept in.

Zones people in the UK use come first, each with its offset from UTC now; Somewhere else asks them
to type a city or a zone name (step `tz:name`), found in English or their language.
"""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from bot.i18n import N_
from bot.replies import Choice, ticked
from bot.steps import StepData
from handlers.common import clear_step, require_member, save_step, stale_button
from storage import champions
from storage.local_time import find_zone, utc_offset
from storage.models import utcnow

ZONE_STEP = "tz:name"  # typing a city or zone name

# The zones offered first, each named by a city in it; any other is typed.
ZONES = {
    "Europe/London": N_("London"),
    "Europe/Dublin": N_("Dublin"),
    "Europe/Lisbon": N_("Lisbon"),
    "Europe/Warsaw": N_("Warsaw"),
    "Europe/Bucharest": N_("Bucharest"),
    "Africa/Mogadishu": N_("Mogadishu"),
    "Asia/Karachi": N_("Karachi"),
    "Asia/Dhaka": N_("Dhaka"),
}


class TypingZone(StepData):
    """Asked to type a city or zone name; nothing else to remember."""


async def ask_timezone(update: Update, context: Context) -> None:
    """Say the person's zone and offer the common ones, ticking theirs, and Somewhere else."""
    champion = await require_member(update, context)
    if champion is None:
        return
    _ = context.t.gettext
    now = utcnow()
    choices = [
        Choice(ticked(zone == champion.timezone, _(city)), f"tz:{zone}", note=utc_offset(zone, now))
        for zone, city in ZONES.items()
    ]
    choices.append(Choice(_("Somewhere else"), "tz:other"))
    current = _("Your time zone is {timezone} ({offset}).").format(
        timezone=champion.timezone, offset=utc_offset(champion.timezone, now)
    )
    await context.reply.say(current + "\n" + _("Choose yours, or Somewhere else to type a city."), choices)


async def choose_timezone(update: Update, context: Context) -> None:
    """Save a common zone, or ask for the name of another."""
    query = update.callback_query
    assert query and query.data
    zone = query.data.split(":", 1)[1]
    if await require_member(update, context) is None or (zone != "other" and zone not in ZONES):
        await stale_button(update, context)
        return
    _ = context.t.gettext
    if zone == "other":
        await context.reply.picked(_("Somewhere else"))
        await save_step(update, context, ZONE_STEP, TypingZone())
        await context.reply.say(
            _(
                "Type the city you live in, such as Lagos or New York, or a time zone, such as "
                "Africa/Lagos. Or /cancel."
            )
        )
        return
    await context.reply.picked(_(ZONES[zone]))
    await _save(update, context, zone)


async def on_text(update: Update, context: Context) -> None:
    """Save the zone of the city or zone name typed, or say it is unknown and wait for another."""
    assert update.message
    if await require_member(update, context) is None:
        return
    zone = find_zone(update.message.text or "", context.t.locale)
    if zone is None:
        await context.reply.say(
            context.t.gettext(
                "I don't know that place or time zone. Type a city, such as Lagos or New York, or a "
                "time zone, such as Africa/Lagos. Or /cancel."
            )
        )
        return
    await _save(update, context, zone)


async def _save(update: Update, context: Context, zone: str) -> None:
    """Keep the zone (ending the typing step if the chat is on it) and confirm it with its offset."""
    assert context.champion is not None
    now = utcnow()
    async with context.db.begin() as session:
        await champions.set_timezone(session, context.champion.id, zone, now)
    if context.state is not None and context.state.step == ZONE_STEP:
        await clear_step(update, context)
    await context.reply.say(
        context.t.gettext("Saved. Your time zone is {timezone} ({offset}).").format(
            timezone=zone, offset=utc_offset(zone, now)
        )
    )
