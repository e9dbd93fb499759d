"""/broadcast: a coordinator composes a message to champions and sends it now or later.

Compose in English (text, or a photo or document with the text as its caption) → audience (its size
shown) → versions in the audience's other languages → preview per language (with, for WhatsApp
champions, how many get a session message and how many the template, and a warning past WhatsApp's
daily tier with an offer to spread the templates over days) → send now or schedule (a quick time,
a day then an hour, or a time typed as people say it: handlers/when.py; every time shown in the
coordinator's zone, named) → confirm (urgent? answer-back buttons?) → the live delivery report
(handlers/live_report.py).
The answers so far are a `Composing`, kept in the chat's conversation state (steps `bc:*`), so a
restart mid-flow loses nothing, and the coordinator role is checked again on every message and
button. Each press is echoed under its question; the confirm step's toggles flip in place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Literal, cast

from babel.dates import format_skeleton, get_day_names
from pydantic import Field
from telegram import Message, Update

from bot.context import Context
from bot.delivery import answer_choices
from bot.i18n import LANGUAGES, N_, Translator
from bot.replies import Choice, Media, Outgoing, Sent, ticked
from bot.steps import StepData
from bot.whatsapp_plan import WhatsAppPlan, hold_past_the_tier, whatsapp_lines, whatsapp_plan
from handlers import live_report, when
from handlers.common import (
    champion_zone,
    clear_step,
    isolate,
    require_coordinator,
    save_step,
    stale_button,
)
from handlers.onboarding import clean_name, too_long_name
from handlers.versions import version_choices
from storage import audience as audiences
from storage import broadcasts, conversation, directory, local_time, outbox
from storage.audience import Audience
from storage.models import Role, utcnow

# Steps of the coordinator's flow, kept in the conversation state.
TEXT = "bc:text"  # typing the English text
AUDIENCE = "bc:audience"  # choosing who gets it (Composing.pick: the list shown, if any)
SIZE = "bc:size"  # audience chosen and its size shown: continue, save it, or choose again
SEGMENT_NAME = "bc:segname"  # typing a name to save the audience under
LANGS = "bc:langs"  # adding versions in the audience's other languages
VERSION = "bc:version"  # typing the version in Composing.lang
PREVIEW = "bc:preview"  # previews shown: send now or schedule
WHEN = "bc:when"  # choosing, or typing, the date and time to send at
CONFIRM = "bc:confirm"  # the last question, with the urgent and answer-back toggles

TEXT_MAX = 4000
CAPTION_MAX = broadcasts.CAPTION_MAX  # each text's limit when it goes with a photo or document
SEGMENT_NAME_MAX = 100
PAGE = 8  # list items per message, leaving room for More and Back (≤ 10 choices)
SCHEDULE_AHEAD = timedelta(days=366)

ListKind = Literal["area", "net", "lang", "role", "seg"]
# The audience menu's lists: the menu's label for each, and the question over the list.
LISTS: dict[str, tuple[str, str]] = {
    "area": (N_("An area"), N_("Which area?")),
    "net": (N_("A network"), N_("Which network?")),
    "lang": (N_("A language"), N_("Which language?")),
    "role": (N_("A role"), N_("Which role?")),
    "seg": (N_("Saved audiences"), N_("Which saved audience?")),
}
PICKS = {"ar": "area", "nw": "net", "lg": "lang", "rl": "role", "sg": "seg"}

# Which step each broadcast button belongs to; a press on any other step is stale.
EXPECTED: dict[str, set[str]] = {
    "all": {AUDIENCE},
    **{kind: {AUDIENCE} for kind in LISTS},
    **{pick: {AUDIENCE} for pick in PICKS},
    "back": {AUDIENCE, SIZE},
    "next": {SIZE},
    "save": {SIZE},
    "lv": {LANGS},
    "done": {LANGS},
    "now": {PREVIEW},
    "spread": {PREVIEW},
    "sched": {PREVIEW},
    "when": {WHEN},
    "in": {WHEN},
    "at": {WHEN},
    "days": {WHEN},
    "day": {WHEN},
    "urgent": {CONFIRM},
    "answers": {CONFIRM},
    "ok": {CONFIRM},
}


class Composing(StepData):
    """A broadcast being composed: everything answered so far."""

    texts: dict[str, str] = Field(default_factory=dict)  # language → text; "en" first
    media: tuple[Literal["photo", "document"], str] | None = None  # kind and Telegram file id
    pick: ListKind | None = None  # the audience list shown, if any
    page: int = 0  # of that list
    audience: Audience | None = None
    segment: bool = False  # the audience is a saved one (or was just saved)
    lang: str | None = None  # the language whose version is being typed
    previews: list[tuple[int, str]] = Field(default_factory=list)  # message id and language of each
    send_at: datetime | None = None  # None: now
    urgent: bool = False  # sent in quiet hours too
    answer_back: bool = True  # with "Shared it", "A question" and "Concern heard"
    spread: bool = False  # WhatsApp templates past the daily tier wait for the following days


# What a press does, given the draft and what follows the action in its data ("bc:lv:pl" → "pl");
# the audience lists' presses (LISTS, PICKS) are told which list instead.
Press = Callable[[Update, Context, Composing, str], Awaitable[None]]
# What takes a message at a step of the flow (TEXT_RECEIVERS and MEDIA_RECEIVERS, below).
Receiver = Callable[[Update, Context, Composing], Awaitable[None]]


# ------------------------------------------------------------------ /broadcast


async def start(update: Update, context: Context) -> None:
    """/broadcast: begin composing a broadcast (coordinators only)."""
    if await require_coordinator(update, context) is None:
        return
    await _go(update, context, TEXT, Composing())


async def ask(update: Update, context: Context, step: str, data: Composing) -> None:
    """Ask the question for a step of the broadcast flow (again, after an unexpected answer)."""
    _ = context.t.gettext
    if step == TEXT:
        await context.reply.say(_("Send the message in English."))
    elif step == AUDIENCE:
        if data.pick:
            await context.reply.say(await _list_page(context, data.pick, data.page))
        else:
            await _ask_audience(context)
    elif step == SIZE:
        await _show_size(context, data)
    elif step == SEGMENT_NAME:
        await context.reply.say(_("Type a short name for this audience."))
    elif step == LANGS:
        await _ask_languages(context, data)
    elif step == VERSION:
        language = _language_name(data.lang or "")
        await context.reply.say(_("Send the {language} version.").format(language=language))
    elif step == PREVIEW:
        choices = [
            Choice(_("Send now"), "bc:now"),
            Choice(_("Schedule"), "bc:sched"),
            Choice(_("Cancel"), "bc:stop"),
        ]
        plan = await _whatsapp_plan(context, data)
        if plan is not None and plan.days > 1:
            spread = context.t.ngettext("Send over {count} day", "Send over {count} days", plan.days)
            choices.insert(1, Choice(spread.format(count=context.t.number(plan.days)), "bc:spread"))
        await context.reply.say(_("Send it now, or schedule it for later?"), choices)
    elif step == WHEN:
        await context.reply.say(
            _(
                "When should it go out? Choose a time, or type one like “tomorrow 10am”, “in 2 hours”, "
                "“monday 9:30”, “25 Dec 14:00” or {example}. Times are in your time zone, {timezone}."
            ).format(timezone=_timezone_name(context), example=_example_time(context)),
            _when_choices(context),
        )
    elif step == CONFIRM:
        await _ask_confirm(context, data)


async def button(update: Update, context: Context) -> None:
    """Any `bc:` button of the broadcast flow."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    action, _sep, arg = query.data.removeprefix("bc:").partition(":")
    data = context.step_as(Composing)
    step = context.state.step if context.state is not None else ""
    if action == "stop" and data is not None:
        await context.reply.picked(context.t.gettext("Cancel"))
        await clear_step(update, context)
        await context.reply.say(context.t.gettext("Cancelled. Nothing was sent."))
        return
    if data is None or step not in EXPECTED.get(action, set()):
        await stale_button(update, context)
        return
    if action in LISTS:
        await _open_list(update, context, data, cast(ListKind, action), arg)
    elif action in PICKS:
        await _pick(update, context, data, PICKS[action])
    else:
        await PRESSES[action](update, context, data, arg)


async def on_text(update: Update, context: Context) -> None:
    """Free text for the step of the broadcast flow this chat is on."""
    await _during_flow(update, context, TEXT_RECEIVERS)


async def on_media(update: Update, context: Context) -> None:
    """A photo, document or other non-text message for the step of the broadcast flow."""
    await _during_flow(update, context, MEDIA_RECEIVERS)


async def _during_flow(update: Update, context: Context, receivers: dict[str, Receiver]) -> None:
    """Hand a message to the flow's step if it takes that kind, else ask the step's question again."""
    if await require_coordinator(update, context) is None:
        await clear_step(update, context)  # no longer a coordinator: the half-made broadcast goes
        return
    data = context.step_as(Composing)
    assert context.state is not None and data is not None  # routed here by the step the loading step read
    receive = receivers.get(context.state.step)
    if receive is not None:
        await receive(update, context, data)
        return
    _ = context.t.gettext
    if context.state.step in TEXT_RECEIVERS:
        await context.reply.say(_("Please send this as text."))
    else:
        await context.reply.say(_("Please choose one of the buttons."))
    await ask(update, context, context.state.step, data)


async def _go(update: Update, context: Context, step: str, data: Composing) -> None:
    """Move the chat to a step and ask its question."""
    await save_step(update, context, step, data)
    await ask(update, context, step, data)


# -------------------------------------------------------------- composing


def _typed(update: Update) -> str:
    assert update.message
    return (update.message.text or "").strip()


async def _valid_text(context: Context, text: str, media: bool) -> bool:
    """Refuse an empty or over-long message text (shorter with a photo or document), saying why."""
    t = context.t
    refusal = None
    if not text:
        refusal = t.gettext("The message is empty. Please send some text.")
    elif media and len(text) > CAPTION_MAX:
        refusal = t.ngettext(
            "With a photo or document, each text can have at most {count} character. Please shorten it.",
            "With a photo or document, each text can have at most {count} characters. Please shorten it.",
            CAPTION_MAX,
        ).format(count=t.number(CAPTION_MAX))
    elif len(text) > TEXT_MAX:
        refusal = t.ngettext(
            "That is too long. Please keep it to at most {count} character.",
            "That is too long. Please keep it to at most {count} characters.",
            TEXT_MAX,
        ).format(count=t.number(TEXT_MAX))
    if refusal is not None:
        await context.reply.say(refusal)
    return refusal is None


def _attached(message: Message) -> tuple[Literal["photo", "document"], str] | None:
    """("photo" or "document", file id) of what the message carries; the largest size of a photo."""
    if message.photo:
        return "photo", max(message.photo, key=lambda size: size.width * size.height).file_id
    if message.document:
        return "document", message.document.file_id
    return None


async def _receive_text(update: Update, context: Context, data: Composing) -> None:
    """Take the English text, or a photo or document with it as the caption, then ask who gets it."""
    message = update.message
    assert message
    _ = context.t.gettext
    media = _attached(message)
    if media is None and message.text is None:
        await context.reply.say(
            _("Please send the message as text, or as a photo or document with a caption.")
        )
        return
    if media is not None and not (message.caption or "").strip():
        await context.reply.say(
            _("Please send it again with a caption: the caption is the message in English.")
        )
        return
    text = (message.text or message.caption or "").strip()
    if not await _valid_text(context, text, media is not None):
        return
    data.texts = {**data.texts, "en": text}
    data.media = media
    data.pick = None
    await _go(update, context, AUDIENCE, data)


async def _receive_version(update: Update, context: Context, data: Composing) -> None:
    """Take one language's version, then offer the languages again."""
    text = _typed(update)
    if not await _valid_text(context, text, data.media is not None):
        return
    assert data.lang is not None  # set by the press that asked for this version
    data.texts = {**data.texts, data.lang: text}
    data.lang = None
    await _go(update, context, LANGS, data)


# --------------------------------------------------------------- audience


async def _ask_audience(context: Context) -> None:
    """The audience menu: everyone (with its size), a list to choose from, or Cancel."""
    _ = context.t.gettext
    async with context.db() as session:
        everyone = await audiences.size(session, Audience())
        saved = await audiences.segments(session)
    choices = [Choice(_("Everyone"), "bc:all", note=context.t.number(everyone))]
    choices += [
        Choice(_(label), f"bc:{kind}") for kind, (label, _question) in LISTS.items() if saved or kind != "seg"
    ]
    choices.append(Choice(_("Cancel"), "bc:stop"))
    await context.reply.say(_("Who should get it?"), choices)


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


async def _list_page(context: Context, kind: str, page: int) -> Outgoing:
    """One page of a list of choices, each with its size, plus More and Back."""
    _ = context.t.gettext
    options = await _options(context, kind)
    page = max(0, min(page, (len(options) - 1) // PAGE)) if options else 0
    shown = options[page * PAGE : (page + 1) * PAGE]
    async with context.db() as session:
        sizes = [await audiences.size(session, chosen) for _name, _data, chosen in shown]
    choices = [
        Choice(name, data, note=context.t.number(count))
        for (name, data, _chosen), count in zip(shown, sizes, strict=True)
    ]
    if len(options) > (page + 1) * PAGE:
        choices.append(Choice(_("More"), f"bc:{kind}:{page + 1}"))
    choices.append(Choice(_("Back"), "bc:back"))
    text = _(LISTS[kind][1]) if options else _("There is nothing to choose from here yet.")
    return Outgoing(text, choices, columns=2)


async def _open_list(update: Update, context: Context, data: Composing, kind: ListKind, page: str) -> None:
    """Show a list of the audience menu ("An area"), or its next page in place ("More")."""
    data.pick = kind
    data.page = int(page) if page.isdigit() else 0
    await save_step(update, context, AUDIENCE, data)
    shown = await _list_page(context, kind, data.page)
    if page:
        await context.reply.replace(shown)
    else:
        await context.reply.picked(context.t.gettext(LISTS[kind][0]))
        await context.reply.say(shown)


async def _pick(update: Update, context: Context, data: Composing, kind: str) -> None:
    """Choose one item of a list, checking it (still) exists."""
    assert update.callback_query
    pressed = update.callback_query.data
    chosen = next(((n, a) for n, d, a in await _options(context, kind) if d == pressed), None)
    if chosen is None:
        await stale_button(update, context)
        return
    name, audience = chosen
    await _choose(update, context, data, audience, name, segment=kind == "seg")


async def _everyone(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Everyone: every champion who can get messages."""
    await _choose(update, context, data, Audience(), context.t.gettext("Everyone"), segment=False)


async def _choose(
    update: Update, context: Context, data: Composing, chosen: Audience, label: str, *, segment: bool
) -> None:
    """Take an audience if anyone is in it; otherwise say so and offer the choice again."""
    await context.reply.picked(label)
    async with context.db() as session:
        count = await audiences.size(session, chosen)
    if count == 0:
        await context.reply.say(
            context.t.gettext("Nobody in that audience can get messages right now. Choose another.")
        )
        await ask(update, context, AUDIENCE, data)
        return
    data.audience = chosen
    data.segment = segment
    data.pick = None
    data.page = 0
    await _go(update, context, SIZE, data)


async def _back(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Back to the audience menu, from one of its lists or from the size shown."""
    _ = context.t.gettext
    on_size = context.state is not None and context.state.step == SIZE
    await context.reply.picked(_("Choose again") if on_size else _("Back"))
    data.pick = None
    data.page = 0
    await _go(update, context, AUDIENCE, data)


async def _show_size(context: Context, data: Composing) -> None:
    """How many champions the chosen audience reaches, and what next."""
    _ = context.t.gettext
    async with context.db() as session:
        count = await audiences.size(session, _audience(data))
    choices = [Choice(_("Continue"), "bc:next")]
    if not data.segment:
        choices.append(Choice(_("Save this audience"), "bc:save"))
    choices.append(Choice(_("Choose again"), "bc:back"))
    text = context.t.ngettext("That is {count} champion.", "That is {count} champions.", count)
    await context.reply.say(text.format(count=context.t.number(count)), choices)


async def _continue(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """The audience as shown: on to its languages."""
    await context.reply.picked(context.t.gettext("Continue"))
    await _to_languages(update, context, data)


async def _save(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Ask for a name to save the audience under."""
    await context.reply.picked(context.t.gettext("Save this audience"))
    await _go(update, context, SEGMENT_NAME, data)


async def _receive_segment_name(update: Update, context: Context, data: Composing) -> None:
    """Save the chosen audience under the typed name, then go on to languages."""
    _ = context.t.gettext
    name = clean_name(_typed(update))
    if not name:
        await context.reply.say(_("Please type a name (letters, not only spaces)."))
        return
    if len(name) > SEGMENT_NAME_MAX:
        await context.reply.say(too_long_name(context.t, SEGMENT_NAME_MAX))
        return
    async with context.db.begin() as session:
        await audiences.save_segment(session, name, _audience(data))
    await context.reply.say(_("Saved as {name}.").format(name=isolate(name)))
    data.segment = True
    await _to_languages(update, context, data)


# -------------------------------------------------------------- languages


async def _language_counts(context: Context, data: Composing) -> dict[str, int]:
    async with context.db() as session:
        return await audiences.languages(session, _audience(data))


async def _to_languages(update: Update, context: Context, data: Composing) -> None:
    """Offer versions in the audience's other languages, or go straight to the preview."""
    counts = await _language_counts(context, data)
    if not any(counts.get(code) for code in LANGUAGES if code != "en"):
        await context.reply.say(context.t.gettext("Everyone in this audience reads English."))
        await _to_preview(update, context, data)
        return
    await _go(update, context, LANGS, data)


async def _ask_languages(context: Context, data: Composing) -> None:
    """The audience's other languages (those with a version ticked), each with its count, and Done."""
    _ = context.t.gettext
    counts = await _language_counts(context, data)
    others = [code for code, count in counts.items() if code != "en" and count]
    choices = version_choices(context.t, "bc:lv:", others, data.texts, counts)
    choices.append(Choice(_("Done"), "bc:done"))
    await context.reply.say(
        _("Add a version in another language? Anyone without one gets the English text."),
        choices,
        columns=2,
    )


async def _choose_version(update: Update, context: Context, data: Composing, code: str) -> None:
    """Ask for the version in one of the audience's languages."""
    if code not in LANGUAGES or code == "en":
        await stale_button(update, context)
        return
    await context.reply.picked(_language_name(code))
    data.lang = code
    await _go(update, context, VERSION, data)


# ---------------------------------------------------------------- preview


async def _done(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """No more versions: on to the previews."""
    await context.reply.picked(context.t.gettext("Done"))
    await _to_preview(update, context, data)


async def _to_preview(update: Update, context: Context, data: Composing) -> None:
    """Show the message exactly as each language group will get it, then ask when to send."""
    t = context.t
    counts = await _language_counts(context, data)
    order = [code for code in LANGUAGES if counts.get(code)] + sorted(set(counts) - set(LANGUAGES))
    previews = []
    for code in order:
        count, name = counts[code], _language_name(code)
        if code in data.texts or code == "en":
            heading = t.ngettext(
                "Preview for {language} ({count} person):", "Preview for {language} ({count} people):", count
            )
        else:
            heading = t.ngettext(
                "Preview for {language} ({count} person), who will get the English text:",
                "Preview for {language} ({count} people), who will get the English text:",
                count,
            )
        await context.reply.say(heading.format(language=name, count=t.number(count)))
        media = Media(*data.media) if data.media else None
        text = data.texts.get(code) or data.texts["en"]
        choices = _preview_choices(data, code)
        shown = await context.reply.say(Outgoing(text, choices, columns=len(choices) or 1, media=media))
        previews.append((shown.message_id, code))
    data.previews = previews
    plan = await _whatsapp_plan(context, data)
    if plan is not None:
        await context.reply.say("\n".join(whatsapp_lines(t, plan)))
    await _go(update, context, PREVIEW, data)


async def _whatsapp_plan(context: Context, data: Composing) -> WhatsAppPlan | None:
    """The audience's WhatsApp side now (None: nobody in it is on WhatsApp)."""
    async with context.db() as session:
        return await whatsapp_plan(
            session,
            _audience(data),
            data.texts["en"],
            answer_back=data.answer_back,
            tier=context.settings.whatsapp_daily_tier,
            now=utcnow(),
        )


def _preview_choices(data: Composing, code: str) -> list[Choice]:
    """The answer-back buttons, if on. Delivery 0 does not exist: they are shown but do nothing."""
    return answer_choices(0, code) if data.answer_back else []


# --------------------------------------------------------------- schedule


async def _now(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Send as soon as it is confirmed."""
    await context.reply.picked(context.t.gettext("Send now"))
    data.send_at = None
    data.spread = False
    await _go(update, context, CONFIRM, data)


async def _spread(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Send as soon as it is confirmed, the WhatsApp templates past today's tier on later days."""
    await context.reply.picked(context.t.gettext("Send over several days"))
    data.send_at = None
    data.spread = True
    await _go(update, context, CONFIRM, data)


async def _schedule(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Ask when to send it."""
    await context.reply.picked(context.t.gettext("Schedule"))
    data.spread = False
    await _go(update, context, WHEN, data)


def _timezone_name(context: Context) -> str:
    return champion_zone(context.champion).key


def _local_now(context: Context) -> datetime:
    """Now on the coordinator's wall clock, to the minute."""
    return when.local_now(utcnow(), champion_zone(context.champion))


def _example_time(context: Context) -> str:
    return when.tomorrow_at(_local_now(context), 9).replace(minute=30).strftime(local_time.LAYOUT)


def _shown(t: Translator, moment: datetime, timezone: str) -> str:
    """A time as the coordinator reads it: on their clock, their zone named."""
    return t.gettext("{time} ({timezone})").format(time=t.datetime(moment, timezone), timezone=timezone)


def _when_choices(context: Context) -> list[Choice]:
    """The quick times, the day picker, and Cancel."""
    _ = context.t.gettext
    local = _local_now(context)
    tomorrow = when.tomorrow_at(local, 9)
    monday = when.next_weekday_at(local, when.MONDAY, 10)
    return [
        Choice(_("In 1 hour"), "bc:in"),
        Choice(_("Tomorrow 09:00"), f"bc:at:{when.stamp(tomorrow)}"),
        Choice(_("Next Monday 10:00"), f"bc:at:{when.stamp(monday)}"),
        Choice(_("Another day"), "bc:days"),
        Choice(_("Cancel"), "bc:stop"),
    ]


async def _when_again(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Back from the days to the quick times."""
    await context.reply.picked(context.t.gettext("Back"))
    await ask(update, context, WHEN, data)


async def _in_an_hour(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """In 1 hour from now (to the minute)."""
    await context.reply.picked(context.t.gettext("In 1 hour"))
    await _take_time(update, context, data, utcnow().replace(second=0, microsecond=0) + timedelta(hours=1))


async def _at(update: Update, context: Context, data: Composing, stamp: str) -> None:
    """A time picked on the coordinator's clock: a quick one, or an hour of the day picked."""
    local = when.unstamp(stamp)
    if local is None:
        await stale_button(update, context)
        return
    zone = champion_zone(context.champion)
    try:
        send_at = local_time.to_utc(local, zone)
    except local_time.SkippedTime as skipped:
        await context.reply.picked()
        await _skipped(context, skipped)
        return
    await context.reply.picked(_shown(context.t, send_at, zone.key))
    await _take_time(update, context, data, send_at)


async def _days(update: Update, context: Context, data: Composing, back: str) -> None:
    """Offer the next seven days (today while it has hours left); "back" when back from the hours."""
    t = context.t
    local = _local_now(context)
    choices = []
    for day in when.days_from(local):
        ahead = (day - local.date()).days
        label = (
            t.gettext("Today")
            if ahead == 0
            else t.gettext("Tomorrow")
            if ahead == 1
            else get_day_names("wide", locale=t.locale)[day.weekday()]
        )
        choices.append(Choice(label, f"bc:day:{day:%Y%m%d}", note=_day_shown(t, day, "MMMd")))
    choices += [Choice(t.gettext("Back"), "bc:when"), Choice(t.gettext("Cancel"), "bc:stop")]
    await context.reply.picked(t.gettext("Back") if back else t.gettext("Another day"))
    text = t.gettext("Which day? Times are in your time zone, {timezone}.")
    await context.reply.say(text.format(timezone=_timezone_name(context)), choices, columns=2)


async def _day(update: Update, context: Context, data: Composing, raw: str) -> None:
    """Offer the hours still to come on the day picked."""
    t = context.t
    local = _local_now(context)
    day = when.unday(raw, local)
    if day is None:
        await stale_button(update, context)
        return
    named = _day_shown(t, day, "MMMMEEEEd")
    await context.reply.picked(named)
    choices = [Choice(f"{hour:%H:%M}", f"bc:at:{when.stamp(hour)}") for hour in when.hours_on(day, local)]
    choices.append(Choice(t.gettext("Back"), "bc:days:back"))
    text = t.gettext("What time on {day}? Times are in your time zone, {timezone}.")
    await context.reply.say(text.format(day=named, timezone=_timezone_name(context)), choices, columns=4)


def _day_shown(t: Translator, day: date, skeleton: str) -> str:
    """A day as the locale writes it ("MMMd": 3 Dec; "MMMMEEEEd": Thursday, December 3)."""
    return format_skeleton(skeleton, datetime.combine(day, datetime.min.time()), locale=t.locale)


async def _skipped(context: Context, skipped: local_time.SkippedTime) -> None:
    """Say that the clocks skip the time chosen."""
    await context.reply.say(
        context.t.gettext(
            "{time} does not exist in {timezone}: the clocks go forward then. Please choose another time."
        ).format(time=f"{skipped.local:{local_time.LAYOUT}}", timezone=skipped.zone.key)
    )


async def _receive_when(update: Update, context: Context, data: Composing) -> None:
    """Take a typed date and time, as people say it or as YYYY-MM-DD HH:MM, in the coordinator's
    language and time zone; refuse what can't be read, a day without a time, and skipped times."""
    _ = context.t.gettext
    timezone = _timezone_name(context)
    try:
        send_at = when.read(_typed(update), champion_zone(context.champion), utcnow(), context.t.language)
    except local_time.SkippedTime as skipped:
        await _skipped(context, skipped)
        return
    except when.NoTime:
        await context.reply.say(
            _(
                "I read a day but no time. Please add the time, like “tomorrow 10:00” or “monday 9:30” "
                "({timezone})."
            ).format(timezone=timezone)
        )
        return
    if send_at is None:
        await context.reply.say(
            _(
                "I couldn't read that as a date and time. Please type it like “tomorrow 10am”, "
                "“in 2 hours”, “25 Dec 14:00” or {example} ({timezone}), or choose one of these."
            ).format(example=_example_time(context), timezone=timezone),
            _when_choices(context),
        )
        return
    await _take_time(update, context, data, send_at)


async def _take_time(update: Update, context: Context, data: Composing, send_at: datetime) -> None:
    """Go on to confirm with a time to send at, unless it has passed or is over a year away."""
    _ = context.t.gettext
    now = utcnow()
    refusal = None
    if send_at <= now:
        refusal = _(
            "That time, {time}, has already passed. Please give a time in the future, like “in 2 hours” "
            "or “tomorrow 10am”."
        ).format(time=_shown(context.t, send_at, _timezone_name(context)))
    elif send_at > now + SCHEDULE_AHEAD:
        refusal = _("Please choose a time within the next year.")
    if refusal is not None:
        await context.reply.say(refusal)
        return
    data.send_at = send_at
    await _go(update, context, CONFIRM, data)


# ---------------------------------------------------------------- confirm


def _confirm_choices(t: Translator, data: Composing) -> list[Choice]:
    """Confirm, the two toggles as they are now, and Cancel."""
    _ = t.gettext
    answers = _("Answer buttons: on") if data.answer_back else _("Answer buttons: off")
    return [
        Choice(_("Confirm"), "bc:ok"),
        Choice(ticked(data.urgent, _("Urgent")), "bc:urgent", note=_("ignores quiet hours")),
        Choice(answers, "bc:answers"),
        Choice(_("Cancel"), "bc:stop"),
    ]


async def _ask_confirm(context: Context, data: Composing) -> None:
    """The last question: send to this many champions now, or at the time chosen?"""
    t = context.t
    async with context.db() as session:
        count = await audiences.size(session, _audience(data))
    if data.send_at is None:
        text = t.ngettext("Send to {count} champion now?", "Send to {count} champions now?", count)
    else:
        text = t.ngettext(
            "Send to {count} champion on {date}?", "Send to {count} champions on {date}?", count
        )
    moment = _shown(t, data.send_at, _timezone_name(context)) if data.send_at else ""
    text = text.format(count=t.number(count), date=moment)
    plan = await _whatsapp_plan(context, data) if data.spread else None
    if plan is not None and plan.days > 1:
        text += "\n" + t.ngettext(
            "The WhatsApp templates go out over {count} day, a day's share at a time.",
            "The WhatsApp templates go out over {count} days, a day's share at a time.",
            plan.days,
        ).format(count=t.number(plan.days))
    await context.reply.say(text, _confirm_choices(t, data))


async def _toggle_urgent(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Turn urgency on or off."""
    data.urgent = not data.urgent
    await save_step(update, context, CONFIRM, data)
    await context.reply.rechoose(_confirm_choices(context.t, data))


async def _toggle_answers(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Turn the answer-back buttons on or off; the previews follow."""
    assert update.effective_chat
    data.answer_back = not data.answer_back
    await save_step(update, context, CONFIRM, data)
    await context.reply.rechoose(_confirm_choices(context.t, data))
    for message_id, code in data.previews:
        choices = _preview_choices(data, code)
        preview = Sent(update.effective_chat.id, message_id)
        await context.reply.rechoose(choices, columns=len(choices) or 1, message=preview)


async def _confirm(update: Update, context: Context, data: Composing, _arg: str) -> None:
    """Create the broadcast (once, even if Confirm is pressed twice); to send now, fan it out in
    the same transaction and wake the delivery workers, then show the live report."""
    assert update.effective_chat and context.champion
    t = context.t
    chosen = _audience(data)
    async with context.db() as session:
        count = await audiences.size(session, chosen)
    if count == 0:
        await context.reply.picked(t.gettext("Confirm"))
        await context.reply.say(
            t.gettext("Nobody in that audience can get messages right now. Choose another.")
        )
        data.audience = None
        await _go(update, context, AUDIENCE, data)
        return
    async with context.db.begin() as session:
        left = await conversation.leave_step(session, update.effective_chat.id, CONFIRM)
        broadcast = None
        if left:
            broadcast = await broadcasts.queue_composed(
                session,
                texts=data.texts,
                audience=chosen,
                send_at=data.send_at,
                created_by=context.champion.id,
                answer_back=data.answer_back,
                urgent=data.urgent,
                media=data.media,
            )
            if data.send_at is None and data.spread:
                tier = context.settings.whatsapp_daily_tier
                await hold_past_the_tier(session, broadcast.id, tier, utcnow())
    if broadcast is None:
        await stale_button(update, context)
        return
    await context.reply.picked(t.gettext("Confirm"))
    if data.send_at is not None:
        text = t.ngettext(
            "Scheduled: it will go to {count} champion on {date}.",
            "Scheduled: it will go to {count} champions on {date}.",
            count,
        )
        moment = _shown(t, data.send_at, _timezone_name(context))
        await context.reply.say(text.format(count=t.number(count), date=moment))
        return
    context.bot_data.wake.ring(outbox.BULK)
    await live_report.show(update, context, broadcast.id)


# ---------------------------------------------------------------- helpers


PRESSES: dict[str, Press] = {
    "all": _everyone,
    "back": _back,
    "next": _continue,
    "save": _save,
    "lv": _choose_version,
    "done": _done,
    "now": _now,
    "spread": _spread,
    "sched": _schedule,
    "when": _when_again,
    "in": _in_an_hour,
    "at": _at,
    "days": _days,
    "day": _day,
    "urgent": _toggle_urgent,
    "answers": _toggle_answers,
    "ok": _confirm,
}
# The steps that take text; of those, only the first also takes a photo or document.
TEXT_RECEIVERS: dict[str, Receiver] = {
    TEXT: _receive_text,
    VERSION: _receive_version,
    WHEN: _receive_when,
    SEGMENT_NAME: _receive_segment_name,
}
MEDIA_RECEIVERS: dict[str, Receiver] = {TEXT: _receive_text}


def _audience(data: Composing) -> Audience:
    return data.audience or Audience()


def _language_name(code: str) -> str:
    return LANGUAGES.get(code, code)
