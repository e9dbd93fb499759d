"""/stats for coordinators: learning completion, message reach, and reports for a period (this week,
this month, the last 30 days) by topic, kind and area against the period before, with the
conversations logged and people reached in it, and a bar chart of reports by topic sent as a
picture. Figures for the coordinator's own eyes: not suppressed."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import Context
from bot.i18n import N_, Translator, translator
from bot.replies import Choice, Media, Outgoing
from handlers.common import champion_zone, isolate, require_coordinator
from handlers.learn import topic_title
from handlers.reach import reach_lines
from handlers.report_labels import KIND_LABELS, SETTING_LABELS, topic_label
from storage import activity_figures, insight_figures, learning
from storage.activity_figures import Reach
from storage.activity_logs import SETTINGS
from storage.insight_figures import Figures
from storage.models import utcnow
from storage.report_topics import Topic
from storage.reports import ALL_KINDS

PERIODS = {
    "week": N_("This week"),
    "month": N_("This month"),
    "30d": N_("Last 30 days"),
}
HEADINGS = {
    "week": N_("Reports this week: {count} ({change})"),
    "month": N_("Reports this month: {count} ({change})"),
    "30d": N_("Reports in the last 30 days: {count} ({change})"),
}
CHART_TITLES = {
    "week": N_("Reports by topic, this week and the week before"),
    "month": N_("Reports by topic, this month and the time before"),
    "30d": N_("Reports by topic, the last 30 days and the 30 before"),
}
DEFAULT_PERIOD = "month"


async def show_stats(update: Update, context: Context) -> None:
    """Show coordinators learning, reach and this month's reports with a chart."""
    if await require_coordinator(update, context) is None:
        return
    await context.reply.say(await _learning_and_reach(context))
    await show_reports(context, DEFAULT_PERIOD)


async def choose_period(update: Update, context: Context) -> None:
    """Show the report figures for the period a button names."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    period = query.data.removeprefix("stats:")
    await context.reply.picked(context.t.gettext(PERIODS[period]))
    await show_reports(context, period)


async def _learning_and_reach(context: Context) -> str:
    """Learning completion per topic and per area, then the reach of recent messages."""
    t = context.t
    async with context.db() as session:
        members, topics, areas = await learning.completion(session, context.library)
    lines = [
        t.ngettext("Learning, {count} member:", "Learning, {count} members:", members).format(
            count=t.number(members)
        )
    ]
    for figures in topics:
        topic, read = topic_title(t, figures.topic), t.percent(figures.read, figures.possible)
        if figures.answered:
            line = t.ngettext(
                "{topic}: {read} read, {right} of {count} quiz answer right",
                "{topic}: {read} read, {right} of {count} quiz answers right",
                figures.answered,
            ).format(
                topic=topic,
                read=read,
                right=t.percent(figures.right, figures.answered),
                count=t.number(figures.answered),
            )
        else:
            line = t.gettext("{topic}: {read} read, no quiz answers yet").format(topic=topic, read=read)
        lines.append(line)
    lines += ["", t.gettext("By area:")]
    for area in areas:
        lines.append(
            t.gettext("{area}: {read} read").format(
                area=area.area or t.gettext("No area given"), read=t.percent(area.read, area.possible)
            )
        )
    lines += ["", *await reach_lines(context)]
    return "\n".join(lines)


def period_bounds(period: str, now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The UTC bounds of a period ending now: this week from Monday 00:00 and this month from the
    1st, both in the coordinator's time zone, or the last 30 days."""
    if period == "30d":
        return now - timedelta(days=30), now
    local = now.astimezone(ZoneInfo(timezone))
    start = local - timedelta(days=local.weekday()) if period == "week" else local.replace(day=1)
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC), now


async def show_reports(context: Context, period: str) -> None:
    """Send a period's report figures with the period buttons, then the chart if there is anything
    to draw."""
    since, until = period_bounds(period, utcnow(), champion_zone(context.champion).key)
    async with context.db() as session:
        figures = await insight_figures.figures(session, since, until)
        by_setting = await activity_figures.reach_by(session, "setting", since, until)
        logged = activity_figures.summed(by_setting.values())  # every session has a setting
    t = context.t
    text = "\n".join(
        [
            report_text(t, context.topics, period, figures),
            logged_text(t, logged),
            *setting_lines(t, by_setting),
        ]
    )
    await context.reply.say(text, _period_choices(t), columns=3)
    if figures.current.total or figures.previous.total:
        png = await asyncio.to_thread(topic_chart, t, context.topics, period, figures)
        chart = Media("photo", png, "chart.png")
        await context.reply.say(Outgoing(t.gettext(CHART_TITLES[period]), media=chart))


def _period_choices(t: Translator) -> list[Choice]:
    """This week, this month, the last 30 days."""
    return [Choice(t.gettext(label), f"stats:{period}") for period, label in PERIODS.items()]


def change(t: Translator, now: int, before: int) -> str:
    """The change against the period before: ▲3, ▼2 or = (the same)."""
    if now > before:
        return f"▲{t.number(now - before)}"
    if now < before:
        return f"▼{t.number(before - now)}"
    return "="


def report_text(t: Translator, topics: list[Topic], period: str, figures: Figures) -> str:
    """Reports by topic, kind and area with their change, then how many champions are active and
    how many reported, in the coordinator's language."""
    _ = t.gettext
    current, previous = figures.current, figures.previous

    def line(label: str, now: int, before: int) -> str:
        return _("{label}: {count} ({change})").format(
            label=label, count=t.number(now), change=change(t, now, before)
        )

    lines = [
        _(HEADINGS[period]).format(
            count=t.number(current.total), change=change(t, current.total, previous.total)
        )
    ]
    if current.total or previous.total:
        lines.append(_("Changes (▲▼) compare with the same length of time just before."))
        lines += ["", _("By topic:")]
        for topic_id in ordered_topics(topics, current.by_topic, previous.by_topic):
            label = topic_label(topics, topic_id, t.language)
            lines.append(line(label, current.by_topic.get(topic_id, 0), previous.by_topic.get(topic_id, 0)))
        lines += ["", _("By kind:")]
        for kind in ALL_KINDS:
            if kind in current.by_kind or kind in previous.by_kind:
                now, before = current.by_kind.get(kind, 0), previous.by_kind.get(kind, 0)
                lines.append(line(_(KIND_LABELS[kind]), now, before))
        lines += ["", _("By area:")]
        areas = ordered_areas(current.by_area, previous.by_area)
        for area in areas:
            label = isolate(area) if area is not None else _("No area given")
            lines.append(line(label, current.by_area.get(area, 0), previous.by_area.get(area, 0)))
    else:
        lines.append(_("No reports in this period or the one before."))
    lines += [
        "",
        _("Active champions: {count}").format(count=t.number(figures.active_champions)),
    ]
    return "\n".join(lines)


def logged_text(t: Translator, logged: Reach) -> str:
    """The conversations champions logged (/log) in the period, all areas, and the people they reached."""
    return t.gettext("Conversations logged: {sessions} · people reached: {people}").format(
        sessions=t.number(logged.sessions), people=t.number(logged.people)
    )


def setting_lines(t: Translator, by_setting: dict[str | int | None, Reach]) -> list[str]:
    """People reached by the setting of the conversations, in the order /log offers the settings
    (nothing when none was logged)."""
    if not by_setting:
        return []
    lines = [t.gettext("People reached by setting:")]
    for setting in [known for known in SETTINGS if known in by_setting]:
        reach = by_setting[setting]
        line = t.ngettext(
            "{label}: {people} ({count} conversation)",
            "{label}: {people} ({count} conversations)",
            reach.sessions,
        )
        label = t.gettext(SETTING_LABELS[setting])
        lines.append(line.format(label=label, people=t.number(reach.people), count=t.number(reach.sessions)))
    return lines


def ordered_topics(topics: list[Topic], *counts: dict[str, int]) -> list[str]:
    """Topic ids with any reports, in the configured order; topics since removed come last."""
    found = set().union(*counts)
    configured = [topic.id for topic in topics if topic.id in found]
    return configured + sorted(found - set(configured))


def ordered_areas(*counts: dict[str | None, int]) -> list[str | None]:
    """Area names with any reports, alphabetically; reports with no area given last."""
    found: set[str | None] = set().union(*counts)
    return sorted(found, key=lambda area: (area is None, area or ""))


def topic_chart(t: Translator, topics: list[Topic], period: str, figures: Figures) -> bytes:
    """A PNG bar chart of reports by topic, this period beside the one before."""
    # matplotlib takes about a third of a second to import: only /stats pays for it, not start-up.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    ids = ordered_topics(topics, figures.current.by_topic, figures.previous.by_topic)
    labels = [topic_label(topics, topic_id, t.language) for topic_id in ids]
    title, this, before = (
        t.gettext(CHART_TITLES[period]),
        t.gettext("This period"),
        t.gettext("Period before"),
    )
    if not _renderable([title, this, before, *labels]):
        # DejaVu Sans, the font matplotlib ships, has Latin, Arabic (which matplotlib shapes and
        # lays out right to left) and more, but not every script, e.g. not Bengali: a language it
        # cannot draw gets an English chart rather than empty boxes.
        return topic_chart(translator("en"), topics, period, figures)
    figure = Figure(figsize=(8, 1.2 + 0.6 * len(ids)), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    rows = range(len(ids))
    height = 0.4
    now = [figures.current.by_topic.get(i, 0) for i in ids]
    earlier = [figures.previous.by_topic.get(i, 0) for i in ids]
    bars = axes.barh([r - height / 2 for r in rows], now, height, label=this, color="#005eb8")
    old = axes.barh([r + height / 2 for r in rows], earlier, height, label=before, color="#aeb7bd")
    axes.bar_label(bars, padding=2)
    axes.bar_label(old, padding=2)
    axes.set_yticks(list(rows), labels)
    axes.invert_yaxis()  # the first topic on top
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title)
    axes.legend(loc="lower right")
    axes.spines[["top", "right"]].set_visible(False)
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()


@lru_cache
def _font() -> Any:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return FT2Font(font_manager.findfont("DejaVu Sans"))


def _renderable(texts: list[str]) -> bool:
    """Whether the chart's font has a glyph for every character of these texts."""
    font = _font()
    return all(font.get_char_index(ord(c)) for text in texts for c in text if not c.isspace())
