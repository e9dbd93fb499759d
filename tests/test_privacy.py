"""Anonymity and consent on every coordinator path: nothing a coordinator sees or exports singles out
an anonymous reporter (no count of people, no language, no exact time), and what may leave the
organisation (the partner export, in the chat and the CLI) holds only reports whose champions
currently agree to sharing, counted with small numbers suppressed and without identifiers."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.context import Context
from bot.i18n import LANGUAGES, translator
from handlers.digest import queue_digest
from storage import broadcasts, reports
from storage.audience import Audience
from storage.report_topics import load_topics
from tests.conftest import BotHarness, Person, join, make_coordinator, texts
from tests.test_broadcast_chat import EN, PL, deliver
from tests.test_insights import add_report

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ANONYMOUS_AT = datetime(2026, 11, 18, 9, 37, tzinfo=UTC)  # 9:37 in London in November
NAMED_AT = datetime(2026, 11, 18, 10, 41, tzinfo=UTC)
POLISH = "Ludzie mówią, że przychodnia jest za daleko."
ROOT = Path(__file__).resolve().parent.parent
INTERNAL_FIRST = "INTERNAL: not for sharing outside the organisation"


def document(bot: BotHarness, person: Person) -> tuple[str, bytes]:
    """The name and bytes of the newest file the bot sent this person."""
    message = next(m for m in reversed(person.history) if "document" in m)
    stored = bot.emulator.files[message["document"]["file_id"]]
    return stored.name, stored.content


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_rows(data: bytes, sheet: str | None = None) -> list[list[str]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    found = book[sheet] if sheet else book.active
    assert found is not None
    return [["" if cell is None else str(cell) for cell in row] for row in found.iter_rows(values_only=True)]


async def export(bot: BotHarness, person: Person, *presses: str) -> tuple[str, bytes]:
    """/export, press each label in turn, and return the file sent."""
    await person.send("/export")
    for label in presses:
        await person.press(label)
    return document(bot, person)


async def test_nothing_a_coordinator_sees_or_exports_singles_out_an_anonymous_reporter(
    bot: BotHarness, places: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.stats.utcnow", lambda: NOW)
    sam = bot.person(8001, "Sam")
    await make_coordinator(bot, sam)
    kasia = bot.person(8002, "Kasia", "pl")
    await join(kasia, LANGUAGES["pl"])
    ben = bot.person(8003, "Ben")
    await join(ben)
    anonymous = await add_report(bot, kasia, POLISH, when=ANONYMOUS_AT)
    await add_report(bot, ben, "The bus stops before the clinic opens.", anonymous=False, when=NAMED_AT)

    await sam.send("/insights")
    await sam.press("Filter")
    await sam.press("Topic")
    await sam.press("Vaccinations")  # one filter shows both reports
    await sam.press(reports.reference(anonymous))
    await sam.press("Respond")
    await sam.send("We asked for an earlier bus.")  # the respond-to-one confirm screen
    await sam.press("Cancel")
    await sam.press("Respond to all")
    await sam.send("Thank you all.")  # the respond-to-all confirm screen
    await sam.press("Cancel")
    await sam.send("/stats")
    digest_time = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    assert await queue_digest(Context(bot.application), digest_time)
    await bot.deliver(now=digest_time)
    files = [
        csv_rows((await export(bot, sam, "Our organisation", "CSV"))[1]),
        xlsx_rows((await export(bot, sam, "Our organisation", "Excel"))[1]),
        csv_rows((await export(bot, sam, "For partners", "With what they wrote", "CSV"))[1]),
        xlsx_rows((await export(bot, sam, "For partners", "With what they wrote", "Excel"))[1], "text"),
    ]

    shown = texts([m for m in sam.history if m.get("from_bot")])
    everything = "\n".join(shown + ["\t".join(row) for rows in files for row in rows])
    assert POLISH in everything  # the report itself is there to see ...
    # ... but not its reporter's language (by code, name, or a preview in it),
    assert not re.search(r"\bpl\b", everything, re.IGNORECASE)
    assert "Polski" not in everything and "Polish" not in everything
    polish_thanks = translator("pl").gettext("Thank you for telling us what you heard.")
    assert polish_thanks != "Thank you for telling us what you heard."
    assert polish_thanks not in everything
    # ... nor when it was sent to the minute (the named report keeps its time),
    assert "9:37" not in everything
    assert "10:41" in everything
    # ... nor how many people sent what the coordinator sees.
    assert not re.search(r"\d+ champions?\b", everything, re.IGNORECASE)
    assert "Champions who reported" not in everything
    internal = files[0]
    (row,) = [r for r in internal if reports.reference(anonymous) in r]
    assert row[internal[1].index("created_at")] == "2026-11-18"
    assert row[internal[1].index("language")] == ""


async def consenting_and_not(bot: BotHarness) -> tuple[Person, Person, Person]:
    """Ana and Ben agree to sharing, Cy does not; reports in October and November 2026."""
    ana, ben, cy = bot.person(8101, "Ana Yes"), bot.person(8102, "Ben Yes"), bot.person(8103, "Cy Nope")
    for person in (ana, ben, cy):
        await join(person)  # the first answer to the sharing question is yes
    await cy.send("/privacy")
    assert await cy.press("Stop sharing") == ["Thank you, your choice is saved."]
    for day in range(1, 6):
        await add_report(bot, ana, f"Ana heard {day}", when=datetime(2026, 11, day, 8, tzinfo=UTC))
    await add_report(
        bot, ben, "Damp in the flats", topic="housing", kind="idea", when=datetime(2026, 11, 9, tzinfo=UTC)
    )
    await add_report(bot, ben, "Ben heard in October", when=datetime(2026, 10, 30, 23, tzinfo=UTC))
    for day in range(1, 4):
        await add_report(bot, cy, f"Cy secret {day}", when=datetime(2026, 11, day, tzinfo=UTC))
    return ana, ben, cy


def core(topic_id: str) -> str:
    topic = next(t for t in load_topics(languages=tuple(LANGUAGES)) if t.id == topic_id)
    return topic.core20plus5 or ""


PARTNER_HEADER = ["month", "topic_id", "topic", "core20plus5", "kind", "area", "reports"]
TEXT_HEADER = ["month", "topic_id", "topic", "core20plus5", "kind", "area", "text"]


def assert_no_identifiers(rows: list[list[str]]) -> None:
    flat = "\t".join("\t".join(row) for row in rows)
    assert "R-" not in flat and "Cy secret" not in flat
    assert not any(name in flat for name in ("Ana Yes", "Ben Yes", "Cy Nope"))
    assert not any(cell in LANGUAGES for row in rows for cell in row)  # no language column


async def test_the_partner_export_counts_only_consenting_reporters(bot: BotHarness, places: None) -> None:
    sam = bot.person(8100, "Sam")
    await make_coordinator(bot, sam)
    ana, ben, _cy = await consenting_and_not(bot)
    assert await sam.send("/export") == ["Export 10 reports (all reports) as a file. Who is it for?"]
    assert sam.buttons() == ["Our organisation", "For partners"]
    assert await sam.press("For partners") == [
        "For partners: only the 7 reports whose champions agree to sharing, counted by month, topic, "
        "kind and area, counts under 5 shown as “<5”, with no names, references or exact dates. "
        "Include what those champions wrote (with its month only)?"
    ]
    assert sam.buttons() == ["Counts only", "With what they wrote"]
    assert await sam.press("Counts only") == ["Which format?"]
    assert await sam.press("CSV") == ["For partners: 7 reports · all reports"]
    name, data = document(bot, sam)
    assert name.startswith("partner-reports-") and name.endswith(".csv")
    rows = csv_rows(data)
    assert rows[0][0].startswith("For partners:")
    assert rows[1:] == [
        PARTNER_HEADER,
        ["2026-10", "vaccinations", "Vaccinations", core("vaccinations"), "barrier", "Northfield", "<5"],
        ["2026-11", "housing", "Housing", core("housing"), "idea", "Northfield", "<5"],
        ["2026-11", "vaccinations", "Vaccinations", core("vaccinations"), "barrier", "Northfield", "5"],
    ]
    assert_no_identifiers(rows)
    assert "Ana heard" not in data.decode("utf-8-sig")  # no free text unless asked for

    # Ana withdraws: her reports leave every later partner export.
    await ana.send("/privacy")
    await ana.press("Stop sharing")
    _name, data = await export(bot, sam, "For partners", "With what they wrote", "Excel")
    counts = xlsx_rows(data, "counts")
    assert counts[1:] == [
        PARTNER_HEADER,
        ["2026-10", "vaccinations", "Vaccinations", core("vaccinations"), "barrier", "Northfield", "<5"],
        ["2026-11", "housing", "Housing", core("housing"), "idea", "Northfield", "<5"],
    ]
    words = xlsx_rows(data, "text")
    assert words[1:] == [
        TEXT_HEADER,
        [
            "2026-10",
            "vaccinations",
            "Vaccinations",
            core("vaccinations"),
            "barrier",
            "Northfield",
            "Ben heard in October",
        ],
        ["2026-11", "housing", "Housing", core("housing"), "idea", "Northfield", "Damp in the flats"],
    ]
    assert_no_identifiers(counts + words)
    assert not any("Ana heard" in cell for row in words for cell in row)

    # Nobody left who agrees: nothing to send.
    await ben.send("/privacy")
    await ben.press("Stop sharing")
    await sam.send("/export")
    assert await sam.press("For partners") == [
        "None of these reports may be shared with partners: their champions have not agreed to it."
    ]
    assert "reply_markup" not in sam.history[-1]


async def test_the_internal_export_says_on_its_first_line_it_is_not_for_sharing(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(8200, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(8201, "Ana")
    await join(ana)
    await add_report(bot, ana, "Heard something")
    assert await sam.send("/export") == ["Export 1 report (all reports) as a file. Who is it for?"]
    assert await sam.press("Our organisation") == [
        "For use inside the organisation only: the file says so on its first line. Which format?"
    ]
    assert await sam.press("CSV") == ["1 report · all reports"]
    assert csv_rows(document(bot, sam)[1])[0][0].startswith(INTERNAL_FIRST)
    _name, data = await export(bot, sam, "Our organisation", "Excel")
    assert xlsx_rows(data)[0][0].startswith(INTERNAL_FIRST)


async def test_insights_shows_whether_each_report_may_be_shared(bot: BotHarness, places: None) -> None:
    sam = bot.person(8300, "Sam")
    await make_coordinator(bot, sam)
    ana, _ben, cy = await consenting_and_not(bot)
    shared = await add_report(bot, ana, "Ana again", when=datetime(2026, 11, 12, tzinfo=UTC))
    kept = await add_report(bot, cy, "Cy again", when=datetime(2026, 11, 13, tzinfo=UTC))
    await sam.send("/insights")
    (view,) = await sam.press(reports.reference(kept))
    assert "\nMay be shared with partners: no" in view
    await sam.press("Back to list")
    (view,) = await sam.press(reports.reference(shared))
    assert "\nMay be shared with partners: yes" in view


def champbot(database_url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "CHAMPBOT_DATABASE_URL": database_url}
    command = [str(Path(sys.executable).parent / "champbot"), "export", *args]
    return subprocess.run(command, capture_output=True, env=env, timeout=120)


async def test_champbot_export_partner(
    bot: BotHarness, places: None, database_url: str, tmp_path: Path
) -> None:
    await consenting_and_not(bot)
    run: Any = asyncio.to_thread
    result = await run(champbot, database_url, "partner", "--since", "2026-11-01")
    assert result.returncode == 0, result.stderr
    rows = csv_rows(result.stdout)
    assert rows[1:] == [
        PARTNER_HEADER,
        ["2026-11", "housing", "Housing", core("housing"), "idea", "Northfield", "<5"],
        ["2026-11", "vaccinations", "Vaccinations", core("vaccinations"), "barrier", "Northfield", "5"],
    ]
    assert_no_identifiers(rows)
    assert result.stderr.decode().strip() == "Exported 6 report(s) for partners."

    output = tmp_path / "partner.xlsx"
    result = await run(
        champbot,
        database_url,
        "partner",
        "--format",
        "xlsx",
        "--output",
        str(output),
        "--with-text",
        "--topic",
        "housing",
    )
    assert result.returncode == 0, result.stderr
    words = xlsx_rows(output.read_bytes(), "text")
    assert words[1:] == [
        TEXT_HEADER,
        ["2026-11", "housing", "Housing", core("housing"), "idea", "Northfield", "Damp in the flats"],
    ]

    help_text = (await run(champbot, database_url, "partner", "--help")).stdout.decode()
    assert "agree" in help_text and "<5" in help_text and "--with-text" in help_text
    internal = await run(champbot, database_url, "insights")
    assert internal.returncode == 0, internal.stderr
    assert csv_rows(internal.stdout)[0][0].startswith(INTERNAL_FIRST)


async def test_a_question_from_answer_back_never_names_or_dates_its_champion(
    bot: BotHarness, places: None
) -> None:
    """The champion was not asked to share their name: the notification, the report and the export
    show neither it, nor their language, nor the minute they asked."""
    sam = bot.person(8401, "Sam")
    await make_coordinator(bot, sam)
    await sam.send("/help")  # the bot can message only people who have written to it
    kasia = bot.person(8402, "Kasia", "pl")
    await join(kasia, LANGUAGES["pl"])
    async with bot.sessions.begin() as session:
        await broadcasts.create_broadcast(session, texts={"en": EN, "pl": PL}, audience=Audience())
    await deliver(bot)
    await kasia.press(translator("pl").gettext("A question"))
    await kasia.send(POLISH)
    await deliver(bot)
    (view,) = await sam.press("Open")
    assert POLISH in view
    rows = csv_rows((await export(bot, sam, "Our organisation", "CSV"))[1])
    (row,) = [r for r in rows if POLISH in r]
    header = rows[1]
    assert row[header.index("kind")] == "question" and row[header.index("champion_name")] == ""
    assert row[header.index("language")] == ""
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[header.index("created_at")])  # the day only
    everything = json.dumps(sam.history, ensure_ascii=False) + "\n".join("\t".join(r) for r in rows)
    assert "Kasia" not in everything and str(kasia.id) not in everything
    assert not re.search(r"\bpl\b", everything, re.IGNORECASE) and "Polski" not in everything
    assert PL[:30] not in everything  # the message is quoted in the coordinator's language
