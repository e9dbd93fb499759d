"""WhatsApp's housekeeping: messages a stopped worker left unhandled, and what the webhook kept
that nobody needs any more."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import Context
from storage import inbound, whatsapp_statuses
from storage.models import utcnow

log = logging.getLogger(__name__)

STATUSES_KEPT = timedelta(days=1)  # a status no outbox row took by then is a reply's
IDS_KEPT = timedelta(days=8)  # Meta repeats an unanswered delivery for up to 7 days

EVERY = 3600  # seconds between prunings
RECOVER_EVERY = 30  # seconds between looks for messages left unhandled


async def recover_job(context: Context) -> None:
    """Scheduler job: take up WhatsApp messages a stopped worker claimed and never handled."""
    inbox = context.bot_data.whatsapp_inbox
    if inbox is not None:
        recovered = await inbox.recover()
        if recovered:
            log.warning("Took up %s WhatsApp messages left unhandled by a stopped worker", recovered)


async def prune_job(context: Context) -> None:
    """Scheduler job: forget old status webhooks and handled message ids."""
    if context.bot_data.whatsapp is None:
        return
    now = utcnow()
    async with context.db.begin() as session:
        await whatsapp_statuses.prune(session, now - STATUSES_KEPT)
        await inbound.prune(session, now - IDS_KEPT)
