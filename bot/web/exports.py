"""The Exports page: reports as a CSV or Excel file, for the organisation or for partners, for a
period (this week, this month, the last 30 days, or two dates in the coordinator's time zone).

The files are the chat's /export files, written by the same function (`insight_export.write_file`):
the internal export's columns, and the partner export's consent filter and small-number
suppression. A file is written to a temporary folder, streamed back in chunks and removed; each
download is written to the audit log by its kind, format and period, never its content."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator
from bot.web import auth
from bot.web.layout import for_coordinators, page
from handlers.common import champion_zone
from handlers.export import FORMAT_LABELS, NONE_SHAREABLE, READER_LABELS, describe_filters
from handlers.stats import DEFAULT_PERIOD, PERIODS, period_bounds
from storage import audit, insight_export, insight_figures
from storage.models import utcnow
from storage.report_topics import Topic
from storage.reports import Filters

if TYPE_CHECKING:
    from bot.web.app import Dashboard

PATH = "exports"
CHUNK = 64 * 1024  # bytes read from the file and sent at a time
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
YEARS = (2000, 2100)  # a day outside these is a typing mistake
DATES = "dates"  # the period between two days chosen, beside stats.PERIODS
INTERNAL, PARTNER, PARTNER_TEXT = "internal", "partner", "partner_text"
KINDS = {  # whom a file is for: (partner export, with what was written), its label, its hint
    INTERNAL: (
        (False, False),
        READER_LABELS["int"],
        N_("One row per report, with what was written. Not for sharing: the file says so on its first line."),
    ),
    PARTNER: (
        (True, False),
        N_("Partners: counts only"),
        N_(
            "Only reports whose champions agree to sharing, counted by month, topic, kind and area, "
            "counts under 5 shown as “<5”. No names, references or exact dates."
        ),
    ),
    PARTNER_TEXT: (
        (True, True),
        N_("Partners: counts and what was written"),
        N_("The counts, and what those champions wrote, with its month only."),
    ),
}


@dataclass(frozen=True)
class Option:
    """One radio button: the value sent, its label, a hint (or ""), whether it is chosen."""

    value: str
    label: str
    hint: str
    checked: bool


@dataclass(frozen=True)
class Radios:
    """A question answered by one radio button: its field's name, the legend, the error (or "")."""

    name: str
    legend: str
    options: list[Option]
    error: str = ""


@dataclass(frozen=True)
class Day:
    """A date field: its name, label, what was typed, the error (or "")."""

    name: str
    label: str
    value: str
    error: str = ""


@dataclass(frozen=True)
class Asked:
    """What the form was sent with (as typed), or the defaults."""

    kind: str = INTERNAL
    fmt: str = "csv"
    period: str = DEFAULT_PERIOD
    first: str = ""
    last: str = ""


@dataclass(frozen=True)
class Export:
    """A valid choice: which file, and the reports of which days (local, both included)."""

    kind: str
    fmt: str
    period: str
    filters: Filters
    first: date
    last: date

    @property
    def detail(self) -> str:
        """What the audit log says: kind, format, period and its days, e.g.
        "partner csv dates 2026-11-01..2026-11-30"."""
        return f"{self.kind} {self.fmt} {self.period} {self.first.isoformat()}..{self.last.isoformat()}"


def _day(typed: str) -> date | None:
    """A day typed as YYYY-MM-DD (what a browser's date field sends), in a year reports can be."""
    try:
        day = date.fromisoformat(typed.strip())
    except ValueError:
        return None
    return day if YEARS[0] <= day.year <= YEARS[1] else None


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def check(t: Translator, asked: Asked, now: datetime, zone: ZoneInfo) -> Export | dict[str, str]:
    """The export asked for, or each field's error (by field name) in the coordinator's language."""
    _ = t.gettext
    errors: dict[str, str] = {}
    if asked.kind not in KINDS:
        errors["kind"] = _("Choose who the file is for.")
    if asked.fmt not in insight_export.FORMATS:
        errors["format"] = _("Choose CSV or Excel.")
    example = now.astimezone(zone).date().isoformat()
    first = last = None
    if asked.period in PERIODS:
        since, until = period_bounds(asked.period, now, zone.key)
        first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    elif asked.period == DATES:
        first, last = _day(asked.first), _day(asked.last)
        if first is None:
            errors["from"] = _("Enter the first day as a date, for example {example}.")
        if last is None:
            errors["to"] = _("Enter the last day as a date, for example {example}.")
        if first is not None and last is not None and last < first:
            errors["to"] = _("The last day must be the same as the first day or after it.")
    else:
        errors["period"] = _("Choose which reports to export.")
    if errors or first is None or last is None:
        return {name: error.format(example=example) for name, error in errors.items()}
    if asked.period == DATES:
        since = _local_midnight(first, zone).astimezone(UTC)
        until = _local_midnight(last + timedelta(days=1), zone).astimezone(UTC)
    return Export(asked.kind, asked.fmt, asked.period, Filters(since=since, until=until), first, last)


def _form(
    visitor: auth.Visitor,
    asked: Asked,
    *,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> web.Response:
    """The choice page, with what was chosen kept, and each error beside its field and in a
    summary at the top."""
    t = visitor.t
    _ = t.gettext
    errors = errors or {}
    zone = champion_zone(visitor.champion)
    example = utcnow().astimezone(zone).date().isoformat()
    kinds = [
        Option(value, _(label), _(hint), value == asked.kind) for value, (_use, label, hint) in KINDS.items()
    ]
    formats = [Option(value, _(label), "", value == asked.fmt) for value, label in FORMAT_LABELS.items()]
    periods = [Option(key, _(label), "", key == asked.period) for key, label in PERIODS.items()]
    periods.append(Option(DATES, _("Between two dates"), "", asked.period == DATES))
    title = _("Exports")
    order = ["kind", "format", "period", "from", "to"]
    return page(
        visitor,
        "exports.html",
        _("Error: {title}").format(title=title) if errors else title,
        PATH,
        status=status,
        heading=title,
        intro=_("Download reports as a file, for your organisation or for partners."),
        questions=[
            Radios("kind", _("Who is the file for?"), kinds, errors.get("kind", "")),
            Radios("format", _("Format"), formats, errors.get("format", "")),
            Radios("period", _("Which reports?"), periods, errors.get("period", "")),
        ],
        dates_legend=_("Between two dates"),
        dates_hint=_("Days in your time zone ({zone}), both included. For example, {example}.").format(
            zone=zone.key, example=example
        ),
        days=[
            Day("from", _("First day"), asked.first, errors.get("from", "")),
            Day("to", _("Last day"), asked.last, errors.get("to", "")),
        ],
        errors=[(name, errors[name]) for name in order if name in errors],
        problem=_("There is a problem"),
        error_prefix=_("Error:"),
        notice=notice,
        button=_("Download"),
    )


async def _download(request: web.Request, path: Path, name: str, fmt: str) -> web.StreamResponse:
    """Stream the file at `path` back as an attachment called `name`, a chunk at a time."""
    response = web.StreamResponse(
        headers={
            "Content-Type": CONTENT_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(path.stat().st_size),
        }
    )
    await response.prepare(request)
    with path.open("rb") as data:
        while chunk := data.read(CHUNK):
            await response.write(chunk)
    await response.write_eof()
    return response


async def _nothing(session: AsyncSession, visitor: auth.Visitor, topics: list[Topic], export: Export) -> str:
    """What to say when the file would cover no report: none in the period, or none shareable."""
    t = visitor.t
    if export.kind != INTERNAL and await insight_figures.count_matching(session, export.filters):
        return t.gettext(NONE_SHAREABLE)
    chosen = await describe_filters(session, t, topics, export.filters, champion_zone(visitor.champion).key)
    return t.gettext("There are no reports to export ({filters}).").format(filters=chosen)


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """GET exports: the choice page; POST exports (with the form's CSRF token): the file."""
    sessions, topics = dashboard.sessions, dashboard.topics

    async def choose(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        async with sessions.begin() as session:
            await audit.record(session, audit.VIEWED, visitor.champion.id, utcnow(), PATH)
        return _form(visitor, Asked())

    async def download(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        form = await auth.checked_form(request, visitor)
        if form is None:
            return auth.form_refused(visitor.t)
        asked = Asked(*(str(form.get(name, ""))[:20] for name in ("kind", "format", "period", "from", "to")))
        now = utcnow()
        export = check(visitor.t, asked, now, champion_zone(visitor.champion))
        if not isinstance(export, Export):
            return _form(visitor, asked, errors=export, status=400)
        partner, with_text = KINDS[export.kind][0]
        name = insight_export.file_name(export.fmt, now, partner=partner)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            async with sessions() as session:
                count = await insight_export.write_file(
                    session, export.filters, topics, path, export.fmt, partner=partner, with_text=with_text
                )
                if not count:
                    return _form(visitor, asked, notice=await _nothing(session, visitor, topics, export))
            async with sessions.begin() as session:
                await audit.record(session, audit.EXPORTED, visitor.champion.id, now, export.detail)
            return await _download(request, path, name, export.fmt)

    return [
        web.get(f"/{PATH}", for_coordinators(dashboard.gate, choose)),
        web.post(f"/{PATH}", for_coordinators(dashboard.gate, download)),
    ]
