"""/campaigns: the latest campaigns, each with its figures and Pause, Resume or Cancel (coordinators
only). A press changes the campaign and shows its listing anew in place."""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from bot.i18n import N_, Translator
from bot.replies import Choice
from handlers.common import champion_zone, isolate, require_coordinator, stale_button
from handlers.reach import reach_figures
from storage import broadcasts, campaigns, responses

SHOWN = 10  # campaigns listed, running ones first
STATUSES = {
    "active": N_("active"),
    "paused": N_("paused"),
    "cancelled": N_("cancelled"),
}


async def list_campaigns(update: Update, context: Context) -> None:
    """/campaigns: campaigns with pause, resume and cancel buttons (coordinators only)."""
    if await require_coordinator(update, context) is None:
        return
    t = context.t
    async with context.db() as session:
        summaries, total = await campaigns.latest_campaigns(session, SHOWN)
        reach = await responses.campaign_reach(session, [summary.id for summary in summaries])
    if not summaries:
        await context.reply.say(t.gettext("There are no campaigns yet."))
        return
    if total > len(summaries):  # say which are left out; when all are shown, each speaks for itself
        await context.reply.say(
            t.ngettext(
                "The latest {shown} of {count} campaign, running ones first:",
                "The latest {shown} of {count} campaigns, running ones first:",
                total,
            ).format(shown=t.number(len(summaries)), count=t.number(total))
        )
    for summary in summaries:
        await context.reply.say(
            _campaign_text(context, summary, reach[summary.id]), _campaign_choices(t, summary), columns=2
        )


def _status(t: Translator, summary: campaigns.Summary) -> str:
    status = STATUSES.get(summary.status)
    return t.gettext(status) if status else summary.status


def _campaign_text(context: Context, summary: campaigns.Summary, reach: responses.Reach) -> str:
    t = context.t
    lines = [
        f"{isolate(summary.name)}: {_status(t, summary)}",
        t.gettext("Messages: {scheduled} scheduled, {sent} sent").format(
            scheduled=t.number(summary.scheduled), sent=t.number(summary.sent)
        ),
    ]
    if summary.next_at is not None and summary.status != broadcasts.CANCELLED:
        lines.append(
            t.gettext("Next message: {date}").format(
                date=t.datetime(summary.next_at, champion_zone(context.champion).key)
            )
        )
    lines.append(reach_figures(t, reach))
    return "\n".join(lines)


def _campaign_choices(t: Translator, summary: campaigns.Summary) -> list[Choice]:
    """What can be done with the campaign now: pause or resume it, or cancel it."""
    choices = []
    if summary.status == campaigns.ACTIVE:
        choices.append(Choice(t.gettext("Pause"), f"camp:{summary.id}:pause"))
    if summary.status == campaigns.PAUSED:
        choices.append(Choice(t.gettext("Resume"), f"camp:{summary.id}:resume"))
    if summary.status in (campaigns.ACTIVE, campaigns.PAUSED):
        choices.append(Choice(t.gettext("Cancel campaign"), f"camp:{summary.id}:cancel"))
    return choices


async def campaign_button(update: Update, context: Context) -> None:
    """Pause, resume or cancel a campaign, then show its listing as it is now."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    t = context.t
    _prefix, raw_id, action = query.data.split(":")
    campaign_id = int(raw_id)
    async with context.db.begin() as session:
        change = await campaigns.change_campaign(session, campaign_id, action)
        summary = await campaigns.campaign_summary(session, campaign_id)
        reach = await responses.campaign_reach(session, [campaign_id])
    if summary is None:
        await stale_button(update, context)
        return
    if not change.changed:
        await context.reply.ack(
            t.gettext("This campaign is already {status}.").format(status=_status(t, summary))
        )
        return
    await context.reply.replace(
        _campaign_text(context, summary, reach[campaign_id]), _campaign_choices(t, summary), columns=2
    )
    name = isolate(summary.name)
    if action == "pause":
        text = t.gettext("Paused {name}. Its messages wait until you resume it.").format(name=name)
    elif action == "resume":
        text = t.gettext("Resumed {name}.").format(name=name)
    elif not change.cancelled_messages:
        text = t.gettext("Cancelled {name}. It had no messages left to send.").format(name=name)
    else:
        text = t.ngettext(
            "Cancelled {name}: {count} scheduled message will not be sent.",
            "Cancelled {name}: {count} scheduled messages will not be sent.",
            change.cancelled_messages,
        ).format(name=name, count=t.number(change.cancelled_messages))
    await context.reply.say(text)
