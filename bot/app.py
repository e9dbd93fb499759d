"""Build the python-telegram-bot Application from settings and a database."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseUpdateProcessor, ContextTypes

from bot import wiring
from bot.context import Context, Services
from bot.flood import FloodGate
from bot.i18n import LANGUAGES, N_, translator
from bot.leader import Leader
from bot.settings import Settings, SettingsError
from storage.content import Library, load_library
from storage.report_topics import Topic, TopicsError, load_topics

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "1000001:sandbox-token-not-for-telegram"

# The menu Telegram shows beside the text box, translated per language.
MENU = [
    ("start", N_("Join or see the main menu")),
    ("help", N_("What I can do")),
    ("report", N_("Tell us what you heard")),
    ("myreports", N_("Your reports and the answers")),
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
) -> Application:  # type: ignore[type-arg]
    """The Application wired with every handler; `update_processor` lets tests observe updates."""
    token = settings.token.get_secret_value() if settings.token else SANDBOX_TOKEN
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{settings.api_base_url}/bot")
        .base_file_url(f"{settings.api_base_url}/file/bot")
        .context_types(ContextTypes(context=Context, bot_data=Services))
        .rate_limiter(AIORateLimiter(max_retries=3))
    )
    if update_processor is not None:
        builder = builder.concurrent_updates(update_processor)
    application = builder.build()
    application.bot_data.settings = settings
    application.bot_data.sessions = sessions
    application.bot_data.library = load_content()
    application.bot_data.topics = load_report_topics()
    application.bot_data.flood = FloodGate(settings.flood_burst, settings.flood_rate)
    application.bot_data.leader = Leader(sessions.kw["bind"])
    wiring.register(application)
    return application


async def shutdown(application: Application) -> None:  # type: ignore[type-arg]
    """Shut the application down and give up leading, so another process runs the scheduled jobs
    at once rather than after this one is gone."""
    await application.shutdown()
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


async def register_commands(application: Application) -> None:  # type: ignore[type-arg]
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
