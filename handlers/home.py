"""The buttons on a coordinator's home: each starts what its command starts, or shows the
champion's menu. The role is checked before anything is shown."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.context import Context
from handlers import admin, compose, insights, stats
from handlers.common import TOOLS, require_coordinator, require_member, show_champion_menu

JOURNEYS: dict[str, Callable[[Update, Context], Coroutine[Any, Any, None]]] = {
    "insights": insights.start,
    "broadcast": compose.start,
    "stats": stats.show_stats,
    "invite": admin.ask_invite,
    "pending": admin.list_pending,
}


async def button(update: Update, context: Context) -> None:
    """Show the pressed tool on the home message, then start its command's journey."""
    query = update.callback_query
    assert query and query.data
    command = query.data.removeprefix("home:")
    if command == "champion":
        if await require_member(update, context) is None:
            return
        await context.reply.picked(context.t.gettext("Champion menu"))
        await show_champion_menu(context)
        return
    if await require_coordinator(update, context) is None:
        return
    await context.reply.picked(context.t.gettext(TOOLS[command]))
    await JOURNEYS[command](update, context)
