"""The themes pages: the themes with their step and report count, and one theme with its notes,
partners and actions (overdue ones marked) and forms to move it to its next step (sending "you
said, we did" to its reporters if asked), add a note, a partner or an action, mark an action done
and set the outcome. Each form carries the session's CSRF token and calls the same storage
functions as the chat's /themes, so a step moved backwards or skipped, a past or unreadable due
date, or an empty text is refused here as there, and the page says which field to fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from aiohttp import web
from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translator
from bot.web import auth
from bot.web.auth import Visitor
from bot.web.broadcasts import Problem
from bot.web.layout import digits, for_coordinators, page, problem
from handlers import insights
from handlers.common import champion_zone
from handlers.themes import PARTNER_LABELS, parse_due, problem_text, step_label
from storage import audit, outbox, themes
from storage.models import ThemeAction, ThemeStep, utcnow
from storage.themes import Problem as Refusal
from storage.themes import Refused

if TYPE_CHECKING:
    from bot.web.app import Dashboard

NAV_PATH = "themes"
SHOWN = 50  # themes listed, newest change first
ID_MAX = 9
ACTIONS = ("next", "note", "partner", "action", "done", "outcome")


@dataclass(frozen=True)
class Row:
    """A theme on the list."""

    id: int
    title: str
    step: str
    reports: str


def _today(visitor: Visitor) -> date:
    return utcnow().astimezone(champion_zone(visitor.champion)).date()


async def list_page(sessions: async_sessionmaker[AsyncSession], visitor: Visitor) -> web.Response:
    """GET themes: every theme (the newest SHOWN), its step and how many reports it holds."""
    t = visitor.t
    _ = t.gettext
    async with sessions.begin() as session:
        listed, total = await themes.list_themes(session, limit=SHOWN)
        await audit.record(session, audit.VIEWED, visitor.champion.id, utcnow(), "themes")
    rows = [
        Row(
            row.theme.id,
            row.theme.title,
            step_label(t, row.theme.step),
            t.ngettext("{count} report", "{count} reports", row.reports).format(count=t.number(row.reports)),
        )
        for row in listed
    ]
    return page(
        visitor,
        "themes.html",
        _("Themes"),
        NAV_PATH,
        rows=rows,
        shown=t.ngettext(
            "The latest {shown} of {count} theme:", "The latest {shown} of {count} themes:", total
        ).format(shown=t.number(len(rows)), count=t.number(total))
        if total > len(rows)
        else None,
        none=_("No themes yet. In /insights, filter the reports and press “Group into a theme”."),
        heads={"title": _("Theme"), "step": _("Step"), "reports": _("Reports")},
    )


def _words(t: Translator) -> dict[str, str]:
    """Every label the theme page shows, translated here (the template holds no English)."""
    _ = t.gettext
    return {
        "back": _("Back to themes"),
        "notes": _("Notes:"),
        "partners": _("Partners:"),
        "actions": _("Actions:"),
        "done": _("(done)"),
        "overdue": _("(overdue)"),
        "mark_done": _("Mark action done"),
        "next": _("Next step"),
        "next_note": _("Note for the move: what was found or decided"),
        "tell": _("Send “you said, we did” with this note to the champions of its reports"),
        "add_note": _("Add note"),
        "note": _("Note at this step"),
        "add_partner": _("Add partner"),
        "kind": _("What kind of partner?"),
        "partner": _("The partner's name"),
        "add_action": _("Add action"),
        "action_text": _("Type the action: what will be done?"),
        "owner": _("Who owns it? Type a person, team or partner."),
        "due": _("When is it due? Type the date as YYYY-MM-DD or DD/MM/YYYY."),
        "set_outcome": _("Set outcome"),
        "outcome": _("Type the outcome: what changed?"),
        "shared": _("May be shared with partners"),
        "errors_title": _("There is a problem"),
        "error_prefix": _("Error:"),
    }


async def theme_page(
    sessions: async_sessionmaker[AsyncSession],
    request: web.Request,
    visitor: Visitor,
    *,
    theme_id: int | None = None,
    problems: list[Problem] | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    """GET theme?id=N: one theme and its forms (again with a refused form's problems, if any)."""
    t = visitor.t
    _ = t.gettext
    if theme_id is None:
        raw = request.query.get("id", "")
        theme_id = int(raw) if digits(raw) and len(raw) <= ID_MAX else None
    async with sessions.begin() as session:
        full = await themes.get(session, theme_id) if theme_id is not None else None
        if full is not None:
            await audit.record(session, audit.VIEWED, visitor.champion.id, utcnow(), f"theme:{theme_id}")
    if full is None:
        return problem(
            visitor, _("That theme is not known"), [_("Choose one from the list of themes.")], status=404
        )
    theme = full.theme
    after = themes.next_step(theme.step)
    told = request.query.get("told", "")
    done = (
        t.ngettext(
            "Sent to the champion of {count} report.", "Sent to the champions of {count} reports.", int(told)
        ).format(count=t.number(int(told)))
        if digits(told) and len(told) <= ID_MAX and not problems
        else None
    )
    today = _today(visitor)
    problems = problems or []
    position = themes.STEPS.index(theme.step) + 1
    return page(
        visitor,
        "theme.html",
        theme.title,
        NAV_PATH,
        status=400 if problems else 200,
        problems=problems,
        errors={p.field: p.text for p in problems},
        done=done,
        form=form or {},
        theme=theme,
        step=_("Step {number} of {total}: {step}").format(
            number=t.number(position), total=t.number(len(themes.STEPS)), step=step_label(t, theme.step)
        ),
        reports=t.ngettext("{count} report", "{count} reports", full.reports).format(
            count=t.number(full.reports)
        ),
        notes=[(step_label(t, note.step), note.text or "") for note in full.notes],
        partners=[(t.gettext(PARTNER_LABELS[p.kind]), p.name) for p in full.partners],
        actions=[
            (
                a.id,
                _("{action} – {owner}, due {date}").format(
                    action=a.text, owner=a.owner, date=format_date(a.due_on, "medium", locale=t.locale)
                ),
                "done" if a.done_at is not None else "overdue" if a.due_on < today else "",
            )
            for a in full.actions
        ],
        next_step=str(after) if after is not None else None,
        next_label=_("Next step: {step}").format(step=step_label(t, after)) if after is not None else None,
        outcome_line=_("Outcome: {text}").format(text=theme.outcome) if theme.outcome else None,
        kinds=[(kind, t.gettext(label)) for kind, label in PARTNER_LABELS.items()],
        labels=_words(t),
    )


def _field(action: str, refused: Refused, form: dict[str, str]) -> str:
    """The form field a refusal is about, for the error summary's link."""
    if action == "action":
        if refused.problem == Refusal.DUE_PAST:
            return "due"
        text = form.get("action_text", "").strip()
        return "action_text" if not text or len(text) > themes.ACTION_MAX else "owner"
    if action == "partner" and refused.problem == Refusal.PARTNER_KIND:
        return "kind"
    return {"next": "next_note", "note": "note", "partner": "partner", "outcome": "outcome"}.get(action, "id")


async def change(dashboard: Dashboard, request: web.Request, visitor: Visitor) -> web.Response:
    """POST theme-change: one of the theme page's forms, as the chat's /themes buttons do it."""
    posted = await auth.checked_form(request, visitor)
    if posted is None:
        return auth.form_refused(visitor.t)
    t = visitor.t
    _ = t.gettext
    form = {key: str(value) for key, value in posted.items() if isinstance(value, str) and key != "csrf"}
    raw, action = form.get("id", ""), form.get("action", "")
    if not digits(raw) or len(raw) > ID_MAX or action not in ACTIONS:
        return problem(visitor, _("That theme is not known"), [_("Choose one from the list of themes.")])
    theme_id = int(raw)
    coordinator = visitor.champion.id
    told = 0
    result: object
    async with dashboard.sessions.begin() as session:
        if action == "next":
            step = form.get("step", "")
            to = ThemeStep(step) if step in set(themes.STEPS) else None
            if to is None:
                result = Refused(Refusal.STEP_SKIPPED)
            else:
                result = await themes.move(session, theme_id, to, form.get("next_note", ""), coordinator)
            if not isinstance(result, Refused) and form.get("tell") == "yes":
                ids = await themes.report_ids(session, theme_id)
                about = {"theme": theme_id, "step": str(to)}
                note = form.get("next_note", "").strip()
                replied = await insights.queue_response(
                    session, ids, note, coordinator, True, t.language, {}, about
                )
                told = len(replied)
                if told:
                    await audit.record(
                        session, audit.RESPONDED, coordinator, utcnow(), f"theme:{theme_id}:{told}"
                    )
        elif action == "note":
            result = await themes.add_note(session, theme_id, form.get("note", ""), coordinator)
        elif action == "partner":
            result = await themes.add_partner(
                session, theme_id, form.get("kind", ""), form.get("partner", "")
            )
        elif action == "action":
            due = parse_due(form.get("due", ""))
            if due is None:
                result = "bad-date"
            else:
                result = await themes.add_action(
                    session,
                    theme_id,
                    form.get("action_text", ""),
                    form.get("owner", ""),
                    due,
                    _today(visitor),
                )
        elif action == "done":
            number = form.get("action_id", "")
            found = (
                await session.get(ThemeAction, int(number))
                if digits(number) and len(number) <= ID_MAX
                else None
            )
            if found is None or found.theme_id != theme_id:
                result = Refused(Refusal.NOT_FOUND)
            else:
                result = await themes.mark_done(session, found.id, utcnow())
        else:
            result = await themes.set_outcome(session, theme_id, form.get("outcome", ""))
            if not isinstance(result, Refused):
                result = await themes.share_outcome(session, theme_id, form.get("shared") == "yes")
        if result != "bad-date" and not isinstance(result, Refused):
            await audit.record(session, audit.THEME_CHANGED, coordinator, utcnow(), f"{action}:{theme_id}")
    if result == "bad-date":
        text = _("Please type the date as YYYY-MM-DD or DD/MM/YYYY, for example 2027-03-31.")
        return await theme_page(
            dashboard.sessions,
            request,
            visitor,
            theme_id=theme_id,
            problems=[Problem("due", text)],
            form=form,
        )
    if isinstance(result, Refused):
        if result.problem == Refusal.NOT_FOUND and action != "done":
            return problem(
                visitor, _("That theme is not known"), [_("Choose one from the list of themes.")], status=404
            )
        found_problem = Problem(_field(action, result, form), problem_text(t, result))
        return await theme_page(
            dashboard.sessions, request, visitor, theme_id=theme_id, problems=[found_problem], form=form
        )
    if told:
        dashboard.wake.ring(outbox.LANE[outbox.THEME])
        return auth.redirect(f"theme?id={theme_id}&told={told}")
    return auth.redirect(f"theme?id={theme_id}")


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """The themes list, one theme, and its forms."""
    gate, sessions = dashboard.gate, dashboard.sessions

    async def listed(request: web.Request, visitor: Visitor) -> web.Response:
        return await list_page(sessions, visitor)

    async def one(request: web.Request, visitor: Visitor) -> web.Response:
        return await theme_page(sessions, request, visitor)

    async def changed(request: web.Request, visitor: Visitor) -> web.Response:
        return await change(dashboard, request, visitor)

    return [
        web.get("/themes", for_coordinators(gate, listed)),
        web.get("/theme", for_coordinators(gate, one)),
        web.post("/theme-change", for_coordinators(gate, changed)),
    ]
