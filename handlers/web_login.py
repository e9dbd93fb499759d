"""/web for coordinators: a one-time link that signs them in to the web dashboard."""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from bot.replies import Outgoing
from handlers.common import require_coordinator
from storage import web_sessions
from storage.models import utcnow


async def send_link(update: Update, context: Context) -> None:
    """Send a coordinator a sign-in link that works once, for them, for a few minutes."""
    champion = await require_coordinator(update, context)
    if champion is None:
        return
    t = context.t
    base = context.settings.web_url
    if base is None:
        await context.reply.say(
            t.gettext("The web dashboard is not set up. Ask whoever runs the bot to set its address.")
        )
        return
    async with context.db.begin() as session:
        token = await web_sessions.create_login(session, champion.id, utcnow())
    minutes = web_sessions.LINK_MINUTES
    text = t.ngettext(
        "Open this link within {count} minute to sign in to the dashboard. It works once, and only "
        "for you: don't share it.\n{link}",
        "Open this link within {count} minutes to sign in to the dashboard. It works once, and only "
        "for you: don't share it.\n{link}",
        minutes,
    ).format(count=t.number(minutes), link=f"{base}/signin?token={token}")
    await context.reply.say(Outgoing(text, preview=False))  # a preview would fetch the link
