"""The Insights filters as the dashboard's addresses and forms carry them: read, checked against
what the pages offer, and turned into the storage Filters the chat's /insights uses too. Shared by
the Insights pages and grouping reports into a theme."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.web.layout import BadRequest, digits
from handlers.insights import PERIODS, period_bounds
from handlers.report_labels import KIND_LABELS, STATUS_LABELS
from storage import directory
from storage.models import utcnow
from storage.report_topics import Topic
from storage.reports import Filters

SEARCH_MAX = 100  # characters of a search
ALL_TIME = "all"
FILTER_FIELDS = ("topic", "kind", "area", "status", "date", "q")


@dataclass(frozen=True)
class Chosen:
    """The list's filters as the address (or a form's hidden fields) asks for them."""

    filters: Filters
    values: dict[str, str]  # the fields as given, for links and hidden fields: only those set

    def link(self, path: str, **more: str) -> str:
        """A relative link to `path` with these filters (and `more`)."""
        query = urlencode({**self.values, **more})
        return f"{path}?{query}" if query else path


def form_value(values: Mapping[str, Any], name: str) -> str:
    """A field of a query or a form, stripped ("" if absent or not text)."""
    value = values.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def chosen(
    t: Translator, topics: list[Topic], areas: dict[int, str], values: Mapping[str, Any], zone: ZoneInfo
) -> Chosen:
    """Read the filters from `values` (a query or a form), refusing any the pages do not offer."""
    _ = t.gettext
    title = _("Those filters are not known")
    topic, kind, area, status = (form_value(values, name) for name in ("topic", "kind", "area", "status"))
    period, search = form_value(values, "date") or ALL_TIME, form_value(values, "q")
    if topic and topic not in {known.id for known in topics}:
        raise BadRequest(title, _("Choose a topic from the list on the Insights page."))
    if kind and kind not in KIND_LABELS:
        raise BadRequest(title, _("Choose a kind of report from the list on the Insights page."))
    if status and status not in STATUS_LABELS:
        raise BadRequest(title, _("Choose a status from the list on the Insights page."))
    if period not in PERIODS:
        raise BadRequest(title, _("Choose dates from the list on the Insights page."))
    if area and (not digits(area) or int(area) not in areas):
        raise BadRequest(title, _("Choose an area from the list on the Insights page."))
    if len(search) > SEARCH_MAX:
        raise BadRequest(
            title,
            t.ngettext(
                "A search can be at most {count} character long.",
                "A search can be at most {count} characters long.",
                SEARCH_MAX,
            ).format(count=t.number(SEARCH_MAX)),
        )
    filters = Filters(
        topic=topic or None,
        kind=kind or None,
        area_id=int(area) if area else None,
        status=status or None,
        since=period_bounds(period, zone, utcnow()),
        search=search or None,
    )
    given = {"topic": topic, "kind": kind, "area": area, "status": status, "q": search}
    given["date"] = period if period != ALL_TIME else ""
    return Chosen(filters, {name: given[name] for name in FILTER_FIELDS if given[name]})


async def known_areas(session: AsyncSession) -> dict[int, str]:
    """The areas a filter may name: id → name."""
    return {area.id: area.name for area in await directory.list_areas(session)}
