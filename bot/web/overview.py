"""The overview page: active champions, reports this period by topic, kind and area with the change
from the period before, the conversations logged and people reached in it, and the reach of recent
messages. Its figures come from the same storage
functions and the same period rules as the chat's /stats; like /stats, they are for the
coordinator's own eyes, so small numbers are shown as they are (the partner export is where
they are suppressed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translator
from bot.web.auth import Visitor
from bot.web.charts import reports_by_week
from bot.web.layout import page, problem
from handlers.common import champion_zone
from handlers.reach import message_excerpt, reach_figures
from handlers.report_labels import KIND_LABELS, topic_label
from handlers.stats import (
    DEFAULT_PERIOD,
    HEADINGS,
    PERIODS,
    change,
    logged_text,
    ordered_areas,
    ordered_topics,
    period_bounds,
    setting_lines,
)
from storage import activity_figures, audit, insight_figures, responses
from storage.insight_figures import Counts
from storage.models import utcnow
from storage.report_topics import Topic
from storage.reports import ALL_KINDS

REACH_DAYS = 30  # as /stats


@dataclass(frozen=True)
class Row:
    """One line of a figures table: its label, this period, the period before, the change."""

    label: str
    now: str
    before: str
    change: str


@dataclass(frozen=True)
class Table:
    caption: str
    heading: str  # of the first column
    rows: list[Row]


@dataclass(frozen=True)
class Reached:
    """One message or campaign and how far it went."""

    when: str | None
    name: str
    figures: str


def _row(t: Translator, label: str, now: int, before: int) -> Row:
    return Row(label, t.number(now), t.number(before), change(t, now, before))


def tables(t: Translator, topics: list[Topic], current: Counts, previous: Counts) -> list[Table]:
    """Reports by topic, kind and area, in the order /stats lists them."""
    _ = t.gettext
    by_topic = [
        _row(
            t,
            topic_label(topics, topic_id, t.language),
            current.by_topic.get(topic_id, 0),
            previous.by_topic.get(topic_id, 0),
        )
        for topic_id in ordered_topics(topics, current.by_topic, previous.by_topic)
    ]
    by_kind = [
        _row(t, _(KIND_LABELS[kind]), current.by_kind.get(kind, 0), previous.by_kind.get(kind, 0))
        for kind in ALL_KINDS
        if kind in current.by_kind or kind in previous.by_kind
    ]
    areas = ordered_areas(current.by_area, previous.by_area)
    by_area = [
        _row(
            t,
            area if area is not None else _("No area given"),
            current.by_area.get(area, 0),
            previous.by_area.get(area, 0),
        )
        for area in areas
    ]
    return [
        Table(_("Reports by topic"), _("Topic"), by_topic),
        Table(_("Reports by kind"), _("Kind"), by_kind),
        Table(_("Reports by area"), _("Area"), by_area),
    ]


def reached(t: Translator, recent: responses.RecentReach, timezone: str) -> list[Reached]:
    """Recent campaigns, then one-off messages, each with its reach as /stats words it."""
    found = [Reached(None, campaign.name, reach_figures(t, campaign.reach)) for campaign in recent.campaigns]
    for sent in recent.broadcasts:
        excerpt = message_excerpt(sent.texts, t.language)
        found.append(Reached(t.datetime(sent.sent_at, timezone), excerpt, reach_figures(t, sent.reach)))
    return found


async def overview(
    sessions: async_sessionmaker[AsyncSession], topics: list[Topic], request: web.Request, visitor: Visitor
) -> web.Response:
    """GET /: the figures for the period asked for (this month unless another is chosen)."""
    t = visitor.t
    _ = t.gettext
    period = request.query.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        return problem(
            visitor,
            _("That period is not known"),
            [_("Choose this week, this month or the last 30 days on the overview.")],
        )
    now = utcnow()
    timezone = champion_zone(visitor.champion).key
    since, until = period_bounds(period, now, timezone)
    async with sessions.begin() as session:
        figures = await insight_figures.figures(session, since, until)
        by_setting = await activity_figures.reach_by(session, "setting", since, until)
        logged = activity_figures.summed(by_setting.values())  # every session has a setting
        recent = await responses.recent_reach(session, now - timedelta(days=REACH_DAYS))
        chart = await reports_by_week(session, t, topics, now, timezone)
        await audit.record(session, audit.VIEWED, visitor.champion.id, now, "overview")
    current, previous = figures.current, figures.previous
    return page(
        visitor,
        "overview.html",
        _("Overview"),
        "./",
        period_label=_("Period"),
        periods=[(key, _(label), key == period) for key, label in PERIODS.items()],
        active=_("Active champions: {count}").format(count=t.number(figures.active_champions)),
        logged=logged_text(t, logged),
        settings=setting_lines(t, by_setting),
        heading=_(HEADINGS[period]).format(
            count=t.number(current.total), change=change(t, current.total, previous.total)
        ),
        any_reports=bool(current.total or previous.total),
        explain=_("Changes (▲▼) compare with the same length of time just before."),
        no_reports=_("No reports in this period or the one before."),
        columns=(_("This period"), _("Period before"), _("Change")),
        tables=tables(t, topics, current, previous),
        chart=chart,
        reach_heading=_("Reach of messages in the last 30 days"),
        reached=reached(t, recent, timezone),
        no_messages=_("No messages have been sent yet."),
        people_reached=t.ngettext(
            "People reached: champions shared {count} message.",
            "People reached: champions shared {count} messages.",
            recent.shared,
        ).format(count=t.number(recent.shared)),
    )
