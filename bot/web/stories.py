"""A success story on a report's page: the coordinator's anonymised wording of the report, for
the impact report partners get (storage.stories decides when it may be shown: only while the
champion agrees to sharing). Saving and deleting carry the session's CSRF token and are in the
audit log by report id only, never the story's words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.web import auth
from bot.web.layout import digits, for_coordinators, problem
from storage import audit, stories
from storage.models import utcnow

if TYPE_CHECKING:  # the app imports this module
    from bot.web.app import Dashboard

ACTIONS = ("save", "delete")
DONE = {"saved", "deleted"}  # the report page's `story=` after a change


@dataclass(frozen=True)
class StoryForm:
    """What the report page's story section shows."""

    heading: str
    hint: str
    withheld: str | None  # why it will not be shown, while the champion does not agree to sharing
    note: str | None  # just saved or deleted
    label: str
    length_hint: str
    text: str
    max: int
    save: str
    delete: str | None  # None: no story to delete


async def form(session: AsyncSession, t: Translator, report_id: int, shareable: bool, done: str) -> StoryForm:
    """The story section of a report's page; `done` is the page's `story=` value."""
    _ = t.gettext
    story = await stories.of_report(session, report_id)
    note = {"saved": _("Story saved."), "deleted": _("Story deleted.")}.get(done) if done in DONE else None
    return StoryForm(
        heading=_("Success story for partners"),
        hint=_(
            "Tell what happened in your own words, leaving out names and anything else that could "
            "identify someone. It goes into the impact report for partners."
        ),
        withheld=None
        if shareable
        else _(
            "This champion does not agree to their reports being shared, so the story will not be in "
            "the impact report unless they agree."
        ),
        note=note,
        label=_("Story"),
        length_hint=t.ngettext(
            "At most {count} character.", "At most {count} characters.", stories.TEXT_MAX
        ).format(count=t.number(stories.TEXT_MAX)),
        text=story.text if story else "",
        max=stories.TEXT_MAX,
        save=_("Save story"),
        delete=_("Delete story") if story else None,
    )


def _refused(visitor: auth.Visitor, reason: str) -> web.Response:
    t = visitor.t
    _ = t.gettext
    if reason == stories.EMPTY:
        line = _("Type the story, or delete it.")
    else:
        line = t.ngettext(
            "A story can be at most {count} character long.",
            "A story can be at most {count} characters long.",
            stories.TEXT_MAX,
        ).format(count=t.number(stories.TEXT_MAX))
    return problem(visitor, _("The story was not saved"), [line])


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """Saving and deleting a report's story."""
    sessions = dashboard.sessions

    async def change(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        """POST story: save (or replace) or delete a report's story, then back to the report."""
        posted = await auth.checked_form(request, visitor)
        if posted is None:
            return auth.form_refused(visitor.t)
        _ = visitor.t.gettext
        report, action, text = (posted.get(name, "") for name in ("id", "action", "text"))
        if not isinstance(report, str) or not digits(report):
            return problem(
                visitor, _("That report is not known"), [_("Open a report from the Insights page.")]
            )
        if action not in ACTIONS or not isinstance(text, str):
            return problem(visitor, _("The story was not saved"), [_("Go back to the report and try again.")])
        report_id = int(report)
        async with sessions.begin() as session:
            if action == "delete":
                await stories.remove(session, report_id)
                found = True
            else:
                try:
                    found = await stories.save(session, report_id, text, visitor.champion.id)
                except stories.StoryError as wrong:
                    return _refused(visitor, wrong.reason)
            if found:
                detail = f"story:{action}:{report_id}"
                await audit.record(session, audit.STORY_CHANGED, visitor.champion.id, utcnow(), detail)
        if not found:
            return problem(
                visitor,
                _("That report is not known"),
                [_("Open a report from the Insights page.")],
                status=404,
            )
        return auth.redirect(f"report?id={report_id}&story={'deleted' if action == 'delete' else 'saved'}")

    return [web.post("/story", for_coordinators(dashboard.gate, change))]
