"""Run the bot: open the database, then long polling or a webhook until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import urlparse

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.app import register_commands
from bot.i18n import compile_catalogs
from bot.settings import Settings, SettingsError
from bot.webhook import webhook_app
from storage.db import make_engine, make_sessions, upgrade

log = logging.getLogger(__name__)


async def open_database(
    settings: Settings, revision: str | None = None
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """Compile catalogs and connect; migrate to `revision`, or to the latest on SQLite
    (PostgreSQL is migrated only by `champbot db upgrade`)."""
    compile_catalogs()
    engine = make_engine(settings.db_url)
    try:
        async with engine.connect():
            pass
        if revision is not None or engine.dialect.name == "sqlite":
            await upgrade(engine, revision or "head")
    except Exception as exc:  # start-up boundary: any failure here means the setting is wrong
        await engine.dispose()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SettingsError(f"CHAMPBOT_DATABASE_URL: cannot open the database ({reason})") from exc
    return engine, make_sessions(engine)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, for a graceful shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def start(application: Application) -> None:  # type: ignore[type-arg]
    """Connect to the Bot API, register the command menu and start processing updates."""
    try:
        await application.initialize()
    except InvalidToken as exc:
        raise SettingsError("CHAMPBOT_TOKEN: the Bot API server rejected this token") from exc
    except NetworkError as exc:
        raise SettingsError(f"CHAMPBOT_API_BASE_URL: cannot reach the Bot API server ({exc})") from exc
    await register_commands(application)
    await application.start()


async def serve_polling(application: Application, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    """Long-poll until `stop` is set, then finish every update already fetched."""
    assert application.updater is not None
    await start(application)
    try:
        await application.bot.delete_webhook()
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        log.info("Polling as @%s", application.bot.username)
        await stop.wait()
        await application.updater.stop()
        await application.stop()
    finally:
        await application.shutdown()


async def serve_webhook(
    application: Application,  # type: ignore[type-arg]
    settings: Settings,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve the webhook until `stop` is set; `ready` is set once listening.
    Requests in flight finish before shutdown."""
    assert settings.webhook_url and settings.webhook_secret
    secret = settings.webhook_secret.get_secret_value()
    path = urlparse(settings.webhook_url).path or "/"
    await start(application)
    try:
        await application.bot.set_webhook(
            settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
        )
        runner = web.AppRunner(webhook_app(application, secret, path), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", settings.webhook_port).start()
        log.info("Webhook listening on port %s at %s", settings.webhook_port, path)
        if ready is not None:
            ready.set()
        await stop.wait()
        await runner.cleanup()  # lets requests in flight finish
        await application.stop()
    finally:
        await application.shutdown()
