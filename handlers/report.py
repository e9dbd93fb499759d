"""A champion reports what they heard (/report), and follows their reports (/myreports).

/report: topic → kind → what they heard (text, a voice note or a photo, kept as Telegram's file id)
→ how many people → area → share their name or stay anonymous → review → confirm → a reference
such as R-1042. The answers live in the chat's conversation state (steps `rep:*`, typed as
`Reporting`), so a restart mid-report loses nothing; Back returns to the previous step with the
answers kept. Each press is echoed under its question. Every step is text plus at most 10 choices,
so the flow ports to WhatsApp.
"""

from __future__ import annotations

from typing import Literal

from telegram import Message, Update
from telegram.constants import MessageLimit

from bot.context import Context
from bot.replies import Choice, Outgoing, ticked
from bot.steps import StepData
from handlers.common import (
    clear_step,
    isolate,
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
from handlers.themes import joined_lines
from storage import conversation, directory, reports, themes
from storage.models import Champion

TOPIC = "rep:topic"
KIND = "rep:kind"
HEARD = "rep:heard"  # what they heard: text, a voice note or a photo
PEOPLE = "rep:people"
AREA = "rep:area"  # Reporting.page: the page of areas shown
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

MediaKind = Literal["voice", "photo"]


class Reporting(StepData):
    """A report as answered so far; a field is None until its step is answered."""

    topic: str | None = None  # a topic id
    kind: str | None = None  # one of reports.KINDS
    text: str | None = None  # what they heard, typed, or a photo's caption
    media_kind: MediaKind | None = None
    media_file_id: str | None = None  # Telegram's file id of the voice note or photo
    people: str | None = None  # one of reports.PEOPLE
    area_id: int | None = None  # None: not area-specific, once `area_chosen`
    area_chosen: bool = False
    page: int = 0  # the page of areas shown
    anonymous: bool | None = None

    def heard(self) -> bool:
        """Whether they have told what they heard (as text, a voice note or a photo)."""
        return bool(self.text or self.media_file_id)

    def draft(self) -> reports.Draft | None:
        """The report to store; None while a step it needs is unanswered. Anonymous unless they
        chose to share their name."""
        if self.topic is None or self.kind is None or self.people is None:
            return None
        return reports.Draft(
            topic=self.topic,
            kind=self.kind,
            people=self.people,
            text=self.text,
            media_kind=self.media_kind,
            media_file_id=self.media_file_id,
            area_id=self.area_id,
            anonymous=self.anonymous is not False,
        )


# ------------------------------------------------------------------ /report


async def start(update: Update, context: Context) -> None:
    """/report or the menu button: begin a report, or carry on with the one in progress."""
    _ = context.t.gettext
    if update.callback_query:
        await context.reply.picked(_("Report what I heard"))
    if await require_member(update, context) is None:
        return
    state, data = context.state, context.step_as(Reporting)
    if state is not None and data is not None:
        await context.reply.say(_("Let's carry on with your report."))
        await ask(update, context, state.step, data)
        return
    if state is not None:
        await context.reply.say(
            _("You are in the middle of something else. Finish it, or send /cancel, then /report.")
        )
        return
    await _go(update, context, TOPIC, Reporting())


async def ask(update: Update, context: Context, step: str, data: Reporting) -> None:
    """Ask the question for a step of the report (again, after an unexpected answer)."""
    if step == REVIEW:
        await _review(update, context, data)
    elif step == AREA:
        await context.reply.say(await _area_question(context, data))
    elif step in STEPS:
        await context.reply.say(_question(context, step, data))


def _question(context: Context, step: str, data: Reporting) -> Outgoing:
    """The question of a step with a fixed set of answers, the one given before ticked."""
    t = context.t
    _ = t.gettext
    back, cancel = Choice(_("Back"), "rep:back"), Choice(_("Cancel"), "rep:stop")
    if step == TOPIC:
        choices = [
            Choice(ticked(topic.id == data.topic, topic.label(t.language)), f"rep:t:{topic.id}")
            for topic in context.topics
        ]
        if len(choices) < MAX_CHOICES:  # with ten topics, /cancel (named in the question) has to do
            choices.append(cancel)
        return Outgoing(_("What is it about? Choose a topic, or send /cancel."), choices, columns=2)
    if step == KIND:
        choices = [Choice(ticked(k == data.kind, _(KIND_LABELS[k])), f"rep:k:{k}") for k in reports.KINDS]
        return Outgoing(_("What kind of thing did you hear?"), [*choices, back, cancel], columns=2)
    if step == HEARD:
        choices = [Choice(_("Keep what I sent"), "rep:keep")] if data.heard() else []
        return Outgoing(
            _("What did you hear? Type it, or send a voice note or a photo."), [*choices, back, cancel]
        )
    if step == PEOPLE:
        choices = [
            Choice(ticked(p == data.people, _(label)), f"rep:p:{p}") for p, label in PEOPLE_LABELS.items()
        ]
        return Outgoing(_("How many people does it concern?"), [*choices, back, cancel])
    choices = [
        Choice(ticked(data.anonymous is False, _("Share my name")), "rep:anon:no"),
        Choice(ticked(data.anonymous is True, _("Stay anonymous")), "rep:anon:yes"),
    ]
    return Outgoing(
        _(
            "Share your name with the coordinators? They would see it was you and could ask you more. "
            "Anonymous reports never show who sent them."
        ),
        [*choices, back, cancel],
    )


async def button(update: Update, context: Context) -> None:
    """Any `rep:` button of the report flow."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    if champion is None:
        await context.reply.ack()
        return
    _ = context.t.gettext
    action, _sep, arg = query.data.removeprefix("rep:").partition(":")
    step = context.state.step if context.state is not None else ""
    data = context.step_as(Reporting)
    if action == "stop" and data is not None:
        await context.reply.picked(_("Cancel"))
        await clear_step(update, context)
        await context.reply.say(_("Report cancelled. Nothing was saved."))
        return
    if data is None or step not in EXPECTED.get(action, set()):
        await stale_button(update, context)
        return
    if action == "ok":
        await _confirm(update, context, champion, data)
        return
    if action == "back":
        await context.reply.picked(_("Back"))
        await _go(update, context, STEPS[STEPS.index(step) - 1], data)
        return
    if action == "more":  # the next page of areas, in place of this one
        data = data.model_copy(update={"page": int(arg)})
        await save_step(update, context, AREA, data)
        await context.reply.replace(await _area_question(context, data))
        return
    chosen = await _choice(context, action, arg, data)
    if chosen is None:
        await stale_button(update, context)
        return
    label, answer = chosen
    await context.reply.picked(label)
    await _go(update, context, STEPS[STEPS.index(step) + 1], data.model_copy(update=answer))


async def _choice(
    context: Context, action: str, arg: str, data: Reporting
) -> tuple[str, dict[str, object]] | None:
    """The answer a button gives, as (the label to echo, the fields it sets), checked against what
    can be chosen; None if it is not one."""
    t = context.t
    _ = t.gettext
    if action == "t":
        topic = next((topic for topic in context.topics if topic.id == arg), None)
        return (topic.label(t.language), {"topic": arg}) if topic else None
    if action == "k" and arg in reports.KINDS:
        return _(KIND_LABELS[arg]), {"kind": arg}
    if action == "keep" and data.heard():
        return _("Keep what I sent"), {}
    if action == "p" and arg in reports.PEOPLE:
        return _(PEOPLE_LABELS[arg]), {"people": arg}
    if action == "anon" and arg in ("yes", "no"):
        return (_("Stay anonymous") if arg == "yes" else _("Share my name")), {"anonymous": arg == "yes"}
    if action == "a" and arg == "0":
        return _("Not area-specific"), {"area_id": None, "area_chosen": True}
    if action == "a":
        name = await _area_name(context, int(arg))
        return (name, {"area_id": int(arg), "area_chosen": True}) if name else None
    return None


async def _go(update: Update, context: Context, step: str, data: Reporting) -> None:
    """Move the chat to a step and ask its question."""
    await save_step(update, context, step, data)
    await ask(update, context, step, data)


# ---------------------------------------------------------- what they heard


async def on_text(update: Update, context: Context) -> None:
    """Text from a chat on a report step: what they heard, or a nudge back to the buttons."""
    await _received(update, context)


async def on_media(update: Update, context: Context) -> None:
    """A voice note, photo or other non-text message from a chat on a report step."""
    await _received(update, context)


async def _received(update: Update, context: Context) -> None:
    """Hand a message to the "what did you hear" step, or ask the step's question again."""
    state, data = context.state, context.step_as(Reporting)
    if state is None or data is None or await require_member(update, context) is None:
        return
    if state.step == HEARD:
        await _receive_heard(update, context, data)
        return
    await context.reply.say(context.t.gettext("Please choose one of the buttons."))
    await ask(update, context, state.step, data)


def heard_media(message: Message) -> tuple[MediaKind, str] | None:
    """("voice" or "photo", Telegram file id) of what the message carries; the largest size of a photo."""
    if message.voice:
        return "voice", message.voice.file_id
    if message.photo:
        return "photo", max(message.photo, key=lambda size: size.width * size.height).file_id
    return None


async def _receive_heard(update: Update, context: Context, data: Reporting) -> None:
    """Take what they heard as text, a voice note or a photo (with an optional caption)."""
    message = update.message
    assert message
    t = context.t
    media = heard_media(message)
    if media is None and message.text is None:
        await context.reply.say(t.gettext("I can take what you heard as text, a voice note or a photo."))
        await ask(update, context, HEARD, data)
        return
    text = (message.text or message.caption or "").strip()
    if media is None and not text:
        await context.reply.say(t.gettext("That was empty. Please tell us what you heard in a few words."))
        return
    if len(text) > reports.TEXT_MAX:
        await context.reply.say(
            t.ngettext(
                "That is too long. Please keep it to at most {count} character.",
                "That is too long. Please keep it to at most {count} characters.",
                reports.TEXT_MAX,
            ).format(count=t.number(reports.TEXT_MAX))
        )
        return
    kind, file_id = media if media else (None, None)
    heard = {"text": text or None, "media_kind": kind, "media_file_id": file_id}
    await _go(update, context, PEOPLE, data.model_copy(update=heard))


# -------------------------------------------------------------------- area


async def _area_options(context: Context) -> list[Choice]:
    """Every area as a choice: the champion's own first, marked, then the rest, then none."""
    _ = context.t.gettext
    champion = context.champion
    own = champion.area_id if champion else None
    async with context.db() as session:
        areas = await directory.list_areas(session)
    options = [Choice(_("Mine: {area}").format(area=a.name), f"rep:a:{a.id}") for a in areas if a.id == own]
    options += [Choice(a.name, f"rep:a:{a.id}") for a in areas if a.id != own]
    return [*options, Choice(_("Not area-specific"), "rep:a:0")]


async def _area_question(context: Context, data: Reporting) -> Outgoing:
    """One page of areas, the one chosen before ticked, plus More, Back and Cancel."""
    _ = context.t.gettext
    options = await _area_options(context)
    page = max(0, min(data.page, (len(options) - 1) // AREA_PAGE))
    chosen = f"rep:a:{data.area_id or 0}" if data.area_chosen else None
    choices = [
        Choice(ticked(option.data == chosen, option.label), option.data)
        for option in options[page * AREA_PAGE : (page + 1) * AREA_PAGE]
    ]
    if len(options) > (page + 1) * AREA_PAGE:
        choices.append(Choice(_("More"), f"rep:more:{page + 1}"))
    choices += [Choice(_("Back"), "rep:back"), Choice(_("Cancel"), "rep:stop")]
    return Outgoing(_("Which area is it about?"), choices, columns=2)


# ------------------------------------------------------------ review, confirm


async def _area_name(context: Context, area_id: int | None) -> str | None:
    if area_id is None:
        return None
    async with context.db() as session:
        areas = await directory.list_areas(session)
    return next((area.name for area in areas if area.id == area_id), None)


async def _review(update: Update, context: Context, data: Reporting) -> None:
    """Show the report as it will be stored, with Confirm, Back and Cancel. When that is longer
    than one message can be, what they heard is shown whole on its own first, then the review."""
    draft = data.draft()
    if draft is None:  # a step was skipped somehow: start from the first
        await _go(update, context, TOPIC, data)
        return
    t = context.t
    _ = t.gettext
    champion = context.champion
    name = None if draft.anonymous or champion is None else isolate(champion.display_name)
    area = await _area_name(context, draft.area_id)
    heading = _("Please check your report:") + "\n\n"

    def review(heard: str | None) -> str:
        text = describe(
            t,
            context.topics,
            topic=draft.topic,
            kind=draft.kind,
            people=draft.people,
            text=heard,
            media_kind=draft.media_kind,
            area=area,
            name=name,
        )
        if name is None:
            text += "\n" + _("Anonymous: the coordinators will not see your name.")
        return text

    heard = draft.text
    shown = heading + review(isolate(heard) if heard else None)
    if heard and len(shown) > MessageLimit.MAX_TEXT_LENGTH:
        await context.reply.say(heading + isolate(heard))
        shown = review(excerpt(t, heard, None, EXCERPT))
    await context.reply.say(
        shown,
        [Choice(_("Confirm"), "rep:ok"), Choice(_("Back"), "rep:back"), Choice(_("Cancel"), "rep:stop")],
    )


async def _confirm(update: Update, context: Context, champion: Champion, data: Reporting) -> None:
    """Store the report once, however often (or wherever) Confirm is pressed, and give its reference."""
    assert update.effective_chat
    draft = data.draft()
    report = None
    if draft is not None:
        async with context.db.begin() as session:
            if await conversation.leave_step(session, update.effective_chat.id, REVIEW):
                report = await reports.create(session, champion, draft)
    if report is None:  # pressed twice, or on two workers: the other press stored it
        await stale_button(update, context)
        return
    _ = context.t.gettext
    await context.reply.picked(_("Confirm"))
    await context.reply.say(
        _(
            "Thank you! Your report is saved as {reference}. A coordinator will look at it; "
            "you can follow it with /myreports."
        ).format(reference=isolate(reports.reference(report.id)))
    )


# -------------------------------------------------------------- /myreports


async def my_reports(update: Update, context: Context) -> None:
    """/myreports or its Newer/Older buttons: the champion's reports, newest first, with replies
    and the themes each joined, at their step."""
    query = update.callback_query
    champion = await require_member(update, context)
    if champion is None:
        await context.reply.ack()
        return
    offset = int(query.data.split(":")[1]) if query and query.data else 0
    async with context.db() as session:
        rows, total = await reports.of_champion(session, champion.id, offset, MY_PAGE)
        replies = await reports.replies_to(session, [row.id for row in rows])
        joined = await themes.of_reports(session, [row.id for row in rows])
    t = context.t
    _ = t.gettext
    if total == 0:
        await context.reply.picked()
        await context.reply.say(
            _("You have not sent any reports yet. Send /report to tell us what you heard.")
        )
        return
    if not rows:  # an old button, from before some reports were deleted
        await stale_button(update, context)
        return
    await context.reply.picked()
    # Numbered only when paging: "Your report:", "Your 3 reports", "Showing 6–10 of 12 reports".
    if total == 1:
        heading = _("Your report:")
    elif len(rows) == total:
        heading = t.ngettext(
            "Your {count} report, newest first:", "Your {count} reports, newest first:", total
        ).format(count=t.number(total))
    elif len(rows) == 1:  # a last page of one: the oldest
        heading = t.ngettext(
            "Showing the oldest of {count} report.", "Showing the oldest of {count} reports.", total
        ).format(count=t.number(total))
    else:
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
        lines += joined_lines(t, joined[row.id])
        blocks.append("\n".join(lines))
    choices = []
    if offset > 0:
        choices.append(Choice(_("Newer"), f"myr:{max(0, offset - MY_PAGE)}"))
    if offset + len(rows) < total:
        choices.append(Choice(_("Older"), f"myr:{offset + MY_PAGE}"))
    await context.reply.say("\n\n".join(blocks), choices, columns=2)
