"""Build the python-telegram-bot Application from settings and a database."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    ExtBot,
    Job,
    JobQueue,
)

from bot import wiring
from bot.budget import Budget, BudgetLimiter, Priority
from bot.context import App, Context, Services
from bot.delivery import catalogue
from bot.flood import FloodGate
from bot.i18n import LANGUAGES, N_, translator
from bot.leader import Leader
from bot.settings import Settings, SettingsError
from bot.whatsapp_api import WhatsAppClient
from bot.whatsapp_inbound import Inbox
from bot.whatsapp_replies import WhatsAppOut
from bot.whatsapp_templates import validate_at_start
from storage.content import Library, load_library
from storage.conversation import StateConflict
from storage.report_topics import Topic, TopicsError, load_topics

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "1000001:sandbox-token-not-for-telegram"
CONCURRENT_UPDATES = 64  # updates handled at once, of different chats (one chat's go one by one)
UNLIMITED = 2**31 - 1
STATE_RERUNS = 2  # times an update is handled again after another worker changed its chat's state

# The menu Telegram shows beside the text box, translated per language.
MENU = [
    ("start", N_("Join or see the main menu")),
    ("help", N_("What I can do")),
    ("report", N_("Tell us what you heard")),
    ("myreports", N_("Your reports and the answers")),
    ("log", N_("Log how many people you talked to")),
    ("learn", N_("Short lessons and quizzes")),
    ("progress", N_("What you have learned")),
    ("language", N_("Change language")),
    ("privacy", N_("Privacy and your choices")),
    ("pause", N_("Pause campaign messages")),
    ("resume", N_("Resume campaign messages")),
    ("mydata", N_("Get a copy of your data")),
    ("stop", N_("Stop all messages")),
]


def build_application(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    update_processor: BaseUpdateProcessor | None = None,
) -> App:
    """The Application wired with every handler; `update_processor` lets tests observe updates."""
    token = settings.token.get_secret_value() if settings.token else SANDBOX_TOKEN
    budget = Budget(settings.delivery_rate or None)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{settings.api_base_url}/bot")
        .base_file_url(f"{settings.api_base_url}/file/bot")
        .context_types(ContextTypes(context=Context, bot_data=Services))
        .rate_limiter(BudgetLimiter(budget))
        .application_class(ChampApplication)
        .concurrent_updates(update_processor or ChatOrderProcessor(CONCURRENT_UPDATES))
    )
    # The builder's type parameters don't follow context_types() or application_class(); what it
    # builds is a ChampApplication, which is an App.
    application = cast("App", builder.build())
    application.bot_data.settings = settings
    application.bot_data.sessions = sessions
    application.bot_data.library = load_content()
    application.bot_data.topics = load_report_topics()
    application.bot_data.flood = FloodGate(settings.flood_burst, settings.flood_rate)
    application.bot_data.leader = Leader(sessions.kw["bind"])
    application.bot_data.budget = budget
    application.bot_data.whatsapp = whatsapp_out(settings, sessions)
    if application.bot_data.whatsapp is not None:
        application.bot_data.whatsapp_inbox = Inbox(application)
    wiring.register(application)
    return application


def whatsapp_out(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> WhatsAppOut | None:
    """The WhatsApp channel's sending side, where WhatsApp is configured: its own budget keeps the
    number's throughput and Meta's pair limit (one message to a person every few seconds). Its
    template catalogue is checked first: TemplatesError (a SettingsError) names each problem."""
    if not settings.whatsapp or settings.whatsapp_token is None or settings.whatsapp_phone_number_id is None:
        return None
    validate_at_start(catalogue())
    client = WhatsAppClient(
        settings.whatsapp_api_url,
        settings.whatsapp_phone_number_id,
        settings.whatsapp_token.get_secret_value(),
    )
    budget = Budget(settings.whatsapp_rate or None, settings.whatsapp_pair_seconds)
    return WhatsAppOut(client, budget, sessions, settings.data_dir)


class ChatOrderProcessor(BaseUpdateProcessor):
    """Handle one chat's updates one after another, in the order they arrived, while other chats'
    run at the same time: two quick taps in one chat must not both read the same state.

    At most `max_concurrent_updates` are handled at once; an update waiting for its chat's earlier
    ones takes none of those slots, so one busy chat cannot hold up the others."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(UNLIMITED)  # PTB's own limit would count updates that wait for their chat
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}  # chat → its turn, updates wanting it

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's earlier updates (asyncio.Lock is first come, first served), then for
        a free slot, then handle the update."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slots:
                await coroutine
            return
        lock, wanting = self._chats.get(chat.id, (asyncio.Lock(), 0))
        self._chats[chat.id] = (lock, wanting + 1)
        try:
            async with lock, self._slots:
                await coroutine
        except BaseException:
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting its turn: it never started (else a no-op)
            raise
        finally:
            lock, wanting = self._chats[chat.id]
            if wanting == 1:
                del self._chats[chat.id]
            else:
                self._chats[chat.id] = (lock, wanting - 1)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


Data = dict[object, object]  # PTB's user_data and chat_data, which the bot does not use


class ChampApplication(Application[ExtBot[Priority], Context, Data, Data, Services, JobQueue[Context]]):
    """An Application that handles an update again, from the loading step, when saving its chat's
    state met a newer one (another worker handled the chat's previous update at the same moment).

    Most handlers save the step before sending its question, so an attempt that lost the race has
    usually sent nothing; one that answered the button before saving answers it again on the rerun
    (the network tap saves first)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._reruns_left: dict[int, int] = {}  # id of an update being handled → reruns it may have
        self._conflicted: set[int] = set()

    async def process_update(self, update: object) -> None:
        """Handle the update; again (at most STATE_RERUNS times) while its state write conflicts."""
        key = id(update)
        self._reruns_left[key] = STATE_RERUNS
        try:
            while True:
                await super().process_update(update)
                if key not in self._conflicted:
                    return
                self._conflicted.discard(key)
                self._reruns_left[key] -= 1
                log.info(
                    "Update %s met a newer conversation state; handling it again",
                    getattr(update, "update_id", None),
                )
        finally:
            self._reruns_left.pop(key, None)
            self._conflicted.discard(key)

    async def process_error(
        self,
        update: object | None,
        error: Exception,
        job: Job[Context] | None = None,
        coroutine: Any = None,
    ) -> bool:
        """A state conflict with reruns left stops this attempt quietly; anything else (or a
        conflict on the last attempt) goes to the error handlers."""
        if isinstance(error, StateConflict) and self._reruns_left.get(id(update), 0) > 0:
            self._conflicted.add(id(update))
            return True
        return await super().process_error(update, error, job, coroutine)


async def shutdown(application: App) -> None:
    """Shut the application down and give up leading, so another process runs the scheduled jobs
    at once rather than after this one is gone."""
    if application.bot_data.whatsapp_inbox is not None:  # what the webhook took in, handled first
        await application.bot_data.whatsapp_inbox.settle()
    await application.shutdown()
    if application.bot_data.whatsapp is not None:
        await application.bot_data.whatsapp.client.close()
    if application.bot_data.leader is not None:
        await application.bot_data.leader.close()


def load_content() -> Library:
    """Load the training snippets; broken files are logged by name and left out."""
    library, problems = load_library(languages=tuple(LANGUAGES))
    for problem in problems:
        log.warning("Content left out: %s", problem)
    return library


def load_report_topics() -> list[Topic]:
    """Load the report topics; a broken file stops start-up with one line naming the problem, since
    champions could not report without it."""
    try:
        return load_topics(languages=tuple(LANGUAGES))
    except TopicsError as exc:
        raise SettingsError(f"content/report_topics.yaml: {exc}") from None


async def register_commands(application: App) -> None:
    """Register the command menu in every language; a failure is logged, never fatal."""
    for language in LANGUAGES:
        tr = translator(language)
        commands = [BotCommand(name, tr.gettext(description)) for name, description in MENU]
        try:
            await application.bot.set_my_commands(
                commands, language_code=None if language == "en" else language
            )
        except TelegramError as exc:
            log.warning("Could not register the %s command menu: %s", language, exc)
