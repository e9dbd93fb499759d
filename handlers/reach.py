"""How far messages went, as coordinators see it: the reach lines /stats appends, each campaign's
figures, and the short excerpt that names a sent message."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.i18n import Translator
from handlers.common import champion_zone, isolate
from storage import responses
from storage.models import utcnow

EXCERPT = 60  # characters of a message that name it


def message_excerpt(texts: dict[str, str], language: str) -> str:
    """The start of a message, in this language if it has a version, else English."""
    text = " ".join((texts.get(language) or texts.get("en") or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"


def reach_figures(t: Translator, reach: responses.Reach) -> str:
    """One message's (or campaign's) figures: sent, shared, questions, concerns, and how many of
    those sent on WhatsApp were read."""
    figures = t.gettext("sent {sent} · shared {shared} · questions {questions} · concerns {concerns}").format(
        sent=t.number(reach.sent),
        shared=t.number(reach.shared),
        questions=t.number(reach.questions),
        concerns=t.number(reach.concerns),
    )
    if reach.whatsapp:
        read = t.gettext("read on WhatsApp {read}/{total}")
        figures += " · " + read.format(read=t.number(reach.read), total=t.number(reach.whatsapp))
    return figures


async def reach_lines(context: Context) -> list[str]:
    """Reach of recent campaigns and broadcasts (sent, shared, questions, concerns) and people
    reached in the last 30 days, in the coordinator's language, for /stats to append."""
    t = context.t
    timezone = champion_zone(context.champion).key
    async with context.db() as session:
        recent = await responses.recent_reach(session, utcnow() - timedelta(days=30))
    lines = [t.gettext("Reach of messages in the last 30 days:")]
    for campaign in recent.campaigns:
        lines.append(f"{isolate(campaign.name)}: {reach_figures(t, campaign.reach)}")
    for sent in recent.broadcasts:
        excerpt = isolate(message_excerpt(sent.texts, t.language))
        lines.append(f"{t.datetime(sent.sent_at, timezone)} {excerpt}: {reach_figures(t, sent.reach)}")
    if not recent.campaigns and not recent.broadcasts:
        lines.append(t.gettext("No messages have been sent yet."))
    lines.append(
        t.ngettext(
            "People reached: champions shared {count} message.",
            "People reached: champions shared {count} messages.",
            recent.shared,
        ).format(count=t.number(recent.shared))
    )
    return lines
