"""The coordinators' web dashboard: server-rendered pages, served by the bot's own aiohttp server
(alone with `champbot web`, or beside the webhooks with `champbot webhook`)."""

from bot.web.app import Dashboard, mount, web_app

__all__ = ["Dashboard", "mount", "web_app"]
