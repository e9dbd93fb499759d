"""The national export: what a deployment sends upward for a period (`champbot export national`),
and the merge of several deployments' exports into one national file (`champbot export merge`).
The format is JSON, described by storage/schemas/national-export.schema.json; README shows it used.

What it holds, all counted in SQL (GROUP BY) a month at a time and each report table written as
soon as it is made, so memory follows the number of areas, topics and kinds, never the number of
reports or logs:

- `reports`: one table per area and month: rows the topics (each with its Core20PLUS5 clinical
  area, "none" where it has none), columns the kinds, with row, column and grand totals. Only
  reports whose champion agrees to sharing at the time of the export, as the partner export decides
  it (`Champion.share_consent`). Reports with no area form a table with `area` null, when there are
  any.
- `reach`: one table per area: rows the months, columns the settings of the sessions logged with
  /log; `sessions` and `people` reached (storage/activity_figures.py, the one definition of reach)
  with the same cells hidden in both.
- `campaign_deliveries`: campaign messages sent, by month.
- `themes`: each theme touched in the period (created before its end, changed since its start)
  with its area, Community Action Model step and how many sharing-consented reports it groups;
  its outcome only where the coordinator marked it for sharing. No title: titles name places and
  sometimes people.

Every count from 1 to threshold - 1 is hidden (null), and within each table enough other counts
that no hidden one can be worked out from the totals (storage/suppression.py). Tables never share
cells and no figure adds up across them, so each table's suppression stands on its own; that is
also what lets exports of deployments with different areas merge without re-suppressing: a merged
export holds each input's tables as they are, which is what one export of a database holding all
their data would hold. Where that cannot be so (tables with no area, campaign deliveries and themes,
which belong to a deployment and not to an area) each entry names its deployment and merge keeps
them apart. Totals across areas are not published: adding up published cells is left to the reader,
and any total across hidden cells would need suppression across tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.activity_figures import Reach, reach_by
from storage.insight_export import SMALL
from storage.models import Area, Broadcast, Champion, Delivery, Report, Theme, ThemeReport, ThemeStep
from storage.periods import Period
from storage.report_topics import Topic
from storage.reports import ALL_KINDS
from storage.suppression import Position, extended, primary, protect, publish

SCHEMA = "champbot-national"
SCHEMA_VERSION = 1
NAME_MAX = 200  # characters in a deployment's name (an area's is at most 100)
NONE = "none"  # a topic with no Core20PLUS5 clinical area
# The settings /log offers (ActivityLog.setting); any other found in the data gets a column too.
SETTINGS = ("faith", "school", "centre", "online", "door", "event", "other")
STEPS = tuple(step.value for step in ThemeStep)
Progress = Callable[[str], None]
Document = dict[str, Any]


def schema() -> Document:
    """The JSON Schema (draft 2020-12) of the format, as shipped with the package."""
    text = resources.files("storage").joinpath("schemas/national-export.schema.json").read_text("utf-8")
    loaded: Document = json.loads(text)
    return loaded


def problem(document: Any) -> str | None:
    """What makes `document` not a national export of this schema (the first thing found), or None."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the top level"
    return f"{where}: {error.message}"


def check_file(path: Path) -> None:
    """Raise ValueError if the file just written is not a valid export (it then never replaces
    the output: a bug caught, not a file the national team cannot read)."""
    found = problem(json.loads(path.read_text(encoding="utf-8")))
    if found is not None:
        raise ValueError(f"the export does not match its schema ({found})")


@dataclass(frozen=True)
class Summary:
    """How much the export covers, for the command line to say (none of it small-number safe)."""

    reports: int
    sessions: int
    themes: int
    areas: int


def _ordered(known: Sequence[str], found: set[str]) -> list[str]:
    """The known values in their order, then any others found, sorted."""
    return [*known, *sorted(found - set(known))]


def _report_table(
    counts: dict[tuple[str, str], int], topics: list[Topic], threshold: int
) -> tuple[list[str], list[str], Any]:
    """The rows (topic ids), columns (kinds) and published form of one area and month's reports."""
    rows = _ordered([t.id for t in topics], {topic for topic, _ in counts})
    columns = _ordered(ALL_KINDS, {kind for _, kind in counts})
    cells = [[counts.get((topic, kind), 0) for kind in columns] for topic in rows]
    grid = extended(cells)
    return rows, columns, publish(cells, protect(grid, primary(grid, threshold)))


def report_table(
    deployment: str,
    area: str | None,
    month: str,
    counts: dict[tuple[str, str], int],
    topics: list[Topic],
    threshold: int,
) -> Document:
    """One area and month's reports, as the export publishes them."""
    core = {t.id: t.core20plus5 or NONE for t in topics}
    rows, columns, shown = _report_table(counts, topics, threshold)
    return {
        "deployment": deployment,
        "area": area,
        "month": month,
        "topics": [
            {
                "topic": topic,
                "core20plus5": core.get(topic, NONE),
                "kinds": dict(zip(columns, shown.cells[r], strict=True)),
                "total": shown.row_totals[r],
            }
            for r, topic in enumerate(rows)
        ],
        "kind_totals": dict(zip(columns, shown.column_totals, strict=True)),
        "total": shown.total,
    }


def reach_table(
    deployment: str,
    area: str | None,
    months: list[str],
    sessions: dict[tuple[str, str], int],
    people: dict[tuple[str, str], int],
    threshold: int,
) -> Document:
    """One area's sessions and people reached by month and setting, the same cells hidden in both
    (each pattern is safe for its own table, and so is their union)."""
    columns = _ordered(SETTINGS, {setting for _, setting in sessions})
    tables = [[[table.get((m, s), 0) for s in columns] for m in months] for table in (sessions, people)]
    grids = [extended(cells) for cells in tables]
    hidden: set[Position] = set().union(*(primary(grid, threshold) for grid in grids))
    while True:
        wider = set().union(*(protect(grid, hidden) for grid in grids))
        if wider == hidden:
            break
        hidden = wider
    document: Document = {"deployment": deployment, "area": area}
    for name, cells in zip(("sessions", "people"), tables, strict=True):
        shown = publish(cells, hidden)
        document[name] = {
            "months": [
                {
                    "month": month,
                    "settings": dict(zip(columns, shown.cells[r], strict=True)),
                    "total": shown.row_totals[r],
                }
                for r, month in enumerate(months)
            ],
            "setting_totals": dict(zip(columns, shown.column_totals, strict=True)),
            "total": shown.total,
        }
    return document


def small(count: int, threshold: int) -> int | None:
    """A count standing alone (no total beside it): hidden when from 1 to threshold - 1."""
    return None if 0 < count < threshold else count


def sort_key(entry: Document) -> tuple[Any, ...]:
    """The order entries are written in, the same in an export and a merge: by month, then area
    (no area last), then deployment."""
    area = entry.get("area")
    return (entry.get("month", ""), area is None, area or "", entry["deployment"])


def theme_key(theme: Document) -> tuple[Any, ...]:
    """Themes' order: by area (none last), step, reports (most first), outcome, deployment."""
    area = theme["area"]
    reports = theme["reports"]
    return (
        area is None,
        area or "",
        STEPS.index(theme["step"]),
        -(reports if reports is not None else 0),
        theme.get("outcome") or "",
        theme["deployment"],
    )


class _Writer:
    """The export written piece by piece: each table goes out as soon as it is made."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.first = True
        self.items = 0

    def key(self, name: str, value: Any) -> None:
        self.out.write(("{" if self.first else ",\n") + json.dumps(name) + ": " + _dumps(value))
        self.first = False

    def start(self, name: str) -> None:
        """Open a list under `name`; `item` adds to it and `stop` closes it."""
        self.out.write(",\n" + json.dumps(name) + ": [")
        self.items = 0

    def item(self, item: Document) -> None:
        self.out.write(("\n  " if self.items == 0 else ",\n  ") + _dumps(item))
        self.items += 1

    def stop(self) -> None:
        self.out.write("\n]" if self.items else "]")

    def end(self) -> None:
        self.out.write("\n}\n")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write_list(writer: _Writer, name: str, items: list[Document]) -> None:
    writer.start(name)
    for item in items:
        writer.item(item)
    writer.stop()


async def _area_names(session: AsyncSession) -> dict[int, str]:
    return {area_id: name for area_id, name in await session.execute(select(Area.id, Area.name))}


async def _reports(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[int | None, dict[tuple[str, str], int]]:
    """Sharing-consented reports in [start, end) by area id, then (topic, kind)."""
    query = (
        select(Report.area_id, Report.topic, Report.kind, func.count(Report.id))
        .join(Champion, Champion.id == Report.champion_id)
        .where(Champion.share_consent.is_(True), Report.created_at >= start, Report.created_at < end)
        .group_by(Report.area_id, Report.topic, Report.kind)
    )
    found: dict[int | None, dict[tuple[str, str], int]] = {}
    for area_id, topic, kind, count in await session.execute(query):
        found.setdefault(area_id, {})[(topic, kind)] = int(count)
    return found


def _month_bounds(period: Period) -> list[tuple[str, datetime, datetime]]:
    months = period.months()
    starts = [datetime(int(m[:4]), int(m[5:]), 1, tzinfo=UTC) for m in months]
    return list(zip(months, starts, [*starts[1:], period.end], strict=True))


async def _themes(
    session: AsyncSession, period: Period, deployment: str, names: dict[int, str], threshold: int
) -> list[Document]:
    consented = (
        select(func.count(ThemeReport.report_id))
        .join(Report, Report.id == ThemeReport.report_id)
        .join(Champion, Champion.id == Report.champion_id)
        .where(ThemeReport.theme_id == Theme.id, Champion.share_consent.is_(True))
        .scalar_subquery()
    )
    query = select(Theme.area_id, Theme.step, Theme.outcome, Theme.outcome_shared, consented).where(
        Theme.created_at < period.end, Theme.updated_at >= period.start
    )
    themes = []
    for area_id, step, outcome, shared, reports in await session.execute(query):
        theme: Document = {
            "deployment": deployment,
            "area": names.get(area_id) if area_id is not None else None,
            "step": ThemeStep(step).value,
            "reports": small(int(reports), threshold),
        }
        if shared and outcome:
            theme["outcome"] = outcome
        themes.append(theme)
    return sorted(themes, key=theme_key)


async def write_export(
    session: AsyncSession,
    period: Period,
    topics: list[Topic],
    out: TextIO,
    *,
    deployment: str,
    threshold: int = SMALL,
    now: datetime,
    progress: Progress | None = None,
) -> Summary:
    """Write the national export of `period` to `out` as JSON (see the module docstring)."""
    say = progress or (lambda _message: None)
    names = await _area_names(session)
    ordered_areas = sorted(names.values())
    writer = _Writer(out)
    for key, value in (
        ("schema", SCHEMA),
        ("schema_version", SCHEMA_VERSION),
        ("period", period.label),
        ("months", period.months()),
        ("threshold", threshold),
        ("generated_at", now.astimezone(UTC).isoformat().replace("+00:00", "Z")),
        ("deployments", [deployment]),
        ("areas", ordered_areas),
    ):
        writer.key(key, value)
    total_reports = 0
    by_name = {name: area_id for area_id, name in names.items()}
    writer.start("reports")
    for month, start, end in _month_bounds(period):
        found = await _reports(session, start, end)
        total_reports += sum(sum(counts.values()) for counts in found.values())
        areas: list[str | None] = [*ordered_areas, *([None] if None in found else [])]
        for area in areas:
            counts = found.get(by_name[area] if area is not None else None, {})
            writer.item(report_table(deployment, area, month, counts, topics, threshold))
        say(f"{month}: reports counted")
    writer.stop()

    reach_tables, total_sessions = await _reach(session, period, deployment, names, threshold)
    say("reach counted")
    _write_list(writer, "reach", reach_tables)

    deliveries = []
    for month, start, end in _month_bounds(period):
        sent = await session.scalar(
            select(func.count(Delivery.id))
            .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
            .where(
                Broadcast.campaign_id.is_not(None),
                Delivery.state == "sent",
                Delivery.sent_at >= start,
                Delivery.sent_at < end,
            )
        )
        deliveries.append(
            {"deployment": deployment, "month": month, "sent": small(int(sent or 0), threshold)}
        )
    _write_list(writer, "campaign_deliveries", deliveries)

    themes = await _themes(session, period, deployment, names, threshold)
    _write_list(writer, "themes", themes)
    writer.end()
    return Summary(total_reports, total_sessions, len(themes), len(ordered_areas))


async def _reach(
    session: AsyncSession, period: Period, deployment: str, names: dict[int, str], threshold: int
) -> tuple[list[Document], int]:
    """The reach tables, one per area (and one for sessions logged with no area, if any), and how
    many sessions they cover."""
    months = period.months()
    sessions: dict[int | None, dict[tuple[str, str], int]] = {}
    people: dict[int | None, dict[tuple[str, str], int]] = {}
    for month, start, end in _month_bounds(period):
        unplaced = await reach_by(session, "setting", start, end)  # everywhere, less each area's
        for area_id in names:
            for setting, figure in (await reach_by(session, "setting", start, end, [area_id])).items():
                key = (month, str(setting))
                sessions.setdefault(area_id, {})[key] = figure.sessions
                people.setdefault(area_id, {})[key] = figure.people
                left = unplaced[setting]
                unplaced[setting] = Reach(left.sessions - figure.sessions, left.people - figure.people)
        for setting, figure in unplaced.items():
            if figure.sessions:  # logged with no area
                sessions.setdefault(None, {})[(month, str(setting))] = figure.sessions
                people.setdefault(None, {})[(month, str(setting))] = figure.people
    ordered: list[tuple[str | None, int | None]] = sorted(
        ((n, i) for i, n in names.items()), key=lambda p: str(p[0])
    )
    if None in sessions:
        ordered.append((None, None))
    tables = [
        reach_table(deployment, name, months, sessions.get(i, {}), people.get(i, {}), threshold)
        for name, i in ordered
    ]
    return tables, sum(sum(s.values()) for s in sessions.values())


class MergeError(ValueError):
    """Exports that cannot be merged; the message says which and why."""


def merge(documents: list[tuple[str, Document]], *, now: datetime) -> Document:
    """One national export from several (each named, for messages): checked against the schema,
    of one version, period and threshold, from different deployments with no area in common.
    Each input's tables are kept as they are; see the module docstring for why that is right."""
    if len(documents) < 2:
        raise MergeError("give at least two exports to merge")
    for name, document in documents:
        version = document.get("schema_version") if isinstance(document, dict) else None
        if version != SCHEMA_VERSION:
            raise MergeError(
                f"{name}: schema version {version!r}; this champbot merges version {SCHEMA_VERSION}"
            )
    for name, document in documents:
        found = problem(document)
        if found is not None:
            raise MergeError(f"{name}: not a national export ({found})")
    first_name, first = documents[0]
    for field in ("period", "threshold"):
        for name, document in documents[1:]:
            if document[field] != first[field]:
                raise MergeError(
                    f"{name} has {field} {document[field]!r} but {first_name} has {first[field]!r}: "
                    f"only exports of one {field} merge"
                )
    seen_deployments: dict[str, str] = {}
    seen_areas: dict[str, str] = {}
    for name, document in documents:
        for deployment in document["deployments"]:
            if deployment in seen_deployments:
                raise MergeError(
                    f"{name} and {seen_deployments[deployment]} both hold deployment {deployment!r}"
                )
            seen_deployments[deployment] = name
        for area in document["areas"]:
            if area in seen_areas:
                raise MergeError(
                    f"{name} and {seen_areas[area]} both cover area {area!r}: areas must not overlap"
                )
            seen_areas[area] = name

    def gathered(field: str) -> list[Document]:
        return [entry for _, document in documents for entry in document[field]]

    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "period": first["period"],
        "months": first["months"],
        "threshold": first["threshold"],
        "generated_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "deployments": sorted(seen_deployments),
        "areas": sorted(seen_areas),
        "reports": sorted(gathered("reports"), key=sort_key),
        "reach": sorted(gathered("reach"), key=sort_key),
        "campaign_deliveries": sorted(gathered("campaign_deliveries"), key=sort_key),
        "themes": sorted(gathered("themes"), key=theme_key),
    }
