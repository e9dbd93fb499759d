"""Report figures and files for coordinators: /stats by topic, kind and area with the trend and a
chart, /export and `champbot export insights` as CSV and XLSX (anonymous reporters never named),
and the weekly digest (small numbers suppressed, sent once), in English and Arabic."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Context
from bot.i18n import translator
from handlers import stats
from handlers.digest import digest_job, queue_digest, suppressed
from handlers.insights_state import Insights
from storage import champions, conversation, insight_export, reports
from storage.insight_export import clean
from storage.insight_figures import Counts, Figures
from storage.models import Area, Champion, Report, Status
from storage.report_topics import Topic, load_topics
from storage.reports import Draft, Filters
from tests.conftest import BotHarness, Person, join, make_coordinator
from tests.test_fuzz import TEXTS

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday; this month began 1 Nov 00:00 London (UTC)
ROOT = Path(__file__).resolve().parent.parent
COLUMNS = [
    "reference",
    "created_at",
    "topic_id",
    "topic",
    "core20plus5",
    "kind",
    "people",
    "area",
    "status",
    "language",
    "text",
    "media_kind",
    "media_file_id",
    "champion_name",
    "replies",
]
ONLY = ["Sorry, only coordinators can do that."]
SECRET_NAME = "Zephyrine Quillfeather"
SECRET_ID = 7300451


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """/stats sees NOW as the current time."""
    monkeypatch.setattr("handlers.stats.utcnow", lambda: NOW)
    return NOW


async def report(
    bot: BotHarness,
    person: Person,
    topic: str,
    kind: str,
    when: datetime,
    text: str = "Heard at the school gate",
    *,
    anonymous: bool = True,
    in_area: bool = True,
    status: str = "new",
) -> int:
    """A report from a champion, created at `when`, as the /report flow would store it."""
    async with bot.sessions.begin() as session:
        champion = await champions.by_telegram_id(session, person.id)
        assert champion
        draft = Draft(
            topic=topic,
            kind=kind,
            people="few",
            text=text,
            area_id=champion.area_id if in_area else None,
            anonymous=anonymous,
        )
        made = await reports.create(session, champion, draft)
        made.created_at = when
        made.status = status
        return made.id


async def coordinator(bot: BotHarness, person: Person, language: str) -> None:
    async with bot.sessions.begin() as session:
        await champions.make_coordinator(session, person.id, person.name, language)


def file_of(bot: BotHarness, message: dict[str, object]) -> tuple[str, bytes]:
    """The name and bytes of the document or photo a bot message carries."""
    document = message.get("document")
    if isinstance(document, dict):
        stored = bot.emulator.files[document["file_id"]]
    else:
        photos = message["photo"]
        assert isinstance(photos, list)
        stored = bot.emulator.files[photos[-1]["file_id"]]
    return stored.name, stored.content


async def month_of_reports(bot: BotHarness) -> tuple[Person, Person]:
    """Ana and Ben in Northfield, with reports this month, last month and long ago."""
    ana, ben = bot.person(3101, "Ana"), bot.person(3102, "Ben")
    await join(ana)
    await join(ben)
    day = timedelta(days=1)
    this_month = [
        (ana, "vaccinations", "barrier", NOW - 18 * day, True),
        (ana, "vaccinations", "barrier", NOW - 10 * day, True),
        (ben, "vaccinations", "question", NOW - 2 * day, True),
        (ana, "housing", "idea", NOW - 1 * day, False),  # no area given
    ]
    before = [  # the 19.5 days before 1 November
        (ben, "vaccinations", "works", datetime(2026, 10, 20, tzinfo=UTC), True),
        (ben, "housing", "barrier", datetime(2026, 10, 25, tzinfo=UTC), True),
        (ana, "housing", "barrier", datetime(2026, 10, 30, tzinfo=UTC), True),
    ]
    long_ago = [(ana, "housing", "barrier", datetime(2026, 9, 1, tzinfo=UTC), True)]
    for person, topic, kind, when, in_area in this_month + before + long_ago:
        await report(bot, person, topic, kind, when, in_area=in_area)
    return ana, ben


# ------------------------------------------------------------------------------ /stats


async def test_stats_show_reports_by_topic_kind_and_area_against_the_period_before(
    bot: BotHarness, places: None, clock: datetime
) -> None:
    sam = bot.person(3100, "Sam")
    await make_coordinator(bot, sam)
    await month_of_reports(bot)

    learning, figures, caption = await sam.send("/stats")
    assert learning.startswith("Learning, 3 members:")
    assert figures.splitlines() == [
        "Reports this month: 4 (▲1)",
        "Changes (▲▼) compare with the same length of time just before.",
        "",
        "By topic:",
        "Vaccinations: 3 (▲2)",
        "Housing: 1 (▼1)",
        "",
        "By kind:",
        "A barrier: 2 (=)",
        "What works: 0 (▼1)",
        "A question or concern: 1 (▲1)",
        "An idea: 1 (▲1)",
        "",
        "By area:",
        "Northfield: 3 (=)",
        "No area given: 1 (▲1)",
        "",
        "Active champions: 2",
        "Conversations logged: 0 · people reached: 0",
    ]
    assert sam.buttons() == ["This week", "This month", "Last 30 days"]
    assert caption == "Reports by topic, this month and the time before"
    _name, png = file_of(bot, sam.history[-1])
    assert png.startswith(b"\x89PNG")

    # This week began Monday 16 November: two reports, none in the 4.5 days before.
    figures, caption = await sam.press("This week")
    assert figures.splitlines()[0] == "Reports this week: 2 (▲2)"
    assert "Vaccinations: 1 (▲1)" in figures.splitlines()
    assert caption == "Reports by topic, this week and the week before"
    figures, _caption = await sam.press("Last 30 days")
    assert figures.splitlines()[0] == "Reports in the last 30 days: 6 (▲5)"


async def test_stats_with_no_reports_say_so_and_send_no_chart(
    bot: BotHarness, places: None, clock: datetime
) -> None:
    sam = bot.person(3110, "Sam")
    await make_coordinator(bot, sam)
    _learning, figures = await sam.send("/stats")
    assert figures.splitlines() == [
        "Reports this month: 0 (=)",
        "No reports in this period or the one before.",
        "",
        "Active champions: 0",
        "Conversations logged: 0 · people reached: 0",
    ]
    assert "photo" not in sam.history[-1]


async def test_stats_in_arabic(bot: BotHarness, places: None, clock: datetime) -> None:
    ar = translator("ar")
    layla = bot.person(3120, "Layla", "ar")
    await coordinator(bot, layla, "ar")
    await month_of_reports(bot)
    _learning, figures, caption = await layla.send("/stats")
    lines = figures.splitlines()
    assert lines[0] == ar.gettext("Reports this month: {count} ({change})").format(
        count=ar.number(4), change="▲1"
    )
    vaccinations = stats.topic_label(bot.application.bot_data.topics, "vaccinations", "ar")
    assert (
        ar.gettext("{label}: {count} ({change})").format(label=vaccinations, count=ar.number(3), change="▲2")
        in lines
    )
    assert lines[-2] == ar.gettext("Active champions: {count}").format(count=ar.number(2))
    assert lines[-1] == ar.gettext("Conversations logged: {sessions} · people reached: {people}").format(
        sessions=ar.number(0), people=ar.number(0)
    )
    assert caption == ar.gettext("Reports by topic, this month and the time before")
    assert layla.buttons() == [ar.gettext("This week"), ar.gettext("This month"), ar.gettext("Last 30 days")]
    assert file_of(bot, layla.history[-1])[1].startswith(b"\x89PNG")


def test_the_chart_draws_arabic_and_falls_back_to_english_for_bengali() -> None:
    figures = Figures(
        current=Counts(3, {"vaccinations": 3}, {"barrier": 3}, {None: 3}),
        previous=Counts(1, {"vaccinations": 1}, {"barrier": 1}, {None: 1}),
        active_champions=2,
    )
    topics = [Topic("vaccinations", {"en": "Vaccinations", "ar": "التطعيمات", "bn": "টিকা"})]
    assert stats._renderable(["التطعيمات", "Vaccinations"])
    assert not stats._renderable(["টিকা"])
    # Drawn without a missing-glyph warning (warnings are errors here): Arabic as Arabic, Bengali in English.
    for language in ("ar", "bn"):
        assert stats.topic_chart(translator(language), topics, "month", figures).startswith(b"\x89PNG")


# ------------------------------------------------------------------------------ /export


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode()), "a byte-order mark, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_csv_export_names_only_those_who_shared_their_name(bot: BotHarness, places: None) -> None:
    sam = bot.person(3200, "Sam")
    await make_coordinator(bot, sam)
    secret = bot.person(SECRET_ID, SECRET_NAME)
    await join(secret)
    ben = bot.person(3202, "Ben Open")
    await join(ben)
    when = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    hidden = await report(bot, secret, "vaccinations", "barrier", when, "Clinic times clash with prayers")
    shared = await report(
        bot, ben, "housing", "idea", when + timedelta(hours=1), "=1+1 damp flats", anonymous=False
    )
    async with bot.sessions.begin() as session:
        await reports.reply(session, [shared], "We asked the council to inspect.", None, theme=False)

    assert await sam.send("/export") == ["Export 2 reports (all reports) as a file. Who is it for?"]
    await sam.press("Our organisation")
    assert sam.buttons() == ["CSV", "Excel"]
    assert await sam.press("CSV") == ["2 reports · all reports"]
    name, data = file_of(bot, sam.history[-1])
    assert name.startswith("reports-") and name.endswith(".csv")
    rows = read_csv(data)
    assert rows[0][0].startswith("INTERNAL: not for sharing outside the organisation")
    rows = rows[1:]
    assert rows[0] == COLUMNS
    assert rows[1] == [
        reports.reference(hidden),
        "2026-11-02",  # anonymous: the day only
        "vaccinations",
        "Vaccinations",
        "",
        "barrier",
        "few",
        "Northfield",
        "new",
        "",  # anonymous: no language
        "Clinic times clash with prayers",
        "",
        "",
        "",  # anonymous: no name
        "",
    ]
    assert rows[2][COLUMNS.index("champion_name")] == "Ben Open"
    assert rows[2][COLUMNS.index("created_at")] == "2026-11-02T10:30:00+00:00"  # named: as before
    assert rows[2][COLUMNS.index("language")] == "en"
    assert rows[2][COLUMNS.index("text")] == "'=1+1 damp flats"  # never a spreadsheet formula
    assert rows[2][COLUMNS.index("status")] == "acted"
    assert rows[2][COLUMNS.index("replies")] == "We asked the council to inspect."
    assert len(rows) == 3
    text = data.decode("utf-8-sig")
    assert "Zephyrine" not in text and "Quillfeather" not in text and str(SECRET_ID) not in text


async def test_xlsx_export_opens_with_the_same_columns(bot: BotHarness, places: None) -> None:
    sam = bot.person(3210, "Sam")
    await make_coordinator(bot, sam)
    secret = bot.person(SECRET_ID, SECRET_NAME)
    await join(secret)
    await report(bot, secret, "maternity", "question", datetime(2026, 11, 3, tzinfo=UTC), '=HYPERLINK("x")')
    await sam.send("/export")
    await sam.press("Our organisation")
    assert await sam.press("Excel") == ["1 report · all reports"]
    name, data = file_of(bot, sam.history[-1])
    assert name.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)][1:]  # after the not-for-sharing line
    assert rows[0] == COLUMNS
    assert rows[1][COLUMNS.index("core20plus5")] == "maternity"
    assert rows[1][COLUMNS.index("text")] == '=HYPERLINK("x")'  # kept as text, not a formula
    assert rows[1][COLUMNS.index("champion_name")] in (None, "")
    assert not any(SECRET_NAME in str(cell) or str(SECRET_ID) in str(cell) for row in rows for cell in row)


async def test_export_follows_the_insights_filters_and_says_when_nothing_matches(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(3220, "Sam")
    await make_coordinator(bot, sam)
    assert await sam.send("/export") == ["There are no reports to export (all reports)."]
    await month_of_reports(bot)
    async with bot.sessions.begin() as session:
        await conversation.set_state(
            session, sam.id, "ins:list", Insights(filters=Filters(topic="housing")).stored()
        )
    assert await sam.send("/export") == ["Export 4 reports (Housing) as a file. Who is it for?"]
    await sam.press("Our organisation")
    assert await sam.press("CSV") == ["4 reports · Housing"]
    rows = read_csv(file_of(bot, sam.history[-1])[1])[1:]
    assert {row[COLUMNS.index("topic_id")] for row in rows[1:]} == {"housing"}
    assert len(rows) == 5

    since = datetime(2026, 11, 1, tzinfo=UTC)
    async with bot.sessions.begin() as session:
        filters = Filters(topic="maternity", status="new", since=since)
        await conversation.set_state(session, sam.id, "ins:list", Insights(filters=filters).stored())
    assert await sam.send("/export") == [
        "There are no reports to export (Maternity · new · from Nov 1, 2026)."
    ]


async def test_export_in_arabic(bot: BotHarness, places: None) -> None:
    ar = translator("ar")
    layla = bot.person(3230, "Layla", "ar")
    await coordinator(bot, layla, "ar")
    amal = bot.person(3231, "Amal", "ar")
    await join(amal, language="العربية")
    heard = "سمعت أن اللقاح غير آمن للحوامل"
    await report(bot, amal, "vaccinations", "misinfo", datetime(2026, 11, 4, tzinfo=UTC), heard)
    question = ar.ngettext(
        "Export {count} report ({filters}) as a file. Who is it for?",
        "Export {count} reports ({filters}) as a file. Who is it for?",
        1,
    ).format(count=ar.number(1), filters=ar.gettext("all reports"))
    assert await layla.send("/export") == [question]
    await layla.press(ar.gettext("Our organisation"))
    caption = ar.ngettext("{count} report · {filters}", "{count} reports · {filters}", 1)
    assert await layla.press(ar.gettext("CSV")) == [
        caption.format(count=ar.number(1), filters=ar.gettext("all reports"))
    ]
    rows = read_csv(file_of(bot, layla.history[-1])[1])[1:]
    assert rows[0] == COLUMNS
    assert rows[1][COLUMNS.index("text")] == heard
    assert rows[1][COLUMNS.index("language")] == ""  # anonymous: no language
    assert rows[1][COLUMNS.index("champion_name")] == ""


async def test_champions_cannot_see_stats_or_export(bot: BotHarness, places: None) -> None:
    ana = bot.person(3240, "Ana")
    await join(ana)
    await report(bot, ana, "housing", "barrier", datetime(2026, 11, 5, tzinfo=UTC))
    assert await ana.send("/stats") == ONLY
    assert await ana.send("/export") == ONLY
    last = ana.history[-1]["message_id"]
    assert await ana.press_data(last, "exp:int:csv") == ONLY
    assert await ana.press_data(last, "exp:pt:csv") == ONLY
    assert await ana.press_data(last, "stats:week") == ONLY
    assert not any("document" in m or "photo" in m for m in ana.history)
    ar = translator("ar")
    amal = bot.person(3241, "Amal", "ar")
    await join(amal, language="العربية")
    assert await amal.send("/export") == [ar.gettext("Sorry, only coordinators can do that.")]


@settings(
    max_examples=30,
    deadline=None,
    database=None,  # nothing written to the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(said=TEXTS, name=TEXTS, answer=TEXTS, anonymous=st.booleans())
@example(said="\x00\x07\x1b[31m", name="Zażółć\x1b", answer="\x0b=1+1", anonymous=False)  # ESC, NUL
@example(said="\u202eevil\u202c", name="فاطمة", answer="👩🏽‍⚕️" * 30, anonymous=False)  # RTL, emoji
async def test_anything_a_champion_typed_survives_every_export_and_format(
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    said: str,
    name: str,
    answer: str,
    anonymous: bool,
) -> None:
    """The fuzz suite's inputs (any unicode, control characters such as ESC, right-to-left text,
    emoji, very long) as a report, a shared name and a reply, through the internal and partner
    exports as CSV and XLSX: each file is written and reads back with the text cleaned, not lost."""
    async with sessions.begin() as session:
        for table in (Report, Champion, Area):
            await session.execute(delete(table))
        if session.get_bind().dialect.name == "postgresql":  # its text cannot hold NUL at all
            said, name, answer = (value.replace("\x00", "") for value in (said, name, answer))
        said = said[:4096] or "x"  # as long as the column holds
        area = Area(name="Northfield")
        champion = Champion(
            telegram_id=7300999,
            language="pl",
            status=Status.ACTIVE,
            display_name=name[:64],
            share_consent=True,
        )
        session.add_all([area, champion])
        await session.flush()
        draft = Draft(
            topic="vaccinations",
            kind="barrier",
            people="few",
            text=said,
            area_id=area.id,
            anonymous=anonymous,
        )
        report_id = (await reports.create(session, champion, draft)).id
        await reports.reply(session, [report_id], answer[:4096], None, theme=False)
    topics = load_topics()
    async with sessions() as session:
        internal_csv, partner_csv = io.BytesIO(), io.BytesIO()
        assert await insight_export.write_csv(session, Filters(), topics, internal_csv) == 1
        partner_count = await insight_export.write_partner_csv(
            session, Filters(), topics, partner_csv, with_text=True
        )
        assert partner_count == 1
        assert await insight_export.write_xlsx(session, Filters(), topics, tmp_path / "internal.xlsx") == 1
        assert (
            await insight_export.write_partner_xlsx(
                session, Filters(), topics, tmp_path / "partner.xlsx", with_text=True
            )
            == 1
        )

    def unguarded(cell: str) -> str:  # a CSV cell that would start a formula carries a leading '
        guarded = cell.startswith("'") and cell[1:].startswith(insight_export.FORMULA_START)
        return cell[1:] if guarded else cell

    rows = read_csv(internal_csv.getvalue())
    assert unguarded(rows[2][COLUMNS.index("text")]) == clean(said)
    assert unguarded(rows[2][COLUMNS.index("replies")]) == clean(answer[:4096])
    assert unguarded(rows[2][COLUMNS.index("champion_name")]) == ("" if anonymous else clean(name[:64]))
    partner = read_csv(partner_csv.getvalue())
    assert unguarded(partner[-1][-1]) == clean(said)
    book = openpyxl.load_workbook(tmp_path / "internal.xlsx")
    sheet = book.active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    # A text left empty by cleaning is an empty cell, which openpyxl reads back as None.
    assert (cells[2][COLUMNS.index("text")] or "") == clean(said)
    partner_book = openpyxl.load_workbook(tmp_path / "partner.xlsx")
    partner_cells = [list(row) for row in partner_book["text"].iter_rows(values_only=True)]
    assert (partner_cells[-1][-1] or "") == clean(said)


# ------------------------------------------------------------------- champbot export insights


def champbot(database_url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),  # this checkout's code, whichever one the venv was installed from
        "CHAMPBOT_DATABASE_URL": database_url,
    }
    command = [str(Path(sys.executable).parent / "champbot"), "export", "insights", *args]
    return subprocess.run(command, capture_output=True, env=env, timeout=120)


async def test_champbot_export_insights(
    bot: BotHarness, places: None, database_url: str, tmp_path: Path
) -> None:
    await month_of_reports(bot)
    secret = bot.person(SECRET_ID, SECRET_NAME)
    await join(secret)
    await report(bot, secret, "housing", "barrier", datetime(2026, 10, 26, tzinfo=UTC))

    result = await asyncio.to_thread(
        champbot, database_url, "--topic", "housing", "--since", "2026-10-25", "--until", "2026-10-30"
    )
    assert result.returncode == 0, result.stderr
    rows = read_csv(result.stdout)
    assert rows[0][0].startswith("INTERNAL: not for sharing outside the organisation")
    rows = rows[1:]
    assert rows[0] == COLUMNS
    assert [row[COLUMNS.index("created_at")][:10] for row in rows[1:]] == [
        "2026-10-25",
        "2026-10-30",
        "2026-10-26",
    ]
    assert SECRET_NAME.encode() not in result.stdout
    assert result.stderr.decode().strip() == "Exported 3 report(s)."

    output = tmp_path / "insights.xlsx"
    result = await asyncio.to_thread(
        champbot, database_url, "--format", "xlsx", "--output", str(output), "--area", "Northfield"
    )
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(output).active
    assert sheet is not None and sheet.max_row == 2 + 8  # all but the report with no area

    wrong = await asyncio.to_thread(champbot, database_url, "--kind", "rumour")
    assert wrong.returncode != 0
    assert wrong.stderr.decode().strip() == (
        "Error: --kind 'rumour' is not known; use one of: barrier, works, question, misinfo, idea, success, "
        "concern"
    )
    assert b"--since" in (await asyncio.to_thread(champbot, database_url, "--help")).stdout
    nowhere = await asyncio.to_thread(champbot, database_url, "--area", "Atlantis")
    assert nowhere.returncode != 0 and "--area 'Atlantis': no area with that name" in nowhere.stderr.decode()


# ------------------------------------------------------------------------- weekly digest


async def test_weekly_digest_goes_once_to_each_coordinator_in_their_language(
    bot: BotHarness, places: None
) -> None:
    assert bot.application.job_queue
    assert digest_job.__name__ in [job.name for job in bot.application.job_queue.jobs()]
    sam = bot.person(3300, "Sam")
    await make_coordinator(bot, sam)
    layla = bot.person(3301, "Layla", "ar")
    await coordinator(bot, layla, "ar")
    for person in (sam, layla):  # the bot can message only people who have written to it
        await person.send("/help")
    ana = bot.person(3302, "Ana")
    await join(ana)
    # Monday 23 November 09:05 London: the digest covers Monday 16 09:00 to Monday 23 09:00.
    monday = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    in_week = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    for minute in range(6):
        await report(bot, ana, "vaccinations", "barrier", in_week + timedelta(minutes=minute), status="seen")
    await report(bot, ana, "housing", "idea", in_week, "Use the mosque hall\nfor the clinic")
    newest = await report(bot, ana, "housing", "idea", in_week + timedelta(days=1), "x" * 80, anonymous=False)
    older = await report(bot, ana, "maternity", "question", datetime(2026, 11, 1, tzinfo=UTC))

    context = Context(bot.application)
    assert await queue_digest(context, monday - timedelta(minutes=10)) == 2  # last week's
    await bot.deliver(now=monday - timedelta(minutes=10))  # a week's digest goes until the next is due
    assert await queue_digest(context, monday - timedelta(minutes=9)) == 0
    # Two workers at once: exactly one queues it; a restart later the same morning queues nothing.
    runs = await asyncio.gather(*(queue_digest(context, monday) for _ in range(2)))
    assert sorted(runs) == [0, 2]
    await bot.restart()
    context = Context(bot.application)
    assert await queue_digest(context, monday + timedelta(hours=2)) == 0
    await bot.deliver(now=monday + timedelta(hours=2))

    text = sam.history[-1]["text"].replace("\u2068", "").replace("\u2069", "")
    reference = reports.reference
    assert text.splitlines() == [
        "Weekly digest: reports from Nov 16, 2026 to Nov 22, 2026",
        "Reports last week: 8",
        "",
        "By topic:",
        "Vaccinations: 6",
        "Housing: <5",
        "",
        "By kind:",
        "A barrier: 6",
        "An idea: <5",
        "",
        "3 new reports are waiting for review:",
        f"{reference(newest)} · Housing · {'x' * 59}…",
        f"{reference(newest - 1)} · Housing · Use the mosque hall for the clinic",
        f"{reference(older)} · Maternity · Heard at the school gate",
        "",
        "Open /insights to review them.",
    ]
    assert "Ana" not in text
    ar = translator("ar")
    arabic = layla.history[-1]["text"]
    assert arabic.splitlines()[1] == ar.gettext("Reports last week: {count}").format(count=ar.number(8))
    assert f"{ar.gettext('An idea')}: {suppressed(ar, 2)}" in arabic.splitlines()
    assert arabic.splitlines()[-1] == ar.gettext("Open /insights to review them.")
    assert not any("Weekly digest" in (m.get("text") or "") for m in ana.history)

    # A week later it goes again.
    assert await queue_digest(context, monday + timedelta(days=7)) == 2
    await bot.deliver(now=monday + timedelta(days=7))
    assert sam.history[-1]["text"].splitlines()[1] == "Reports last week: 0"
