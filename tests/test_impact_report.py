"""The impact report's page: small counts hidden wherever shown (and changes that would give them
away), what people typed escaped, the language and direction, a period with nothing in it; and
`champbot report impact` with a good period, a bad one, an empty one, and its --help."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import load_report_topics
from bot.i18n import translator
from bot.impact_report import render, write
from storage import impact
from storage.impact import Change, Impact, ThemeDone
from storage.models import ThemeStep
from storage.periods import parse_period
from storage.stories import Shown
from tests.impact_seed import ESCAPED, SCRIPT, Sessions, at, logged, person, reported, story, theme

ROOT = Path(__file__).resolve().parents[1]
TOPICS = load_report_topics()
MADE = datetime(2027, 4, 2, tzinfo=UTC)


def figures(**changes: Change) -> Impact:
    zero = Change(0, 0)
    period = parse_period("2027-Q1")
    values = {
        name: changes.get(name, zero)
        for name in ("reports", "champions", "conversations", "people", "messages", "shared")
    }
    return Impact(period, impact.previous(period), by_month={m: {} for m in period.months()}, **values)


def cells(html: str, label: str) -> list[str]:
    """The headline row's cells after its label."""
    row = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", html, re.S)
    assert row, html
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))


def test_small_counts_and_the_changes_that_would_give_them_away_are_hidden() -> None:
    shown = figures(
        reports=Change(12, 7),
        champions=Change(3, 9),
        conversations=Change(0, 5),
        people=Change(40, 4),
        messages=Change(5, 0),
    )
    shown = dataclasses.replace(
        shown,
        themes=[
            ThemeDone("Queues", ThemeStep.PLAN, 2, [], None),
            ThemeDone("Jabs", ThemeStep.ACT, 8, [], None),
        ],
    )
    html = render(translator("en"), TOPICS, shown, MADE)
    assert cells(html, "Reports from champions") == ["12", "7", "▲5"]
    assert cells(html, "Champions active") == ["&lt;5", "9", "–"]
    assert cells(html, "Conversations logged") == ["0", "5", "▼5"]
    assert cells(html, "People reached in conversations") == ["40", "&lt;5", "–"]
    assert cells(html, "Messages sent to champions") == ["5", "0", "▲5"]
    assert "Reports in this theme: &lt;5" in html and "Reports in this theme: 8" in html
    for hidden in ("Reports in this theme: 2", ">3<", ">4<", "▼6", "▲36"):
        assert hidden not in html


def chart_rows(html: str) -> list[list[str]]:
    """The chart's table: each row's label and numbers."""
    table = html[html.index('data-testid="impact-chart-table"') :]
    rows = re.findall(r"<tr class=\"nhsuk-table__row\">(.*?)</tr>", table, re.S)
    return [re.findall(r"<bdi>([^<]*)</bdi>", row) + re.findall(r"</span>([^<]*)</td>", row) for row in rows]


def test_the_chart_shows_no_small_count_even_added_up() -> None:
    by_month = {
        "2027-01": {"vaccinations": 6, "gp-access": 3, "maternity": 2},
        "2027-02": {"housing": 7},
        "2027-03": {"housing": 5, "gp-access": 1, "maternity": 4},
    }
    shown = dataclasses.replace(figures(reports=Change(28, 0)), by_month=by_month)
    html = render(translator("en"), TOPICS, shown, MADE)
    assert chart_rows(html) == [
        ["Housing", "0", "7", "5"],
        ["Vaccinations", "6", "0", "0"],
        ["Other topics", "5", "0", "5"],  # GP access and maternity, each with a small count
    ]
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert re.findall(r'text-anchor="middle">([^<]*)</text>', svg)[:9] == [
        "0",
        "7",
        "5",
        "6",
        "0",
        "0",
        "5",
        "0",
        "5",
    ]
    del by_month["2027-01"]["maternity"], by_month["2027-03"]["maternity"]
    html = render(translator("en"), TOPICS, dataclasses.replace(shown, by_month=by_month), MADE)
    assert [row[0] for row in chart_rows(html)] == ["Housing", "Vaccinations"]  # other topics: 3, 1
    only_small = {"2027-01": {"gp-access": 3}, "2027-02": {}, "2027-03": {}}
    html = render(translator("en"), TOPICS, dataclasses.replace(shown, by_month=only_small), MADE)
    assert "<svg" not in html and "Too few reports on each topic to show them month by month." in html


def test_what_people_typed_is_escaped() -> None:
    shown = dataclasses.replace(
        figures(reports=Change(6, 0)),
        themes=[ThemeDone(f"Queues {SCRIPT}", ThemeStep.ACT, 6, [f"Call-backs {SCRIPT}"], f"Fixed {SCRIPT}")],
        stories=[Shown(f"A mum {SCRIPT}", "vaccinations", "2027-02")],
    )
    html = render(translator("en"), TOPICS, shown, MADE)
    assert "<script" not in html
    assert html.count(ESCAPED) == 4
    assert f'Outcome:</strong> <bdi class="impact-said">Fixed {ESCAPED}' in html


def test_the_report_is_in_the_language_chosen_and_right_to_left_where_written_so() -> None:
    html = render(translator("ar"), TOPICS, figures(reports=Change(6, 0)), MADE)
    assert '<html lang="ar" dir="rtl">' in html
    assert render(translator("pl"), TOPICS, figures(), MADE).startswith(
        '<!DOCTYPE html>\n<html lang="pl" dir="ltr">'
    )
    english = render(translator("en"), TOPICS, figures(), MADE)
    assert "January 1, 2027 to March 31, 2027" in english  # Babel's "en", as the dashboard
    assert "Period before (2026-Q4)" in english
    assert "<link" not in english and "src=" not in english  # self-contained


def test_an_empty_period_says_there_is_nothing_yet() -> None:
    html = render(translator("en"), TOPICS, figures(), MADE)
    assert "Nothing has been recorded for this period yet." in html
    assert "No reports that may be shared in this period." in html
    assert "<svg" not in html
    assert "No themes were worked on in this period." in html
    assert "No success stories for this period." in html


def champbot(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "CHAMPBOT_DATABASE_URL": database_url}
    command = [str(Path(sys.executable).parent / "champbot"), "report", "impact", *args]
    return subprocess.run(command, capture_output=True, env=env, timeout=120, text=True, cwd=cwd)


async def test_champbot_report_impact(sessions: Sessions, database_url: str, tmp_path: Path) -> None:
    async with sessions.begin() as session:
        sharing = await person(session, 1, share=True, name="Ana Secret")
        private = await person(session, 2, share=False, name="Ben Secret")
        ids = [await reported(session, sharing, at(2027, 2), "vaccinations") for _ in range(6)]
        await reported(session, private, at(2027, 2), "vaccinations", text="Private words")
        await logged(session, sharing, at(2027, 3), 30)
        await theme(
            session, f"Jab clinic hours {SCRIPT}", ids, outcome=f"Saturday clinic {SCRIPT}", shared=True
        )
        await story(session, ids[0], f"A dad booked his jab {SCRIPT}")
    output = tmp_path / "q1.html"
    result = await asyncio.to_thread(
        champbot, database_url, tmp_path, "--period", "2027-Q1", "-o", str(output)
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"Wrote the impact report for 2027-Q1 to {output}."
    html = output.read_text()
    assert cells(html, "Reports from champions") == ["6", "0", "▲6"]
    assert cells(html, "People reached in conversations") == ["30", "0", "▲30"]
    assert f"A dad booked his jab {ESCAPED}" in html and f"Saturday clinic {ESCAPED}" in html
    assert "<script" not in html
    for secret in ("Secret", "Private words", "R-10"):
        assert secret not in html
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left

    urdu = await asyncio.to_thread(
        champbot, database_url, tmp_path, "--period", "2027-Q1", "--language", "ur"
    )
    assert urdu.returncode == 0, urdu.stderr
    assert '<html lang="ur" dir="rtl">' in (tmp_path / "impact-2027-Q1.html").read_text()

    empty = await asyncio.to_thread(champbot, database_url, tmp_path, "--period", "2030-02")
    assert empty.returncode == 0, empty.stderr
    assert "Nothing has been recorded for this period yet." in (tmp_path / "impact-2030-02.html").read_text()


async def test_champbot_report_impact_refuses_a_bad_period(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"  # refused before it is opened
    for bad in ("2027-Q5", "March 2027"):
        result = await asyncio.to_thread(champbot, database_url, tmp_path, "--period", bad)
        assert result.returncode == 2, result.stderr
        assert "Invalid value for --period" in result.stderr
        assert "a quarter like 2027-Q1, a month like 2027-03, or a year like 2027" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the database
    helped = await asyncio.to_thread(champbot, database_url, tmp_path, "--help")
    assert helped.returncode == 0
    assert "--period" in helped.stdout and "PARTNERS" in helped.stdout and ".pdf" in helped.stdout


class FakeWeasyPrint:
    """Stands in for WeasyPrint (not a dependency): HTML(string=...).write_pdf() gives bytes."""

    class HTML:
        def __init__(self, string: str) -> None:
            self.string = string

        def write_pdf(self) -> bytes:
            return b"%PDF-1.7 " + self.string[:15].encode()


def test_a_pdf_is_written_where_weasyprint_is_installed_and_refused_clearly_where_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = render(translator("en"), TOPICS, figures(), MADE)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # importing it raises ImportError
    with pytest.raises(RuntimeError, match="a PDF needs WeasyPrint installed"):
        write(tmp_path / "impact.pdf", html)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setitem(sys.modules, "weasyprint", FakeWeasyPrint)
    write(tmp_path / "impact.pdf", html)
    assert (tmp_path / "impact.pdf").read_bytes() == b"%PDF-1.7 <!DOCTYPE html>"
    assert [p.name for p in tmp_path.iterdir()] == ["impact.pdf"]
