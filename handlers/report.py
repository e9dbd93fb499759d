"""A champion reports what they heard (/report), and follows their reports (/myreports).

/report: topic → kind → what they heard (text, a voice note or a photo, kept as Telegram's file id)
→ how many people → area → share their name or stay anonymous → review → confirm → a reference
such as R-1042. The answers live in the chat's conversation state (steps `rep:*`), so a restart
mid-report loses nothing; Back returns to the previous step with the answers kept. Every step is
text plus at most 10 buttons, so the flow ports to WhatsApp.
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.constants import MessageLimit

from bot.context import Context
from handlers.common import (
    answer,
    answer_and_clear,
    buttons,
    clear_step,
    isolate,
    reply,
    require_member,
    save_step,
    stale_button,
)
from handlers.report_labels import (
    KIND_LABELS,
    PEOPLE_LABELS,
    STATUS_LABELS,
    describe,
    excerpt,
    topic_label,
)
from storage import conversation, directory, reports
from storage.models import Champion

TOPIC = "rep:topic"
KIND = "rep:kind"
HEARD = "rep:heard"  # what they heard: text, a voice note or a photo
PEOPLE = "rep:people"
AREA = "rep:area"  # data["page"]: the page of areas shown
NAME = "rep:name"  # share their name or stay anonymous
REVIEW = "rep:review"
STEPS = (TOPIC, KIND, HEARD, PEOPLE, AREA, NAME, REVIEW)

# Which step each button belongs to; a press on any other step is stale.
EXPECTED = {
    "t": {TOPIC},
    "k": {KIND},
    "keep": {HEARD},
    "p": {PEOPLE},
    "a": {AREA},
    "more": {AREA},
    "anon": {NAME},
    "ok": {REVIEW},
    "back": set(STEPS[1:]),
}
MAX_CHOICES = 10  # what a WhatsApp message can carry
AREA_PAGE = 7  # areas per message, leaving room for More, Back and Cancel
MY_PAGE = 5  # reports per /myreports message
EXCERPT = 80
REPLY_EXCERPT = 200
REPLIES_SHOWN = 2  # the latest ones; the champion was sent each reply in full when it was made


# ------------------------------------------------------------------ /report


async def start(update: Update, context: Context) -> None:
    """/report or the menu button: begin a report, or carry on with the one in progress."""
    await answer_and_clear(update)
    if await require_member(update, context) is None:
        return
    _ = context.t.gettext
    state = context.state
    if state is not None and state.step.startswith("rep:"):
        await reply(update, _("Let's carry on with your report."))
        await ask(update, context, state.step, dict(state.data))
        return
    if state is not None:
        await reply(
            update,
            _("You are in the middle of something else. Finish it, or send /cancel, then /report."),
        )
        return
    await _go(update, context, TOPIC, {})


async def ask(update: Update, context: Context, step: str, data: dict[str, Any]) -> None:
    """Ask the question for a step of the report (again, after an unexpected answer)."""
    t = context.t
    _ = t.gettext
    back, cancel = (_("Back"), "rep:back"), (_("Cancel"), "rep:stop")
    if step == TOPIC:
        choices = [
            (_tick(topic.id == data.get("topic")) + topic.label(t.language), f"rep:t:{topic.id}")
            for topic in context.topics
        ]
        if len(choices) < MAX_CHOICES:  # with ten topics, /cancel (named in the question) has to do
            choices.append(cancel)
        await reply(update, _("What is it about? Choose a topic, or send /cancel."), buttons(choices, 2))
    elif step == KIND:
        choices = [
            (_tick(k == data.get("kind")) + _(KIND_LABELS[k]), f"rep:k:{k}") for k in reports.KINDS
        ]
        await reply(update, _("What kind of thing did you hear?"), buttons([*choices, back, cancel], 2))
    elif step == HEARD:
        choices = [(_("Keep what I sent"), "rep:keep")] if _heard(data) else []
        await reply(
            update,
            _("What did you hear? Type it, or send a voice note or a photo."),
            buttons([*choices, back, cancel]),
        )
    elif step == PEOPLE:
        choices = [
            (_tick(p == data.get("people")) + _(label), f"rep:p:{p}") for p, label in PEOPLE_LABELS.items()
        ]
        await reply(update, _("How many people does it concern?"), buttons([*choices, back, cancel]))
    elif step == AREA:
        await _ask_area(update, context, data)
    elif step == NAME:
        anonymous = data.get("anonymous")
        choices = [
            (_tick(anonymous is False) + _("Share my name"), "rep:anon:no"),
            (_tick(anonymous is True) + _("Stay anonymous"), "rep:anon:yes"),
        ]
        await reply(
            update,
            _(
                "Share your name with the coordinators? They would see it was you and could ask you more. "
                "Anonymous reports never show who sent them."
            ),
            buttons([*choices, back, cancel]),
        )
    elif step == REVIEW:
        await _review(update, context, data)


async def button(update: Update, context: Context) -> None:
    """Any `rep:` button of the report flow."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    if champion is None:
        await answer(query)
        return
    action, _sep, arg = query.data.removeprefix("rep:").partition(":")
    state = context.state
    step = state.step if state is not None else ""
    if action == "stop" and step.startswith("rep:"):
        await answer_and_clear(update)
        await clear_step(update, context)
        await reply(update, context.t.gettext("Report cancelled. Nothing was saved."))
        return
    if state is None or step not in EXPECTED.get(action, set()):
        await stale_button(update, context)
        return
    data = dict(state.data)
    if action == "ok":
        await _confirm(update, context, champion, data)
        return
    if action == "back":
        await answer_and_clear(update)
        await _go(update, context, STEPS[STEPS.index(step) - 1], data)
        return
    if action == "more":
        await answer_and_clear(update)
        data["page"] = int(arg)
        await _go(update, context, AREA, data)
        return
    chosen = await _choice(context, action, arg, data)
    if chosen is None:
        await stale_button(update, context)
        return
    await answer_and_clear(update)
    data.update(chosen)
    await _go(update, context, STEPS[STEPS.index(step) + 1], data)


async def _choice(context: Context, action: str, arg: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The answer a button gives, checked against what can be chosen; None if it is not one."""
    if action == "t" and arg in {topic.id for topic in context.topics}:
        return {"topic": arg}
    if action == "k" and arg in reports.KINDS:
        return {"kind": arg}
    if action == "keep" and _heard(data):
        return {}
    if action == "p" and arg in reports.PEOPLE:
        return {"people": arg}
    if action == "anon" and arg in ("yes", "no"):
        return {"anonymous": arg == "yes"}
    if action == "a":
        area_id = int(arg)
        async with context.db() as session:
            known = {area.id for area in await directory.list_areas(session)}
        if area_id == 0 or area_id in known:
            return {"area_id": area_id or None, "area_chosen": True}
    return None


def _tick(chosen: bool) -> str:
    """The mark on the answer already given, when a step is asked again after Back."""
    return "✓ " if chosen else ""


def _heard(data: dict[str, Any]) -> bool:
    return bool(data.get("text") or data.get("media_file_id"))


async def _go(update: Update, context: Context, step: str, data: dict[str, Any]) -> None:
    """Move the chat to a step and ask its question."""
    await save_step(update, context, step, data)
    await ask(update, context, step, data)


# ---------------------------------------------------------- what they heard


async def text_during_report(update: Update, context: Context) -> bool:
    """Free text for the report's "what did you hear" step; False if the chat is not reporting."""
    return await _during_report(update, context)


async def media_during_report(update: Update, context: Context) -> bool:
    """A voice note, photo or other non-text message during a report; False if none is waiting."""
    return await _during_report(update, context)


async def _during_report(update: Update, context: Context) -> bool:
    """Hand a message to the "what did you hear" step, or ask the step's question again."""
    state = context.state
    if state is None or not state.step.startswith("rep:"):
        return False
    if await require_member(update, context) is None:
        return True
    data = dict(state.data)
    if state.step == HEARD:
        await _receive_heard(update, context, data)
        return True
    await reply(update, context.t.gettext("Please choose one of the buttons."))
    await ask(update, context, state.step, data)
    return True


def heard_media(message: Message) -> tuple[str, str] | None:
    """("voice" or "photo", Telegram file id) of what the message carries; the largest size of a photo."""
    if message.voice:
        return "voice", message.voice.file_id
    if message.photo:
        return "photo", max(message.photo, key=lambda size: size.width * size.height).file_id
    return None


async def _receive_heard(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Take what they heard as text, a voice note or a photo (with an optional caption)."""
    message = update.message
    assert message
    t = context.t
    media = heard_media(message)
    if media is None and message.text is None:
        await reply(update, t.gettext("I can take what you heard as text, a voice note or a photo."))
        await ask(update, context, HEARD, data)
        return
    text = (message.text or message.caption or "").strip()
    if media is None and not text:
        await reply(update, t.gettext("That was empty. Please tell us what you heard in a few words."))
        return
    if len(text) > reports.TEXT_MAX:
        await reply(
            update,
            t.ngettext(
                "That is too long. Please keep it to at most {count} character.",
                "That is too long. Please keep it to at most {count} characters.",
                reports.TEXT_MAX,
            ).format(count=t.number(reports.TEXT_MAX)),
        )
        return
    data["text"] = text or None
    data["media_kind"], data["media_file_id"] = media if media else (None, None)
    await _go(update, context, PEOPLE, data)


# -------------------------------------------------------------------- area


async def _area_options(context: Context) -> list[tuple[str, str]]:
    """Every area as (label, button data): the champion's own first, marked, then the rest, then none."""
    _ = context.t.gettext
    champion = context.champion
    own = champion.area_id if champion else None
    async with context.db() as session:
        areas = await directory.list_areas(session)
    options = [(_("Mine: {area}").format(area=a.name), f"rep:a:{a.id}") for a in areas if a.id == own]
    options += [(a.name, f"rep:a:{a.id}") for a in areas if a.id != own]
    return [*options, (_("Not area-specific"), "rep:a:0")]


async def _ask_area(update: Update, context: Context, data: dict[str, Any]) -> None:
    """One page of areas, plus More, Back and Cancel."""
    _ = context.t.gettext
    options = await _area_options(context)
    page = max(0, min(int(data.get("page", 0)), (len(options) - 1) // AREA_PAGE))
    chosen = f"rep:a:{data.get('area_id') or 0}" if data.get("area_chosen") else None
    choices = [
        (_tick(callback == chosen) + label, callback)
        for label, callback in options[page * AREA_PAGE : (page + 1) * AREA_PAGE]
    ]
    if len(options) > (page + 1) * AREA_PAGE:
        choices.append((_("More"), f"rep:more:{page + 1}"))
    choices += [(_("Back"), "rep:back"), (_("Cancel"), "rep:stop")]
    await reply(update, _("Which area is it about?"), buttons(choices, 2))


# ------------------------------------------------------------ review, confirm


async def _area_name(context: Context, area_id: int | None) -> str | None:
    if area_id is None:
        return None
    async with context.db() as session:
        areas = await directory.list_areas(session)
    return next((area.name for area in areas if area.id == area_id), None)


async def _review(update: Update, context: Context, data: dict[str, Any]) -> None:
    """Show the report as it will be stored, with Confirm, Back and Cancel. When that is longer
    than one message can be, what they heard is shown whole on its own first, then the review."""
    t = context.t
    _ = t.gettext
    champion = context.champion
    name = None if data.get("anonymous", True) or champion is None else isolate(champion.display_name)
    area = await _area_name(context, data.get("area_id"))
    heading = _("Please check your report:") + "\n\n"

    def review(heard: str | None) -> str:
        text = describe(
            t,
            context.topics,
            topic=data["topic"],
            kind=data["kind"],
            people=data["people"],
            text=heard,
            media_kind=data.get("media_kind"),
            area=area,
            name=name,
        )
        if name is None:
            text += "\n" + _("Anonymous: the coordinators will not see your name.")
        return text

    heard = data.get("text")
    shown = heading + review(isolate(heard) if heard else None)
    if heard and len(shown) > MessageLimit.MAX_TEXT_LENGTH:
        await reply(update, heading + isolate(heard))
        shown = review(excerpt(t, heard, None, EXCERPT))
    await reply(
        update,
        shown,
        buttons([(_("Confirm"), "rep:ok"), (_("Back"), "rep:back"), (_("Cancel"), "rep:stop")]),
    )


async def _confirm(update: Update, context: Context, champion: Champion, data: dict[str, Any]) -> None:
    """Store the report once, however often (or wherever) Confirm is pressed, and give its reference."""
    assert update.effective_chat
    draft = reports.Draft(
        topic=data["topic"],
        kind=data["kind"],
        people=data["people"],
        text=data.get("text"),
        media_kind=data.get("media_kind"),
        media_file_id=data.get("media_file_id"),
        area_id=data.get("area_id"),
        anonymous=bool(data.get("anonymous", True)),
    )
    async with context.db.begin() as session:
        report = None
        if await conversation.leave_step(session, update.effective_chat.id, REVIEW):
            report = await reports.create(session, champion, draft)
    if report is None:  # pressed twice, or on two workers: the other press stored it
        await stale_button(update, context)
        return
    await answer_and_clear(update)
    await reply(
        update,
        context.t.gettext(
            "Thank you! Your report is saved as {reference}. A coordinator will look at it; "
            "you can follow it with /myreports."
        ).format(reference=isolate(reports.reference(report.id))),
    )


# -------------------------------------------------------------- /myreports


async def my_reports(update: Update, context: Context) -> None:
    """/myreports or its Newer/Older buttons: the champion's reports, newest first, with replies."""
    query = update.callback_query
    champion = await require_member(update, context)
    if champion is None:
        if query:
            await answer(query)
        return
    offset = int(query.data.split(":")[1]) if query and query.data else 0
    async with context.db() as session:
        rows, total = await reports.of_champion(session, champion.id, offset, MY_PAGE)
        replies = await reports.replies_to(session, [row.id for row in rows])
    t = context.t
    _ = t.gettext
    if total == 0:
        await answer_and_clear(update)
        await reply(update, _("You have not sent any reports yet. Send /report to tell us what you heard."))
        return
    if not rows:  # an old button, from before some reports were deleted
        await stale_button(update, context)
        return
    await answer_and_clear(update)
    heading = t.ngettext(
        "Showing {first}–{last} of {count} report, newest first.",
        "Showing {first}–{last} of {count} reports, newest first.",
        total,
    ).format(first=t.number(offset + 1), last=t.number(offset + len(rows)), count=t.number(total))
    blocks = [heading]
    for row in rows:
        lines = [
            f"{isolate(reports.reference(row.id))} · {t.datetime(row.created_at, champion.timezone)}",
            f"{topic_label(context.topics, row.topic, t.language)} · {_(KIND_LABELS[row.kind])}",
            _("Status: {status}").format(status=_(STATUS_LABELS[row.status])),
            excerpt(context.t, row.text, row.media_kind, EXCERPT),
        ]
        lines += [
            _("Reply: {text}").format(text=excerpt(context.t, answer.text, None, REPLY_EXCERPT))
            for answer in replies[row.id][-REPLIES_SHOWN:]
        ]
        blocks.append("\n".join(lines))
    choices = []
    if offset > 0:
        choices.append((_("Newer"), f"myr:{max(0, offset - MY_PAGE)}"))
    if offset + len(rows) < total:
        choices.append((_("Older"), f"myr:{offset + MY_PAGE}"))
    await reply(update, "\n\n".join(blocks), buttons(choices, 2) if choices else None)
