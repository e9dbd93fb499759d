"""Grouping reports into themes from the dashboard, as /insights does in the chat: "Group into a
theme" takes every report the Insights filters show (`theme-new`), and a report's page adds it to
an open theme (`theme-add`). Both go through storage.themes, with the chat's words; each change is
audited by theme id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.web import auth
from bot.web.broadcasts import Problem
from bot.web.insight_filters import chosen, known_areas
from bot.web.layout import BadRequest, digits, for_coordinators, page, problem
from handlers.common import champion_zone
from handlers.themes import added_line, problem_text, step_label, title_question
from storage import audit, reports, themes
from storage.models import Theme, utcnow
from storage.themes import Refused

if TYPE_CHECKING:
    from bot.web.app import Dashboard

OFFERED = 20  # open themes a report's page offers, the newest changed first
ID_MAX = 9  # digits of a theme id in a form


@dataclass(frozen=True)
class AddForm:
    """The report page's "Add to a theme" form: the open themes, and what the last add did."""

    heading: str
    label: str
    button: str
    themes: list[tuple[int, str, bool]]  # id, "title · step", selected
    note: str | None


async def add_form(session: AsyncSession, t: Translator, report_id: int, added: str) -> AddForm | None:
    """The form for a report's page (None: no open theme to add it to); `added` is the address's
    "<theme id>:<1 or 0>" after an add, said as the chat says it."""
    rows, _total = await themes.list_themes(session, limit=OFFERED, open_only=True)
    note = None
    theme_id, _sep, done = added.partition(":")
    if digits(theme_id) and len(theme_id) <= ID_MAX and done in ("1", "0"):
        theme = await session.get(Theme, int(theme_id))
        if theme is not None:
            note = added_line(t, report_id, theme.title, done == "1")
    if not rows and note is None:
        return None
    return AddForm(
        t.gettext("Add to a theme"),
        t.gettext("Theme"),
        t.gettext("Add to a theme"),
        [(row.theme.id, f"{row.theme.title} · {step_label(t, row.theme.step)}", False) for row in rows],
        note,
    )


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """Grouping the reports shown into a new theme, and adding one report to a theme."""
    sessions, topics, gate = dashboard.sessions, dashboard.topics, dashboard.gate

    async def new_form(
        request: web.Request, visitor: auth.Visitor, values: dict[str, str], problems: list[Problem]
    ) -> web.Response:
        """The title form for the reports these filters show, or why there are none."""
        t = visitor.t
        _ = t.gettext
        try:
            async with sessions() as session:
                picked = chosen(
                    t, topics, await known_areas(session), values, champion_zone(visitor.champion)
                )
                count = len(await reports.matching_ids(session, picked.filters))
        except BadRequest as bad:
            return problem(visitor, bad.title, [bad.line])
        if not count:
            return problem(
                visitor, _("Group into a theme"), [problem_text(t, Refused(themes.Problem.NO_REPORTS))]
            )
        return page(
            visitor,
            "theme_new.html",
            _("Group into a theme"),
            "themes",
            status=400 if problems else 200,
            problems=problems,
            errors={p.field: p.text for p in problems},
            step_words={"errors_title": _("There is a problem"), "error_prefix": _("Error:")},
            hidden=list(picked.values.items()),
            explain=title_question(t, count),
            title_label=_("Title"),
            title_value=values.get("title", ""),
            title_max=themes.TITLE_MAX,
            button=_("Group into a theme"),
            back=picked.link("insights"),
            back_label=_("Cancel"),
        )

    async def start(request: web.Request, visitor: auth.Visitor) -> web.Response:
        """GET theme-new?<filters>: the title form."""
        return await new_form(request, visitor, dict(request.query), [])

    async def create(request: web.Request, visitor: auth.Visitor) -> web.Response:
        """POST theme-new: a theme of every report the filters show now, with the title typed."""
        form = await auth.checked_form(request, visitor)
        if form is None:
            return auth.form_refused(visitor.t)
        t = visitor.t
        values = {key: value for key, value in form.items() if isinstance(value, str) and key != "csrf"}
        try:
            async with sessions.begin() as session:
                picked = chosen(
                    t, topics, await known_areas(session), values, champion_zone(visitor.champion)
                )
                ids = await reports.matching_ids(session, picked.filters)
                me = visitor.champion.id
                made = await themes.create(session, ids, values.get("title", ""), me, picked.filters.area_id)
                if not isinstance(made, Refused):
                    await audit.record(session, audit.THEME_CHANGED, me, utcnow(), f"create:{made.id}")
        except BadRequest as bad:
            return problem(visitor, bad.title, [bad.line])
        if isinstance(made, Refused):
            return await new_form(request, visitor, values, [Problem("title", problem_text(t, made))])
        return auth.redirect(f"theme?id={made.id}")

    async def add(request: web.Request, visitor: auth.Visitor) -> web.Response:
        """POST theme-add: this report into the theme chosen (once), back to the report's page."""
        form = await auth.checked_form(request, visitor)
        if form is None:
            return auth.form_refused(visitor.t)
        t = visitor.t
        _ = t.gettext
        report, theme = str(form.get("report", "")), str(form.get("theme", ""))
        if not (digits(report) and digits(theme) and len(theme) <= ID_MAX):
            return problem(visitor, _("That theme is not known"), [_("Choose one from the list of themes.")])
        async with sessions.begin() as session:
            known = await reports.get(session, int(report)) is not None
            added = await themes.add_reports(session, int(theme), [int(report)]) if known else 0
            if known and not isinstance(added, Refused) and added:  # a change, not one there already
                await audit.record(
                    session, audit.THEME_CHANGED, visitor.champion.id, utcnow(), f"add:{theme}"
                )
        if not known or isinstance(added, Refused):
            return problem(
                visitor, _("That theme is not known"), [_("Choose one from the list of themes.")], status=404
            )
        return auth.redirect(f"report?id={report}&added={theme}:{1 if added else 0}")

    return [
        web.get("/theme-new", for_coordinators(gate, start)),
        web.post("/theme-new", for_coordinators(gate, create)),
        web.post("/theme-add", for_coordinators(gate, add)),
    ]
