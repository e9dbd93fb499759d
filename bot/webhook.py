"""Webhook channel: an aiohttp app that checks Telegram's secret token and processes each update.

An update is processed before the 200 goes back, so one that was accepted is never lost: if the
process dies first, Telegram sends it again.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from telegram import Update

from bot.context import App

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # Telegram's updates are far smaller


def webhook_app(application: App, secret: str, path: str = "/telegram") -> web.Application:
    """An aiohttp application that feeds verified updates to `application`."""

    async def receive(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret.encode()):
            return web.Response(status=403, text="wrong secret token")
        try:
            payload = await request.json()
            if not isinstance(payload, dict) or type(payload.get("update_id")) is not int:  # not a bool
                raise ValueError("no update_id")
            update = Update.de_json(payload, application.bot)
        except web.HTTPRequestEntityTooLarge:
            raise
        except Exception:  # any body that does not parse as an update is the sender's error
            log.info("Refused a webhook body that is not a Telegram update")
            return web.Response(status=400, text="not a Telegram update")
        # Through the update processor, which handles one chat's updates in order (bot.app).
        await application.update_processor.process_update(update, application.process_update(update))
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(path, receive)
    return app
