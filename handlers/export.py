"""/export for coordinators: reports as a CSV or Excel file, all of them or those the coordinator's
/insights filters show, for one of two readers:

- inside the organisation (`exp:int`): one row per report, its first line saying it is not for
  sharing; anonymous reports carry no name or language and their day only;
- for partners (`exp:partner`, then `exp:pt` counts only or `exp:ptx` with what was written): only
  reports whose champions currently agree to sharing, counted with small numbers suppressed, with
  no names, references or exact dates.

No file names anyone by id. Buttons: `exp:<reader>` asks the next question, `exp:<reader>:<format>`
sends the file."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context
from bot.i18n import N_, Translator
from bot.replies import Choice, Media, Outgoing
from handlers.common import champion_zone, isolate, require_coordinator
from handlers.insights_state import Insights
from handlers.report_labels import KIND_LABELS, STATUS_LABELS, topic_label
from storage import insight_export, insight_figures
from storage.models import Area, utcnow
from storage.report_topics import Topic
from storage.reports import Filters

FORMAT_LABELS = {"csv": N_("CSV"), "xlsx": N_("Excel")}
INTERNAL, PARTNER, COUNTS, WITH_TEXT = "int", "partner", "pt", "ptx"  # whom a file is for, in the data
READER_LABELS = {
    INTERNAL: N_("Our organisation"),
    PARTNER: N_("For partners"),
    COUNTS: N_("Counts only"),
    WITH_TEXT: N_("With what they wrote"),
}
NONE_SHAREABLE = N_(
    "None of these reports may be shared with partners: their champions have not agreed to it."
)
SEND_LIMIT = 50_000_000  # bytes: Telegram lets a bot send files up to 50 MB


async def ask_audience(update: Update, context: Context) -> None:
    """/export: ask whom the file of the reports the coordinator is looking at is for."""
    if await require_coordinator(update, context) is None:
        return
    t = context.t
    matching = await _matching(update, context, current_filters(context))
    if matching is None:
        return
    count, chosen = matching
    question = t.ngettext(
        "Export {count} report ({filters}) as a file. Who is it for?",
        "Export {count} reports ({filters}) as a file. Who is it for?",
        count,
    ).format(count=t.number(count), filters=chosen)
    await context.reply.say(question, _reader_choices(t, INTERNAL, PARTNER))


def _reader_choices(t: Translator, *readers: str) -> list[Choice]:
    """The choices of whom a file is for (or what it holds), in the coordinator's language."""
    return [Choice(t.gettext(READER_LABELS[reader]), f"exp:{reader}") for reader in readers]


async def choose(update: Update, context: Context) -> None:
    """An `exp:` button: whom the file is for, whether partners get the text, then the format."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    t = context.t
    _ = t.gettext
    reader, _sep, fmt = query.data.removeprefix("exp:").partition(":")
    await context.reply.picked(_(FORMAT_LABELS[fmt] if fmt else READER_LABELS[reader]))
    filters = current_filters(context)
    if reader == PARTNER:
        await _ask_partner_text(update, context, filters)
    elif not fmt:
        question = _("Which format?")
        if reader == INTERNAL:
            question = _(
                "For use inside the organisation only: the file says so on its first line. Which format?"
            )
        choices = [Choice(_(label), f"exp:{reader}:{name}") for name, label in FORMAT_LABELS.items()]
        await context.reply.say(question, choices, columns=2)
    elif reader == INTERNAL:
        await export_reports(update, context, filters, fmt)
    else:
        await export_for_partners(update, context, filters, fmt, with_text=reader == WITH_TEXT)


async def _ask_partner_text(update: Update, context: Context, filters: Filters) -> None:
    """Say what a partner file holds and ask whether it carries what the champions wrote."""
    t = context.t
    async with context.db() as session:
        count = await insight_figures.count_matching(session, filters, shareable=True)
    if not count:
        await context.reply.say(t.gettext(NONE_SHAREABLE))
        return
    text = t.ngettext(
        "For partners: only the {count} report whose champion agrees to sharing, counted by month, "
        "topic, kind and area, counts under 5 shown as “<5”, with no names, references or exact dates. "
        "Include what that champion wrote (with its month only)?",
        "For partners: only the {count} reports whose champions agree to sharing, counted by month, "
        "topic, kind and area, counts under 5 shown as “<5”, with no names, references or exact dates. "
        "Include what those champions wrote (with its month only)?",
        count,
    ).format(count=t.number(count))
    await context.reply.say(text, _reader_choices(t, COUNTS, WITH_TEXT))


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
        await context.reply.say(
            t.gettext("There are no reports to export ({filters}).").format(filters=chosen)
        )
        return None
    return count, chosen


def current_filters(context: Context) -> Filters:
    """The filters chosen in /insights while this chat is in that flow; otherwise none (everything)."""
    browsing = context.step_as(Insights)
    return browsing.filters if browsing is not None else Filters()


async def export_reports(update: Update, context: Context, filters: Filters, fmt: str) -> None:
    """Send the internal export of the reports matching `filters` as a file in `fmt` (csv or xlsx),
    with a caption saying how many and which filters; say so instead when none match. The caller
    checks the role."""
    assert fmt in insight_export.FORMATS
    matching = await _matching(update, context, filters)
    if matching is None:
        return
    chosen = matching[1]

    async def write(session: AsyncSession, path: Path) -> int:
        return await insight_export.write_file(session, filters, context.topics, path, fmt, partner=False)

    name = insight_export.file_name(fmt, utcnow(), partner=False)
    await _send_file(update, context, name, write, chosen, partner=False)


async def export_for_partners(
    update: Update, context: Context, filters: Filters, fmt: str, *, with_text: bool
) -> None:
    """Send the partner export of the reports matching `filters` (counts, and what was written if
    `with_text`) as a file in `fmt`. The caller checks the role."""
    assert fmt in insight_export.FORMATS
    async with context.db() as session:
        chosen = await describe_filters(
            session, context.t, context.topics, filters, champion_zone(context.champion).key
        )

    async def write(session: AsyncSession, path: Path) -> int:
        return await insight_export.write_file(
            session, filters, context.topics, path, fmt, partner=True, with_text=with_text
        )

    name = insight_export.file_name(fmt, utcnow(), partner=True)
    await _send_file(update, context, name, write, chosen, partner=True)


async def _send_file(
    update: Update,
    context: Context,
    name: str,
    write: Callable[[AsyncSession, Path], Awaitable[int]],
    chosen: str,
    *,
    partner: bool,
) -> None:
    """Write a file with `write` in a temporary folder and send it with a caption saying how many
    reports it covers; the folder is removed once the file is read to be sent: it holds what
    champions said, so no copy stays."""
    t = context.t
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        async with context.db() as session:
            count = await write(session, path)
        if partner and not count:
            await context.reply.say(t.gettext(NONE_SHAREABLE))
            return
        if path.stat().st_size > SEND_LIMIT:
            await context.reply.say(
                t.gettext(
                    "That file is too large to send here. Choose fewer reports with the filters in "
                    "/insights, or ask your admin to run: champbot export insights"
                )
            )
            return
        caption = t.ngettext("{count} report · {filters}", "{count} reports · {filters}", count).format(
            count=t.number(count), filters=chosen
        )
        if partner:
            caption = t.gettext("For partners: {caption}").format(caption=caption)
        document = Media("document", path.read_bytes(), path.name)
    await context.reply.say(Outgoing(caption, media=document))


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
        parts.append(_("from {date}").format(date=local_date(t, filters.since, timezone)))
    if filters.until is not None:
        parts.append(_("before {date}").format(date=local_date(t, filters.until, timezone)))
    return " · ".join(parts) if parts else _("all reports")


def local_date(t: Translator, value: datetime, timezone: str) -> str:
    """A day in the reader's language and time zone, e.g. "Nov 2, 2026"."""
    return format_date(value.astimezone(ZoneInfo(timezone)), format="medium", locale=t.locale)
