"""The values each kind of outbox row fills its WhatsApp template with (content/whatsapp_templates.yaml).

Outside WhatsApp's 24-hour window a row goes as its kind's approved template, whose variables are
named in the catalogue; the function for its kind gives a value for each, in the champion's
language, from the row, what its renderer said (`outgoing`) and what the renderer read. Each is
called only after the renderer said something, so what it reads is there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.i18n import translator
from bot.replies import Outgoing
from handlers.common import isolate
from handlers.digest import TIMEZONE, suppressed
from handlers.insights import payload_response
from handlers.reach import message_excerpt
from handlers.report_labels import excerpt
from storage import insight_figures, outbox, reports, responses
from storage.models import Champion

SAID = 100  # characters of a champion's report quoted back to them, as in the session message
NONE = "–"

Values = Callable[[AsyncSession, outbox.Claimed, Outgoing, Services], Awaitable[dict[str, str]]]


async def broadcast_values(
    session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing, services: Services
) -> dict[str, str]:
    """A broadcast's or campaign message's text in the champion's language (else English)."""
    return {"text": item.text}


async def reply_values(
    session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing, services: Services
) -> dict[str, str]:
    """The report's reference, what it said and what the coordinators did: the version in the
    champion's language, else what the coordinator wrote and the line saying it was not translated."""
    found = await reports.reply_to_tell(session, int(item.payload["reply"]))
    if found is None:
        return {}
    stored, report = found
    t = translator(item.language)
    response, note = payload_response(t, item.payload, stored.text)
    return {
        "reference": reports.reference(report.id),
        "said": excerpt(t, report.text, report.media_kind, SAID),
        "response": isolate(response) + (f" {note}" if note else ""),
    }


async def weekly_values(
    session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing, services: Services
) -> dict[str, str]:
    """The snippet of the week's title and text."""
    found = services.library.get(str(item.payload["snippet"]), item.language)
    if found is None:
        return {}
    snippet, _fell_back = found
    return {"title": snippet.title, "text": snippet.body}


async def digest_values(
    session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing, services: Services
) -> dict[str, str]:
    """The week the digest covers, its reports (few shown as "<5") and how many wait for review."""
    slot = datetime.fromisoformat(str(item.payload["slot"]))
    figures = await insight_figures.digest(session, slot - timedelta(days=7), slot)
    t = translator(item.language)
    zone = ZoneInfo(TIMEZONE)
    first = format_date((slot - timedelta(days=7)).astimezone(zone), "medium", locale=t.locale)
    last = format_date((slot - timedelta(days=1)).astimezone(zone), "medium", locale=t.locale)
    return {
        "period": f"{first} – {last}",
        "reports": suppressed(t, figures.week.total),
        "waiting": t.number(figures.waiting),
    }


async def request_values(
    session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing, services: Services
) -> dict[str, str]:
    """Who asks to join, and their area."""
    champion = await session.get(Champion, int(item.payload["champion"]))
    if champion is None:
        return {}
    return {
        "name": isolate(champion.display_name) if champion.display_name else NONE,
        "area": champion.area.name if champion.area else NONE,
    }


async def result_values(
    session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing, services: Services
) -> dict[str, str]:
    """The coordinators' decision, as the session message says it."""
    return {"decision": outgoing.text}


async def forwarded_values(
    session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing, services: Services
) -> dict[str, str]:
    """The message a champion answered back about, the report's reference and what they wrote."""
    report = await reports.get(session, int(item.payload["report"]))
    texts = await responses.answered_texts(session, report) if report is not None else None
    if report is None or texts is None:
        return {}
    return {
        "message": isolate(message_excerpt(texts, item.language)),
        "reference": reports.reference(report.id),
        "text": isolate(report.text),
    }


async def no_values(
    session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing, services: Services
) -> dict[str, str]:
    """A template with nothing to fill in (the reminder to log)."""
    return {}


TEMPLATE_VALUES: dict[str, Values] = {
    outbox.BROADCAST: broadcast_values,
    outbox.CAMPAIGN: broadcast_values,
    outbox.REPLY: reply_values,
    outbox.THEME: reply_values,
    outbox.WEEKLY: weekly_values,
    outbox.DIGEST: digest_values,
    outbox.APPROVAL_REQUEST: request_values,
    outbox.APPROVAL_RESULT: result_values,
    outbox.FORWARDED: forwarded_values,
    outbox.LOG_NUDGE: no_values,
}
