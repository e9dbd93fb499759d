"""The impact report for partners (`champbot report impact`): one printable A4 page of HTML, in a
chosen language, with everything inline (its CSS, the chart as SVG), so it can be mailed, opened
offline or printed; a PDF where WeasyPrint happens to be installed.

It shows the headline figures beside the period before, reports each month by topic as a chart
with its table (bot/web/charts.py, drawn by the dashboard's chart template), the top themes with
what was done, and the success stories that may be shared. Figures leave the organisation, so
every count under insight_export.SMALL is shown as "<5", and a change is shown only when neither
of its counts is hidden (else it would give the hidden one away). The words come from the
translator, the page from the dashboard's Jinja environment, which escapes every value."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from babel.dates import format_date, format_skeleton

from bot.files import replacing
from bot.i18n import Translator
from bot.web.charts import Chart, chart
from bot.web.pages import TEMPLATES
from handlers.report_labels import topic_label
from handlers.stats import change
from handlers.themes import step_label
from storage.impact import Change, Impact
from storage.insight_export import SMALL
from storage.models import utcnow
from storage.periods import parse_period
from storage.report_topics import Topic

TOPICS_SHOWN = 4  # the rest are added up as one row, so the chart stays a third of the page
HIDDEN_CHANGE = "–"  # a change not shown, as one of its counts is hidden


def count(t: Translator, value: int) -> str:
    """A count as it may leave the organisation: under SMALL shown as "<5"."""
    return f"<{t.number(SMALL)}" if 0 < value < SMALL else t.number(value)


def _hidden(value: int) -> bool:
    return 0 < value < SMALL


def shown_change(t: Translator, figure: Change) -> str:
    """The change from the period before, unless either count is hidden."""
    if _hidden(figure.now) or _hidden(figure.before):
        return HIDDEN_CHANGE
    return change(t, figure.now, figure.before)


@dataclass(frozen=True)
class Headline:
    label: str
    now: str
    before: str
    change: str


@dataclass(frozen=True)
class ThemeShown:
    title: str
    step: str
    reports: str
    done: list[str]
    outcome: str | None


@dataclass(frozen=True)
class StoryShown:
    text: str
    about: str  # the topic and month


def _month(t: Translator, month: str) -> str:
    return format_skeleton("yMMM", parse_period(month).start, locale=t.locale)


def _dates(t: Translator, start: datetime, end: datetime) -> str:
    """The period's first and last days, as words."""
    first = format_date(start.date(), format="long", locale=t.locale)
    last = format_date((end - timedelta(days=1)).date(), format="long", locale=t.locale)
    return t.gettext("{start} to {end}").format(start=first, end=last)


def monthly_chart(t: Translator, topics: list[Topic], figures: Impact) -> Chart | None:
    """Shareable reports each month by topic. Only topics with no small count in any month get a
    row of their own (the most reported first); the rest are added up as other topics, a row left
    out if a count in it is small too. So no count under SMALL is shown at all: beside the exact
    total in the headline, one could be worked out. None if no row is left."""
    _ = t.gettext
    months = list(figures.by_month)
    cells: dict[str, list[int]] = {}
    for index, month in enumerate(months):
        for topic, number in figures.by_month[month].items():
            cells.setdefault(topic, [0] * len(months))[index] = number
    if not cells:
        return None
    clear = [topic for topic in cells if not any(_hidden(n) for n in cells[topic])]
    shown = sorted(clear, key=lambda topic: (-sum(cells[topic]), topic))[:TOPICS_SHOWN]
    rows = [(topic_label(topics, topic, t.language), cells[topic]) for topic in shown]
    rest = [sum(cells[topic][i] for topic in cells if topic not in shown) for i in range(len(months))]
    if any(rest) and not any(_hidden(n) for n in rest):
        rows.append((_("Other topics"), rest))
    if not rows:
        return None
    return chart(
        "impact-chart",
        t,
        _("Reports each month, by topic"),
        _(
            "For each topic, a bar for each month with the number of reports on it; topics with fewer "
            "reports are added up as other topics, or left out where even those are few. The table "
            "beside gives the same numbers."
        ),
        _("Topic"),
        [_month(t, month) for month in months],
        rows,
    )


def render(t: Translator, topics: list[Topic], figures: Impact, made: datetime | None = None) -> str:
    """The report as one self-contained HTML page in the language of `t`."""
    _ = t.gettext
    period = figures.period.label
    headlines = [
        (_("Reports from champions"), figures.reports),
        (_("Champions active"), figures.champions),
        (_("Conversations logged"), figures.conversations),
        (_("People reached in conversations"), figures.people),
        (_("Messages sent to champions"), figures.messages),
        (_("Messages champions passed on"), figures.shared),
    ]
    themes = [
        ThemeShown(
            theme.title,
            _("Step: {step}").format(step=step_label(t, theme.step)),
            _("Reports in this theme: {count}").format(count=count(t, theme.reports)),
            theme.done,
            theme.outcome,
        )
        for theme in figures.themes
    ]
    stories = [
        StoryShown(
            story.text,
            _("{topic}, {month}").format(
                topic=topic_label(topics, story.topic, t.language), month=_month(t, story.month)
            ),
        )
        for story in figures.stories
    ]
    return TEMPLATES.get_template("impact.html").render(
        lang=t.language,
        dir="rtl" if t.rtl else "ltr",
        title=_("Impact report: {period}").format(period=period),
        dates=_dates(t, figures.period.start, figures.period.end),
        intro=_(
            "What community champions heard and did in this period, and what changed because of it. "
            "Reports are counted only where the champion agrees to them being shared with partners."
        ),
        empty=_("Nothing has been recorded for this period yet.") if figures.empty else None,
        figures_caption=_("Headline figures"),
        columns=(
            _("Figure"),
            _("This period"),
            _("Period before ({period})").format(period=figures.previous.label),
            _("Change"),
        ),
        headlines=[
            Headline(label, count(t, figure.now), count(t, figure.before), shown_change(t, figure))
            for label, figure in headlines
        ],
        small_note=_(
            "Counts under {small} are shown as <{small}, so that no one can be singled out; a change is "
            "not shown (–) where one of its counts is hidden."
        ).format(small=t.number(SMALL)),
        chart=monthly_chart(t, topics, figures),
        no_chart=_("No reports that may be shared in this period.")
        if not figures.reports.now
        else _("Too few reports on each topic to show them month by month."),
        themes_heading=_("What changed: the top themes"),
        themes=themes,
        done_label=_("What was done"),
        outcome_label=_("Outcome"),
        no_themes=_("No themes were worked on in this period."),
        stories_heading=_("Success stories"),
        stories=stories,
        no_stories=_("No success stories for this period."),
        footer=_(
            "Made on {date} by the Community Champions bot. It names no one: stories are told in the "
            "coordinators' words, with the champions' agreement."
        ).format(date=format_date((made or utcnow()).date(), format="long", locale=t.locale)),
    )


def write(path: Path, html: str) -> None:
    """Write the report to `path`, as a PDF if its name ends in .pdf (needs WeasyPrint), else as
    HTML: written to a temporary file beside it, then renamed, so no half-written report is left."""
    if path.suffix.lower() == ".pdf":
        try:
            weasyprint = importlib.import_module("weasyprint")
        except ImportError:
            raise RuntimeError("a PDF needs WeasyPrint installed; write an .html file instead") from None
        data: bytes = weasyprint.HTML(string=html).write_pdf()
    else:
        data = html.encode()
    with replacing(path) as temporary:
        temporary.write_bytes(data)
