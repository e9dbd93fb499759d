"""Reports as a spreadsheet: CSV (UTF-8 with a byte-order mark, so Excel shows Arabic and Urdu
right) or XLSX, one row per report, written as the rows are read so any number of reports fits.

There is no champion id or Telegram id column at all; `champion_name` is filled only for a report
whose champion chose to share their name with the coordinator, and is empty for anonymous ones.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession

from storage.insight_figures import ExportRow, export_rows
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
REPLY_SEPARATOR = " | "
# A spreadsheet treats a cell starting with one of these as a formula; what a champion typed must
# never run as one when a coordinator opens the file.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Progress = Callable[[int], None]


def values(row: ExportRow, topics: dict[str, Topic]) -> list[str]:
    """A report's cells, in COLUMNS order (topic names in English, the export's language)."""
    topic = topics.get(row.topic)
    return [
        reference(row.id),
        row.created_at.astimezone(UTC).isoformat(),
        row.topic,
        topic.label(SOURCE_LANGUAGE) if topic else row.topic,
        (topic.core20plus5 or "") if topic else "",
        row.kind,
        row.people,
        row.area or "",
        row.status,
        row.language,
        row.text or "",
        row.media_kind or "",
        row.media_file_id or "",
        row.champion_name or "",
        REPLY_SEPARATOR.join(row.replies),
    ]


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


async def write_csv(
    session: AsyncSession,
    filters: Filters,
    topics: list[Topic],
    out: BinaryIO,
    progress: Progress | None = None,
) -> int:
    """Write the matching reports to `out` as CSV with a header row; return how many."""
    by_id = {topic.id: topic for topic in topics}
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    count = 0
    async for row in export_rows(session, filters):
        writer.writerow([_safe(cell) for cell in values(row, by_id)])
        count += 1
        if progress is not None:
            progress(count)
    text.flush()
    text.detach()  # leave `out` open for the caller
    return count


async def write_xlsx(
    session: AsyncSession,
    filters: Filters,
    topics: list[Topic],
    path: Path,
    progress: Progress | None = None,
) -> int:
    """Write the matching reports to an XLSX file at `path` with a header row; return how many."""
    from openpyxl import Workbook  # imported here: only exports need it
    from openpyxl.cell import WriteOnlyCell

    by_id = {topic.id: topic for topic in topics}
    book = Workbook(write_only=True)  # rows go straight to disk, not into memory
    sheet = book.create_sheet("reports")
    sheet.append(list(COLUMNS))
    count = 0
    async for row in export_rows(session, filters):
        cells = []
        for value in values(row, by_id):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, even when it starts with "=": never a formula
            cells.append(cell)
        sheet.append(cells)
        count += 1
        if progress is not None:
            progress(count)
    book.save(path)
    return count
