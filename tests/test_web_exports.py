"""The dashboard's Exports page: the chat's /export files (the same function writes both), for the
organisation or for partners, as CSV or Excel, for a period in the coordinator's time zone; a bad
period refused with a clear message, a form without its CSRF token refused, every download in the
audit log, and what a champion typed kept as text that no spreadsheet runs."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import load_report_topics
from handlers.stats import period_bounds
from storage import champions, insight_export
from storage.reports import Filters
from tests.conftest import BotHarness, join, make_coordinator
from tests.test_insights import add_report
from tests.test_privacy import PARTNER_HEADER, consenting_and_not, core, csv_rows, export
from tests.web_harness import SCRIPT, audit_log, csrf_of, dashboard, link, sign_in

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[Any, Any]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday in November, London on UTC
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALL_OF_IT = {"period": "dates", "from": "2026-10-01", "to": "2026-11-30"}  # every report of the seed


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The dashboard and the chat see NOW as the current time."""
    for where in ("bot.web.exports.utcnow", "handlers.export.utcnow"):
        monkeypatch.setattr(where, lambda: NOW)
    return NOW


async def signed_in(sessions: Sessions, client: Client, telegram_id: int) -> tuple[int, str]:
    """Sign in the coordinator with this Telegram id; their champion id and the form's CSRF token."""
    async with sessions() as session:
        champion = await champions.by_telegram_id(session, telegram_id)
        assert champion is not None
    assert (await sign_in(client, await link(sessions, champion.id))).status == 303
    page = await client.get("/exports")
    assert page.status == 200
    return champion.id, csrf_of(await page.text())


async def download(client: Client, csrf: str, kind: str, fmt: str, **period: str) -> ClientResponse:
    return await client.post("/exports", data={"csrf": csrf, "kind": kind, "format": fmt, **period})


def xlsx_sheets(data: bytes) -> dict[str, list[list[str]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {
        sheet.title: [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
        for sheet in book.worksheets
    }


def exported(log: list[tuple[str, int | None, str | None]]) -> list[str | None]:
    return [detail for action, _who, detail in log if action == "exported"]


@pytest.mark.parametrize(
    ("kind", "presses"),
    [
        ("internal", ("Our organisation",)),
        ("partner", ("For partners", "Counts only")),
        ("partner_text", ("For partners", "With what they wrote")),
    ],
)
async def test_each_kind_and_format_is_the_file_the_chat_sends(
    bot: BotHarness, places: None, clock: datetime, kind: str, presses: tuple[str, ...]
) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    await consenting_and_not(bot)  # reports on 30 October and 1–9 November 2026
    prefix = "reports-" if kind == "internal" else "partner-reports-"
    async with dashboard(bot.sessions) as client:
        sam_id, csrf = await signed_in(bot.sessions, client, sam.id)
        for fmt, label, content_type in (("csv", "CSV", "text/csv"), ("xlsx", "Excel", XLSX)):
            chat_name, chat_file = await export(bot, sam, *presses, label)
            answer = await download(client, csrf, kind, fmt, **ALL_OF_IT)
            assert answer.status == 200
            assert answer.content_type == content_type
            if fmt == "csv":
                assert answer.charset == "utf-8"
            name = f"{prefix}2026-11-20.{fmt}"
            assert answer.headers["Content-Disposition"] == f'attachment; filename="{name}"'
            assert chat_name == name
            body = await answer.read()
            assert answer.headers["Content-Length"] == str(len(body))
            if fmt == "csv":
                assert body == chat_file  # byte for byte the chat's file
            else:
                assert xlsx_sheets(body) == xlsx_sheets(chat_file)
    period = f"dates {ALL_OF_IT['from']}..{ALL_OF_IT['to']}"
    assert exported(await audit_log(bot.sessions)) == [f"{kind} csv {period}", f"{kind} xlsx {period}"]
    assert ("exported", sam_id, f"{kind} csv {period}") in await audit_log(bot.sessions)


async def test_a_named_period_exports_the_reports_the_same_function_writes_for_it(
    bot: BotHarness, places: None, clock: datetime, tmp_path: Any
) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    await consenting_and_not(bot)
    since, until = period_bounds("month", NOW, "Europe/London")
    async with bot.sessions() as session:
        expected = tmp_path / "expected.csv"
        count = await insight_export.write_file(
            session, Filters(since=since, until=until), load_report_topics(), expected, "csv", partner=False
        )
    assert count == 9  # November's: October's one report is left out
    async with dashboard(bot.sessions) as client:
        _sam, csrf = await signed_in(bot.sessions, client, sam.id)
        answer = await download(client, csrf, "internal", "csv", period="month")
        body = await answer.read()
    assert body == expected.read_bytes()
    assert len(csv_rows(body)) == 2 + 9  # the not-for-sharing line, the header, the reports
    assert exported(await audit_log(bot.sessions)) == ["internal csv month 2026-11-01..2026-11-20"]


async def test_the_partner_export_suppresses_small_numbers_and_drops_those_who_do_not_agree(
    bot: BotHarness, places: None, clock: datetime
) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    await consenting_and_not(bot)  # Cy does not agree to sharing
    async with dashboard(bot.sessions) as client:
        _sam, csrf = await signed_in(bot.sessions, client, sam.id)
        counts = csv_rows(await (await download(client, csrf, "partner", "csv", **ALL_OF_IT)).read())
        words = await (await download(client, csrf, "partner_text", "csv", **ALL_OF_IT)).read()
    assert counts[1:] == [
        PARTNER_HEADER,
        ["2026-10", "vaccinations", "Vaccinations", core("vaccinations"), "barrier", "Northfield", "<5"],
        ["2026-11", "housing", "Housing", core("housing"), "idea", "Northfield", "<5"],
        ["2026-11", "vaccinations", "Vaccinations", core("vaccinations"), "barrier", "Northfield", "5"],
    ]
    text = words.decode("utf-8-sig")
    assert "Ana heard 1" in text and "Damp in the flats" in text
    assert "Cy secret" not in text and "Cy Nope" not in text and "Ana Yes" not in text
    assert "R-" not in text  # no reference
    assert "2026-11-01" not in text  # the month only


async def test_a_partner_export_with_no_one_agreeing_says_so_and_sends_nothing(
    bot: BotHarness, places: None, clock: datetime
) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    cy = bot.person(8103, "Cy Nope")
    await join(cy)
    await cy.send("/privacy")
    await cy.press("Stop sharing")
    await add_report(bot, cy, "Cy secret", when=datetime(2026, 11, 3, tzinfo=UTC))
    async with dashboard(bot.sessions) as client:
        _sam, csrf = await signed_in(bot.sessions, client, sam.id)
        partner = await download(client, csrf, "partner_text", "xlsx", **ALL_OF_IT)
        nothing = await download(client, csrf, "internal", "csv", period="week")  # 16–20 November
        partner_html, nothing_html = await partner.text(), await nothing.text()
    assert partner.status == 200 and partner.content_type == "text/html"
    assert "None of these reports may be shared with partners" in partner_html
    assert "Cy secret" not in partner_html
    assert nothing.status == 200
    assert "There are no reports to export (from Nov 16, 2026 · before Nov 20, 2026)." in nothing_html
    assert 'value="week" checked' in nothing_html  # what was chosen stays chosen
    assert exported(await audit_log(bot.sessions)) == []


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        ({"period": "decade"}, "Choose which reports to export.", "period"),
        (
            {"period": "dates", "from": "2026-13-01", "to": "2026-11-30"},
            "Enter the first day as a date",
            "from",
        ),
        (
            {"period": "dates", "from": "2026-11-01"},
            "Enter the last day as a date, for example 2026-11-20.",
            "to",
        ),
        (
            {"period": "dates", "from": "2026-11-30", "to": "2026-11-01"},
            "The last day must be the same as the first day or after it.",
            "to",
        ),
        (
            {"period": "dates", "from": "0001-01-01", "to": "9999-12-31"},
            "Enter the first day as a date",
            "from",
        ),
        ({"period": "dates", "from": SCRIPT, "to": "2026-11-30"}, "Enter the first day as a date", "from"),
        ({"period": "month", "kind": "everything"}, "Choose who the file is for.", "kind"),
        ({"period": "month", "format": "pdf"}, "Choose CSV or Excel.", "format"),
    ],
)
async def test_a_bad_choice_is_refused_with_a_clear_message_beside_its_field(
    bot: BotHarness, places: None, clock: datetime, fields: dict[str, str], message: str, field: str
) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    await consenting_and_not(bot)
    async with dashboard(bot.sessions) as client:
        _sam, csrf = await signed_in(bot.sessions, client, sam.id)
        answer = await client.post(
            "/exports", data={"csrf": csrf, "kind": "internal", "format": "csv", **fields}
        )
        html = await answer.text()
    assert answer.status == 400
    assert answer.content_type == "text/html"
    assert "<title>Error: Exports" in html and "There is a problem" in html
    assert f'<li><a href="#{field}">{message}' in html  # in the summary, linked to its field
    assert f'id="{field}-error"' in html and f'aria-describedby="{field}-error"' in html
    assert "<script" not in html.lower()  # what was typed comes back escaped
    assert "Ana heard" not in html
    assert exported(await audit_log(bot.sessions)) == []


@pytest.mark.parametrize("csrf", [None, "made-up"])
async def test_a_form_without_its_csrf_token_exports_nothing(
    bot: BotHarness, places: None, clock: datetime, csrf: str | None
) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    await consenting_and_not(bot)
    async with dashboard(bot.sessions) as client:
        await signed_in(bot.sessions, client, sam.id)
        data = {"kind": "internal", "format": "csv", **ALL_OF_IT}
        if csrf is not None:
            data["csrf"] = csrf
        answer = await client.post("/exports", data=data)
        html = await answer.text()
    assert answer.status == 403
    assert "This form was not accepted" in html and "Ana heard" not in html
    assert exported(await audit_log(bot.sessions)) == []


async def test_not_signed_in_sees_the_sign_in_page_and_no_file(
    bot: BotHarness, places: None, clock: datetime
) -> None:
    ana = bot.person(8101, "Ana")
    await join(ana)
    await add_report(bot, ana, "Ana heard", when=datetime(2026, 11, 3, tzinfo=UTC))
    async with dashboard(bot.sessions) as client:
        page = await client.get("/exports")
        posted = await client.post("/exports", data={"kind": "internal", "format": "csv", **ALL_OF_IT})
        for answer in (page, posted):
            html = await answer.text()
            assert answer.content_type == "text/html"
            assert "<h1>Sign in</h1>" in html and "Ana heard" not in html
    assert exported(await audit_log(bot.sessions)) == []


async def test_the_choice_page_asks_whom_which_format_and_which_reports(
    bot: BotHarness, clock: datetime
) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    async with dashboard(bot.sessions) as client:
        sam_id, _csrf = await signed_in(bot.sessions, client, sam.id)
        html = await (await client.get("/exports")).text()
    assert 'href="exports" aria-current="page"' in html
    assert '<form action="exports" method="post"' in html
    for legend in ("Who is the file for?", "Format", "Which reports?"):
        assert f'<h2 class="nhsuk-fieldset__heading">{legend}</h2>' in html
    for label in (
        "Our organisation",
        "Partners: counts only",
        "Partners: counts and what was written",
        "CSV",
        "Excel",
        "This week",
        "This month",
        "Last 30 days",
        "Between two dates",
    ):
        assert f">{label}</label>" in html
    assert 'value="internal" aria-describedby="kind-hint" checked' in html
    assert 'value="month" checked' in html
    assert "Days in your time zone (Europe/London), both included. For example, 2026-11-20." in html
    assert ("viewed", sam_id, "exports") in await audit_log(bot.sessions)


async def test_what_a_champion_typed_is_text_in_the_file_and_never_a_formula(
    bot: BotHarness, places: None, clock: datetime
) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(8101, "Ana")
    await join(ana)
    typed = [SCRIPT, '=HYPERLINK("http://x")', "+1 more", "-2 less", "@SUM(A1)"]
    for day, text in enumerate(typed, start=1):
        await add_report(bot, ana, text, when=datetime(2026, 11, day, tzinfo=UTC))
    async with dashboard(bot.sessions) as client:
        _sam, csrf = await signed_in(bot.sessions, client, sam.id)
        answer = await download(client, csrf, "internal", "csv", **ALL_OF_IT)
        assert answer.content_type == "text/csv"  # a file, never a page a browser runs
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        rows = csv_rows(await answer.read())
        book = openpyxl.load_workbook(
            io.BytesIO(await (await download(client, csrf, "internal", "xlsx", **ALL_OF_IT)).read())
        )
    text_column = rows[1].index("text")
    assert [row[text_column] for row in rows[2:]] == [
        SCRIPT,
        '\'=HYPERLINK("http://x")',
        "'+1 more",
        "'-2 less",
        "'@SUM(A1)",
    ]
    sheet = book.active
    assert sheet is not None
    cells = [row[text_column] for row in sheet.iter_rows(min_row=3)]
    assert [cell.value for cell in cells] == typed
    assert {cell.data_type for cell in cells} == {"s"}  # text, not formulas
