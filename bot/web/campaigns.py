"""The campaigns page: the latest campaigns with their status, messages and reach (as the chat's
/campaigns lists them), Pause, Resume or Cancel on each (the same storage function as the chat's
buttons), the reach per campaign as a chart, and loading a campaign file as `champbot campaign
load` does: checked whole first, loaded in one transaction, so a file with a problem loads
nothing and the page says which line is wrong and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import LANGUAGES, Translator
from bot.web import auth
from bot.web.auth import Visitor
from bot.web.broadcasts import Problem
from bot.web.charts import reach_per_campaign
from bot.web.layout import for_coordinators, page, problem
from handlers.campaigns_menu import STATUSES
from handlers.common import champion_zone
from handlers.reach import reach_figures
from storage import audit, broadcasts, campaigns, responses
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.web.app import Dashboard

NAV_PATH = "campaigns"
SHOWN = 25  # campaigns listed, running ones first, newest first
ID_MAX = 18
FILE_MAX = 60 * 1024  # a campaign file's bytes: within the dashboard's body limit


@dataclass(frozen=True)
class Listed:
    """One campaign as the page shows it, with what can be done with it now."""

    id: int
    name: str
    status: str
    messages: str
    next: str | None
    reach: str
    actions: list[tuple[str, str]]  # action, button label


def _status(t: Translator, status: str) -> str:
    words = STATUSES.get(status)
    return t.gettext(words) if words else status


def _actions(t: Translator, status: str) -> list[tuple[str, str]]:
    """The changes the campaign's status allows (storage.campaigns.ACTIONS), as the chat offers them."""
    _ = t.gettext
    labels = {"pause": _("Pause"), "resume": _("Resume"), "cancel": _("Cancel campaign")}
    return [
        (action, labels[action]) for action, (allowed, _to) in campaigns.ACTIONS.items() if status in allowed
    ]


async def campaigns_page(
    sessions: async_sessionmaker[AsyncSession],
    request: web.Request,
    visitor: Visitor,
    *,
    problems: list[Problem] | None = None,
    done: str | None = None,
) -> web.Response:
    """GET campaigns: the list, the reach chart and the upload form (with a load's problems)."""
    t = visitor.t
    _ = t.gettext
    timezone = champion_zone(visitor.champion).key
    now = utcnow()
    async with sessions.begin() as session:
        summaries, total = await campaigns.latest_campaigns(session, SHOWN)
        reach = await responses.campaign_reach(session, [s.id for s in summaries])
        if done is None:
            done = await _done(t, session, request)
        await audit.record(session, audit.VIEWED, visitor.champion.id, now, "campaigns")
    listed = [
        Listed(
            s.id,
            s.name,
            _status(t, s.status),
            _("Messages: {scheduled} scheduled, {sent} sent").format(
                scheduled=t.number(s.scheduled), sent=t.number(s.sent)
            ),
            _("Next message: {date}").format(date=t.datetime(s.next_at, timezone))
            if s.next_at is not None and s.status != broadcasts.CANCELLED
            else None,
            reach_figures(t, reach[s.id]),
            _actions(t, s.status),
        )
        for s in summaries
    ]
    problems = problems or []
    return page(
        visitor,
        "campaigns.html",
        _("Campaigns"),
        NAV_PATH,
        status=400 if problems else 200,
        problems=problems,
        errors={p.field: p.text for p in problems},
        step_words={"errors_title": _("There is a problem"), "error_prefix": _("Error:")},
        done=done,
        listed=listed,
        shown=t.ngettext(
            "The latest {shown} of {count} campaign, running ones first:",
            "The latest {shown} of {count} campaigns, running ones first:",
            total,
        ).format(shown=t.number(len(listed)), count=t.number(total))
        if total > len(listed)
        else None,
        none=_("There are no campaigns yet."),
        chart=reach_per_campaign(t, [(s.name, reach[s.id]) for s in summaries]),
        load_heading=_("Load a campaign file"),
        file_label=_("Campaign file (YAML)"),
        file_hint=_(
            "The file `champbot campaign load` takes (examples are in content/campaigns/). A campaign with "
            "the file's name is updated; messages already sent are left as they were."
        ),
        load_label=_("Load the file"),
    )


async def _done(t: Translator, session: AsyncSession, request: web.Request) -> str | None:
    """What the action just done did (after its redirect), in the chat's words."""
    _ = t.gettext
    raw, action, count = (request.query.get(key, "") for key in ("id", "did", "n"))
    if not raw.isdigit() or len(raw) > ID_MAX:
        return None
    summary = await campaigns.campaign_summary(session, int(raw))
    if summary is None:
        return None
    if action == "loaded":
        return _("Loaded {name}.").format(name=summary.name)
    if action == "same":
        return _("This campaign is already {status}.").format(status=_status(t, summary.status))
    if action == "pause":
        return _("Paused {name}. Its messages wait until you resume it.").format(name=summary.name)
    if action == "resume":
        return _("Resumed {name}.").format(name=summary.name)
    if action == "cancel" and count == "0":
        return _("Cancelled {name}. It had no messages left to send.").format(name=summary.name)
    if action == "cancel" and count.isdigit() and len(count) <= ID_MAX:
        cancelled = int(count)
        return t.ngettext(
            "Cancelled {name}: {count} scheduled message will not be sent.",
            "Cancelled {name}: {count} scheduled messages will not be sent.",
            cancelled,
        ).format(name=summary.name, count=t.number(cancelled))
    return None


async def change(
    sessions: async_sessionmaker[AsyncSession], request: web.Request, visitor: Visitor
) -> web.Response:
    """POST campaign-change: pause, resume or cancel one campaign, as the chat's buttons do."""
    form = await auth.checked_form(request, visitor)
    if form is None:
        return auth.form_refused(visitor.t)
    _ = visitor.t.gettext
    raw, action = str(form.get("id", "")), str(form.get("action", ""))
    if not raw.isdigit() or len(raw) > ID_MAX or action not in campaigns.ACTIONS:
        return problem(
            visitor, _("That campaign is not known"), [_("Choose one from the list of campaigns.")]
        )
    campaign_id = int(raw)
    async with sessions.begin() as session:
        if await campaigns.campaign_summary(session, campaign_id) is None:
            return problem(
                visitor,
                _("That campaign is not known"),
                [_("Choose one from the list of campaigns.")],
                status=404,
            )
        changed = await campaigns.change_campaign(session, campaign_id, action)
        if changed.changed:
            await audit.record(
                session, audit.CAMPAIGN_CHANGED, visitor.champion.id, utcnow(), f"{action}:{raw}"
            )
    did = action if changed.changed else "same"
    return auth.redirect(f"campaigns?id={campaign_id}&did={did}&n={changed.cancelled_messages}")


def _file_problem(t: Translator, exc: campaigns.CampaignError) -> Problem:
    """A load's problem for the page: the line and what is wrong (the loader's own words)."""
    if isinstance(exc, campaigns.CampaignFileError):
        text = t.gettext("The file was not loaded. Line {line}: {problem}").format(
            line=t.number(exc.line), problem=exc.problem
        )
    else:
        text = t.gettext("The file was not loaded: {problem}").format(problem=str(exc))
    return Problem("file", text)


async def load(
    sessions: async_sessionmaker[AsyncSession], request: web.Request, visitor: Visitor
) -> web.Response:
    """POST campaign-load (multipart): check the file whole, then load it in one transaction."""
    form = await auth.checked_form(request, visitor)
    if form is None:
        return auth.form_refused(visitor.t)
    t = visitor.t
    _ = t.gettext
    upload: Any = form.get("file")
    if not isinstance(upload, web.FileField):
        return await campaigns_page(
            sessions, request, visitor, problems=[Problem("file", _("Choose a campaign file."))]
        )
    data = upload.file.read(FILE_MAX + 1)
    name = (upload.filename or "campaign.yaml")[-100:]
    if len(data) > FILE_MAX:
        too_big = _("The file is too big: a campaign file has at most {size} KB.").format(
            size=t.number(FILE_MAX // 1024)
        )
        return await campaigns_page(sessions, request, visitor, problems=[Problem("file", too_big)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = campaigns.CampaignFileError(name, data[: exc.start].count(b"\n") + 1, "not UTF-8 text")
        return await campaigns_page(sessions, request, visitor, problems=[_file_problem(t, bad)])
    try:
        spec = campaigns.parse_campaign(text, name, tuple(LANGUAGES))
        async with sessions.begin() as session:
            await campaigns.load_campaign(session, spec, utcnow())
            loaded = await campaigns.find_campaign(session, spec.name)
            await audit.record(session, audit.CAMPAIGN_LOADED, visitor.champion.id, utcnow(), str(loaded.id))
    except campaigns.CampaignError as exc:  # raised inside the transaction: nothing of it was kept
        return await campaigns_page(sessions, request, visitor, problems=[_file_problem(t, exc)])
    return auth.redirect(f"campaigns?id={loaded.id}&did=loaded")


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """The campaigns page, its actions and the upload."""
    gate, sessions = dashboard.gate, dashboard.sessions

    async def listed(request: web.Request, visitor: Visitor) -> web.Response:
        return await campaigns_page(sessions, request, visitor)

    async def changed(request: web.Request, visitor: Visitor) -> web.Response:
        return await change(sessions, request, visitor)

    async def loaded(request: web.Request, visitor: Visitor) -> web.Response:
        return await load(sessions, request, visitor)

    return [
        web.get("/campaigns", for_coordinators(gate, listed)),
        web.post("/campaign-change", for_coordinators(gate, changed)),
        web.post("/campaign-load", for_coordinators(gate, loaded)),
    ]
