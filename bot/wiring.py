"""The one place where handlers are registered, in order and in groups.

Group -2 loads the person for every update (and drops what the bot ignores); group 0 holds the
journeys, most specific first, then the fallbacks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import whatsapp_jobs
from bot.context import App, Context
from bot.delivery import BROADCASTS, Render, schedule_tick
from bot.leader import when_leading
from bot.steps import StepData, journey
from handlers import (
    admin,
    answer_back,
    campaigns_menu,
    compose,
    digest,
    errors,
    export,
    fallback,
    gate,
    home,
    insights,
    learn,
    learning_job,
    live_report,
    onboarding,
    report,
    settings,
    stats,
    themes,
    timezone,
    web_login,
)
from handlers import log as logbook  # `log` is this module's logger
from handlers.common import keep_question, stale_button
from handlers.insights_state import Insights
from storage import outbox

log = logging.getLogger(__name__)

COMMANDS = {
    "start": onboarding.start,
    "help": settings.show_help,
    "cancel": settings.cancel,
    "language": settings.ask_language,
    "quiet": settings.ask_quiet_hours,
    "timezone": timezone.ask_timezone,
    "privacy": settings.show_privacy,
    "pause": settings.pause,
    "resume": settings.resume,
    "stop": settings.stop,
    "mydata": settings.my_data,
    "deleteme": settings.ask_delete,
    "learn": learn.show_topics,
    "progress": learn.show_progress,
    "weekly": learn.ask_weekly,
    "invite": admin.ask_invite,
    "pending": admin.list_pending,
    "stats": stats.show_stats,
    "export": export.ask_audience,
    "broadcast": compose.start,
    "campaigns": campaigns_menu.list_campaigns,
    "report": report.start,
    "myreports": report.my_reports,
    "log": logbook.start,
    "insights": insights.start,
    "themes": themes.start,
    "web": web_login.send_link,
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
    r"^quiet:s:\d{1,2}$": settings.choose_quiet_start,
    r"^quiet:(e:\d{1,2}:\d{1,2}|off)$": settings.choose_quiet_end,
    r"^quiet:o(:\d{1,2})?$": settings.other_quiet_hours,
    r"^tz:([A-Za-z_]{1,14}/[A-Za-z_]{1,14}|other)$": timezone.choose_timezone,
    r"^invite:\d{1,9}:(one|many)$": admin.make_invite,
    r"^approve:\d{1,9}:(yes|no)$": admin.decide,
    r"^learn:(topics|start)$": learn.show_topics,
    r"^learn:t:[a-z0-9-]{1,40}$": learn.open_topic,
    r"^learn:s:[a-z0-9-]{1,40}$": learn.open_snippet,
    r"^learn:m:[a-z0-9-]{1,40}:\d$": learn.read_on,
    r"^learn:q:[a-z0-9-]{1,40}$": learn.ask_quiz,
    r"^learn:a:[a-z0-9-]{1,40}:\d$": learn.answer_quiz,
    r"^weekly:d:[0-6]$": learn.choose_weekly_day,
    r"^weekly:h:[0-6]:\d{1,2}$": learn.choose_weekly_hour,
    r"^weekly:change$": learn.change_weekly,
    r"^weekly:stop$": learn.stop_weekly,
    r"^bc:[a-z]{1,12}(:[A-Za-z0-9_-]{1,40})?$": compose.button,
    r"^answer:\d{1,18}:(shared|question|concern)$": answer_back.answer_back,
    r"^camp:\d{1,9}:(pause|resume|cancel)$": campaigns_menu.campaign_button,
    r"^ins:(flt|clr|theme|ok|no|back|exp|done|cf|pg:\d{1,6}|lv:[a-z]{2,3})$": insights.button,
    r"^ins:(open|resp):\d{1,18}$": insights.button,
    r"^ins:mark:\d{1,18}:(acted|new)$": insights.button,
    r"^ins:f:(topic|kind|area|status|date)(:\d{1,3})?$": insights.button,
    r"^ins:fv:(topic|kind|area|status|date):(\*|[a-z0-9-]{1,40})$": insights.button,
    r"^thm:(group|list|close|cf|tell:(yes|no)|lv:[a-z]{2,3}|pk:(gp|council|vcse|nhs|school|faith|other))$": (
        themes.button
    ),
    r"^thm:(open|pg|note|partner|action|acts|outcome|pick|done):\d{1,18}$": themes.button,
    r"^thm:next:\d{1,9}:(research|plan|act|evaluate)$": themes.button,
    r"^thm:share:\d{1,9}:(on|off)$": themes.button,
    r"^thm:add:\d{1,9}:\d{1,18}$": themes.button,
    r"^rep:start$": report.start,
    r"^rep:(stop|back|keep|ok|t:[a-z0-9-]{1,40}|k:[a-z]{1,8}|p:[a-z]{1,4}|a:\d{1,9}|more:\d{1,2}"
    r"|anon:(yes|no))$": report.button,
    r"^myr:\d{1,6}$": report.my_reports,
    r"^log:new$": logbook.start_new,
    r"^log:(stop|back|n|b:(1|2-5|6-10|11-25|26\+)|t:[a-z0-9-]{1,40}|s:[a-z]{1,8}|f:[a-z]{1,8}"
    r"|rm:(yes|no))$": logbook.button,
    r"^log:(fix|del):\d{1,18}$": logbook.fix_or_delete,
    r"^log:nudge:(on|off)$": logbook.toggle_nudge,
    r"^stats:(week|month|30d)$": stats.choose_period,
    r"^home:(insights|broadcast|stats|invite|pending|champion)$": home.button,
    r"^exp:(int|partner|pt|ptx)(:(csv|xlsx))?$": export.choose,
}
# Scheduled jobs and how often each looks for work, in seconds; only the leading process runs them.
JOBS = {
    schedule_tick: 10,
    learn.weekly_job: 60,
    digest.digest_job: 60,
    learning_job.refresh_job: learning_job.EVERY,
    logbook.nudge_job: 60,
    live_report.report_job: live_report.REPORT_SECONDS,
    whatsapp_jobs.prune_job: whatsapp_jobs.EVERY,
    whatsapp_jobs.recover_job: whatsapp_jobs.RECOVER_EVERY,
}
# What each kind of outbox row says, rendered at send time in the recipient's language.
MESSAGES: dict[str, Render] = {
    **BROADCASTS,
    outbox.REPLY: insights.reply_message,
    outbox.THEME: themes.theme_message,
    outbox.APPROVAL_REQUEST: admin.request_message,
    outbox.APPROVAL_RESULT: admin.result_message,
    outbox.WEEKLY: learn.weekly_message,
    outbox.DIGEST: digest.digest_message,
    outbox.FORWARDED: answer_back.forwarded_message,
    outbox.LOG_NUDGE: logbook.nudge_message,
}


# Each journey's step data, by its steps' prefix: read and validated by the loading step.
STEPS: dict[str, type[StepData]] = {
    "erase": settings.Erasing,
    "join": onboarding.Joining,
    "rep": report.Reporting,
    "log": logbook.Logging,
    "ins": Insights,
    "thm": themes.Theming,
    "bc": compose.Composing,
    "ans": answer_back.Answering,
    "tz": timezone.TypingZone,
}

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]

# Where typed text and media go while a chat is on a journey's step, by the steps' prefix.
TEXT: dict[str, Callback] = {
    "join": onboarding.on_text,
    "rep": report.on_text,
    "log": logbook.on_text,
    "ins": insights.on_text,
    "thm": themes.on_text,
    "bc": compose.on_text,
    "ans": answer_back.on_text,
    "tz": timezone.on_text,
}
MEDIA: dict[str, Callback] = {
    "rep": report.on_media,
    "ins": insights.on_media,
    "thm": themes.on_media,
    "bc": compose.on_media,
}


def routed(routes: dict[str, Callback], otherwise: Callback) -> Callback:
    """A handler that gives the message to the journey whose step the chat is on, else `otherwise`."""

    @wraps(otherwise)
    async def route(update: Update, context: Context) -> None:
        state = context.state
        await (routes.get(journey(state.step), otherwise) if state else otherwise)(update, context)

    return route


def speaking(callback: Callback) -> Callback:
    """The handler, then the question it asked kept with the chat's step, then a wait for what it
    said that went in the background (the answer to a press, an echo, an edit), so its failures
    reach the error handler and the chat's next update starts after them."""

    @wraps(callback)
    async def handle(update: Update, context: Context) -> None:
        try:
            await callback(update, context)
            await keep_question(update, context)
        except BaseException:
            try:
                await context.settle()
            except Exception:  # the handler's own failure is the one to report (or to rerun on)
                log.warning("What the failed handler had said could not all be sent", exc_info=True)
            raise
        await context.settle()

    return handle


def register(application: App) -> None:
    """Add every handler and the error handler to the application."""
    application.bot_data.steps = STEPS
    application.add_handler(TypeHandler(Update, speaking(gate.load)), group=-2)
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, speaking(callback)))
    for pattern, callback in BUTTONS.items():
        application.add_handler(CallbackQueryHandler(speaking(callback), pattern=pattern))
    application.add_handler(CallbackQueryHandler(speaking(stale_button)))
    text = routed(TEXT, fallback.text)
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, speaking(text)))
    application.add_handler(MessageHandler(filters.COMMAND, speaking(fallback.unknown_command)))
    application.add_handler(MessageHandler(filters.ALL, speaking(routed(MEDIA, fallback.other_message))))
    application.add_error_handler(errors.on_error)
    assert application.job_queue is not None
    for job, seconds in JOBS.items():
        application.job_queue.run_repeating(when_leading(job), interval=seconds, first=seconds)
