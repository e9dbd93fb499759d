"""The coordinator's /insights: review what champions heard, filter it, and answer ("you said, we did").

/insights lists reports newest first, five to a page, with filters (topic, kind, area, status, dates)
kept in the chat's conversation state (steps `ins:*`, typed as `Insights`), so a restart or /export
finds them; each choice is echoed under its question. Opening a report shows it whole, split over
messages if it is too long for one, its text even when its photo or voice note fails, and marks it
seen once shown. Nothing singles out an anonymous reporter: no name, no language (nor, in a theme,
a language the champions of fewer than SMALL of its reports read), no count of champions, and the
day it was sent rather than the minute.
A response goes to one report or to every report the filters match. Its confirm screen says which
languages the champions read and offers a version in each (every language, when some are not
named); anyone without one gets the coordinator's text with a line saying it was not translated.
It is stored with one outbox row per champion in the same transaction, each carrying the versions,
so a crash between storing and sending loses nothing, and the row is marked told only once it was
sent (`reply_message` renders it in the champion's language at send time). A theme reply sends one
message per report, each with its own reference and excerpt. The coordinator role is checked on
every command, button and message. "Group into a theme" and a report's "Add to a theme" hand
over to /themes (handlers.themes), which reads the filters kept here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.constants import MessageLimit
from telegram.error import TelegramError

from bot import whatsapp_media
from bot.context import Context, Services
from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.replies import Choice, Outgoing, ticked
from handlers.common import (
    champion_zone,
    clear_step,
    isolate,
    require_coordinator,
    save_step,
    stale_button,
    telegram_length,
)
from handlers.export import ask_audience, local_date
from handlers.insights_state import Insights
from handlers.reach import message_excerpt
from handlers.report_labels import KIND_LABELS, STATUS_LABELS, describe, excerpt, topic_label
from handlers.versions import version_choices
from storage import conversation, directory, outbox, reports, responses
from storage.insight_export import SMALL
from storage.models import Report, utcnow
from storage.reports import Filters

log = logging.getLogger(__name__)

# Steps of the flow, each kept in the conversation state with its Insights.
LIST = "ins:list"  # browsing: the list, the filter menus, one report
RESPOND = "ins:respond"  # typing a response (to Insights.report, or to all matching if .theme)
CONFIRM = "ins:confirm"  # the response typed (Insights.text), waiting for Confirm or a version to add
VERSION = "ins:version"  # typing the response's version in Insights.lang

PAGE = 5  # reports per list message: with paging and actions, at most 10 buttons
OPTIONS_PAGE = 8  # filter choices per message, leaving room for More and Back
EXCERPT = 60  # characters of a report on the list
SAID = 100  # characters of their report quoted back to a champion
MESSAGE_MAX = MessageLimit.MAX_TEXT_LENGTH  # measured here in UTF-16 code units, the stricter count
REPLIES_SHOWN = 5  # the newest replies under a report, each cut to REPLY_EXCERPT characters
REPLY_EXCERPT = 300
RESPONSE_MAX = 1000  # a response is read on a phone; the quoted report and labels go around it

PERIODS = {
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "month": N_("This month"),
    "all": N_("All time"),
}
FIELDS = {
    "topic": N_("Topic"),
    "kind": N_("Kind"),
    "area": N_("Area"),
    "status": N_("Status"),
    "date": N_("Dates"),
}
QUESTIONS = {
    "topic": N_("Which topic?"),
    "kind": N_("Which kind of report?"),
    "area": N_("Which area?"),
    "status": N_("Which status?"),
    "date": N_("Which dates?"),
}
ANY = "*"
# What a press moving to another view echoes under its message; paging and Back echo nothing.
ECHOES = {
    "no": N_("Cancel"),
    "clr": N_("Clear filters"),
    "resp": N_("Respond"),
    "theme": N_("Respond to all"),
    "done": N_("Done"),
}
GONE = N_("That report no longer exists (the champion may have deleted their data).")
MEDIA_FAILED = {
    "photo": N_("The photo could not be shown here."),
    "voice": N_("The voice note could not be shown here."),
}


# ------------------------------------------------------------------ the list


async def start(update: Update, context: Context) -> None:
    """/insights: the newest reports, five at a time, with filters (coordinators only)."""
    if await require_coordinator(update, context) is None:
        return
    await _show_list(update, context, Insights())


def period_bounds(period: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The UTC start of a period of whole local days ending today, in the coordinator's time zone
    (None for all time): the last 7 or 30 days include today, this month starts on the 1st."""
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = {
        "7d": midnight - timedelta(days=6),
        "30d": midnight - timedelta(days=29),
        "month": midnight.replace(day=1),
    }
    start = starts.get(period)
    return start.astimezone(UTC) if start else None


def _filter_labels(context: Context, data: Insights, areas: dict[int, str]) -> list[str]:
    """The filters that are on, as "Topic: Vaccinations" and so on."""
    t = context.t
    _ = t.gettext
    filters = data.filters
    labels = []
    if filters.topic:
        labels.append(
            _("Topic: {topic}").format(topic=topic_label(context.topics, filters.topic, t.language))
        )
    if filters.kind:
        labels.append(_("Kind: {kind}").format(kind=_(KIND_LABELS[filters.kind])))
    if filters.area_id is not None:
        labels.append(_("Area: {area}").format(area=areas.get(filters.area_id, "–")))
    if filters.status:
        labels.append(_("Status: {status}").format(status=_(STATUS_LABELS[filters.status])))
    if data.period in PERIODS:
        labels.append(_("Dates: {period}").format(period=_(PERIODS[data.period])))
    return labels


def sent_at(t: Translator, report: Report, zone: str) -> str:
    """When a report was sent, as a coordinator may see it: an anonymous report's day only, since
    its minute could be matched to who was about at the time."""
    if report.anonymous:
        return local_date(t, report.created_at, zone)
    return t.datetime(report.created_at, zone)


def _line(context: Context, report: Report) -> str:
    t = context.t
    _ = t.gettext
    parts = [
        reports.reference(report.id),
        sent_at(t, report, champion_zone(context.champion).key),
        topic_label(context.topics, report.topic, t.language),
        _(KIND_LABELS[report.kind]),
        _(STATUS_LABELS[report.status]),
    ]
    return " · ".join(parts) + "\n“" + excerpt(t, report.text, report.media_kind, EXCERPT) + "”"


async def _show_list(update: Update, context: Context, data: Insights) -> None:
    """Save the browsing step and send one page of the reports the filters match."""
    t = context.t
    _ = t.gettext
    filters = data.filters
    offset = max(0, data.offset)
    async with context.db() as session:
        rows, total = await reports.find(session, filters, offset, PAGE)
        if not rows and offset:  # fewer match than when the page was chosen: back to the start
            offset = 0
            rows, total = await reports.find(session, filters, offset, PAGE)
        areas = {area.id: area.name for area in await directory.list_areas(session)}
    data = Insights(filters=filters, period=data.period, offset=offset)  # no report or response
    await save_step(update, context, LIST, data)
    if total > reports.COUNT_CAP:  # counting further would cost more than the page
        count = t.ngettext("More than {count} report", "More than {count} reports", reports.COUNT_CAP).format(
            count=t.number(reports.COUNT_CAP)
        )
    else:
        count = t.ngettext("{count} report", "{count} reports", total).format(count=t.number(total))
    lines = [" · ".join([count, *_filter_labels(context, data, areas)])]
    if len(rows) == 1 and total > PAGE:  # the last page, of one: no range "11–11"
        lines.append(_("Newest first, number {position}").format(position=t.number(offset + 1)))
    elif rows and total > PAGE:
        lines.append(
            _("Newest first, {first}–{last}").format(
                first=t.number(offset + 1), last=t.number(offset + len(rows))
            )
        )
    for report in rows:
        lines += ["", _line(context, report)]
    if not rows:
        lines += ["", _("No reports match these filters.") if filters != Filters() else _("No reports yet.")]
    choices = [Choice(reports.reference(r.id), f"ins:open:{r.id}") for r in rows]
    if offset:
        choices.append(Choice(_("Newer"), f"ins:pg:{max(0, offset - PAGE)}"))
    if offset + PAGE < total:
        choices.append(Choice(_("Older"), f"ins:pg:{offset + PAGE}"))
    choices.append(Choice(_("Filter"), "ins:flt"))
    if rows:
        choices += [Choice(_("Respond to all"), "ins:theme"), Choice(_("Group into a theme"), "thm:group")]
    # At most 10 choices (WhatsApp): Export (also /export, with these filters) and Done (also
    # /cancel) are the ones that give way.
    for label, target in ((_("Export"), "ins:exp"), (_("Done"), "ins:done")):
        if len(choices) < 10 and (rows or target == "ins:done"):
            choices.append(Choice(label, target))
    await context.reply.say("\n".join(lines), choices, columns=2)


# ------------------------------------------------------------------ buttons


async def button(update: Update, context: Context) -> None:
    """Any `ins:` button: page, filter, open, mark, respond, confirm, export, done."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    action, *args = query.data.split(":")[1:]
    data = context.step_as(Insights)
    if data is None and action == "open":  # a notification's Open: the report, as if from /insights
        data = Insights()
    if data is None:
        await stale_button(update, context)
        return
    if action == "ok":
        await _confirm(update, context, data)
    elif action == "lv":
        await _choose_version(update, context, data, args[0] if args else "")
    elif action == "cf":
        await _back_to_confirm(update, context, data)
    elif action == "mark":
        await _mark(update, context, int(args[0]), args[1])
    elif action == "fv":
        await _set_filter(update, context, data, args[0], args[1])
    elif action == "f":
        await _ask_options(update, context, data, args[0], int(args[1]) if len(args) > 1 else None)
    elif action == "exp":
        await context.reply.ack()
        await ask_audience(update, context)  # exports what this list's filters show
    else:
        await _move(update, context, data, action, int(args[0]) if args else 0)


async def _move(update: Update, context: Context, data: Insights, action: str, number: int) -> None:
    """A press that moves on to another view: echo it (paging and Back just take the buttons
    away), then show the view."""
    _ = context.t.gettext
    if action == "open":
        await context.reply.picked(reports.reference(number))
    else:
        await context.reply.picked(_(ECHOES[action]) if action in ECHOES else None)
    if action == "pg":
        await _show_list(update, context, data.model_copy(update={"offset": number}))
    elif action in ("back", "no"):
        if action == "no":
            await context.reply.say(_("Nothing was sent."))
        await _show_list(update, context, data)
    elif action == "flt":
        await _ask_filter(update, context, data)
    elif action == "clr":
        await _show_list(update, context, Insights())
    elif action == "open":
        await _open(update, context, data, number)
    elif action == "resp":
        await _ask_response(update, context, data, number)
    elif action == "theme":
        await _ask_theme_response(update, context, data)
    elif action == "done":
        await clear_step(update, context)
        await context.reply.say(_("Closed. Send /insights to look again."))


# ------------------------------------------------------------------ filters


async def _ask_filter(update: Update, context: Context, data: Insights) -> None:
    _ = context.t.gettext
    current = data.filters
    on = {
        "topic": current.topic is not None,
        "kind": current.kind is not None,
        "area": current.area_id is not None,
        "status": current.status is not None,
        "date": data.period in PERIODS,
    }
    choices = [Choice(ticked(on[field], _(label)), f"ins:f:{field}") for field, label in FIELDS.items()]
    choices += [Choice(_("Clear filters"), "ins:clr"), Choice(_("Back to list"), "ins:back")]
    await context.reply.say(_("Filter the reports by:"), choices, columns=2)


async def _options(context: Context, field: str) -> list[tuple[str, str]]:
    """The choices for one filter as (label, value); "Any" first, except for dates."""
    _ = context.t.gettext
    if field == "date":
        return [(_(label), period) for period, label in PERIODS.items()]
    if field == "topic":
        options = [(topic.label(context.t.language), topic.id) for topic in context.topics]
    elif field == "kind":
        options = [(_(label), kind) for kind, label in KIND_LABELS.items()]
    elif field == "status":
        options = [(_(label), status) for status, label in STATUS_LABELS.items()]
    else:
        async with context.db() as session:
            options = [(area.name, str(area.id)) for area in await directory.list_areas(session)]
    return [(_("Any"), ANY), *options]


def _current(data: Insights, field: str) -> str:
    if field == "date":
        return data.period or "all"
    value = getattr(data.filters, "area_id" if field == "area" else field)
    return ANY if value is None else str(value)


async def _ask_options(
    update: Update, context: Context, data: Insights, field: str, page: int | None
) -> None:
    """A filter's choices, the current one ticked, with More and Back: the first page after the
    filter is picked, or another page (More) in place of the one pressed."""
    _ = context.t.gettext
    if page is None:
        await context.reply.picked(_(FIELDS[field]))
    options = await _options(context, field)
    shown = max(0, min(page or 0, (len(options) - 1) // OPTIONS_PAGE))
    current = _current(data, field)
    choices = [
        Choice(ticked(value == current, label), f"ins:fv:{field}:{value}")
        for label, value in options[shown * OPTIONS_PAGE : (shown + 1) * OPTIONS_PAGE]
    ]
    if len(options) > (shown + 1) * OPTIONS_PAGE:
        choices.append(Choice(_("More"), f"ins:f:{field}:{shown + 1}"))
    choices.append(Choice(_("Back"), "ins:flt"))
    question = Outgoing(_(QUESTIONS[field]), choices, columns=2)
    if page is None:
        await context.reply.say(question)
    else:
        await context.reply.replace(question)


async def _set_filter(update: Update, context: Context, data: Insights, field: str, value: str) -> None:
    """Apply a filter choice, checking it is (still) offered, and show the list from its start."""
    label = next((label for label, offered in await _options(context, field) if offered == value), None)
    if label is None:
        await stale_button(update, context)
        return
    await context.reply.picked(label)
    filters = data.filters
    period = data.period
    chosen = None if value == ANY else value
    if field == "date":
        since = period_bounds(value, champion_zone(context.champion), utcnow())
        filters = dataclasses.replace(filters, since=since, until=None)
        period = value if since is not None else None
    elif field == "area":
        filters = dataclasses.replace(filters, area_id=int(chosen) if chosen else None)
    elif field == "topic":
        filters = dataclasses.replace(filters, topic=chosen)
    elif field == "kind":
        filters = dataclasses.replace(filters, kind=chosen)
    else:
        filters = dataclasses.replace(filters, status=chosen)
    await _show_list(update, context, Insights(filters=filters, period=period))


# -------------------------------------------------------------- one report


def _cut(text: str, units: int) -> str:
    """The longest start of `text` within `units` UTF-16 code units."""
    count = 0
    for index, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > units:
            return text[:index]
    return text


def _parts(text: str, units: int) -> list[str]:
    """`text` in consecutive pieces of at most `units` UTF-16 code units."""
    parts = []
    while text:
        part = _cut(text, units)
        parts.append(part)
        text = text[len(part) :]
    return parts


@dataclasses.dataclass(frozen=True)
class View:
    """A report as /insights shows it: one message within Telegram's limit, with its actions, and
    the whole text to send before it when the view had to cut it short."""

    text: str
    choices: list[Choice]
    full_text: str | None = None


async def _report_view(
    context: Context, report_id: int, *, opening: bool = False, media_failed: bool = False
) -> View | None:
    """A report with its newest replies and the actions on it; None if it no longer exists. When
    `opening`, a new report shows as seen (it is marked so once shown)."""
    t = context.t
    _ = t.gettext
    async with context.db() as session:
        report = await reports.get(session, report_id)
        if report is None:
            return None
        name = await reports.shown_name(session, report)
        shareable = await reports.may_share(session, report)
        replies = (await reports.replies_to(session, [report_id]))[report_id]
        answered = await responses.answered_texts(session, report)
    status = "seen" if opening and report.status == "new" else report.status
    zone = champion_zone(context.champion).key

    def compose(text: str | None) -> str:
        lines = [
            _("Report {reference} · {status}").format(
                reference=reports.reference(report.id), status=_(STATUS_LABELS[status])
            ),
            describe(
                t,
                context.topics,
                topic=report.topic,
                kind=report.kind,
                people=report.people,
                text=text,
                media_kind=report.media_kind,
                area=report.area.name if report.area else None,
                name=isolate(name) if name else None,
            ),
        ]
        if answered is not None:  # a question or concern from a message's answer-back buttons
            lines.append(
                _("In answer to the message “{message}”").format(
                    message=isolate(message_excerpt(answered, t.language))
                )
            )
        lines += [
            _("Sent: {when}").format(when=sent_at(t, report, zone)),
            _("May be shared with partners: yes") if shareable else _("May be shared with partners: no"),
        ]
        if media_failed and report.media_kind in MEDIA_FAILED:
            lines.append(_(MEDIA_FAILED[report.media_kind]))
        if replies:
            lines += ["", _("Replies so far:")]
            if len(replies) > REPLIES_SHOWN:
                lines.append("• …")
            lines += [
                f"• {t.datetime(r.created_at, zone)}: {excerpt(t, r.text, None, REPLY_EXCERPT)}"
                for r in replies[-REPLIES_SHOWN:]
            ]
        return "\n".join(lines)

    view = compose(isolate(report.text) if report.text else None)
    full_text = None
    if report.text and telegram_length(view) > MESSAGE_MAX:  # too long: cut, and send it whole first
        full_text = report.text
        marker = "… " + _("(cut short here: the whole report is in the messages above)")
        keep = telegram_length(report.text)
        while telegram_length(view) > MESSAGE_MAX and keep > 0:
            keep = max(0, keep - (telegram_length(view) - MESSAGE_MAX) - telegram_length(marker))
            view = compose(isolate(_cut(report.text, keep).rstrip()) + marker)
    choices = []
    if status != "acted":
        choices.append(Choice(_("Mark acted on"), f"ins:mark:{report.id}:acted"))
    if status != "new":
        choices.append(Choice(_("Mark new"), f"ins:mark:{report.id}:new"))
    choices += [
        Choice(_("Respond"), f"ins:resp:{report.id}"),
        Choice(_("Add to a theme"), f"thm:pick:{report.id}"),
        Choice(_("Back to list"), "ins:back"),
    ]
    return View(view, choices, full_text)


def _back_to_list(t: Translator) -> list[Choice]:
    return [Choice(t.gettext("Back to list"), "ins:back")]


async def _open(update: Update, context: Context, data: Insights, report_id: int) -> None:
    """Show a report: its photo or voice note, then its text whatever happened to the media (and
    the whole text first if the view had to cut it); mark it seen once it was shown."""
    async with context.db() as session:
        report = await reports.get(session, report_id)
    media_failed = False
    if report is not None and report.media_file_id and report.media_kind in MEDIA_FAILED:
        try:  # a file kept of one sent on WhatsApp, or Telegram's file id
            kept = context.settings.data_dir
            media = whatsapp_media.as_media(kept, report.media_kind, report.media_file_id)
            await context.reply.say(Outgoing(reports.reference(report.id), media=media))
        except (TelegramError, OSError) as exc:  # an expired file id must not hide the report's text
            log.warning("The %s of report %s could not be shown: %s", report.media_kind, report.id, exc)
            media_failed = True
    view = await _report_view(context, report_id, opening=True, media_failed=media_failed)
    if view is None:
        await context.reply.say(context.t.gettext(GONE), _back_to_list(context.t))
        return
    if view.full_text:
        parts = _parts(view.full_text, MESSAGE_MAX - 40)  # room for the reference and part numbers
        of = context.t.number(len(parts))
        for number, part in enumerate(parts, 1):
            heading = f"{reports.reference(report_id)} ({context.t.number(number)}/{of})"
            await context.reply.say(heading + "\n" + isolate(part))
    await save_step(update, context, LIST, data.model_copy(update={"report": report_id}))
    await context.reply.say(view.text, view.choices, columns=2)
    async with context.db.begin() as session:
        await reports.mark_seen(session, [report_id])


async def _mark(update: Update, context: Context, report_id: int, status: str) -> None:
    """Mark a report acted on or new, and show the change on its message, text and buttons at once."""
    _ = context.t.gettext
    async with context.db.begin() as session:
        found = await reports.set_status(session, report_id, status)
    view = await _report_view(context, report_id) if found else None
    if view is None:
        await context.reply.ack(_(GONE), alert=True)
        return
    await context.reply.ack(_("Marked acted on.") if status == "acted" else _("Marked new."))
    await context.reply.replace(view.text, view.choices, columns=2)


# ---------------------------------------------------------------- responses


async def _ask_response(update: Update, context: Context, data: Insights, report_id: int) -> None:
    _ = context.t.gettext
    async with context.db() as session:
        report = await reports.get(session, report_id)
    if report is None:
        await context.reply.say(_(GONE), _back_to_list(context.t))
        return
    fresh: dict[str, Any] = {"report": report_id, "theme": False, "versions": {}, "lang": None}
    await save_step(update, context, RESPOND, data.model_copy(update=fresh))
    await context.reply.say(
        _("Type your response to {reference}: what was done, or what the champion should know.").format(
            reference=reports.reference(report_id)
        ),
        _back_to_list(context.t),
    )


async def _ask_theme_response(update: Update, context: Context, data: Insights) -> None:
    t = context.t
    async with context.db() as session:
        count = len(await reports.matching_ids(session, data.filters))
    if not count:
        await context.reply.say(t.gettext("No reports match these filters."))
        await _show_list(update, context, data)
        return
    fresh: dict[str, Any] = {"theme": True, "report": None, "versions": {}, "lang": None}
    await save_step(update, context, RESPOND, data.model_copy(update=fresh))
    await context.reply.say(
        t.ngettext(
            "Type one response for the {count} report these filters match. "
            "Its champion gets it with the report's reference.",
            "Type one response for the {count} reports these filters match. "
            "Each champion gets it with their own report's reference.",
            count,
        ).format(count=t.number(count)),
        _back_to_list(t),
    )


async def on_text(update: Update, context: Context) -> None:
    """Text from a chat on an /insights step: a typed response (or a corrected one at Confirm), or
    its version in another language; while browsing, nothing waits for text."""
    state, data = context.state, context.step_as(Insights)
    if state is None or data is None:
        return
    _ = context.t.gettext
    if state.step not in (RESPOND, CONFIRM, VERSION):
        await context.reply.say(_("Sorry, I didn't understand that. Send /help to see what I can do."))
        return
    if await require_coordinator(update, context) is None:
        await clear_step(update, context)  # no longer a coordinator: the half-typed response goes
        return
    if state.step == VERSION:
        await _receive_version(update, context, data)
    else:
        await _receive_response(update, context, data)


async def on_media(update: Update, context: Context) -> None:
    """A photo, voice note or the like from a chat on an /insights step: only text is taken."""
    state = context.state
    if state is None:
        return
    _ = context.t.gettext
    if state.step not in (RESPOND, CONFIRM, VERSION):
        await context.reply.say(_("Sorry, I can only read text here. Send /help to see what I can do."))
    elif await require_coordinator(update, context) is not None:
        await context.reply.say(_("Please type your response as text."))


def you_said(
    t: Translator,
    report_id: int,
    text: str | None,
    media_kind: str | None,
    response: str,
    note: str | None = None,
) -> str:
    """What a champion receives about one of their reports, in their language; `note` (from
    `response_in`) says the response was not translated into it."""
    said = t.gettext("You said ({reference}): “{said}”\nWe did: {response}").format(
        reference=reports.reference(report_id),
        said=excerpt(t, text, media_kind, SAID),
        response=isolate(response),
    )
    if note is not None:
        said += "\n" + note
    return said + "\n\n" + t.gettext("Thank you for telling us what you heard.")


def response_in(
    t: Translator, text: str, written_in: str | None, versions: Mapping[str, str]
) -> tuple[str, str | None]:
    """The response as a champion reading `t`'s language gets it, and the line to put under it:
    their version, else what the coordinator wrote in `written_in` with a line saying it was not
    translated (no line in the language it was written in, nor for a reply queued before responses
    had versions, whose `written_in` is None)."""
    if t.language in versions:
        return versions[t.language], None
    if written_in is None or written_in == t.language:
        return text, None
    note = t.gettext("(Not translated into {language}: this is what the coordinator wrote, in {original}.)")
    return text, note.format(language=_language_name(t.language), original=_language_name(written_in))


def reply_payload(reply_id: int, written_in: str, versions: Mapping[str, str]) -> dict[str, Any]:
    """A reply's outbox payload: the stored reply, and what its text needs at send time to reach
    each champion in their language."""
    return {"reply": reply_id, "written_in": written_in, "versions": dict(versions)}


async def queue_response(
    session: AsyncSession,
    ids: list[int],
    text: str,
    coordinator_id: int,
    theme: bool,
    written_in: str,
    versions: Mapping[str, str],
    about: Mapping[str, Any] | None = None,
) -> list[reports.Replied]:
    """Store a response to these reports (marking them acted on) and queue one outbox row per
    report still there, each carrying the versions, in the caller's transaction: what the chat's
    Confirm, the dashboard's Send and a theme's step change (handlers.themes) do. With `about`
    (what the step change says of its theme), each champion gets one row for all their reports,
    listing its replies and carrying `about`. Ring the wake for `outbox.LANE[kind]` after commit."""
    kind = outbox.THEME if theme else outbox.REPLY
    replied = await reports.reply(session, ids, text, coordinator_id, theme=theme)
    if about is None:
        rows = [(r.champion_id, reply_payload(r.reply_id, written_in, versions)) for r in replied]
    else:
        theirs: dict[int, list[int]] = {}
        for r in replied:
            theirs.setdefault(r.champion_id, []).append(r.reply_id)
        rows = [
            (champion, {**reply_payload(found[0], written_in, versions), "replies": found, **about})
            for champion, found in theirs.items()
        ]
    await outbox.queue_each(session, kind, rows)
    return replied


def payload_response(t: Translator, payload: Mapping[str, Any], text: str) -> tuple[str, str | None]:
    """`response_in` for a reply's outbox payload (`reply_payload`, or an older one without versions)."""
    written_in = payload.get("written_in")
    return response_in(t, text, str(written_in) if written_in else None, payload.get("versions") or {})


def _language_name(code: str) -> str:
    return LANGUAGES.get(code, code)


def _targets(data: Insights) -> list[int]:
    """The report a response goes to, or (for a theme) the reports it was shown to go to."""
    if data.theme:
        return data.ids
    return [data.report] if data.report is not None else []


def response_problem(t: Translator, text: str) -> str | None:
    """What is wrong with a typed response or version (empty, or over-long), or None."""
    if not text:
        return t.gettext("The response is empty. Please type what was done.")
    if len(text) > RESPONSE_MAX:
        return t.ngettext(
            "That is too long. Please keep it to at most {count} character.",
            "That is too long. Please keep it to at most {count} characters.",
            RESPONSE_MAX,
        ).format(count=t.number(RESPONSE_MAX))
    return None


async def _valid_response(context: Context, text: str) -> bool:
    """Refuse an empty or over-long response or version, saying why."""
    problem = response_problem(context.t, text)
    if problem is not None:
        await context.reply.say(problem)
        return False
    return True


def _typed(update: Update) -> str:
    assert update.message
    return (update.message.text or "").strip()


async def _receive_response(update: Update, context: Context, data: Insights) -> None:
    """Check the typed response, then show what each champion will get and ask to confirm."""
    text = _typed(update)
    if not await _valid_response(context, text):
        return
    if data.theme:
        async with context.db() as session:
            ids = await reports.matching_ids(session, data.filters)
    else:
        ids = []
    await _show_confirm(update, context, data.model_copy(update={"text": text, "ids": ids}))


async def _receive_version(update: Update, context: Context, data: Insights) -> None:
    """Take the response's version in one language, then show the confirm screen again."""
    text = _typed(update)
    if not await _valid_response(context, text):
        return
    assert data.lang is not None  # set by the press that asked for this version
    versions = {**data.versions, data.lang: text}
    await _show_confirm(update, context, data.model_copy(update={"versions": versions, "lang": None}))


@dataclasses.dataclass(frozen=True)
class Readers:
    """The languages the champions a response goes to read, as a coordinator may see them: those
    `named`, each with its count of reports, most first; `hidden` when some read one not named."""

    named: dict[str, int]
    hidden: bool

    @classmethod
    def of(cls, found: list[tuple[str, bool]], theme: bool) -> Readers:
        """From each report's reader's language and anonymity: never name an anonymous report's
        reader's language; in a theme with anonymous reports, name only the languages the
        champions of at least SMALL of its reports read."""
        counts = Counter(language for language, _anonymous in found)
        anonymous = any(anonymous for _language, anonymous in found)
        if anonymous and not theme:
            named = {}
        elif anonymous:
            named = {code: count for code, count in counts.items() if count >= SMALL}
        else:
            named = dict(counts)
        rank = {code: index for index, code in enumerate(LANGUAGES)}
        ranked = sorted(named, key=lambda code: (-named[code], rank.get(code, len(rank))))
        return cls({code: named[code] for code in ranked}, hidden=len(named) < len(counts))


def _readers_line(t: Translator, readers: Readers, theme: bool) -> list[str]:
    """What the confirm screen says of the languages the champions read."""
    if not theme:
        if readers.named:
            (language,) = readers.named
            return [t.gettext("Its champion reads {language}.").format(language=_language_name(language))]
        return [t.gettext("The report is anonymous, so its champion's language is not shown.")]
    lines = []
    if readers.named:
        named = ", ".join(f"{_language_name(code)} {t.number(n)}" for code, n in readers.named.items())
        lines.append(t.gettext("These reports' champions read: {languages}.").format(languages=named))
    if readers.hidden:
        lines.append(
            t.ngettext(
                "Languages of fewer than {count} report are not named, so that no one is singled out.",
                "Languages of fewer than {count} reports are not named, so that no one is singled out.",
                SMALL,
            ).format(count=t.number(SMALL))
        )
    return lines


@dataclasses.dataclass(frozen=True)
class Preview:
    """What one language group of a response's champions will get, under a heading naming it."""

    language: str
    heading: str
    text: str


def previews(
    t: Translator, readers: Readers, sample: Report, text: str, versions: Mapping[str, str], theme: bool
) -> list[Preview]:
    """The response as each language group will get it: the languages named, and (when some are
    not) the coordinator's own and each version's too. They quote one report, the same for every
    language, so none pairs a report with one."""
    own = t.language
    shown = list(readers.named)
    if readers.hidden:  # those not named get one of these: show them all
        shown += [code for code in (own, *versions) if code not in shown]
    found = []
    for code in shown:
        theirs = translator(code)
        response, note = response_in(theirs, text, own, versions)
        preview = you_said(theirs, sample.id, sample.text, sample.media_kind, response, note)
        if theme and code in readers.named:
            count = readers.named[code]
            heading = t.ngettext(
                "In {language}, for {count} report:", "In {language}, for {count} reports:", count
            ).format(language=_language_name(code), count=t.number(count))
        else:
            heading = t.gettext("In {language}:").format(language=_language_name(code))
        found.append(Preview(code, heading, preview))
    return found


def offered_versions(t: Translator, readers: Readers) -> list[str]:
    """The languages a version may be added in: those named (every language, when some are not),
    less the coordinator's own."""
    return [code for code in (LANGUAGES if readers.hidden else readers.named) if code != t.language]


def confirm_lines(
    t: Translator, readers: Readers, sample_id: int, count: int, theme: bool, offered: bool
) -> list[str]:
    """What the confirm screen says: where the response goes, which languages its champions read,
    and (if any is `offered`) that a version may be added."""
    if theme:
        lines = [
            t.ngettext(
                "This goes to the champion of {count} report, with its reference.",
                "This goes to the champions of {count} reports, each with their own report's reference.",
                count,
            ).format(count=t.number(count))
        ]
    else:
        lines = [
            t.gettext("{reference} will be marked acted on, and its champion will be told.").format(
                reference=reports.reference(sample_id)
            )
        ]
    lines += _readers_line(t, readers, theme)
    if offered:
        lines.append(
            t.gettext(
                "Add a version in another language? Anyone without one gets your text, with a line saying "
                "it was not translated."
            )
        )
    return lines


async def _show_confirm(update: Update, context: Context, data: Insights) -> None:
    """Show the response as each language group will get it, say which languages the champions
    read (as far as that singles no one out), offer a version in the others, and ask to confirm."""
    t = context.t
    assert data.text is not None  # typed before this screen
    ids = _targets(data)
    async with context.db() as session:
        sample = await reports.get(session, ids[0]) if ids else None
        readers = Readers.of(await reports.readers(session, ids), data.theme)
    if sample is None:
        gone = "No reports match these filters." if data.theme else GONE
        await context.reply.say(t.gettext(gone))
        await _show_list(update, context, data)
        return
    await save_step(update, context, CONFIRM, data)
    for preview in previews(t, readers, sample, data.text, data.versions, data.theme):
        await context.reply.say(preview.heading + "\n\n" + preview.text)
    offered = offered_versions(t, readers)
    lines = confirm_lines(t, readers, sample.id, len(ids), data.theme, bool(offered))
    notes = readers.named if data.theme else {}
    choices = version_choices(t, "ins:lv:", offered, data.versions, notes)
    choices += [Choice(t.gettext("Confirm"), "ins:ok"), Choice(t.gettext("Cancel"), "ins:no")]
    await context.reply.say("\n".join(lines), choices, columns=2)


async def _choose_version(update: Update, context: Context, data: Insights, code: str) -> None:
    """Ask for the response's version in one language (one the confirm screen could offer)."""
    step = context.state.step if context.state is not None else None
    if step != CONFIRM or code not in LANGUAGES or code == context.t.language:
        await stale_button(update, context)
        return
    await context.reply.picked(_language_name(code))
    await save_step(update, context, VERSION, data.model_copy(update={"lang": code}))
    _ = context.t.gettext
    await context.reply.say(
        _("Type the {language} version of your response.").format(language=_language_name(code)),
        [Choice(_("Back"), "ins:cf"), Choice(_("Cancel"), "ins:no")],
    )


async def _back_to_confirm(update: Update, context: Context, data: Insights) -> None:
    """Back from typing a version: the confirm screen again, with no version added."""
    step = context.state.step if context.state is not None else None
    if step != VERSION or data.text is None:
        await stale_button(update, context)
        return
    await context.reply.picked(context.t.gettext("Back"))
    await _show_confirm(update, context, data.model_copy(update={"lang": None}))


async def _confirm(update: Update, context: Context, data: Insights) -> None:
    """Store the response (once, however often Confirm is pressed) and start telling the champions,
    each row carrying the versions so it is rendered in its champion's language at send time."""
    assert update.effective_chat and context.champion
    t = context.t
    chat_id = update.effective_chat.id
    response, ids, kind = data.text, _targets(data), outbox.THEME if data.theme else outbox.REPLY
    if response is None or not ids:  # no response typed: not on the confirm step
        await stale_button(update, context)
        return
    async with context.db.begin() as session:
        confirmed = await conversation.leave_step(session, chat_id, CONFIRM)
        if confirmed:
            replied = await queue_response(
                session, ids, response, context.champion.id, data.theme, t.language, data.versions
            )
            kept = Insights(filters=data.filters, period=data.period, offset=data.offset)
            await conversation.set_state(session, chat_id, LIST, kept.stored())
    if not confirmed:
        await stale_button(update, context)
        return
    await context.reply.picked(t.gettext("Confirm"))
    after = [Choice(t.gettext("Back to list"), "ins:back"), Choice(t.gettext("Done"), "ins:done")]
    reached = len(replied)
    if not reached:
        await context.reply.say(t.gettext("{gone} Nothing was sent.").format(gone=t.gettext(GONE)), after)
        return
    context.bot_data.wake.ring(outbox.LANE[kind])
    if data.theme:
        text = t.ngettext(
            "Sent. {count} report is marked acted on, and its champion is being told.",
            "Sent. {count} reports are marked acted on, and their champions are being told.",
            reached,
        ).format(count=t.number(reached))
    else:
        text = t.gettext("Sent. {reference} is marked acted on, and its champion is being told.").format(
            reference=reports.reference(ids[0])
        )
    await context.reply.say(text, after)


# ------------------------------------------------------- telling champions


async def reply_message(session: AsyncSession, item: outbox.Claimed, services: Services) -> Outgoing | None:
    """Outbox renderer: "You said …, we did …" in the champion's language (their version of the
    response, or the coordinator's text saying it was not translated); None if the report or the
    reply was deleted meanwhile."""
    found = await reports.reply_to_tell(session, int(item.payload["reply"]))
    if found is None:
        return None
    stored, report = found
    t = translator(item.language)
    response, note = payload_response(t, item.payload, stored.text)
    return Outgoing(you_said(t, report.id, report.text, report.media_kind, response, note))
