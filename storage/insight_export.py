"""Reports as a spreadsheet: CSV (UTF-8 with a byte-order mark, so Excel shows Arabic and Urdu
right) or XLSX, written as the rows are read so any number of reports fits. Two kinds:

- internal (coordinators only): one row per report, its first line saying it is not for sharing.
  There is no champion id or Telegram id column at all; `champion_name` and `language` are filled
  only for a report whose champion chose to share their name, and an anonymous report's time is its
  day only, so nothing in the file singles out who sent it.
- partner (may leave the organisation): only reports whose champion currently agrees to sharing,
  counted by month, topic, kind and area with counts under 5 shown as "<5"; no reference, name,
  language or exact date. What they wrote only when asked for (`with_text`), with its month.

Every cell goes through `clean`, in both formats, so control characters a champion typed (ESC, NUL)
never break a file.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession

from storage.insight_figures import ExportRow, PartnerRow, export_rows, partner_rows
from storage.report_topics import SOURCE_LANGUAGE, Topic
from storage.reports import Filters, reference

FORMATS = ("csv", "xlsx")
COLUMNS = (
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
)
PARTNER_COLUMNS = ("month", "topic_id", "topic", "core20plus5", "kind", "area", "reports")
TEXT_COLUMNS = ("month", "topic_id", "topic", "core20plus5", "kind", "area", "text")
INTERNAL_NOTE = (
    "INTERNAL: not for sharing outside the organisation. It holds what champions reported, with the "
    "names of those who chose to share them. For partners, use the partner export "
    "(/export, For partners; or champbot export partner)."
)
PARTNER_NOTE = (
    "For partners: reports from champions who agree to sharing them, counted by month (UTC), topic, "
    "kind and area; counts under 5 are shown as <5. No names, references or exact dates."
)
TEXT_NOTE = "What champions who agree to sharing wrote, with its month only (UTC); no names or references."
SMALL = 5  # counts under this are shown as "<5", so no champion or resident can be singled out
REPLY_SEPARATOR = " | "
# A spreadsheet treats a cell starting with one of these as a formula; what a champion typed must
# never run as one when a coordinator opens the file.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The control characters XML 1.0, so XLSX, cannot hold: openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.
ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
Progress = Callable[[int], None]


def clean(cell: str) -> str:
    """Cell text without the control characters a spreadsheet cannot hold (openpyxl refuses them);
    tabs and line breaks stay, each line break as a line feed (XML reads a bare carriage return back
    as one, so the CSV and the XLSX say the same)."""
    return ILLEGAL_CHARACTERS.sub("", cell.replace("\r\n", "\n").replace("\r", "\n"))


def suppressed(count: int) -> str:
    """A count as it may leave the organisation: under 5 shown as "<5"."""
    return f"<{SMALL}" if 0 < count < SMALL else str(count)


def values(row: ExportRow, topics: dict[str, Topic]) -> list[str]:
    """A report's cells, in COLUMNS order (topic names in English, the export's language). An
    anonymous report's time is its day only."""
    created = row.created_at.astimezone(UTC)
    return [
        reference(row.id),
        created.date().isoformat() if row.anonymous else created.isoformat(),
        *_topic_cells(row.topic, topics),
        row.kind,
        row.people,
        row.area or "",
        row.status,
        row.language or "",
        row.text or "",
        row.media_kind or "",
        row.media_file_id or "",
        row.champion_name or "",
        REPLY_SEPARATOR.join(row.replies),
    ]


def _topic_cells(topic_id: str, topics: dict[str, Topic]) -> list[str]:
    """A topic's id, English name and Core20PLUS5 area (the id alone for a topic since removed)."""
    topic = topics.get(topic_id)
    if topic is None:
        return [topic_id, topic_id, ""]
    return [topic_id, topic.label(SOURCE_LANGUAGE), topic.core20plus5 or ""]


def _safe(cell: str) -> str:
    """A CSV cell: cleaned, and never read as a formula."""
    cell = clean(cell)
    return "'" + cell if cell.startswith(FORMULA_START) else cell


Table = tuple[str, AsyncIterator[list[str]]]  # a sheet's name (XLSX) and its rows


@dataclass
class _Tally:
    count: int = 0


async def _write_csv(tables: list[Table], out: BinaryIO) -> None:
    """The tables one after another, a blank row between them."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    for number, (_name, rows) in enumerate(tables):
        if number:
            writer.writerow([])
        async for row in rows:
            writer.writerow([_safe(cell) for cell in row])
    text.flush()
    text.detach()  # leave `out` open for the caller


async def _write_xlsx(tables: list[Table], path: Path) -> None:
    """Each table on a sheet of its own; every cell text, never a formula."""
    from openpyxl import Workbook  # imported here: only exports need it
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)  # rows go straight to disk, not into memory
    for name, rows in tables:
        sheet = book.create_sheet(name)
        async for row in rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=clean(value))
                cell.data_type = "s"  # text, even when it starts with "=": never a formula
                cells.append(cell)
            sheet.append(cells)
    book.save(path)


async def _internal(
    session: AsyncSession, filters: Filters, topics: list[Topic], tally: _Tally, progress: Progress | None
) -> AsyncIterator[list[str]]:
    by_id = {topic.id: topic for topic in topics}
    yield [INTERNAL_NOTE]
    yield list(COLUMNS)
    async for row in export_rows(session, filters):
        yield values(row, by_id)
        tally.count += 1
        if progress is not None:
            progress(tally.count)


async def write_csv(
    session: AsyncSession,
    filters: Filters,
    topics: list[Topic],
    out: BinaryIO,
    progress: Progress | None = None,
) -> int:
    """Write the internal export of the matching reports to `out` as CSV: the not-for-sharing
    line, a header row, one row per report; return how many."""
    tally = _Tally()
    await _write_csv([("reports", _internal(session, filters, topics, tally, progress))], out)
    return tally.count


async def write_xlsx(
    session: AsyncSession,
    filters: Filters,
    topics: list[Topic],
    path: Path,
    progress: Progress | None = None,
) -> int:
    """Write the internal export of the matching reports to an XLSX file at `path`, laid out as
    the CSV; return how many."""
    tally = _Tally()
    await _write_xlsx([("reports", _internal(session, filters, topics, tally, progress))], path)
    return tally.count


def _month(row: PartnerRow) -> str:
    return row.created_at.astimezone(UTC).strftime("%Y-%m")


async def _partner(
    session: AsyncSession, filters: Filters, topics: list[Topic], with_text: bool
) -> tuple[int, list[Table]]:
    """How many reports the partner export covers, and its tables: the counts, then (with
    `with_text`) what was written, each with its month only."""
    by_id = {topic.id: topic for topic in topics}
    groups: Counter[tuple[str, str, str, str]] = Counter()
    async for row in partner_rows(session, filters, with_text=False):
        groups[(_month(row), row.topic, row.kind, row.area or "")] += 1

    async def counts() -> AsyncIterator[list[str]]:
        yield [PARTNER_NOTE]
        yield list(PARTNER_COLUMNS)
        for (month, topic, kind, area), count in sorted(groups.items()):
            yield [month, *_topic_cells(topic, by_id), kind, area, suppressed(count)]

    async def words() -> AsyncIterator[list[str]]:
        yield [TEXT_NOTE]
        yield list(TEXT_COLUMNS)
        async for row in partner_rows(session, filters, with_text=True):
            if row.text:
                yield [_month(row), *_topic_cells(row.topic, by_id), row.kind, row.area or "", row.text]

    tables: list[Table] = [("counts", counts())]
    if with_text:
        tables.append(("text", words()))
    return sum(groups.values()), tables


async def write_partner_csv(
    session: AsyncSession, filters: Filters, topics: list[Topic], out: BinaryIO, *, with_text: bool = False
) -> int:
    """Write the partner export of the matching reports to `out` as CSV (the text, if asked for,
    after a blank row); return how many reports it covers."""
    count, tables = await _partner(session, filters, topics, with_text)
    await _write_csv(tables, out)
    return count


async def write_partner_xlsx(
    session: AsyncSession, filters: Filters, topics: list[Topic], path: Path, *, with_text: bool = False
) -> int:
    """Write the partner export to an XLSX file at `path`: sheet "counts", and "text" if asked for;
    return how many reports it covers."""
    count, tables = await _partner(session, filters, topics, with_text)
    await _write_xlsx(tables, path)
    return count


def file_name(fmt: str, day: datetime, *, partner: bool) -> str:
    """An export's file name, ASCII only and naming nobody: "reports-2026-11-20.csv" or
    "partner-reports-2026-11-20.xlsx"."""
    assert fmt in FORMATS
    return f"{'partner-reports' if partner else 'reports'}-{day:%Y-%m-%d}.{fmt}"


async def write_file(
    session: AsyncSession,
    filters: Filters,
    topics: list[Topic],
    path: Path,
    fmt: str,
    *,
    partner: bool,
    with_text: bool = False,
) -> int:
    """Write the internal export (or, with `partner`, the partner export, with what was written if
    `with_text`) of the matching reports to a file at `path` in `fmt` (csv or xlsx); return how many
    reports it covers. The chat's /export and the dashboard's Exports page both write with this."""
    assert fmt in FORMATS
    if fmt == "xlsx":
        if partner:
            return await write_partner_xlsx(session, filters, topics, path, with_text=with_text)
        return await write_xlsx(session, filters, topics, path)
    with path.open("wb") as out:
        if partner:
            return await write_partner_csv(session, filters, topics, out, with_text=with_text)
        return await write_csv(session, filters, topics, out)
