"""The one place where handlers are registered, in order and in groups.

Group -2 loads the person for every update (and drops what the bot ignores); group 0 holds the
journeys, most specific first, then the fallbacks.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import admin, errors, fallback, gate, onboarding, settings

COMMANDS = {
    "start": onboarding.start,
    "help": settings.show_help,
    "cancel": settings.cancel,
    "language": settings.ask_language,
    "privacy": settings.show_privacy,
    "pause": settings.pause,
    "resume": settings.resume,
    "stop": settings.stop,
    "mydata": settings.my_data,
    "deleteme": settings.ask_delete,
    "invite": admin.ask_invite,
    "pending": admin.list_pending,
}

BUTTONS = {
    r"^join:lang:[a-z]{2}$": onboarding.choose_language,
    r"^join:consent:(yes|no)$": onboarding.answer_consent,
    r"^join:share:(yes|no)$": onboarding.answer_share,
    r"^join:area:\d{1,9}$": onboarding.choose_area,
    r"^join:net:\d{1,9}$": onboarding.toggle_network,
    r"^join:done$": onboarding.finish,
    r"^lang:[a-z]{2}$": settings.set_language,
    r"^privacy:share:(yes|no)$": settings.change_sharing,
    r"^erase:(yes|no)$": settings.confirm_delete,
    r"^invite:\d{1,9}:(one|many)$": admin.make_invite,
    r"^approve:\d{1,9}:(yes|no)$": admin.decide,
}


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add every handler and the error handler to the application."""
    application.add_handler(TypeHandler(Update, gate.load), group=-2)
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback))
    for pattern, callback in BUTTONS.items():
        application.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    application.add_handler(CallbackQueryHandler(fallback.stale_button))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, fallback.text))
    application.add_handler(MessageHandler(filters.COMMAND, fallback.unknown_command))
    application.add_handler(MessageHandler(filters.ALL, fallback.other_message))
    application.add_error_handler(errors.on_error)
