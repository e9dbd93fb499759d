"""Pieces every journey uses: step saving, membership and role checks, the main menu, help."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import Update

from bot.context import Context
from bot.i18n import LANGUAGES, N_, Translator
from bot.replies import Choice, Outgoing, Sent, ticked
from bot.steps import StepData
from storage import conversation
from storage.conversation import StateConflict
from storage.db import CONNECTION_ERRORS
from storage.models import Champion, Status

log = logging.getLogger(__name__)

MEMBER_STATUSES = {Status.ACTIVE, Status.PAUSED}


DEFAULT_TIMEZONE = "Europe/London"


def champion_zone(champion: Champion | None) -> ZoneInfo:
    """The person's time zone, or London's if theirs is unknown or not a real zone."""
    try:
        return ZoneInfo(champion.timezone if champion else DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def isolate(text: str | None) -> str:
    """Wrap text a person typed (a name) in Unicode isolates, so an Arabic name in an English
    sentence, or a Latin name in an Urdu one, cannot flip the direction of the whole message."""
    return f"\u2068{text or ''}\u2069"


def telegram_length(text: str) -> int:
    """A text's length as Telegram apps count it, in UTF-16 code units (an emoji may count two)."""
    return len(text.encode("utf-16-le")) // 2


def language_choices(current: str, prefix: str) -> list[Choice]:
    """The shipped languages, each named in its own script, the current one ticked."""
    return [Choice(ticked(code == current, name), f"{prefix}{code}") for code, name in LANGUAGES.items()]


async def stale_button(update: Update, context: Context) -> None:
    """Tell the person a button they pressed is old, unknown or forged: it does nothing."""
    if update.callback_query:
        await context.reply.ack(context.t.gettext("This button is no longer active."))


async def save_step(update: Update, context: Context, step: str, data: StepData) -> None:
    """Record which step of a flow this chat is on, and its answers so far, over the state this
    update read; if another update changed it meanwhile, StateConflict (the update is run again).
    The journey's question goes on with it until keep_question learns of a new one; another
    journey's loses its choices."""
    assert update.effective_chat
    chat_id = update.effective_chat.id
    kept = context.step_data.question if context.step_data is not None else None
    if type(context.step_data) is not type(data) or (
        kept is not None and context.reply.unchosen(Sent(chat_id, kept))
    ):
        data.question = None
    else:
        data.question = kept
    async with context.db.begin() as session:
        context.state_version = await conversation.set_state(
            session, chat_id, step, data.stored(), read=context.state_version
        )
    context.step_data, context.saved_step = data, step
    if kept is not None and data.question is None:
        await context.reply.unchoose(Sent(chat_id, kept))


async def clear_step(update: Update, context: Context) -> None:
    """Take this chat out of whatever flow it is in (if it is still the state this update read),
    and the choices off the flow's last question."""
    assert update.effective_chat
    chat_id = update.effective_chat.id
    kept = context.step_data.question if context.step_data is not None else None
    async with context.db.begin() as session:
        await conversation.clear_state(session, chat_id, read=context.state_version)
    context.state_version = None
    context.step_data = context.saved_step = None
    if kept is not None:
        await context.reply.unchoose(Sent(chat_id, kept))


async def keep_question(update: Update, context: Context) -> None:
    """After a handler of the chat's journey (it saved a step, or took a message or a press on the
    journey's question) that asked a question with choices: keep it with the step, and take the
    choices off the one before, so a journey's old buttons go as it moves on, and when it ends.
    Nothing is written where the channel can't take buttons away, or no new question was asked."""
    data, chat, asked = context.step_data, update.effective_chat, context.reply.asked
    if data is None or chat is None or asked is None:
        return
    step = context.saved_step
    if step is None and context.state is not None and _on_the_journey(update, data):
        step = context.state.step
    if step is None:
        return
    if data.question is not None:
        await context.reply.unchoose(Sent(chat.id, data.question))
    data.question = asked.message_id
    try:
        async with context.db.begin() as session:
            context.state_version = await conversation.set_state(
                session, chat.id, step, data.stored(), read=context.state_version
            )
    except StateConflict:  # another update moved the chat on meanwhile: its question is the one
        log.info("A question was not kept: the chat's step moved on")
    except CONNECTION_ERRORS:  # its buttons just stay, and are answered as stale once it is over
        log.warning("A question was not kept: the database is away")


def _on_the_journey(update: Update, data: StepData) -> bool:
    """Whether the update went to the chat's journey without saving a step: a message that is not
    a command (bot.wiring routes it to the journey's step), or a press on the journey's question."""
    if update.message is not None:
        return not (update.message.text or "").startswith("/")
    pressed = update.callback_query.message if update.callback_query else None
    return pressed is not None and pressed.message_id == data.question


async def require_member(update: Update, context: Context) -> Champion | None:
    """The champion if they have finished joining; otherwise tell them how to join."""
    champion = context.champion
    if champion is not None and champion.status in MEMBER_STATUSES:
        return champion
    _ = context.t.gettext
    if champion is not None and champion.status == Status.PENDING:
        await context.reply.say(_("Your request to join is waiting for a coordinator's approval."))
    else:
        await context.reply.say(_("You haven't joined yet. Send /start to join."))
    return None


def coordinating(champion: Champion | None) -> bool:
    """Whether this person may act as a coordinator now: the role, and still a member."""
    return champion is not None and champion.is_coordinator and champion.status in MEMBER_STATUSES


async def require_coordinator(update: Update, context: Context) -> Champion | None:
    """The coordinator sending this update; anyone else is refused (checked on every update)."""
    champion = context.champion
    if coordinating(champion):
        return champion
    _ = context.t.gettext
    text = _("Sorry, only coordinators can do that.")
    if update.callback_query:
        await context.reply.ack(text, alert=True)
    else:
        await context.reply.say(text)
    return None


def main_menu(t: Translator) -> list[Choice]:
    """The member's main menu, shown on the welcome: report, learn, follow their reports."""
    _ = t.gettext
    return [
        Choice(_("Report what I heard"), "rep:start"),
        Choice(_("Learn"), "learn:start"),
        Choice(_("My reports"), "myr:0"),
    ]


# A coordinator's home: each button's label, by the command whose journey it starts (handlers.home).
TOOLS = {
    "insights": N_("Insights"),
    "broadcast": N_("Broadcast"),
    "stats": N_("Stats"),
    "invite": N_("Invite link"),
    "pending": N_("Pending approvals"),
}


def coordinator_menu(t: Translator) -> list[Choice]:
    """A coordinator's tools, then the way to what champions can do."""
    tools = [Choice(t.gettext(label), f"home:{command}") for command, label in TOOLS.items()]
    return [*tools, Choice(t.gettext("Champion menu"), "home:champion")]


def coordinator_home(t: Translator, greeting: str | None = None) -> Outgoing:
    """A coordinator's home: their tools as buttons, the commands no button has, and the way to the
    champion's menu; short, so it leads with what they came for."""
    _ = t.gettext
    lines = [
        _("Your coordinator tools are below. You can also send:"),
        _("/invite [network] – make an invite link"),
        _("/campaigns – pause, resume or cancel campaigns"),
        _("/themes – grouped reports, step by step"),
        _("/export – reports as a spreadsheet (CSV or Excel)"),
        _("/web – sign in to the dashboard in a web browser"),
        _("Champion menu: report, learn and your own settings."),
    ]
    if greeting:
        lines.insert(0, greeting)
    return Outgoing("\n".join(lines), coordinator_menu(t), columns=2)


def help_text(t: Translator) -> str:
    """What the bot can do for a champion, with the medical-advice signpost."""
    _ = t.gettext
    lines = [
        _("Here is what I can do:"),
        _("/report – tell us what you heard in your community"),
        _("/myreports – your reports and the answers"),
        _("/log – record how many people you talked to"),
        _("/learn – short lessons and quizzes"),
        _("/progress – what you have learned so far"),
        _("/weekly – a snippet every week"),
        _("/language – change your language"),
        _("/timezone – set your time zone"),
        _("/quiet – set quiet hours"),
        _("/pause or /resume campaign messages; /stop all messages"),
        _("/privacy – what we keep and why"),
        _("/mydata – a copy of your data; /deleteme – delete it all"),
        _("/cancel – stop what you are doing"),
        "",
        signpost(t),
    ]
    return "\n".join(lines)


async def show_home(context: Context, greeting: str | None = None) -> None:
    """A member's home: a coordinator's tools; or a champion's menu (under the greeting, if any)
    and help."""
    if coordinating(context.champion):
        await context.reply.say(coordinator_home(context.t, greeting))
        return
    if greeting:
        await context.reply.say(greeting, main_menu(context.t))
    await context.reply.say(help_text(context.t))


async def show_champion_menu(context: Context) -> None:
    """The champion's menu and help, for a coordinator who wants to report or learn too."""
    await context.reply.say(context.t.gettext("Your champion menu:"), main_menu(context.t))
    await context.reply.say(help_text(context.t))


def signpost(t: Translator) -> str:
    """The line every possibly-medical message carries."""
    _ = t.gettext
    return _("This bot does not give medical advice. For urgent help call NHS 111; in an emergency call 999.")
