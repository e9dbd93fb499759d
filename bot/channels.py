"""Run the bot: open the database, then long polling or a webhook until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.app import (
    SANDBOX_TOKEN,
    load_content,
    load_report_topics,
    register_commands,
    shutdown,
)
from bot.budget import Budget
from bot.context import App, Services
from bot.delivery import DeliveryWorker, WorkerOptions
from bot.heartbeat import sharing
from bot.settings import Settings, SettingsError
from bot.wake import listening
from bot.web import Dashboard, mount
from bot.webhook import webhook_app
from bot.whatsapp_inbound import MAX_BODY as WHATSAPP_MAX_BODY
from bot.whatsapp_inbound import whatsapp_routes
from bot.whatsapp_replies import WhatsAppOut
from bot.wiring import MESSAGES
from storage import outbox
from storage.db import make_engine, make_sessions, upgrade
from storage.identities import TELEGRAM, WHATSAPP

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds one long poll waits for updates
POLL_FIRST_DELAY = 1.0  # seconds before polling again after an error; doubles up to POLL_MAX_DELAY
POLL_MAX_DELAY = 30.0
POLL_READ_MARGIN = 5.0  # seconds beyond the long poll's own timeout before the answer is overdue


async def open_database(
    settings: Settings, revision: str | None = None
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """Connect; migrate to `revision`, or to the latest on SQLite (PostgreSQL is migrated only by
    `champbot db upgrade`). Catalogs are compiled by `bot.i18n` when first needed."""
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


async def start(application: App) -> None:
    """Connect to the Bot API, register the command menu and start processing updates."""
    try:
        await application.initialize()
    except InvalidToken as exc:
        raise SettingsError("CHAMPBOT_TOKEN: the Bot API server rejected this token") from exc
    except NetworkError as exc:
        raise SettingsError(f"CHAMPBOT_API_BASE_URL: cannot reach the Bot API server ({exc})") from exc
    await register_commands(application)
    await application.start()


def delivery_bot(settings: Settings) -> Bot:
    """A plain Bot for delivery workers: they keep Telegram's limits themselves."""
    token = settings.token.get_secret_value() if settings.token else SANDBOX_TOKEN
    request = HTTPXRequest(connection_pool_size=64)
    return Bot(token, base_url=f"{settings.api_base_url}/bot", request=request)


async def run_delivery(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    budget: Budget,
    *,
    services: Services | None = None,
    workers: int | None = None,
    until_idle: bool = False,
    lease: int | None = None,
    whatsapp: WhatsAppOut | None = None,
) -> None:
    """Run delivery workers sharing one budget until `stop` (or until nothing is left): one for
    person-to-person rows alone, so they never wait behind a bulk batch, and `workers` more that
    take person-to-person rows first, then bulk ones. `services` are the bot's own when it runs
    them in its process (so its handlers' rings reach the workers); a delivery process loads its
    own content. `budget` is the process's, the one its replies use too. On PostgreSQL the workers
    are also woken by rows queued in any process.

    Where WhatsApp is configured, each channel gets workers of its own, claiming only its
    champions' rows, so each keeps the pace of its own budget and neither waits for the other's
    (a delivery process brings its own WhatsApp sender, `whatsapp`, with its own budget)."""
    count = settings.delivery_workers if workers is None else workers
    if count == 0:
        return
    if services is None:
        services = Services(
            settings=settings,
            sessions=sessions,
            library=load_content(),
            topics=load_report_topics(),
            whatsapp=whatsapp,
        )
    options = WorkerOptions() if lease is None else WorkerOptions(lease=timedelta(seconds=lease))
    channels: tuple[str | None, ...] = (TELEGRAM, WHATSAPP) if services.whatsapp is not None else (None,)

    def worker(lanes: tuple[int, ...], channel: str | None) -> DeliveryWorker:
        return DeliveryWorker(
            bot,
            sessions,
            budget,
            options,
            messages=MESSAGES,
            services=services,
            lanes=lanes,
            wake=services.wake,
            channel=channel,
        )

    async with delivery_bot(settings) as bot, listening(sessions.kw["bind"], services.wake):
        everyone = [
            one
            for channel in channels
            for one in [worker((outbox.PERSON,), channel)]
            + [worker((outbox.PERSON, outbox.BULK), channel) for _ in range(count)]
        ]
        await asyncio.gather(*(one.run(stop, until_idle=until_idle) for one in everyone))


async def serve_polling(application: App, stop: asyncio.Event, *, whatsapp_port: bool = True) -> None:
    """Long-poll until `stop` is set, then finish every update already fetched. With WhatsApp on,
    its webhook is served on its own port meanwhile, unless `whatsapp_port` is False: the caller
    serves `whatsapp_routes` itself (the sandbox, on its page's port)."""
    try:
        async with _sharing(application):
            await start(application)
            delivering = _start_delivery(application, stop)
            try:
                await application.bot.delete_webhook()
                log.info("Polling as @%s", application.bot.username)
                async with whatsapp_webhook(application) if whatsapp_port else contextlib.nullcontext():
                    await poll(application, stop)
                await application.stop()
                await delivering
            finally:
                await _stop_delivery(delivering)
    finally:
        await _stop_and_shut_down(application)


async def poll(application: App, stop: asyncio.Event) -> None:
    """Fetch updates and handle each batch before confirming it, until `stop` is set; an update that
    cannot be read is logged, skipped and confirmed past like the others.

    A batch's updates are handled at once, different chats side by side and one chat's in order
    (the update processor keys them by chat), so a press waits for its own round trips only, not
    for everyone else's fetched with it.

    Telegram forgets an update once a later poll's offset is past it, so the offset moves only after
    the batch is handled: an update fetched but not yet handled when the process dies is sent again
    after a restart (python-telegram-bot's own Updater confirms a batch as soon as it is queued).
    At most the batch in hand when the process died is handled twice; every step checks the
    chat's conversation state first, so a repeat is answered as a stale button or by asking the
    step's question again rather than applied again.
    """
    offset = 0
    delay = POLL_FIRST_DELAY
    processor = application.update_processor
    while not stop.is_set():
        try:
            raw = await _unless_stopped(fetch_updates(application.bot, offset), stop)
        except TelegramError as exc:
            log.warning("Polling failed (%s); trying again in %.0f s", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, POLL_MAX_DELAY)
            continue
        delay = POLL_FIRST_DELAY
        batch = []
        for data in raw:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if type(update_id) is not int:  # nothing to confirm it by; later ones move the offset on
                log.warning("Skipped an update without an update id")
                continue
            offset = max(offset, update_id + 1)
            update = read_update(data, application.bot)
            if update is not None:
                batch.append(processor.process_update(update, application.process_update(update)))
        await asyncio.gather(*batch)  # started in arrival order: a chat's turn is first come, first served
    if offset:  # confirm what was handled, so a restart does not see it again
        try:
            await application.bot.get_updates(offset=offset, timeout=0, limit=1)
        except TelegramError as exc:
            log.warning("Could not confirm the last updates (%s); they will be handled again", exc)


async def fetch_updates(bot: Bot, offset: int) -> list[Any]:
    """One long poll's updates as raw JSON, so that one update the library cannot read is skipped on
    its own: `Bot.get_updates` reads the whole batch at once, fails on the first bad one (logging the
    batch, personal data and all) and would fail again on it after every restart.

    Bot API method names are case-insensitive; "getupdates" is the spelling PTB's public
    `do_api_request` takes without asking us to use `get_updates` instead."""
    result = await bot.do_api_request(
        "getupdates",
        api_kwargs={"offset": offset, "timeout": POLL_TIMEOUT, "allowed_updates": list(Update.ALL_TYPES)},
        read_timeout=POLL_TIMEOUT + POLL_READ_MARGIN,
    )
    return result if isinstance(result, list) else []


def read_update(data: dict[str, Any], bot: Bot) -> Update | None:
    """The update, or None (logged by its id only) when the library cannot read it."""
    try:
        return Update.de_json(data, bot)
    except Exception as exc:  # any malformed field: skip this one update, never stop polling
        log.warning("Skipped update %s: it could not be read (%s)", data["update_id"], type(exc).__name__)
        return None


async def _unless_stopped(polling: Coroutine[Any, Any, list[Any]], stop: asyncio.Event) -> list[Any]:
    """The updates from one poll, or none if `stop` is set first (the poll is then abandoned)."""
    fetching = asyncio.ensure_future(polling)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not fetching.done():
        fetching.cancel()
        await asyncio.gather(fetching, return_exceptions=True)
        return []
    return fetching.result()


async def serve_webhook(
    application: App,
    settings: Settings,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve the webhook until `stop` is set; `ready` is set once listening.
    Requests in flight finish before shutdown."""
    assert settings.webhook_url and settings.webhook_secret
    secret = settings.webhook_secret.get_secret_value()
    path = urlparse(settings.webhook_url).path or "/"
    try:
        async with _sharing(application):
            await start(application)
            delivering = _start_delivery(application, stop)
            try:
                await application.bot.set_webhook(
                    settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
                )
                app = webhook_app(application, secret, path)
                if application.bot_data.whatsapp is not None:  # one port for both channels
                    app.add_routes(whatsapp_routes(application))
                if settings.web_url:  # and for the dashboard
                    sessions = application.bot_data.sessions
                    assert sessions is not None
                    data = application.bot_data
                    mount(app, Dashboard(sessions, settings, data.topics, data.library, data.wake))
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                await web.TCPSite(runner, "0.0.0.0", settings.webhook_port).start()
                log.info("Webhook listening on port %s at %s", settings.webhook_port, path)
                if ready is not None:
                    ready.set()
                await stop.wait()
                await runner.cleanup()  # lets requests in flight finish
                await application.stop()
                await delivering
            finally:
                await _stop_delivery(delivering)
    finally:
        await _stop_and_shut_down(application)


@asynccontextmanager
async def whatsapp_webhook(application: App) -> AsyncIterator[None]:
    """WhatsApp's webhook on its own port while Telegram is polled (nothing without WhatsApp)."""
    settings = application.bot_data.settings
    if application.bot_data.whatsapp is None or settings is None:
        yield
        return
    app = web.Application(client_max_size=WHATSAPP_MAX_BODY)
    app.add_routes(whatsapp_routes(application))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", settings.whatsapp_port).start()
    log.info("WhatsApp webhook listening on port %s at /whatsapp", settings.whatsapp_port)
    try:
        yield
    finally:
        await runner.cleanup()  # lets requests in flight finish


def _sharing(application: App) -> AbstractAsyncContextManager[None]:
    """This process's share of the token's budget, held from before its first send until its last:
    the bot sends replies even when it runs no delivery worker."""
    assert application.bot_data.sessions
    whatsapp = application.bot_data.whatsapp
    more = (whatsapp.budget,) if whatsapp is not None else ()
    return sharing(application.bot_data.budget, application.bot_data.sessions, *more)


def _start_delivery(application: App, stop: asyncio.Event) -> asyncio.Task[None]:
    services = application.bot_data
    assert services.settings and services.sessions
    return asyncio.create_task(
        run_delivery(services.settings, services.sessions, stop, services.budget, services=services),
        name="delivery",
    )


async def _stop_and_shut_down(application: App) -> None:
    """Stop the application if it still runs (serving ended by an error), then shut it down: shutting
    down a running application fails with "This Application is still running!" and hides the error."""
    if application.running:
        await application.stop()
    await shutdown(application)


async def _stop_delivery(delivering: asyncio.Task[None]) -> None:
    """Make sure the delivery task is over, even when start-up failed half-way."""
    if not delivering.done():
        delivering.cancel()
    await asyncio.gather(delivering, return_exceptions=True)
