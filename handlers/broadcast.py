"""Coordinators' broadcasts and campaigns in the chat, and champions' answer-back buttons.

/broadcast: compose in English (text, or a photo or document with the text as its caption) →
audience (its size shown) → versions in the audience's other languages → preview per language →
send now or schedule → confirm (urgent? answer-back buttons?) → a live delivery report.
Each step's answers live in the chat's conversation state (steps `bc:*`), so a restart mid-flow
loses nothing, and the coordinator role is checked again on every message and button. Every step
is text plus at most 10 buttons, so the flow ports to WhatsApp.

A champion's question or concern (after "A question" / "Concern heard") becomes an anonymous report;
every coordinator is told of it through the outbox (`forwarded_message`), with a button that opens
it in /insights to answer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.budget import Priority
from bot.context import Context, Services
from bot.delivery import Outgoing, answer_buttons, send_outgoing
from bot.i18n import LANGUAGES, N_, Translator, translator
from handlers.common import (
    answer,
    answer_and_clear,
    buttons,
    champion_zone,
    clear_step,
    isolate,
    reply,
    require_coordinator,
    save_step,
    stale_button,
)
from handlers.onboarding import clean_name, too_long_name
from storage import audience as audiences
from storage import (
    broadcasts,
    campaigns,
    champions,
    conversation,
    directory,
    live_reports,
    local_time,
    outbox,
    reports,
    responses,
)
from storage.audience import Audience
from storage.models import Role, utcnow

log = logging.getLogger(__name__)

# Steps of the coordinator's flow, kept in the conversation state.
TEXT = "bc:text"  # typing the English text
AUDIENCE = "bc:audience"  # choosing who gets it (data["pick"]: the list shown, if any)
SIZE = "bc:size"  # audience chosen and its size shown: continue, save it, or choose again
SEGMENT_NAME = "bc:segname"  # typing a name to save the audience under
LANGS = "bc:langs"  # adding versions in the audience's other languages
VERSION = "bc:version"  # typing the version in data["lang"]
PREVIEW = "bc:preview"  # previews shown: send now or schedule
WHEN = "bc:when"  # typing the date and time to send at
CONFIRM = "bc:confirm"  # the last question, with the urgent and answer-back toggles
# A champion typing their question or concern after an answer-back button.
ANSWER_TEXT = "ans:text"

TEXT_MAX = 4000
CAPTION_MAX = broadcasts.CAPTION_MAX  # each text's limit when it goes with a photo or document
SEGMENT_NAME_MAX = 100
ANSWER_MAX = 1000
CAMPAIGNS_SHOWN = 10
PAGE = 8  # list items per message, leaving room for More and Back (≤ 10 choices)
EXCERPT = 60
SCHEDULE_AHEAD = timedelta(days=366)
REPORT_SECONDS = 3  # how often the live reports are edited
REPORT_FOR = timedelta(hours=1)  # a report still changing this long after sending began stays as it is

LIST_QUESTIONS = {
    "area": N_("Which area?"),
    "net": N_("Which network?"),
    "lang": N_("Which language?"),
    "role": N_("Which role?"),
    "seg": N_("Which saved audience?"),
}
PICKS = {"ar": "area", "nw": "net", "lg": "lang", "rl": "role", "sg": "seg"}
CAMPAIGN_STATUSES = {
    "active": N_("active"),
    "paused": N_("paused"),
    "cancelled": N_("cancelled"),
}
# The confirm step's toggles: button → (its key in the flow's data, its default).
TOGGLES = {"urgent": ("urgent", False), "answers": ("answer_back", True)}
# Buttons that just move the flow on: their message's buttons are taken off first.
MOVES = {"back", "next", "save", "done", "now", "sched"}

# Which step each broadcast button belongs to; a press on any other step is stale.
EXPECTED: dict[str, set[str]] = {
    "all": {AUDIENCE},
    **{kind: {AUDIENCE} for kind in LIST_QUESTIONS},
    **{pick: {AUDIENCE} for pick in PICKS},
    "back": {AUDIENCE, SIZE},
    "next": {SIZE},
    "save": {SIZE},
    "lv": {LANGS},
    "done": {LANGS},
    "now": {PREVIEW},
    "sched": {PREVIEW},
    "urgent": {CONFIRM},
    "answers": {CONFIRM},
    "ok": {CONFIRM},
}
# What takes a message at a step of the flow (TEXT_RECEIVERS and MEDIA_RECEIVERS, below).
Receiver = Callable[[Update, Context, dict[str, Any]], Awaitable[None]]


# ------------------------------------------------------------------ /broadcast


async def start(update: Update, context: Context) -> None:
    """/broadcast: begin composing a broadcast (coordinators only)."""
    if await require_coordinator(update, context) is None:
        return
    data: dict[str, Any] = {"texts": {}}
    await save_step(update, context, TEXT, data)
    await ask(update, context, TEXT, data)


async def ask(update: Update, context: Context, step: str, data: dict[str, Any]) -> None:
    """Ask the question for a step of the broadcast flow (again, after an unexpected answer)."""
    _ = context.t.gettext
    if step == TEXT:
        await reply(update, _("Send the message in English."))
    elif step == AUDIENCE:
        if data.get("pick"):
            await _ask_list(update, context, data["pick"], int(data.get("page", 0)))
        else:
            await _ask_audience(update, context)
    elif step == SIZE:
        await _show_size(update, context, data)
    elif step == SEGMENT_NAME:
        await reply(update, _("Type a short name for this audience."))
    elif step == LANGS:
        await _ask_languages(update, context, data)
    elif step == VERSION:
        await reply(update, _("Send the {language} version.").format(language=_language_name(data["lang"])))
    elif step == PREVIEW:
        await reply(
            update,
            _("Send it now, or schedule it for later?"),
            buttons([(_("Send now"), "bc:now"), (_("Schedule"), "bc:sched"), (_("Cancel"), "bc:stop")]),
        )
    elif step == WHEN:
        await reply(
            update,
            _(
                "When should it go out? Type the date and time as YYYY-MM-DD HH:MM in your time zone "
                "({timezone}), for example {example}."
            ).format(timezone=_timezone_name(context), example=_example_time(context)),
        )
    elif step == CONFIRM:
        await _ask_confirm(update, context, data)


async def button(update: Update, context: Context) -> None:
    """Any `bc:` button of the broadcast flow."""
    query = update.callback_query
    assert query and query.data and update.effective_chat
    if await require_coordinator(update, context) is None:
        return
    action, _sep, arg = query.data.removeprefix("bc:").partition(":")
    state = context.state
    step = state.step if state is not None else ""
    if action == "stop" and step.startswith("bc:"):
        await answer_and_clear(update)
        await clear_step(update, context)
        await reply(update, context.t.gettext("Cancelled. Nothing was sent."))
        return
    if state is None or step not in EXPECTED.get(action, set()):
        await stale_button(update, context)
        return
    data = dict(state.data)
    if action in MOVES:
        await answer_and_clear(update)
    if action in TOGGLES:
        await _toggle(update, context, data, action)
    elif action == "all":
        await _choose(update, context, data, "all", Audience())
    elif action in LIST_QUESTIONS:
        await _open_list(update, context, data, action, arg)
    elif action in PICKS:
        await _pick(update, context, data, PICKS[action])
    elif action == "back":
        data.pop("pick", None)
        data.pop("page", None)
        await _go(update, context, AUDIENCE, data)
    elif action == "next":
        await _to_languages(update, context, data)
    elif action == "save":
        await _go(update, context, SEGMENT_NAME, data)
    elif action == "lv":
        await _choose_version(update, context, data, arg)
    elif action == "done":
        await _to_preview(update, context, data)
    elif action == "now":
        data["send_at"] = None
        await _go(update, context, CONFIRM, data)
    elif action == "sched":
        await _go(update, context, WHEN, data)
    elif action == "ok":
        await _confirm(update, context, data)


async def text_during_broadcast(update: Update, context: Context) -> bool:
    """Free text for a step of the broadcast flow or an answer-back question; False if none waits."""
    state = context.state
    if state is not None and state.step == ANSWER_TEXT:
        await _receive_answer(update, context, dict(state.data))
        return True
    return await _during_flow(update, context, TEXT_RECEIVERS)


async def media_during_broadcast(update: Update, context: Context) -> bool:
    """A photo, document or other non-text message during the broadcast flow; False if none waits."""
    return await _during_flow(update, context, MEDIA_RECEIVERS)


async def _during_flow(update: Update, context: Context, receivers: dict[str, Receiver]) -> bool:
    """Hand a message to the flow's step if it takes that kind, else ask the step's question again."""
    state = context.state
    if state is None or not state.step.startswith("bc:"):
        return False
    if await require_coordinator(update, context) is None:
        await clear_step(update, context)  # no longer a coordinator: the half-made broadcast goes
        return True
    data = dict(state.data)
    receive = receivers.get(state.step)
    if receive is not None:
        await receive(update, context, data)
        return True
    if state.step in TEXT_RECEIVERS:
        await reply(update, context.t.gettext("Please send this as text."))
    else:
        await reply(update, context.t.gettext("Please choose one of the buttons."))
    await ask(update, context, state.step, data)
    return True


# -------------------------------------------------------------- composing


def _typed(update: Update) -> str:
    assert update.message
    return (update.message.text or "").strip()


async def _too_long(update: Update, context: Context, limit: int) -> None:
    await reply(
        update,
        context.t.ngettext(
            "That is too long. Please keep it to at most {count} character.",
            "That is too long. Please keep it to at most {count} characters.",
            limit,
        ).format(count=context.t.number(limit)),
    )


async def _valid_text(update: Update, context: Context, text: str, media: bool) -> bool:
    """Refuse an empty or over-long message text (shorter with a photo or document), saying why."""
    t = context.t
    if not text:
        await reply(update, t.gettext("The message is empty. Please send some text."))
        return False
    if media and len(text) > CAPTION_MAX:
        await reply(
            update,
            t.ngettext(
                "With a photo or document, each text can have at most {count} character. Please shorten it.",
                "With a photo or document, each text can have at most {count} characters. Please shorten it.",
                CAPTION_MAX,
            ).format(count=t.number(CAPTION_MAX)),
        )
        return False
    if len(text) > TEXT_MAX:
        await _too_long(update, context, TEXT_MAX)
        return False
    return True


def _attached(message: Message) -> tuple[str, str] | None:
    """("photo" or "document", file id) of what the message carries; the largest size of a photo."""
    if message.photo:
        return "photo", max(message.photo, key=lambda size: size.width * size.height).file_id
    if message.document:
        return "document", message.document.file_id
    return None


async def _receive_text(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Take the English text, or a photo or document with it as the caption, then ask who gets it."""
    message = update.message
    assert message
    _ = context.t.gettext
    media = _attached(message)
    if media is None and message.text is None:
        await reply(update, _("Please send the message as text, or as a photo or document with a caption."))
        return
    if media is not None and not (message.caption or "").strip():
        await reply(update, _("Please send it again with a caption: the caption is the message in English."))
        return
    text = (message.text or message.caption or "").strip()
    if not await _valid_text(update, context, text, media is not None):
        return
    data["texts"] = {**data.get("texts", {}), "en": text}
    data["media"] = list(media) if media else None
    data.pop("pick", None)
    await _go(update, context, AUDIENCE, data)


async def _receive_version(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Take one language's version, then offer the languages again."""
    text = _typed(update)
    if not await _valid_text(update, context, text, _media(data) is not None):
        return
    language = data.pop("lang")
    data["texts"] = {**data.get("texts", {}), language: text}
    await _go(update, context, LANGS, data)


# --------------------------------------------------------------- audience


async def _ask_audience(update: Update, context: Context) -> None:
    _ = context.t.gettext
    async with context.db() as session:
        everyone = await audiences.size(session, Audience())
        saved = await audiences.segments(session)
    choices = [
        (_("Everyone") + f" · {context.t.number(everyone)}", "bc:all"),
        (_("An area"), "bc:area"),
        (_("A network"), "bc:net"),
        (_("A language"), "bc:lang"),
        (_("A role"), "bc:role"),
    ]
    if saved:
        choices.append((_("Saved audiences"), "bc:seg"))
    choices.append((_("Cancel"), "bc:stop"))
    await reply(update, _("Who should get it?"), buttons(choices))


async def _options(context: Context, kind: str) -> list[tuple[str, str, Audience]]:
    """Every choice of one kind: its name, its button data and the audience it stands for."""
    _ = context.t.gettext
    async with context.db() as session:
        if kind == "area":
            return [
                (a.name, f"bc:ar:{a.id}", Audience(areas=[a.id])) for a in await directory.list_areas(session)
            ]
        if kind == "net":
            return [
                (n.name, f"bc:nw:{n.id}", Audience(networks=[n.id]))
                for n in await directory.list_networks(session)
            ]
        if kind == "seg":
            return [
                (s.name, f"bc:sg:{s.id}", Audience.from_json(s.audience))
                for s in await audiences.segments(session)
            ]
    if kind == "lang":
        return [(name, f"bc:lg:{code}", Audience(languages=[code])) for code, name in LANGUAGES.items()]
    return [
        (_("Champions"), f"bc:rl:{Role.CHAMPION.value}", Audience(roles=[Role.CHAMPION.value])),
        (_("Coordinators"), f"bc:rl:{Role.COORDINATOR.value}", Audience(roles=[Role.COORDINATOR.value])),
    ]


async def _ask_list(update: Update, context: Context, kind: str, page: int) -> None:
    """One page of a list of choices, each with its size, plus More and Back."""
    _ = context.t.gettext
    options = await _options(context, kind)
    page = max(0, min(page, (len(options) - 1) // PAGE)) if options else 0
    shown = options[page * PAGE : (page + 1) * PAGE]
    async with context.db() as session:
        sizes = [await audiences.size(session, chosen) for _name, _data, chosen in shown]
    choices = [
        (f"{name} · {context.t.number(count)}", data)
        for (name, data, _chosen), count in zip(shown, sizes, strict=True)
    ]
    if len(options) > (page + 1) * PAGE:
        choices.append((_("More"), f"bc:{kind}:{page + 1}"))
    choices.append((_("Back"), "bc:back"))
    text = _(LIST_QUESTIONS[kind]) if options else _("There is nothing to choose from here yet.")
    await reply(update, text, buttons(choices, columns=2))


async def _open_list(update: Update, context: Context, data: dict[str, Any], kind: str, page: str) -> None:
    await answer_and_clear(update)
    data["pick"] = kind
    data["page"] = int(page) if page.isdigit() else 0
    await _go(update, context, AUDIENCE, data)


async def _pick(update: Update, context: Context, data: dict[str, Any], kind: str) -> None:
    """Choose one item of a list, checking it (still) exists."""
    assert update.callback_query
    pressed = update.callback_query.data
    chosen = next((a for _name, d, a in await _options(context, kind) if d == pressed), None)
    if chosen is None:
        await stale_button(update, context)
        return
    await _choose(update, context, data, kind, chosen)


async def _choose(
    update: Update, context: Context, data: dict[str, Any], kind: str, chosen: Audience
) -> None:
    """Take an audience if anyone is in it; otherwise say so and offer the choice again."""
    await answer_and_clear(update)
    async with context.db() as session:
        count = await audiences.size(session, chosen)
    if count == 0:
        await reply(
            update, context.t.gettext("Nobody in that audience can get messages right now. Choose another.")
        )
        await ask(update, context, AUDIENCE, data)
        return
    data["audience"] = chosen.as_json()
    data["segment"] = kind == "seg"
    data.pop("pick", None)
    data.pop("page", None)
    await _go(update, context, SIZE, data)


async def _show_size(update: Update, context: Context, data: dict[str, Any]) -> None:
    _ = context.t.gettext
    async with context.db() as session:
        count = await audiences.size(session, _audience(data))
    choices = [(_("Continue"), "bc:next")]
    if not data.get("segment"):
        choices.append((_("Save this audience"), "bc:save"))
    choices.append((_("Choose again"), "bc:back"))
    text = context.t.ngettext("That is {count} champion.", "That is {count} champions.", count)
    await reply(update, text.format(count=context.t.number(count)), buttons(choices))


async def _receive_segment_name(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Save the chosen audience under the typed name, then go on to languages."""
    _ = context.t.gettext
    name = clean_name(_typed(update))
    if not name:
        await reply(update, _("Please type a name (letters, not only spaces)."))
        return
    if len(name) > SEGMENT_NAME_MAX:
        await reply(update, too_long_name(context.t, SEGMENT_NAME_MAX))
        return
    async with context.db.begin() as session:
        await audiences.save_segment(session, name, _audience(data))
    await reply(update, _("Saved as {name}.").format(name=isolate(name)))
    data["segment"] = True
    await _to_languages(update, context, data)


# -------------------------------------------------------------- languages


async def _language_counts(context: Context, data: dict[str, Any]) -> dict[str, int]:
    async with context.db() as session:
        return await audiences.languages(session, _audience(data))


async def _to_languages(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Offer versions in the audience's other languages, or go straight to the preview."""
    counts = await _language_counts(context, data)
    if not any(counts.get(code) for code in LANGUAGES if code != "en"):
        await reply(update, context.t.gettext("Everyone in this audience reads English."))
        await _to_preview(update, context, data)
        return
    await _go(update, context, LANGS, data)


async def _ask_languages(update: Update, context: Context, data: dict[str, Any]) -> None:
    _ = context.t.gettext
    counts = await _language_counts(context, data)
    texts = data.get("texts", {})
    choices = [
        (("✓ " if code in texts else "") + f"{name} · {context.t.number(counts[code])}", f"bc:lv:{code}")
        for code, name in LANGUAGES.items()
        if code != "en" and counts.get(code)
    ]
    choices.append((_("Done"), "bc:done"))
    await reply(
        update,
        _("Add a version in another language? Anyone without one gets the English text."),
        buttons(choices, columns=2),
    )


async def _choose_version(update: Update, context: Context, data: dict[str, Any], code: str) -> None:
    if code not in LANGUAGES or code == "en":
        await stale_button(update, context)
        return
    await answer_and_clear(update)
    data["lang"] = code
    await _go(update, context, VERSION, data)


# ---------------------------------------------------------------- preview


async def _to_preview(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Show the message exactly as each language group will get it, then ask when to send."""
    assert update.effective_chat
    t = context.t
    counts = await _language_counts(context, data)
    texts: dict[str, str] = data["texts"]
    order = [code for code in LANGUAGES if counts.get(code)] + sorted(set(counts) - set(LANGUAGES))
    previews = []
    for code in order:
        count, name = counts[code], _language_name(code)
        if code in texts or code == "en":
            heading = t.ngettext(
                "Preview for {language} ({count} person):", "Preview for {language} ({count} people):", count
            )
        else:
            heading = t.ngettext(
                "Preview for {language} ({count} person), who will get the English text:",
                "Preview for {language} ({count} people), who will get the English text:",
                count,
            )
        await reply(update, heading.format(language=name, count=t.number(count)))
        shown = await _send_preview(update.effective_chat, data, code)
        previews.append([shown.message_id, code])
    data["previews"] = previews
    await _go(update, context, PREVIEW, data)


def _preview_buttons(data: dict[str, Any], code: str) -> InlineKeyboardMarkup | None:
    """The answer-back buttons, if on. Delivery 0 does not exist: they are shown but do nothing."""
    return answer_buttons(0, code) if _flag(data, "answers") else None


async def _send_preview(chat: Chat, data: dict[str, Any], code: str) -> Message:
    """The message as champions reading `code` will get it."""
    text = data["texts"].get(code) or data["texts"]["en"]
    preview = Outgoing(text, _preview_buttons(data, code), _media(data))
    return await send_outgoing(chat.get_bot(), chat.id, preview)


# --------------------------------------------------------------- schedule


def _timezone_name(context: Context) -> str:
    return champion_zone(context.champion).key


def _example_time(context: Context) -> str:
    tomorrow = datetime.now(champion_zone(context.champion)) + timedelta(days=1)
    return tomorrow.replace(hour=9, minute=30).strftime(local_time.LAYOUT)


async def _receive_when(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Take the date and time to send at, refusing other forms, times the clocks skip and times gone by."""
    _ = context.t.gettext
    try:
        send_at = local_time.parse(_typed(update), champion_zone(context.champion))
    except local_time.SkippedTime as skipped:
        await reply(
            update,
            _("{time} does not exist in {timezone}: the clocks go forward then. Please choose another time.")
            .format(time=f"{skipped.local:{local_time.LAYOUT}}", timezone=skipped.zone.key),
        )
        return
    now = utcnow()
    if send_at is None:
        await reply(
            update,
            _("I couldn't read that. Please type the date and time like {example}.").format(
                example=_example_time(context)
            ),
        )
        return
    if send_at <= now:
        await reply(update, _("That time has already passed. Please give a time in the future."))
        return
    if send_at > now + SCHEDULE_AHEAD:
        await reply(update, _("Please choose a time within the next year."))
        return
    data["send_at"] = send_at.isoformat()
    await _go(update, context, CONFIRM, data)


# ---------------------------------------------------------------- confirm


def _flag(data: dict[str, Any], toggle: str) -> bool:
    """Whether a confirm-step toggle is on."""
    key, default = TOGGLES[toggle]
    return bool(data.get(key, default))


def _confirm_buttons(t: Translator, data: dict[str, Any]) -> InlineKeyboardMarkup:
    urgent = ("✓ " if _flag(data, "urgent") else "") + t.gettext("Urgent (ignore quiet hours)")
    answers = t.gettext("Answer buttons: on") if _flag(data, "answers") else t.gettext("Answer buttons: off")
    return buttons(
        [
            (t.gettext("Confirm"), "bc:ok"),
            (urgent, "bc:urgent"),
            (answers, "bc:answers"),
            (t.gettext("Cancel"), "bc:stop"),
        ]
    )


def _send_at(data: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(data["send_at"]) if data.get("send_at") else None


async def _ask_confirm(update: Update, context: Context, data: dict[str, Any]) -> None:
    t = context.t
    async with context.db() as session:
        count = await audiences.size(session, _audience(data))
    send_at = _send_at(data)
    if send_at is None:
        text = t.ngettext("Send to {count} champion now?", "Send to {count} champions now?", count)
    else:
        text = t.ngettext(
            "Send to {count} champion on {date}?", "Send to {count} champions on {date}?", count
        )
    date = t.datetime(send_at, _timezone_name(context)) if send_at else ""
    await reply(
        update,
        text.format(count=t.number(count), date=date),
        _confirm_buttons(t, data),
    )


async def _toggle(update: Update, context: Context, data: dict[str, Any], toggle: str) -> None:
    """Turn urgency or the answer-back buttons on or off; the previews follow the buttons."""
    query = update.callback_query
    assert query and update.effective_chat
    key, _default = TOGGLES[toggle]
    data[key] = not _flag(data, toggle)
    await save_step(update, context, CONFIRM, data)
    await answer(query)
    await query.edit_message_reply_markup(_confirm_buttons(context.t, data))
    if toggle != "answers":
        return
    for message_id, code in data.get("previews", []):
        with contextlib.suppress(BadRequest):  # a preview the coordinator deleted
            await context.bot.edit_message_reply_markup(
                update.effective_chat.id, message_id, reply_markup=_preview_buttons(data, code)
            )


async def _confirm(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Create the broadcast (once, even if Confirm is pressed twice); to send now, fan it out in
    the same transaction and wake the delivery workers, then show the live report."""
    assert update.effective_chat and context.champion
    t = context.t
    chosen = _audience(data)
    send_at = _send_at(data)
    async with context.db() as session:
        count = await audiences.size(session, chosen)
    if count == 0:
        await answer_and_clear(update)
        await reply(update, t.gettext("Nobody in that audience can get messages right now. Choose another."))
        data.pop("audience", None)
        await _go(update, context, AUDIENCE, data)
        return
    async with context.db.begin() as session:
        left = await conversation.leave_step(session, update.effective_chat.id, CONFIRM)
        broadcast = None
        if left:
            broadcast = await broadcasts.create_broadcast(
                session,
                texts=data["texts"],
                audience=chosen,
                send_at=send_at,
                created_by=context.champion.id,
                answer_back=_flag(data, "answers"),
                urgent=_flag(data, "urgent"),
                media=_media(data),
            )
            if send_at is None:  # fanned out now: the workers start at once, not at the next tick
                await broadcasts.enqueue(session, broadcast)
    if broadcast is None:
        await stale_button(update, context)
        return
    await answer_and_clear(update)
    if send_at is not None:
        text = t.ngettext(
            "Scheduled: it will go to {count} champion on {date}.",
            "Scheduled: it will go to {count} champions on {date}.",
            count,
        )
        await reply(
            update, text.format(count=t.number(count), date=t.datetime(send_at, _timezone_name(context)))
        )
        return
    context.bot_data.wake.ring(outbox.BULK)
    async with context.db.begin() as session:
        figures = await responses.progress(session, broadcast.id)
    assert figures is not None
    message = await update.effective_chat.send_message(report_text(t, figures))
    async with context.db.begin() as session:
        await live_reports.attach(session, broadcast.id, update.effective_chat.id, message.message_id)


# ------------------------------------------------------------ live report


def report_text(t: Translator, figures: responses.Progress) -> str:
    """The delivery report line: in progress, or the final summary."""
    if figures.status == broadcasts.MISSED:
        return t.gettext("This message was not sent: it fell due while the bot was down for too long.")
    if figures.status == broadcasts.CANCELLED:
        return t.gettext("This message was cancelled.")
    values = {
        "total": t.number(figures.total),
        "sent": t.number(figures.sent),
        "pending": t.number(figures.pending),
        "failed": t.number(figures.failed),
        "blocked": t.number(figures.blocked),
    }
    if not figures.finished:
        return t.ngettext(
            "Sending to {total} champion: {sent} sent, {pending} pending, "
            "{failed} failed, {blocked} blocked.",
            "Sending to {total} champions: {sent} sent, {pending} pending, "
            "{failed} failed, {blocked} blocked.",
            figures.total,
        ).format(**values)
    text = t.ngettext(
        "Finished sending to {total} champion: {sent} sent, {failed} failed, {blocked} blocked.",
        "Finished sending to {total} champions: {sent} sent, {failed} failed, {blocked} blocked.",
        figures.total,
    ).format(**values)
    if figures.skipped:
        text += "\n" + t.ngettext(
            "{count} was not sent: that champion stopped or paused messages, or the campaign was "
            "cancelled, after it was queued.",
            "{count} were not sent: those champions stopped or paused messages, or the campaign was "
            "cancelled, after it was queued.",
            figures.skipped,
        ).format(count=t.number(figures.skipped))
    if figures.possibly_twice:
        text += "\n" + t.ngettext(
            "{count} champion may have got it twice after a restart.",
            "{count} champions may have got it twice after a restart.",
            figures.possibly_twice,
        ).format(count=t.number(figures.possibly_twice))
    return text


async def report_job(context: Context) -> None:
    """Scheduler job: edit every live report that is not final yet to the latest figures, in its
    coordinator's language now; mark final those that need no more edits."""
    now = utcnow()
    async with context.db.begin() as session:
        reports = await live_reports.still_open(session, context.settings.default_language)
        shown = [(report, await responses.progress(session, report.broadcast_id)) for report in reports]
    final = [
        report.broadcast_id
        for report, figures in shown
        if figures is None or await _update_report(context.bot, report, figures, now)
    ]
    if final:
        async with context.db.begin() as session:
            await live_reports.finish(session, final, now)


async def _update_report(
    bot: ExtBot[Priority], report: live_reports.OpenReport, figures: responses.Progress, now: datetime
) -> bool:
    """Edit one report message; True once it needs no more edits: it shows the final figures, the
    message can no longer be edited (deleted, or the coordinator blocked the bot), or sending began
    more than REPORT_FOR ago (its last figures stay)."""
    given_up = now - report.started_at >= REPORT_FOR
    text = report_text(translator(report.language), figures)
    try:
        # The bot's own edit, not a reply to someone who just wrote: it waits behind those.
        await bot.edit_message_text(text, report.chat_id, report.message_id, rate_limit_args=Priority.PERSON)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("The report on broadcast %s can no longer be edited: %s", report.broadcast_id, exc)
            return True
    except Forbidden:
        log.warning("The report on broadcast %s can no longer be edited: blocked", report.broadcast_id)
        return True
    except TelegramError as exc:  # a network hiccup: try again next time
        log.warning("The report on broadcast %s was not updated this time: %s", report.broadcast_id, exc)
        return given_up
    return figures.finished or given_up


# ------------------------------------------------------------ answer-back


async def answer_back(update: Update, context: Context) -> None:
    """A champion pressed "Shared it", "A question" or "Concern heard" on a broadcast."""
    query = update.callback_query
    assert query and query.data and update.effective_chat
    _prefix, raw_id, kind = query.data.split(":")
    champion = context.champion
    delivery_id = int(raw_id)
    found, new = None, False
    if champion is not None and delivery_id > 0:
        async with context.db.begin() as session:
            found = await responses.answerable(session, delivery_id, champion.id)
            if found is not None:
                new = await responses.record_response(session, delivery_id, kind)
    if found is None:  # a preview, someone else's message, or forged
        await stale_button(update, context)
        return
    _ = context.t.gettext
    if not new:
        await answer(query, _("You have already told us that."))
        return
    await answer(query)
    if kind == "shared":
        await reply(update, _("Thank you for sharing it! That is how these messages reach people."))
        return
    await save_step(update, context, ANSWER_TEXT, {"delivery": delivery_id, "kind": kind})
    if kind == "question":
        await reply(update, _("Tell us your question in a few words, or /cancel."))
    else:
        await reply(update, _("Tell us the concern you heard in a few words, or /cancel."))


def message_excerpt(texts: dict[str, str], language: str) -> str:
    """The start of a message, in this language if it has a version, else English."""
    text = " ".join((texts.get(language) or texts.get("en") or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"


async def _receive_answer(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Keep a champion's question or concern as a report, and tell every coordinator of it through
    the outbox (in the same transaction, so neither goes without the other)."""
    assert update.effective_chat
    _ = context.t.gettext
    text = _typed(update)
    if not text:
        await reply(update, _("Please type a few words, or /cancel."))
        return
    if len(text) > ANSWER_MAX:
        await _too_long(update, context, ANSWER_MAX)
        return
    champion = context.champion
    async with context.db.begin() as session:
        found = await responses.answerable(session, int(data["delivery"]), champion.id) if champion else None
        if champion is not None and found is not None:
            report = await responses.report_answer(session, found, champion, str(data["kind"]), text)
            coordinators = [coordinator.id for coordinator in await champions.coordinators(session)]
            await outbox.queue(session, outbox.FORWARDED, coordinators, {"report": report.id})
        await conversation.clear_state(session, update.effective_chat.id, read=context.state_version)
    if champion is None or found is None:
        await reply(update, _("This button is no longer active."))
        return
    context.bot_data.wake.ring(outbox.PERSON)
    await reply(update, _("Thank you. We have passed it on to the coordinators."))


# A coordinator is told of a question or concern without the champion's name: they were not asked
# to share it, so the report is anonymous.
FORWARDED = {
    "question": N_("A champion has a question about “{message}” ({reference}):\n\n{text}"),
    "concern": N_("A champion heard a concern about “{message}” ({reference}):\n\n{text}"),
}


async def forwarded_message(
    session: AsyncSession, item: outbox.Claimed, services: Services
) -> Outgoing | None:
    """The outbox's FORWARDED message: a question or concern for one coordinator, in their language
    now, with a button that opens the report in /insights; None if the report (or the message it
    answers) is gone."""
    report = await reports.get(session, int(item.payload["report"]))
    texts = await responses.answered_texts(session, report) if report is not None else None
    if report is None or texts is None or report.kind not in FORWARDED:
        return None
    tr = translator(item.language)
    text = tr.gettext(FORWARDED[report.kind]).format(
        message=isolate(message_excerpt(texts, item.language)),
        reference=reports.reference(report.id),
        text=isolate(report.text),
    )
    return Outgoing(text, buttons([(tr.gettext("Open"), f"ins:open:{report.id}")]))


async def reach_lines(context: Context) -> list[str]:
    """Reach of recent campaigns and broadcasts (sent, shared, questions, concerns) and people
    reached in the last 30 days, in the coordinator's language, for /stats to append."""
    t = context.t
    timezone = _timezone_name(context)
    async with context.db() as session:
        recent = await responses.recent_reach(session, utcnow() - timedelta(days=30))
    lines = [t.gettext("Reach of messages in the last 30 days:")]
    for campaign in recent.campaigns:
        lines.append(f"{isolate(campaign.name)}: {_figures(t, campaign.reach)}")
    for sent in recent.broadcasts:
        excerpt = isolate(message_excerpt(sent.texts, t.language))
        lines.append(f"{t.datetime(sent.sent_at, timezone)} {excerpt}: {_figures(t, sent.reach)}")
    if not recent.campaigns and not recent.broadcasts:
        lines.append(t.gettext("No messages have been sent yet."))
    lines.append(
        t.ngettext(
            "People reached: champions shared {count} message.",
            "People reached: champions shared {count} messages.",
            recent.shared,
        ).format(count=t.number(recent.shared))
    )
    return lines


def _figures(t: Translator, reach: responses.Reach) -> str:
    return t.gettext("sent {sent} · shared {shared} · questions {questions} · concerns {concerns}").format(
        sent=t.number(reach.sent),
        shared=t.number(reach.shared),
        questions=t.number(reach.questions),
        concerns=t.number(reach.concerns),
    )


# ------------------------------------------------------------- /campaigns


async def list_campaigns(update: Update, context: Context) -> None:
    """/campaigns: campaigns with pause, resume and cancel buttons (coordinators only)."""
    if await require_coordinator(update, context) is None:
        return
    t = context.t
    async with context.db() as session:
        summaries, total = await campaigns.latest_campaigns(session, CAMPAIGNS_SHOWN)
        reach = await responses.campaign_reach(session, [summary.id for summary in summaries])
    if not summaries:
        await reply(update, t.gettext("There are no campaigns yet."))
        return
    if total > len(summaries):
        await reply(
            update,
            t.ngettext(
                "Showing {shown} of {count} campaign.", "Showing {shown} of {count} campaigns.", total
            ).format(shown=t.number(len(summaries)), count=t.number(total)),
        )
    for summary in summaries:
        await reply(
            update, _campaign_text(context, summary, reach[summary.id]), _campaign_buttons(t, summary)
        )


def _campaign_status(t: Translator, summary: campaigns.Summary) -> str:
    status = CAMPAIGN_STATUSES.get(summary.status)
    return t.gettext(status) if status else summary.status


def _campaign_text(context: Context, summary: campaigns.Summary, reach: responses.Reach) -> str:
    t = context.t
    lines = [
        f"{isolate(summary.name)}: {_campaign_status(t, summary)}",
        t.gettext("Messages: {scheduled} scheduled, {sent} sent").format(
            scheduled=t.number(summary.scheduled), sent=t.number(summary.sent)
        ),
    ]
    if summary.next_at is not None and summary.status != broadcasts.CANCELLED:
        lines.append(
            t.gettext("Next message: {date}").format(
                date=t.datetime(summary.next_at, _timezone_name(context))
            )
        )
    lines.append(_figures(t, reach))
    return "\n".join(lines)


def _campaign_buttons(t: Translator, summary: campaigns.Summary) -> InlineKeyboardMarkup | None:
    choices = []
    if summary.status == campaigns.ACTIVE:
        choices.append((t.gettext("Pause"), f"camp:{summary.id}:pause"))
    if summary.status == campaigns.PAUSED:
        choices.append((t.gettext("Resume"), f"camp:{summary.id}:resume"))
    if summary.status in (campaigns.ACTIVE, campaigns.PAUSED):
        choices.append((t.gettext("Cancel campaign"), f"camp:{summary.id}:cancel"))
    return buttons(choices, columns=2) if choices else None


async def campaign_button(update: Update, context: Context) -> None:
    """Pause, resume or cancel a campaign."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    t = context.t
    _prefix, raw_id, action = query.data.split(":")
    campaign_id = int(raw_id)
    async with context.db.begin() as session:
        change = await campaigns.change_campaign(session, campaign_id, action)
        summary = await campaigns.campaign_summary(session, campaign_id)
        reach = await responses.campaign_reach(session, [campaign_id])
    if summary is None:
        await stale_button(update, context)
        return
    if not change.changed:
        await answer(
            query, t.gettext("This campaign is already {status}.").format(status=_campaign_status(t, summary))
        )
        return
    await answer(query)
    await query.edit_message_text(
        _campaign_text(context, summary, reach[campaign_id]), reply_markup=_campaign_buttons(t, summary)
    )
    name = isolate(summary.name)
    if action == "pause":
        text = t.gettext("Paused {name}. Its messages wait until you resume it.").format(name=name)
    elif action == "resume":
        text = t.gettext("Resumed {name}.").format(name=name)
    else:
        text = t.ngettext(
            "Cancelled {name}: {count} scheduled message will not be sent.",
            "Cancelled {name}: {count} scheduled messages will not be sent.",
            change.cancelled_messages,
        ).format(name=name, count=t.number(change.cancelled_messages))
    await reply(update, text)


# ---------------------------------------------------------------- helpers


# The steps that take text; of those, only the first also takes a photo or document.
TEXT_RECEIVERS: dict[str, Receiver] = {
    TEXT: _receive_text,
    VERSION: _receive_version,
    WHEN: _receive_when,
    SEGMENT_NAME: _receive_segment_name,
}
MEDIA_RECEIVERS: dict[str, Receiver] = {TEXT: _receive_text}


def _audience(data: dict[str, Any]) -> Audience:
    return Audience.from_json(data.get("audience"))


def _media(data: dict[str, Any]) -> tuple[str, str] | None:
    """("photo" or "document", file id) the broadcast goes with, if any."""
    media = data.get("media")
    return (str(media[0]), str(media[1])) if media else None


def _language_name(code: str) -> str:
    return LANGUAGES.get(code, code)


async def _go(update: Update, context: Context, step: str, data: dict[str, Any]) -> None:
    """Move the chat to a step and ask its question."""
    await save_step(update, context, step, data)
    await ask(update, context, step, data)
