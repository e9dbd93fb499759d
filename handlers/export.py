"""/export for coordinators: reports as a CSV or Excel file, all of them or those the coordinator's
/insights filters show. Anonymous reports carry no name, and no file names anyone by id."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context
from bot.i18n import N_, Translator
from handlers.common import answer_and_clear, buttons, champion_zone, isolate, reply, require_coordinator
from handlers.report_labels import KIND_LABELS, STATUS_LABELS, topic_label
from storage import insight_export, insight_figures
from storage.models import Area, utcnow
from storage.report_topics import Topic
from storage.reports import Filters

FORMAT_LABELS = {"csv": N_("CSV"), "xlsx": N_("Excel")}
SEND_LIMIT = 50_000_000  # bytes: Telegram lets a bot send files up to 50 MB


async def ask_format(update: Update, context: Context) -> None:
    """Offer CSV or Excel for the reports the coordinator is looking at."""
    if await require_coordinator(update, context) is None:
        return
    t = context.t
    matching = await _matching(update, context, current_filters(context))
    if matching is None:
        return
    count, chosen = matching
    question = t.ngettext(
        "Export {count} report ({filters}) as a file. Which format?",
        "Export {count} reports ({filters}) as a file. Which format?",
        count,
    ).format(count=t.number(count), filters=chosen)
    choices = [(t.gettext(label), f"exp:{fmt}") for fmt, label in FORMAT_LABELS.items()]
    await reply(update, question, buttons(choices, columns=2))


async def choose_format(update: Update, context: Context) -> None:
    """Export in the format the button names."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    await answer_and_clear(update)
    await export_reports(update, context, current_filters(context), query.data.removeprefix("exp:"))


async def _matching(update: Update, context: Context, filters: Filters) -> tuple[int, str] | None:
    """How many reports match the filters and how the filters read; None, once the coordinator is
    told, when nothing matches."""
    t = context.t
    async with context.db() as session:
        count = await insight_figures.count_matching(session, filters)
        chosen = await describe_filters(
            session, t, context.topics, filters, champion_zone(context.champion).key
        )
    if not count:
        await reply(update, t.gettext("There are no reports to export ({filters}).").format(filters=chosen))
        return None
    return count, chosen


def current_filters(context: Context) -> Filters:
    """The filters chosen in /insights while this chat is in that flow; otherwise none (everything)."""
    state = context.state
    if state is None or not state.step.startswith("ins:") or not isinstance(state.data.get("filters"), dict):
        return Filters()
    return Filters.from_dict(state.data["filters"])


async def export_reports(update: Update, context: Context, filters: Filters, fmt: str) -> None:
    """Send the reports matching `filters` as a file in `fmt` (csv or xlsx), with a caption saying
    how many and which filters; say so instead when none match. The caller checks the role."""
    assert update.effective_chat and fmt in insight_export.FORMATS
    t = context.t
    matching = await _matching(update, context, filters)
    if matching is None:
        return
    count, chosen = matching
    # A temporary folder, removed once sent: the file holds what champions said, so no copy stays.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"reports-{utcnow():%Y-%m-%d}.{fmt}"
        async with context.db() as session:
            if fmt == "csv":
                with path.open("wb") as out:
                    count = await insight_export.write_csv(session, filters, context.topics, out)
            else:
                count = await insight_export.write_xlsx(session, filters, context.topics, path)
        if path.stat().st_size > SEND_LIMIT:
            await reply(
                update,
                t.gettext(
                    "That file is too large to send here. Choose fewer reports with the filters in "
                    "/insights, or ask your admin to run: champbot export insights"
                ),
            )
            return
        caption = t.ngettext("{count} report · {filters}", "{count} reports · {filters}", count).format(
            count=t.number(count), filters=chosen
        )
        with path.open("rb") as document:
            await update.effective_chat.send_document(document, filename=path.name, caption=caption)


async def describe_filters(
    session: AsyncSession, t: Translator, topics: list[Topic], filters: Filters, timezone: str
) -> str:
    """The filters in the coordinator's language, e.g. "Vaccinations · A barrier · from 1 Nov 2026"."""
    _ = t.gettext
    parts = []
    if filters.topic is not None:
        parts.append(topic_label(topics, filters.topic, t.language))
    if filters.kind is not None:
        parts.append(_(KIND_LABELS.get(filters.kind, filters.kind)))
    if filters.area_id is not None:
        area = await session.get(Area, filters.area_id)
        parts.append(isolate(area.name) if area else _("an area since removed"))
    if filters.status is not None:
        parts.append(_(STATUS_LABELS.get(filters.status, filters.status)))
    if filters.since is not None:
        parts.append(_("from {date}").format(date=_date(t, filters.since, timezone)))
    if filters.until is not None:
        parts.append(_("before {date}").format(date=_date(t, filters.until, timezone)))
    return " · ".join(parts) if parts else _("all reports")


def _date(t: Translator, value: datetime, timezone: str) -> str:
    return format_date(value.astimezone(ZoneInfo(timezone)), format="medium", locale=t.locale)
