"""The learning page's figures, refreshed in the background: counting them takes about a second at
full size, too long for the page to do on every visit (see storage/learning_snapshot.py)."""

from __future__ import annotations

from bot.context import Context
from storage import learning_snapshot
from storage.models import utcnow

EVERY = 600  # seconds between refreshes: the page's figures are at most this old while the bot runs


async def refresh_job(context: Context) -> None:
    """Scheduler job: count the learning figures of every area afresh and store them."""
    async with context.db.begin() as session:
        await learning_snapshot.refresh(session, context.library, utcnow())
