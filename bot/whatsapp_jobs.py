"""WhatsApp's housekeeping: what the webhook kept that nobody needs any more."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from storage import inbound, whatsapp_statuses
from storage.models import utcnow

STATUSES_KEPT = timedelta(days=1)  # a status no outbox row took by then is a reply's
IDS_KEPT = timedelta(days=8)  # Meta repeats an unanswered delivery for up to 7 days

EVERY = 3600  # seconds


async def prune_job(context: Context) -> None:
    """Scheduler job: forget old status webhooks and handled message ids."""
    if context.bot_data.whatsapp is None:
        return
    now = utcnow()
    async with context.db.begin() as session:
        await whatsapp_statuses.prune(session, now - STATUSES_KEPT)
        await inbound.prune(session, now - IDS_KEPT)
