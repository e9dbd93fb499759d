"""A champion logs a conversation session (/log) in three taps, and may be reminded weekly.

/log: how many people (a band, or a number typed) → topic (the report topics) → setting (faith
group, school gate, ...) → saved, with Change and Delete for that last entry and the weekly
reminder's toggle. /log again on a day with an entry offers those too. The answers live in the
chat's conversation state (steps `log:*`, typed as `Logging`). The reminder is an outbox row of its
own kind, queued once a week (a job_runs slot, so a restart never queues it twice); the delivery
worker holds it through the champion's quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context, Services
from bot.i18n import Translator, translator
from bot.replies import Choice, Outgoing, ticked
from bot.steps import StepData
from handlers.common import champion_zone, clear_step, require_member, save_step, stale_button
from handlers.digest import last_slot
from handlers.report_labels import SETTING_LABELS, topic_label
from storage import activity_logs, conversation, job_runs, outbox
from storage.activity_logs import BANDS
from storage.models import ActivityLog, Champion, utcnow
from storage.report_topics import Topic

PEOPLE = "log:people"
COUNT = "log:count"  # typing the number of people
TOPIC = "log:topic"
SETTING = "log:setting"
FIX = "log:fix"  # which part of the last entry to change
REMOVE = "log:rm"  # confirm deleting the last entry
ANSWERS = (PEOPLE, TOPIC, SETTING)  # the three taps, in order
MAX_CHOICES = 10  # what a WhatsApp message can carry

FIELD_STEPS = {"people": PEOPLE, "topic": TOPIC, "setting": SETTING}

JOB = "log-nudge"
NUDGE_WEEKDAY, NUDGE_HOUR = 4, 16  # Friday 16:00, London time
NUDGE_LATE = timedelta(days=2)  # a reminder not sent by then is about a week gone: dropped


class Logging(StepData):
    """A session as answered so far, or the last entry being changed or deleted (`entry`)."""

    people: int | None = None
    band: str | None = None  # the band chosen; None: typed (or not answered yet)
    topic: str | None = None
    setting: str | None = None
    entry: int | None = None  # the id of the entry being corrected or deleted


# ------------------------------------------------------------------ wording


def band_label(t: Translator, band: str) -> str:
    """A band as a button shows it: 1, 2–5, ..., 26+ in the locale's digits."""
    low, _sep, high = band.partition("-")
    if band.endswith("+"):
        return f"{t.number(BANDS[band])}+"
    return f"{t.number(int(low))}–{t.number(int(high))}" if high else t.number(int(low))


def people_text(t: Translator, people: int, band: str | None) -> str:
    """How many people an entry counts, in words: "7 people", "2–5 people", "26 or more people"."""
    if band is None or band == "1":
        return t.ngettext("{count} person", "{count} people", people).format(count=t.number(people))
    if band.endswith("+"):
        return t.ngettext("{count} or more person", "{count} or more people", people).format(
            count=t.number(people)
        )
    high = int(band.partition("-")[2])
    return t.ngettext("{first}–{last} person", "{first}–{last} people", high).format(
        first=t.number(people), last=t.number(high)
    )


def describe(t: Translator, topics: list[Topic], entry: ActivityLog) -> str:
    """An entry in one line: people · topic · setting."""
    setting = t.gettext(SETTING_LABELS.get(entry.setting, entry.setting))
    topic = topic_label(topics, entry.topic, t.language)
    return f"{people_text(t, entry.people, entry.band)} · {topic} · {setting}"


def _last_choices(t: Translator, entry: ActivityLog) -> list[Choice]:
    """Change and Delete for an entry: they act only while it is the champion's last."""
    return [
        Choice(t.gettext("Change"), f"log:fix:{entry.id}"),
        Choice(t.gettext("Delete"), f"log:del:{entry.id}"),
    ]


def _nudge_choice(t: Translator, champion: Champion) -> Choice:
    """The weekly reminder's toggle, as it is now."""
    if champion.log_nudge:
        return Choice(t.gettext("Stop reminders"), "log:nudge:off")
    return Choice(t.gettext("Remind me weekly"), "log:nudge:on")


# ------------------------------------------------------------------ /log


async def start(update: Update, context: Context) -> None:
    """/log: begin a session's entry; on a day with one already, offer to change or delete it too."""
    champion = await require_member(update, context)
    if champion is None:
        return
    _ = context.t.gettext
    state, data = context.state, context.step_as(Logging)
    if state is not None and data is not None:
        await context.reply.say(_("Let's carry on with your log."))
        await ask(update, context, state.step, data)
        return
    if state is not None:
        await context.reply.say(
            _("You are in the middle of something else. Finish it, or send /cancel, then /log.")
        )
        return
    async with context.db() as session:
        latest = await activity_logs.last(session, champion.id)
    zone = champion_zone(champion)
    if latest is not None and latest.created_at.astimezone(zone).date() == utcnow().astimezone(zone).date():
        await context.reply.say(
            _("Today you logged: {entry}\nLog another session, or change or delete that one?").format(
                entry=describe(context.t, context.topics, latest)
            ),
            [Choice(_("Log another"), "log:new"), *_last_choices(context.t, latest)],
        )
        return
    await _go(update, context, PEOPLE, Logging())


async def start_new(update: Update, context: Context) -> None:
    """Log another (after today's entry) or Log now (on the weekly reminder): the first question."""
    if await require_member(update, context) is None:
        await context.reply.ack()
        return
    await context.reply.ack()  # the message keeps its buttons: the reminder's Stop, the entry's Change
    if context.state is not None:
        await start(update, context)
        return
    await _go(update, context, PEOPLE, Logging())


async def ask(update: Update, context: Context, step: str, data: Logging) -> None:
    """Ask a step's question (again, after an unexpected answer)."""
    await context.reply.say(_question(context, step, data))


def _question(context: Context, step: str, data: Logging) -> Outgoing:
    """A step's question with its choices, the answer given before ticked; at most 10 choices."""
    t = context.t
    _ = t.gettext
    back, cancel = Choice(_("Back"), "log:back"), Choice(_("Cancel"), "log:stop")
    first = step == PEOPLE and data.entry is None
    ending = [cancel] if first else [back, cancel]
    if step == PEOPLE:
        bands = [Choice(ticked(b == data.band, band_label(t, b)), f"log:b:{b}") for b in BANDS]
        return Outgoing(
            _("How many people did you talk to? Choose one, or type the number."),
            [*bands, Choice(_("Type a number"), "log:n"), *ending],
            columns=3,
        )
    if step == COUNT:
        return Outgoing(_("Type how many people you talked to, as a number."), [back, cancel])
    if step == TOPIC:
        choices = [
            Choice(ticked(topic.id == data.topic, topic.label(t.language)), f"log:t:{topic.id}")
            for topic in context.topics
        ]
        room = MAX_CHOICES - len(choices)
        choices += ending if room >= len(ending) else [cancel] if room else []
        return Outgoing(_("What did you talk about?"), choices, columns=2)
    if step == SETTING:
        choices = [
            Choice(ticked(key == data.setting, _(label)), f"log:s:{key}")
            for key, label in SETTING_LABELS.items()
        ]
        return Outgoing(_("Where did you talk with them?"), [*choices, *ending], columns=2)
    if step == FIX:
        fields = [
            Choice(_("How many people"), "log:f:people"),
            Choice(_("Topic"), "log:f:topic"),
            Choice(_("Setting"), "log:f:setting"),
        ]
        return Outgoing(_("What do you want to change?"), [*fields, cancel])
    return Outgoing(
        _("Delete this entry? This cannot be undone."),
        [Choice(_("Yes, delete it"), "log:rm:yes"), Choice(_("No, keep it"), "log:rm:no")],
    )


async def _go(update: Update, context: Context, step: str, data: Logging) -> None:
    """Move the chat to a step and ask its question."""
    await save_step(update, context, step, data)
    await ask(update, context, step, data)


def _left(context: Context) -> None:
    """The chat left its step (conversation.leave_step): nothing of it is to be kept any more."""
    context.state_version = None
    context.step_data = context.saved_step = None


# ------------------------------------------------------------------ buttons


async def button(update: Update, context: Context) -> None:
    """Any `log:` button of the journey's questions."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    if champion is None:
        await context.reply.ack()
        return
    _ = context.t.gettext
    action, _sep, arg = query.data.removeprefix("log:").partition(":")
    step = context.state.step if context.state is not None else ""
    data = context.step_as(Logging)
    if data is None:
        await stale_button(update, context)
        return
    if action == "stop":
        await context.reply.picked(_("Cancel"))
        await clear_step(update, context)
        await context.reply.say(
            _("Nothing was changed.") if data.entry else _("Log cancelled. Nothing was saved.")
        )
        return
    if action == "back" and step in (COUNT, TOPIC, SETTING, PEOPLE):
        await context.reply.picked(_("Back"))
        if data.entry is not None:
            await _go(update, context, FIX, data)
        else:
            await _go(
                update, context, PEOPLE if step == COUNT else ANSWERS[max(0, ANSWERS.index(step) - 1)], data
            )
        return
    if action == "n" and step == PEOPLE:
        await context.reply.picked(_("Type a number"))
        await _go(update, context, COUNT, data)
        return
    if action == "f" and step == FIX and arg in FIELD_STEPS:
        await context.reply.picked(
            {"people": _("How many people"), "topic": _("Topic"), "setting": _("Setting")}[arg]
        )
        await _go(update, context, FIELD_STEPS[arg], data)
        return
    if action == "rm" and step == REMOVE and arg in ("yes", "no"):
        await _remove(update, context, champion, data, arg == "yes")
        return
    chosen = _choice(context, action, arg, step)
    if chosen is None:
        await stale_button(update, context)
        return
    label, answer = chosen
    await context.reply.picked(label)
    await _answered(update, context, champion, step, data.model_copy(update=answer))


def _choice(context: Context, action: str, arg: str, step: str) -> tuple[str, dict[str, object]] | None:
    """The answer a press gives on this step, as (its label, the fields it sets); None if the press
    is not one of the step's answers."""
    t = context.t
    if action == "b" and step == PEOPLE and arg in BANDS:
        return band_label(t, arg), {"people": BANDS[arg], "band": arg}
    if action == "t" and step == TOPIC:
        topic = next((topic for topic in context.topics if topic.id == arg), None)
        return (topic.label(t.language), {"topic": arg}) if topic else None
    if action == "s" and step == SETTING and arg in SETTING_LABELS:
        return t.gettext(SETTING_LABELS[arg]), {"setting": arg}
    return None


async def _answered(update: Update, context: Context, champion: Champion, step: str, data: Logging) -> None:
    """After an answer: the change made to the last entry, the next question, or the entry saved."""
    if data.entry is not None:
        await _correct(update, context, champion, step, data)
    elif step == SETTING:
        await _save(update, context, champion, data)
    else:
        following = TOPIC if step in (PEOPLE, COUNT) else SETTING
        await _go(update, context, following, data)


async def on_text(update: Update, context: Context) -> None:
    """Text on a log step: the number of people on the people step, else a nudge to the buttons."""
    message = update.message
    assert message
    state, data = context.state, context.step_as(Logging)
    champion = await require_member(update, context)
    if state is None or data is None or champion is None:
        return
    t = context.t
    if state.step not in (PEOPLE, COUNT):
        await context.reply.say(t.gettext("Please choose one of the buttons."))
        await ask(update, context, state.step, data)
        return
    people = activity_logs.typed_people(message.text or "")
    if people is None:
        await context.reply.say(
            t.gettext("Please type a whole number from {low} to {high}, such as 12.").format(
                low=t.number(activity_logs.PEOPLE_MIN), high=t.number(activity_logs.PEOPLE_MAX)
            )
        )
        return
    await _answered(
        update, context, champion, state.step, data.model_copy(update={"people": people, "band": None})
    )


# ------------------------------------------------------------------ saving


async def _save(update: Update, context: Context, champion: Champion, data: Logging) -> None:
    """Store the session once, however often its last answer is pressed, and confirm it."""
    assert update.effective_chat
    entry = None
    if data.people is not None and data.topic is not None and data.setting is not None:
        async with context.db.begin() as session:
            if await conversation.leave_step(session, update.effective_chat.id, SETTING):
                entry = await activity_logs.record(
                    session,
                    champion,
                    people=data.people,
                    band=data.band,
                    topic=data.topic,
                    setting=data.setting,
                )
    if entry is None:
        await stale_button(update, context)
        return
    _left(context)
    t = context.t
    await context.reply.say(
        t.gettext("Logged: {entry}\nThank you! Send /log after your next conversation.").format(
            entry=describe(t, context.topics, entry)
        ),
        [*_last_choices(t, entry), _nudge_choice(t, champion)],
        columns=2,
    )


async def fix_or_delete(update: Update, context: Context) -> None:
    """Change or Delete under a logged entry: ask what to change, or to confirm, if it is still
    the champion's last entry."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    if champion is None:
        await context.reply.ack()
        return
    _prefix, action, entry_id = query.data.split(":")
    async with context.db() as session:
        latest = await activity_logs.last(session, champion.id)
    if latest is None or latest.id != int(entry_id):
        await stale_button(update, context)
        return
    _ = context.t.gettext
    if context.state is not None and context.step_as(Logging) is None:
        await context.reply.ack()
        await context.reply.say(
            _("You are in the middle of something else. Finish it, or send /cancel, then /log.")
        )
        return
    await context.reply.picked(_("Change") if action == "fix" else _("Delete"))
    data = Logging(
        people=latest.people, band=latest.band, topic=latest.topic, setting=latest.setting, entry=latest.id
    )
    if action == "del":
        await context.reply.say(describe(context.t, context.topics, latest))
    await _go(update, context, FIX if action == "fix" else REMOVE, data)


async def _correct(update: Update, context: Context, champion: Champion, step: str, data: Logging) -> None:
    """Apply one changed answer to the last entry, once, and show it as it is now."""
    assert update.effective_chat and data.entry is not None
    field = "people" if step in (PEOPLE, COUNT) else "topic" if step == TOPIC else "setting"
    entry = None
    async with context.db.begin() as session:
        left = await conversation.leave_step(session, update.effective_chat.id, step)
        if left:
            entry = await activity_logs.correct(
                session,
                champion.id,
                data.entry,
                people=data.people if field == "people" else None,
                band=data.band if field == "people" else None,
                topic=data.topic if field == "topic" else None,
                setting=data.setting if field == "setting" else None,
            )
    if not left:  # answered twice at once: the other answer made the change
        await stale_button(update, context)
        return
    _left(context)
    t = context.t
    if entry is None:  # logged again meanwhile, or deleted: nothing to change
        await context.reply.say(t.gettext("That entry can no longer be changed."))
        return
    await context.reply.say(
        t.gettext("Changed: {entry}").format(entry=describe(t, context.topics, entry)),
        _last_choices(t, entry),
        columns=2,
    )


async def _remove(update: Update, context: Context, champion: Champion, data: Logging, yes: bool) -> None:
    """Delete the last entry, once, after Yes; or keep it."""
    assert update.effective_chat and data.entry is not None
    _ = context.t.gettext
    if not yes:
        await context.reply.picked(_("No, keep it"))
        await clear_step(update, context)
        await context.reply.say(_("Kept. Nothing was changed."))
        return
    deleted = False
    async with context.db.begin() as session:
        left = await conversation.leave_step(session, update.effective_chat.id, REMOVE)
        if left:
            deleted = await activity_logs.delete_last(session, champion.id, data.entry)
    if not left:  # pressed twice at once: the other press deleted it
        await stale_button(update, context)
        return
    _left(context)
    await context.reply.picked(_("Yes, delete it"))
    await context.reply.say(_("Deleted.") if deleted else _("That entry can no longer be changed."))


# ------------------------------------------------------------------ the weekly reminder


async def toggle_nudge(update: Update, context: Context) -> None:
    """Remind me weekly / Stop reminders: turn the weekly reminder to log on or off."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    if champion is None:
        await context.reply.ack()
        return
    on = query.data.endswith(":on")
    _ = context.t.gettext
    async with context.db.begin() as session:
        await activity_logs.set_nudge(session, champion.id, on)
    await context.reply.ack()
    if on:
        await context.reply.say(_("Done. I will remind you to log once a week."))
    else:
        await context.reply.say(_("Done. No more weekly reminders to log."))


async def nudge_job(context: Context) -> None:
    """Scheduler job: queue this week's reminders to log if they are due and not queued yet."""
    if await queue_nudges(context, utcnow()):
        context.bot_data.wake.ring(outbox.BULK)


async def queue_nudges(context: Context, now: datetime) -> int:
    """Queue one reminder for each active champion who asked for it, once per week's slot (claimed
    in the same transaction, so a restart or a second worker never queues it twice); return how
    many. A slot more than NUDGE_LATE old (the bot was down) is skipped."""
    slot = last_slot(now, NUDGE_WEEKDAY, NUDGE_HOUR)
    expires = slot + NUDGE_LATE
    if now >= expires:
        return 0
    async with context.db.begin() as session:
        if not await job_runs.claim(session, JOB, slot, now):
            return 0
        ids = await activity_logs.nudged(session)
        payload = {"slot": slot.isoformat()}
        return await outbox.queue(session, outbox.LOG_NUDGE, ids, payload, not_before=now, expires_at=expires)


async def nudge_message(session: AsyncSession, item: outbox.Claimed, services: Services) -> Outgoing | None:
    """Outbox renderer: the weekly reminder in the champion's language; None if they turned it off."""
    if not item.champion.log_nudge:
        return None
    _ = translator(item.language).gettext
    return Outgoing(
        _("Did you talk with people about health this week? Log it in three taps."),
        [Choice(_("Log now"), "log:new"), Choice(_("Stop reminders"), "log:nudge:off")],
    )
