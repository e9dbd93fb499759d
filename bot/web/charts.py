"""Charts drawn on the server as SVG, each with its figures in a table beside it: reports by topic
over the last weeks (on the overview) and reach per campaign (on the campaigns page).

A chart is rows of small bar charts, one row per topic or campaign, the same columns (weeks, or
reach figures) in each, every bar labelled with its number: it reads without colour, and the
table says the same for anyone who does not see it. The template (`chart.html`) escapes every
label; no inline style (the CSP forbids it): the bars' look is in static/dashboard.css."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.report_labels import topic_label
from storage import insight_figures, responses
from storage.report_topics import Topic

WIDTH = 640  # of the drawing, in its own units; it scales to the page's width
LABEL_HEIGHT = 24  # a row's name above its bars
NUMBER_HEIGHT = 18  # a bar's number above it
BAR_HEIGHT = 48  # the tallest bar
ROW_GAP = 10
AXIS_HEIGHT = 26  # the columns' names along the bottom
WEEKS = 8
TOPICS_SHOWN = 5  # the rest are added up as one row


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    number: str
    number_x: float
    number_y: float


@dataclass(frozen=True)
class Row:
    """One topic's or campaign's bars, and its line of the table."""

    label: str
    label_y: float
    baseline: float
    bars: list[Bar]
    cells: list[str]


@dataclass(frozen=True)
class Chart:
    """Everything `chart.html` draws: the SVG's size, words and shapes, and the table."""

    id: str  # unique on the page: the title's and description's ids start with it
    title: str
    desc: str
    height: float
    columns: list[str]  # the columns' names, as the axis and the table's header show them
    column_x: list[float]  # the middle of each column
    axis_y: float
    rows: list[Row]
    row_heading: str  # the table's first column


def chart(
    chart_id: str,
    t: Translator,
    title: str,
    desc: str,
    row_heading: str,
    columns: list[str],
    rows: list[tuple[str, list[int]]],
) -> Chart:
    """Lay out a chart: each row a label and one bar per column, scaled to the largest value."""
    width = WIDTH / max(len(columns), 1)
    tallest = max((value for _label, values in rows for value in values), default=0) or 1
    laid = []
    y = 0.0
    for label, values in rows:
        baseline = y + LABEL_HEIGHT + NUMBER_HEIGHT + BAR_HEIGHT
        bars = []
        for index, value in enumerate(values):
            height = BAR_HEIGHT * value / tallest
            x = index * width + width * 0.2
            bars.append(
                Bar(
                    x=round(x, 1),
                    y=round(baseline - height, 1),
                    width=round(width * 0.6, 1),
                    height=round(height, 1),
                    number=t.number(value),
                    number_x=round(index * width + width / 2, 1),
                    number_y=round(baseline - height - 4, 1),
                )
            )
        laid.append(Row(label, y + LABEL_HEIGHT - 6, baseline, bars, [t.number(v) for v in values]))
        y = baseline + ROW_GAP
    return Chart(
        id=chart_id,
        title=title,
        desc=desc,
        height=y + AXIS_HEIGHT,
        columns=columns,
        column_x=[round(i * width + width / 2, 1) for i in range(len(columns))],
        axis_y=y + AXIS_HEIGHT - 8,
        rows=laid,
        row_heading=row_heading,
    )


def week_starts(now: datetime, timezone: str, weeks: int = WEEKS) -> list[datetime]:
    """The UTC starts of the last `weeks` weeks (Monday 00:00 on the coordinator's clock), oldest
    first; the last is this week, so far."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).date()
    days = [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    return [datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC) for d in days]


async def reports_by_week(
    session: AsyncSession, t: Translator, topics: list[Topic], now: datetime, timezone: str
) -> Chart | None:
    """Reports by topic in each of the last weeks; None if there were none."""
    _ = t.gettext
    starts = week_starts(now, timezone)
    weekly = await insight_figures.topics_by_week(session, starts, now)
    totals: dict[str, int] = {}
    for week in weekly:
        for topic, count in week.items():
            totals[topic] = totals.get(topic, 0) + count
    if not totals:
        return None
    ordered = sorted(totals, key=lambda topic: (-totals[topic], topic))
    shown, rest = ordered[:TOPICS_SHOWN], set(ordered[TOPICS_SHOWN:])
    rows = [
        (topic_label(topics, topic, t.language), [week.get(topic, 0) for week in weekly]) for topic in shown
    ]
    if rest:
        rows.append((_("Other topics"), [sum(week.get(topic, 0) for topic in rest) for week in weekly]))
    zone = ZoneInfo(timezone)
    columns = [format_skeleton("MMMd", start.astimezone(zone), locale=t.locale) for start in starts]
    return chart(
        "reports-chart",
        t,
        t.ngettext(
            "Topics reported each week, over the last {count} week",
            "Topics reported each week, over the last {count} weeks",
            WEEKS,
        ).format(count=t.number(WEEKS)),
        _(
            "For each topic, a bar for each week from Monday, with the number of reports on it; the last "
            "week is this week so far. The table below gives the same numbers."
        ),
        _("Topic"),
        columns,
        rows,
    )


def reach_per_campaign(t: Translator, campaigns: list[tuple[str, responses.Reach]]) -> Chart | None:
    """Each campaign's messages sent, shared, questions and concerns; None if there are none."""
    _ = t.gettext
    if not campaigns:
        return None
    rows = [(name, [r.sent, r.shared, r.questions, r.concerns]) for name, r in campaigns]
    return chart(
        "reach-chart",
        t,
        _("Reach per campaign"),
        _(
            "For each campaign, bars for the messages sent and for the answers: shared, questions and "
            "concerns, each with its number. The table below gives the same numbers."
        ),
        _("Campaign"),
        [_("Sent"), _("Shared"), _("Questions"), _("Concerns")],
        rows,
    )
