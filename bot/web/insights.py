"""The Insights pages: what champions reported, to review and answer ("you said, we did").

The list has /insights' filters (topic, kind, area, status, dates) and a search of the reports'
text, 25 to a page, newest first; a report opens whole with its replies and can be marked acted on
or new; a response goes to one report or to every report the filters match. Every rule is the
chat's own: the same filter model and queries (storage.reports), what a report view shows (an
anonymous reporter never: no name, no language, the day rather than the minute), the languages a
confirm page may name and offer (handlers.insights' Readers, SMALL), the previews, and the storing
and queueing of a response (`queue_response`). Each view of a report or a response, and each
response sent, is in the audit log, by report id only.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGES, N_, RTL_LANGUAGES, Translator
from bot.web import auth, report_media, stories, theme_grouping
from bot.web.insight_filters import ALL_TIME, SEARCH_MAX, Chosen, chosen, form_value, known_areas
from bot.web.layout import BadRequest, for_coordinators, page, problem, whole_number
from handlers.common import champion_zone
from handlers.insights import (
    GONE,
    PERIODS,
    RESPONSE_MAX,
    Readers,
    confirm_lines,
    offered_versions,
    previews,
    queue_response,
    response_problem,
    sent_at,
)
from handlers.reach import message_excerpt
from handlers.report_labels import (
    KIND_LABELS,
    PEOPLE_LABELS,
    STATUS_LABELS,
    excerpt,
    topic_label,
)
from storage import audit, outbox, reports, responses
from storage.models import AuditEvent, Champion, utcnow
from storage.report_topics import Topic

if TYPE_CHECKING:  # the app imports this module
    from bot.web.app import Dashboard

PAGE = 25  # reports a list page shows
EXCERPT = 120  # characters of a report on the list
PAGES_AROUND = 1  # page links either side of the current one
MARKS = ("acted", "new")  # what a coordinator may mark a report, as the chat's buttons
MARKED = {"acted": N_("Marked acted on."), "new": N_("Marked new.")}  # the chat's words


def _report_id(t: Translator, value: str) -> int:
    _ = t.gettext
    return whole_number(value, _("That report is not known"), _("Open a report from the Insights page."))


class Option(NamedTuple):
    """One choice of a filter, as the form macro takes it: (value, label, selected)."""

    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Select:
    name: str
    label: str
    options: list[Option]


@dataclass(frozen=True)
class Line:
    """One report on the list."""

    href: str
    reference: str
    sent: str
    topic: str
    kind: str
    status: str
    said: str


@dataclass(frozen=True)
class PageLink:
    number: str
    href: str
    label: str  # "Page 3"
    current: bool


def _selects(t: Translator, topics: list[Topic], areas: dict[int, str], chosen: Chosen) -> list[Select]:
    _ = t.gettext
    values = chosen.values

    def select(name: str, label: str, options: list[tuple[str, str]], any_first: bool = True) -> Select:
        current = values.get(name, "")
        listed = [("", _("Any")), *options] if any_first else options
        return Select(name, label, [Option(value, text, value == current) for value, text in listed])

    return [
        select("topic", _("Topic"), [(topic.id, topic.label(t.language)) for topic in topics]),
        select("kind", _("Kind"), [(kind, _(label)) for kind, label in KIND_LABELS.items()]),
        select("area", _("Area"), [(str(area_id), name) for area_id, name in areas.items()]),
        select("status", _("Status"), [(status, _(label)) for status, label in STATUS_LABELS.items()]),
        select(
            "date",
            _("Dates"),
            [("" if period == ALL_TIME else period, _(label)) for period, label in PERIODS.items()],
            any_first=False,
        ),
    ]


def _pages(t: Translator, chosen: Chosen, current: int, last: int | None) -> list[PageLink | None]:
    """Numbered page links around `current` (None for a gap), the first and (if known) the last."""
    _ = t.gettext
    numbers = {1, *range(max(1, current - PAGES_AROUND), current + PAGES_AROUND + 1)}
    if last is not None:
        numbers = {n for n in numbers if n <= last} | {last}
    shown: list[PageLink | None] = []
    before = 0
    for number in sorted(numbers):
        if number > before + 1:
            shown.append(None)
        before = number
        label = _("Page {number}").format(number=t.number(number))
        href = chosen.link("insights", page=str(number))
        shown.append(PageLink(t.number(number), href, label, number == current))
    return shown


async def _sent_note(session: AsyncSession, t: Translator, visitor: auth.Visitor, token: str) -> str | None:
    """What a response sent with this idempotency token did, as the chat says it; None if none was."""
    detail = await _sent_detail(session, visitor.champion.id, token) if token else None
    if detail is None:
        return None
    _token, kind, number = detail.split(":")
    if kind == "theme":
        return t.ngettext(
            "Sent. {count} report is marked acted on, and its champion is being told.",
            "Sent. {count} reports are marked acted on, and their champions are being told.",
            int(number),
        ).format(count=t.number(int(number)))
    return t.gettext("Sent. {reference} is marked acted on, and its champion is being told.").format(
        reference=reports.reference(int(number))
    )


async def _sent_detail(session: AsyncSession, champion_id: int, token: str) -> str | None:
    query = select(AuditEvent.detail).where(
        AuditEvent.action == audit.RESPONDED,
        AuditEvent.champion_id == champion_id,
        AuditEvent.detail.startswith(token + ":", autoescape=True),
    )
    return await session.scalar(query.limit(1))


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """The list, one report, marking, and responding."""
    gate, topics = dashboard.gate, dashboard.topics
    sessions = dashboard.sessions

    async def read_chosen(session: AsyncSession, visitor: auth.Visitor, values: Mapping[str, Any]) -> Chosen:
        return chosen(visitor.t, topics, await known_areas(session), values, champion_zone(visitor.champion))

    async def list_page(request: web.Request, visitor: auth.Visitor) -> web.Response:
        """GET insights: a page of the reports the filters match, newest first."""
        t = visitor.t
        _ = t.gettext
        zone = champion_zone(visitor.champion).key
        try:
            async with sessions.begin() as session:
                areas = await known_areas(session)
                picked = chosen(t, topics, areas, request.query, champion_zone(visitor.champion))
                number = whole_number(
                    request.query.get("page", "1"),
                    _("That page is not known"),
                    _("Pages are numbered from 1: use the page links under the list."),
                )
                rows, total = await reports.find(session, picked.filters, (number - 1) * PAGE, PAGE)
                sent = await _sent_note(session, t, visitor, request.query.get("sent", ""))
                await audit.record(session, audit.VIEWED, visitor.champion.id, utcnow(), "insights")
        except BadRequest as bad:
            return problem(visitor, bad.title, [bad.line])
        offset = (number - 1) * PAGE
        capped = total > reports.COUNT_CAP + offset
        if capped:
            count = t.ngettext("More than {count} report", "More than {count} reports", reports.COUNT_CAP)
            count = count.format(count=t.number(reports.COUNT_CAP))
        else:
            count = t.ngettext("{count} report", "{count} reports", total).format(count=t.number(total))
        last = None if capped else max(1, -(-total // PAGE))
        lines = [
            Line(
                f"report?id={report.id}",
                reports.reference(report.id),
                sent_at(t, report, zone),
                topic_label(topics, report.topic, t.language),
                _(KIND_LABELS[report.kind]),
                _(STATUS_LABELS[report.status]),
                excerpt(t, report.text, report.media_kind, EXCERPT),
            )
            for report in rows
        ]
        previous = picked.link("insights", page=str(number - 1)) if number > 1 else None
        following = picked.link("insights", page=str(number + 1)) if last is None or number < last else None
        return page(
            visitor,
            "insights.html",
            _("Insights"),
            "insights",
            sent=sent,
            filter_heading=_("Filter the reports"),
            selects=_selects(t, topics, areas, picked),
            search_label=_("Search the reports' text"),
            search=picked.values.get("q", ""),
            search_max=SEARCH_MAX,
            apply=_("Apply"),
            clear=_("Clear filters"),
            count=count,
            caption=_("Reports, newest first"),
            columns=(_("Report"), _("Sent on"), _("Topic"), _("Kind"), _("Status"), _("What was heard")),
            lines=lines,
            empty=_("No reports match these filters.") if picked.values else _("No reports yet."),
            respond_all=picked.link("respond", all="1") if lines else None,
            respond_all_label=_("Respond to all"),
            group_all=picked.link("theme-new") if lines else None,
            group_all_label=_("Group into a theme"),
            pagination_label=_("Pages of reports"),
            previous=previous,
            previous_label=_("Newer"),
            following=following,
            following_label=_("Older"),
            pages=_pages(t, picked, number, last) if (last or number) > 1 else [],
        )

    async def report_page(request: web.Request, visitor: auth.Visitor) -> web.Response:
        """GET report?id=N: one report as the chat's report view shows it, with its replies and
        the actions on it; opening it marks it seen, and is audited."""
        t = visitor.t
        _ = t.gettext
        try:
            report_id = _report_id(t, request.query.get("id", ""))
        except BadRequest as bad:
            return problem(visitor, bad.title, [bad.line])
        async with sessions.begin() as session:
            report = await reports.get(session, report_id)
            if report is None:
                return problem(visitor, _("That report is not known"), [_(GONE)], status=404)
            name = await reports.shown_name(session, report)
            shareable = await reports.may_share(session, report)
            replies = (await reports.replies_to(session, [report_id]))[report_id]
            answered = await responses.answered_texts(session, report)
            sent = await _sent_note(session, t, visitor, request.query.get("sent", ""))
            story = await stories.form(session, t, report_id, shareable, request.query.get("story", ""))
            theme_add = await theme_grouping.add_form(session, t, report_id, request.query.get("added", ""))
            marked = request.query.get("marked") in MARKS  # just marked: shown as marked, even new
            status = "seen" if report.status == "new" and not marked else report.status
            if not marked:
                await reports.mark_seen(session, [report_id])
            await audit.record(session, audit.VIEWED, visitor.champion.id, utcnow(), f"report:{report_id}")
        zone = champion_zone(visitor.champion).key
        rows: list[tuple[str, str, bool]] = [  # label, value, typed by a person
            (_("Status"), _(STATUS_LABELS[status]), False),
            (_("Topic"), topic_label(topics, report.topic, t.language), False),
            (_("Kind"), _(KIND_LABELS[report.kind]), False),
            (_("How many people"), _(PEOPLE_LABELS[report.people]), False),
            (_("Area"), report.area.name if report.area else _("not given"), bool(report.area)),
        ]
        if name is not None:
            rows.append((_("From"), name, True))
        if answered is not None:
            rows.append((_("In answer to the message"), message_excerpt(answered, t.language), True))
        rows += [
            (_("Sent on"), sent_at(t, report, zone), False),
            (_("May be shared with partners"), _("Yes") if shareable else _("No"), False),
        ]
        marks = [
            (mark, _("Mark acted on") if mark == "acted" else _("Mark new"))
            for mark in MARKS
            if mark != status
        ]
        reference = reports.reference(report.id)
        return page(
            visitor,
            "insights_report.html",
            _("Report {reference}").format(reference=reference),
            "insights",
            sent=sent or (_(MARKED[status]) if marked else None),
            report_id=report.id,
            heard_label=_("What was heard"),
            text=report.text or "",
            media=report_media.shown(t, report, dashboard.settings.data_dir),
            details_label=_("About this report"),
            rows=rows,
            replies_heading=_("Replies so far"),
            replies=[(t.datetime(reply.created_at, zone), reply.text) for reply in replies],
            no_replies=_("No replies yet."),
            marks=marks,
            respond=f"respond?id={report.id}",
            respond_label=_("Respond"),
            story=story,
            theme_add=theme_add,
            back=_("Back to list"),
        )

    async def mark(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        """POST mark: mark a report acted on or new, as the chat's buttons do."""
        form = await auth.checked_form(request, visitor)
        if form is None:
            return auth.form_refused(visitor.t)
        t = visitor.t
        _ = t.gettext
        try:
            report_id = _report_id(t, form_value(form, "id"))
        except BadRequest as bad:
            return problem(visitor, bad.title, [bad.line])
        status = form_value(form, "status")
        if status not in MARKS:
            return problem(visitor, _("That status is not known"), [_("Mark a report acted on, or new.")])
        async with sessions.begin() as session:
            found = await reports.set_status(session, report_id, status)
        if not found:
            return problem(visitor, _("That report is not known"), [_(GONE)], status=404)
        return auth.redirect(f"report?id={report_id}&marked={status}")

    async def respond_page(request: web.Request, visitor: auth.Visitor) -> web.Response:
        """GET respond?id=N, or respond?all=1 with the list's filters: the response to type."""
        try:
            async with sessions() as session:
                target = await read_target(session, visitor, request.query, fresh=True)
        except BadRequest as bad:
            return problem(visitor, bad.title, [bad.line])
        if target is None:
            return nothing_matches(visitor)
        return response_form(visitor, target, "", {})

    async def read_target(
        session: AsyncSession, visitor: auth.Visitor, values: Mapping[str, Any], *, fresh: bool
    ) -> Target | None:
        """The reports a response goes to: one (`id`), or all the filters match (`all`), as far
        back as the time the response was begun (`until`), so a report arriving meanwhile is not
        answered unseen. None if none is there (any more)."""
        t = visitor.t
        if form_value(values, "all") != "1":
            report_id = _report_id(t, form_value(values, "id"))
            return (
                Target([report_id], False, None, report_id) if await reports.get(session, report_id) else None
            )
        picked = await read_chosen(session, visitor, values)
        until = utcnow() if fresh else _until(t, form_value(values, "until"))
        ids = await reports.matching_ids(session, dataclasses.replace(picked.filters, until=until))
        return Target(ids, True, picked, None, until) if ids else None

    def nothing_matches(visitor: auth.Visitor) -> web.Response:
        _ = visitor.t.gettext
        return problem(
            visitor, _("No reports to respond to"), [_("No reports match these filters.")], status=404
        )

    def hidden(target: Target) -> dict[str, str]:
        """The form fields that name the target again."""
        if not target.theme:
            return {"id": str(target.report)}
        assert target.chosen is not None and target.until is not None
        return {**target.chosen.values, "all": "1", "until": target.until.isoformat()}

    def response_form(
        visitor: auth.Visitor, target: Target, text: str, errors: dict[str, str], *, status: int = 200
    ) -> web.Response:
        t = visitor.t
        _ = t.gettext
        count = len(target.ids)
        if target.theme:
            intro = t.ngettext(
                "Type one response for the {count} report these filters match. "
                "Its champion gets it with the report's reference.",
                "Type one response for the {count} reports these filters match. "
                "Each champion gets it with their own report's reference.",
                count,
            ).format(count=t.number(count))
        else:
            intro = _("Type your response to {reference}: what was done, or what the champion should know.")
            intro = intro.format(reference=reports.reference(target.ids[0]))
        return page(
            visitor,
            "insights_respond.html",
            _("Respond to all") if target.theme else _("Respond"),
            "insights",
            status=status,
            intro=intro,
            hidden=hidden(target),
            **form_words(t, errors),
            text=text,
            continue_label=_("Continue"),
            back=target.back,
            back_label=_("Back to list") if target.theme else _("Back to the report"),
        )

    def form_words(t: Translator, errors: dict[str, str]) -> dict[str, Any]:
        _ = t.gettext
        return {
            "errors": errors,
            "error_title": _("There is a problem"),
            "text_label": _("Your response"),
            "text_hint": t.ngettext(
                "At most {count} character.", "At most {count} characters.", RESPONSE_MAX
            ).format(count=t.number(RESPONSE_MAX)),
            "text_max": RESPONSE_MAX,
        }

    async def respond(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        """POST respond: show the confirm page (from the response form, or with versions added),
        or send (once, however often the form is sent: its token is kept in the audit log)."""
        form = await auth.checked_form(request, visitor)
        if form is None:
            return auth.form_refused(visitor.t)
        t = visitor.t
        own = t.language
        text = form_value(form, "text")
        try:
            async with sessions() as session:
                target = await read_target(session, visitor, form, fresh=False)
                if target is None:
                    return nothing_matches(visitor)
                readers = Readers.of(await reports.readers(session, target.ids), target.theme)
                sample = await reports.get(session, target.ids[0])
        except BadRequest as bad:
            return problem(visitor, bad.title, [bad.line])
        if sample is None:
            return nothing_matches(visitor)
        errors = {}
        if (wrong := response_problem(t, text)) is not None:
            errors["text"] = wrong
        if "token" not in form:  # from the response form: confirm next
            if errors:
                return response_form(visitor, target, text, errors, status=400)
            token = secrets.token_urlsafe(16)
        else:
            token = form_value(form, "token")
        offered = offered_versions(t, readers)
        versions = {
            code: form_value(form, f"version-{code}")
            for code in offered
            if form_value(form, f"version-{code}")
        }
        for code, version in versions.items():
            if (wrong := response_problem(t, version)) is not None:
                errors[f"version-{code}"] = wrong
        if form_value(form, "action") == "send" and not errors and token:
            return await send(visitor, target, text, versions, token)
        async with sessions.begin() as session:
            detail = f"response:theme:{len(target.ids)}" if target.theme else f"response:report:{sample.id}"
            await audit.record(session, audit.VIEWED, visitor.champion.id, utcnow(), detail)
        _ = t.gettext
        notes = readers.named if target.theme else {}
        shown = previews(t, readers, sample, text or "…", versions, target.theme)
        return page(
            visitor,
            "insights_confirm.html",
            _("Check your response"),
            "insights",
            status=400 if errors else 200,
            lines=confirm_lines(t, readers, sample.id, len(target.ids), target.theme, bool(offered)),
            previews=[(p.heading, p.language, _direction(p.language), p.text) for p in shown],
            hidden={**hidden(target), "token": token},
            **form_words(t, errors),
            text=text,
            versions_legend=_("Versions in other languages (optional)"),
            versions=[
                (
                    code,
                    _("Version in {language}").format(language=LANGUAGES[code]),
                    t.number(notes[code]) if code in notes else "",
                    versions.get(code, ""),
                )
                for code in LANGUAGES
                if code in offered
            ],
            own=own,
            update_label=_("Update the previews"),
            send_label=_("Send"),
            back=target.back,
            back_label=_("Cancel"),
        )

    async def send(
        visitor: auth.Visitor, target: Target, text: str, versions: dict[str, str], token: str
    ) -> web.StreamResponse:
        """Store the response and queue its rows, unless this token's response was sent already;
        then the page that says it was."""
        me = visitor.champion.id
        async with sessions.begin() as session:
            # One send of a coordinator's at a time, so a second press waits and finds the first.
            await session.execute(select(Champion.id).where(Champion.id == me).with_for_update())
            if await _sent_detail(session, me, token) is None:
                replied = await queue_response(
                    session, target.ids, text, me, target.theme, visitor.t.language, versions
                )
                number = len(replied) if target.theme else target.ids[0]
                detail = f"{token}:{'theme' if target.theme else 'report'}:{number}"
                await audit.record(session, audit.RESPONDED, me, utcnow(), detail)
        dashboard.wake.ring(outbox.LANE[outbox.THEME if target.theme else outbox.REPLY])
        if target.theme and target.chosen is not None:
            return auth.redirect(target.chosen.link("insights", sent=token))
        return auth.redirect(f"report?id={target.ids[0]}&sent={token}")

    return [
        web.get("/insights", for_coordinators(gate, list_page)),
        web.get("/report", for_coordinators(gate, report_page)),
        web.post("/mark", for_coordinators(gate, mark)),
        web.get("/respond", for_coordinators(gate, respond_page)),
        web.post("/respond", for_coordinators(gate, respond)),
        *stories.routes(dashboard),
    ]


@dataclass(frozen=True)
class Target:
    """The reports a response goes to, and how they were chosen."""

    ids: list[int]
    theme: bool
    chosen: Chosen | None
    report: int | None
    until: datetime | None = None

    @property
    def back(self) -> str:
        """Where Cancel goes: the report, or the list with its filters."""
        if self.chosen is not None:
            return self.chosen.link("insights")
        return f"report?id={self.ids[0]}"


def _until(t: Translator, value: str) -> datetime:
    """When a response to all was begun, from its form."""
    _ = t.gettext
    try:
        until = datetime.fromisoformat(value)
    except ValueError:
        until = None
    if until is None or until.tzinfo is None:
        raise BadRequest(_("This form was not accepted"), _("Go back to the Insights page and try again."))
    return until


def _direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"
