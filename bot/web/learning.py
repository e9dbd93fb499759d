"""The learning page: for each topic, how many members read at least one of its snippets and all
of them, how much they read, and their quiz answers, for everyone or one area; and the reading by
area as /stats gives it. Members are who /stats counts (active or paused); like /stats, the
figures are for coordinators' eyes, so small numbers are shown as they are. They come from the
stored snapshot a job refreshes every ten minutes (counting them live takes about a second at full
size; see storage/learning_snapshot.py), and the page says when they were counted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.i18n import Translator
from bot.web import auth
from bot.web.layout import for_coordinators, page, problem
from handlers.common import champion_zone
from handlers.learn import topic_title
from storage import audit, directory, learning_snapshot
from storage.learning import AreaFigures, TopicCompletion
from storage.models import utcnow

if TYPE_CHECKING:  # bot.web.app imports this module
    from bot.web.app import Dashboard

PATH = "learning"
AREA_ID = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class TopicRow:
    topic: str
    started: str
    finished: str
    read: str
    right: str


@dataclass(frozen=True)
class AreaRow:
    area: str
    members: str
    read: str


def topic_row(t: Translator, members: int, figures: TopicCompletion) -> TopicRow:
    """One topic's figures: counts of members, and percentages as /stats words them."""
    right = (
        t.gettext("{right} of {answered} ({percent})").format(
            right=t.number(figures.right),
            answered=t.number(figures.answered),
            percent=t.percent(figures.right, figures.answered),
        )
        if figures.answered
        else "–"  # no quiz answered
    )
    return TopicRow(
        topic_title(t, figures.topic),
        t.number(figures.started),
        t.number(figures.finished),
        t.percent(figures.read, members * figures.snippets),
        right,
    )


def area_row(t: Translator, figures: AreaFigures) -> AreaRow:
    return AreaRow(
        figures.area or t.gettext("No area given"),
        t.number(figures.members),
        t.percent(figures.read, figures.possible),
    )


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """GET learning (?area=<id>): the figures."""

    async def show(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        t = visitor.t
        _ = t.gettext
        value = request.query.get("area", "")
        async with dashboard.sessions.begin() as session:
            areas = {area.id: area.name for area in await directory.list_areas(session)}
            area_id = int(value) if AREA_ID.fullmatch(value) else None
            if value and area_id not in areas:
                return problem(
                    visitor, _("That area is not known"), [_("Choose from the list on the learning page.")]
                )
            now = utcnow()
            figures = await learning_snapshot.current(session, dashboard.library, area_id, now)
            await audit.record(session, audit.VIEWED, visitor.champion.id, now, PATH)
        members = figures.members
        if area_id is None:
            caption = _("Learning by topic, all areas")
        else:
            caption = _("Learning by topic in {area}").format(area=areas[area_id])
        return page(
            visitor,
            "learning.html",
            _("Learning"),
            PATH,
            area_label=_("Area"),
            any_area=_("All areas"),
            areas=[(i, name, i == area_id) for i, name in areas.items()],
            show_button=_("Show"),
            as_of=_("Figures as of {time}").format(
                time=t.datetime(figures.computed_at, champion_zone(visitor.champion).key)
            ),
            members=_("Members (champions active or paused): {count}").format(count=t.number(members)),
            caption=caption,
            topic_columns=[
                _("Topic"),
                _("Read at least one snippet"),
                _("Read every snippet"),
                _("Read of all snippets"),
                _("Quiz answers right"),
            ],
            topics=[topic_row(t, members, topic) for topic in figures.topics],
            no_topics=_("There are no snippets to read yet."),
            area_caption=_("Reading by area"),
            area_columns=[_("Area"), _("Members"), _("Read of all snippets")],
            by_area=[area_row(t, area) for area in figures.by_area],
            no_members=_("Nobody has joined yet."),
        )

    return [web.get(f"/{PATH}", for_coordinators(dashboard.gate, show))]
