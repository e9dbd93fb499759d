"""The dashboard's SVG charts: a picture with a title and a description (role img, labelled by
both), every bar numbered with the same figures as the table beside it, every label escaped, and
no inline style (the CSP forbids it)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from bot.web import charts
from bot.web.pages import TEMPLATES
from tests.web_harness import ESCAPED, SCRIPT, coordinator, dashboard, link, seed, sign_in

Sessions = async_sessionmaker[AsyncSession]
SVG = "{http://www.w3.org/2000/svg}"


def svg_of(html: str, chart_id: str) -> ET.Element:
    found = re.search(rf'<svg [^>]*data-testid="{chart_id}".*?</svg>', html, re.S)
    assert found, html
    return ET.fromstring(found.group(0))


def table_of(html: str, chart_id: str) -> list[list[str]]:
    """The chart's table: each body row's header and cells, without the small-screen headings."""
    found = re.search(rf'<table [^>]*data-testid="{chart_id}-table".*?</table>', html, re.S)
    assert found, html
    body = found.group(0).split("<tbody", 1)[1]
    rows = []
    for row in re.findall(r"<tr.*?</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append(
            [re.sub(r"<span[^>]*aria-hidden[^>]*>.*?</span>|<bdi>|</bdi>", "", c).strip() for c in cells]
        )
    return rows


def drawn_rows(svg: ET.Element) -> list[list[str]]:
    """Each row group's name and its bars' numbers, as drawn."""
    rows = []
    for group in svg.iter(f"{SVG}g"):
        texts = group.findall(f"{SVG}text")
        rows.append([texts[0].text or ""] + [t.text or "" for t in texts[1:]])
    return rows


def rendered(chart: charts.Chart) -> str:
    template = TEMPLATES.from_string('{% from "chart.html" import draw %}{{ draw(chart) }}')
    return template.render(chart=chart)


def test_a_chart_has_a_title_a_description_and_the_numbers_of_its_table() -> None:
    t = translator("en")
    made = charts.chart(
        "test-chart",
        t,
        "Things",
        "Bars of things",
        "Thing",
        ["A", "B"],
        [("One", [3, 0]), ("Two", [1200, 7])],
    )
    html = rendered(made)
    svg = svg_of(html, "test-chart")
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "test-chart-title test-chart-desc"
    assert svg.find(f"{SVG}title").text == "Things"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}title").get("id") == "test-chart-title"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").text == "Bars of things"  # type: ignore[union-attr]
    assert drawn_rows(svg) == [["One", "3", "0"], ["Two", "1,200", "7"]]
    assert table_of(html, "test-chart") == drawn_rows(svg)
    heights = [float(rect.get("height", "")) for rect in svg.iter(f"{SVG}rect")]
    assert heights[2] == charts.BAR_HEIGHT and heights[1] == 0 and 0 < heights[0] < heights[3] < 1
    assert "style=" not in html


def test_labels_are_escaped_in_the_picture_and_the_table() -> None:
    t = translator("en")
    made = charts.chart(
        "x", t, f"T {SCRIPT}", f"D {SCRIPT}", "Name", [f"C {SCRIPT}"], [(f"Row {SCRIPT}", [1])]
    )
    html = rendered(made)
    assert "<script" not in html.lower()
    for words in ("T", "D", "C", "Row"):
        assert f"{words} {ESCAPED}" in html
    assert svg_of(html, "x").find(f"{SVG}g/{SVG}text").text == f"Row {SCRIPT}"  # type: ignore[union-attr]


def test_weeks_start_on_monday_on_the_coordinators_clock() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday
    starts = charts.week_starts(now, "Europe/London", weeks=2)
    assert starts == [datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)]
    tokyo = charts.week_starts(now, "Asia/Tokyo", weeks=1)
    assert tokyo == [datetime(2026, 11, 29, 15, tzinfo=UTC)]  # Monday 00:00 in Tokyo


async def test_the_overview_draws_reports_by_topic_over_the_weeks_with_its_table(sessions: Sessions) -> None:
    await seed(sessions)  # three reports in the last 30 days, one before
    async with dashboard(sessions) as client:
        sam = await coordinator(sessions)
        assert (await sign_in(client, await link(sessions, sam))).status == 303
        html = await (await client.get("/")).text()
    svg = svg_of(html, "reports-chart")
    assert svg.find(f"{SVG}title").text == "Topics reported each week, over the last 8 weeks"  # type: ignore[union-attr]
    drawn = drawn_rows(svg)
    assert [row[0] for row in drawn] == ["Vaccinations", "Housing"]
    assert [sum(int(n) for n in row[1:]) for row in drawn] == [3, 1]  # the 31-day-old one too
    assert all(len(row) == 1 + charts.WEEKS for row in drawn)
    assert table_of(html, "reports-chart") == drawn
    assert "style=" not in html
