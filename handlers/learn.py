"""Learn: topics with progress → snippet → next or quiz; /progress; the weekly snippet."""

from __future__ import annotations

import random
from datetime import datetime
from urllib.parse import urlsplit

from babel.dates import get_day_names
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context, Services
from bot.i18n import N_, Translator, translator
from bot.replies import Choice, Outgoing
from handlers.common import require_member, signpost, stale_button
from storage import learning, outbox
from storage.content import Library, Snippet
from storage.models import Champion, Status, utcnow
from storage.quiet_hours import hour_is_quiet

TOPIC_TITLES = {
    "core20plus5": N_("Core20PLUS5"),
    "vaccine-conversations": N_("Vaccine conversations"),
    "signposting": N_("Where to get help"),
    "cancer-screening": N_("Cancer screening"),
    "blood-pressure": N_("Blood pressure"),
    "mental-health": N_("Mental health"),
    "community-action": N_("Community action"),
    "champion-safely": N_("Being a champion safely"),
}
WEEKLY_HOURS = (8, 10, 12, 14, 16, 18, 20)
# A 390 px phone's chat, conservatively: the sandbox page shows about 21 rows of 34 characters
# (tests/test_learn_browser.py measures it); fewer, narrower rows leave room for wider scripts.
SCREEN_WIDTH = 32
SCREEN_ROWS = 20
HEADING_ROWS = 2  # kept free on a first screen for "Your snippet of the week:"
LINK_SHOWN_MAX = 40  # characters of a source link shown with its path: one or two rows on a phone


def topic_title(t: Translator, topic: str) -> str:
    """A topic's name in the person's language."""
    return t.gettext(TOPIC_TITLES.get(topic, topic))


async def show_topics(update: Update, context: Context) -> None:
    """List the topics, each with how much of it the champion has read as its note. A press is
    echoed under its message: Learn on the main menu (learn:start), Topics under a snippet."""
    champion = await require_member(update, context)
    if champion is None:
        return
    t = context.t
    query = update.callback_query
    if query:
        await context.reply.picked(t.gettext("Learn") if query.data == "learn:start" else t.gettext("Topics"))
    library = context.library
    async with context.db() as session:
        read = set(await learning.progress(session, champion.id))
    choices = []
    for topic in library.topics():
        ids = library.in_topic(topic)
        done = sum(1 for snippet_id in ids if snippet_id in read)
        choices.append(Choice(topic_title(t, topic), f"learn:t:{topic}", note=f"{done}/{len(ids)}"))
    if not choices:
        await context.reply.say(t.gettext("There is nothing to learn here yet."))
        return
    await context.reply.say(t.gettext("Choose a topic to learn about."), choices)


async def open_topic(update: Update, context: Context) -> None:
    """Show the first unread snippet of a topic (or its first one when all are read)."""
    champion = await require_member(update, context)
    query = update.callback_query
    assert query and query.data
    topic = query.data.split(":", 2)[2]
    ids = context.library.in_topic(topic)
    if champion is None or not ids:
        await stale_button(update, context)
        return
    await context.reply.picked(topic_title(context.t, topic))
    async with context.db() as session:
        read = set(await learning.progress(session, champion.id))
    await show_snippet(context, champion, learning.next_unread(context.library, read, ids) or ids[0])


async def open_snippet(update: Update, context: Context) -> None:
    """Show the snippet a Next button points at."""
    champion = await require_member(update, context)
    query = update.callback_query
    assert query and query.data
    snippet_id = query.data.split(":", 2)[2]
    if champion is None or context.library.get(snippet_id, "en") is None:
        await stale_button(update, context)
        return
    await context.reply.picked(context.t.gettext("Next"))
    await show_snippet(context, champion, snippet_id)


async def read_on(update: Update, context: Context) -> None:
    """Show the next screen of a snippet too long for one, after a More press."""
    champion = await require_member(update, context)
    query = update.callback_query
    assert query and query.data
    _prefix, _kind, snippet_id, page = query.data.split(":")
    found = context.library.get(snippet_id, context.t.language)
    if champion is None or found is None or int(page) >= len(pages(context.t, found[0])):
        await stale_button(update, context)
        return
    await context.reply.picked(context.t.gettext("More"))
    await context.reply.say(snippet_message(context.library, context.t, snippet_id, page=int(page)))


async def show_snippet(context: Context, champion: Champion, snippet_id: str) -> None:
    """Send a snippet in the champion's language (or English, saying so) and mark it read; the
    first one they open in a topic carries the medical disclaimer."""
    async with context.db.begin() as session:
        read = set(await learning.progress(session, champion.id))
        await learning.mark_read(session, champion.id, snippet_id)
    disclaimer = learning.opens_topic(context.library, read, snippet_id)
    await context.reply.say(snippet_message(context.library, context.t, snippet_id, disclaimer=disclaimer))


def snippet_message(
    library: Library,
    t: Translator,
    snippet_id: str,
    heading: str = "",
    *,
    disclaimer: bool = False,
    page: int = 0,
) -> Outgoing:
    """One screen of a snippet in the translator's language (see `screens`), with More under all
    but its last and Quiz / Next / Topics under that; its source link is not previewed, so the
    snippet stays the message."""
    found = library.get(snippet_id, t.language)
    assert found is not None
    snippet, fell_back = found
    if fell_back:
        notice = t.gettext("This is not yet available in your language, so here it is in English.")
        heading = "\n\n".join(filter(None, [heading, notice]))
    shown = screens(t, snippet, heading, disclaimer)
    if page + 1 < len(shown):
        choices = [Choice(t.gettext("More"), f"learn:m:{snippet_id}:{page + 1}")]
    else:
        choices = []
        following = _following(library, snippet)
        if snippet.quiz:
            choices.append(Choice(t.gettext("Quiz"), f"learn:q:{snippet_id}"))
        if following:
            choices.append(Choice(t.gettext("Next"), f"learn:s:{following}"))
    choices.append(Choice(t.gettext("Topics"), "learn:topics"))
    return Outgoing(shown[page], choices, columns=len(choices), preview=False)


def screens(t: Translator, snippet: Snippet, heading: str, disclaimer: bool) -> list[str]:
    """A snippet as the messages it takes, each within a phone screen (SCREEN_ROWS rows of
    SCREEN_WIDTH characters): the title (under `heading`) on the first, the text's paragraphs as
    `pages` splits them, and on each the source as a short link with NHS 111 and 999, after the
    medical disclaimer on the first when `disclaimer` (the first snippet opened in a topic)."""
    source = t.gettext("Source: {link}").format(link=short_link(snippet.source))
    brief = t.gettext("Urgent help: NHS 111 · Emergency: 999")

    def screen(first: bool, text: str) -> str:
        top = ["\n".join(filter(None, [heading, snippet.title]))] if first else []
        return "\n\n".join([*top, text, source + "\n" + (signpost(t) if first and disclaimer else brief)])

    return [screen(n == 0, text) for n, text in enumerate(pages(t, snippet))]


def pages(t: Translator, snippet: Snippet) -> list[str]:
    """A snippet's text split into screens, as many paragraphs on each as fit beside the most the
    screen may carry (a heading of HEADING_ROWS, the title and the disclaimer on the first; the
    source and NHS 111 and 999 on each), so a More press goes on where any first screen ended."""
    source = t.gettext("Source: {link}").format(link=short_link(snippet.source))
    frame_rows = [
        HEADING_ROWS + screen_rows(snippet.title) + screen_rows(source) + screen_rows(signpost(t)) + 2,
        screen_rows(source) + screen_rows(t.gettext("Urgent help: NHS 111 · Emergency: 999")) + 1,
    ]

    def fits(first: bool, paragraphs: list[list[str]]) -> bool:
        text = "\n\n".join("\n".join(lines) for lines in paragraphs)
        return frame_rows[0 if first else 1] + screen_rows(text) <= SCREEN_ROWS

    done: list[list[list[str]]] = []
    page: list[list[str]] = []  # the paragraphs on this screen, as lines
    for paragraph in snippet.body.split("\n\n"):
        # A paragraph too long for a screen of its own (a long list) goes on line by line.
        whole = fits(not done, [paragraph.split("\n")])
        for n, line in enumerate([paragraph] if whole else paragraph.split("\n")):
            tried = [*page[:-1], page[-1] + [line]] if n and page else [*page, [line]]
            if page and not fits(not done, tried):
                done.append(page)
                page, tried = [], [[line]]
            page = tried
    done.append(page)
    return ["\n\n".join("\n".join(lines) for lines in paragraphs) for paragraphs in done]


def screen_rows(text: str) -> int:
    """The rows a text takes in a phone's chat bubble, each line wrapped at SCREEN_WIDTH."""
    return sum(max(1, -(-len(line) // SCREEN_WIDTH)) for line in text.split("\n"))


def short_link(url: str) -> str:
    """A source link as a phone shows it: the host without "www." and the path, which chats still
    make a link, or the host alone when the path would take rows of its own. Telegram replies are
    plain text and WhatsApp has no text links, so the link is the text."""
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    shown = host + parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
    return shown if len(shown) <= LINK_SHOWN_MAX else host


async def ask_quiz(update: Update, context: Context) -> None:
    """Ask a snippet's quiz question with its options as buttons, in an order fixed per champion."""
    champion = await require_member(update, context)
    query = update.callback_query
    assert query and query.data
    found = context.library.get(query.data.split(":", 2)[2], context.t.language)
    if champion is None or found is None or found[0].quiz is None:
        await stale_button(update, context)
        return
    snippet = found[0]
    assert snippet.quiz
    await context.reply.picked(context.t.gettext("Quiz"))
    order = list(range(len(snippet.quiz.options)))
    random.Random(f"{champion.id}:{snippet.id}").shuffle(order)
    # Numbered, with the option as the note: options run to 60 characters, past a button's room.
    choices = [
        Choice(str(n), f"learn:a:{snippet.id}:{i}", note=snippet.quiz.options[i])
        for n, i in enumerate(order, start=1)
    ]
    await context.reply.say(snippet.quiz.question, choices)


async def answer_quiz(update: Update, context: Context) -> None:
    """Echo the answer chosen under the question, keep it, and give feedback in the champion's
    language."""
    champion = await require_member(update, context)
    query = update.callback_query
    assert query and query.data
    _prefix, _kind, snippet_id, choice = query.data.split(":")
    found = context.library.get(snippet_id, context.t.language)
    quiz = found[0].quiz if found else None
    if champion is None or found is None or quiz is None or int(choice) >= len(quiz.options):
        await stale_button(update, context)
        return
    await context.reply.picked(quiz.options[int(choice)])
    correct = int(choice) == quiz.answer
    async with context.db.begin() as session:
        await learning.record_answer(session, champion.id, snippet_id, correct)
    following = _following(context.library, found[0])
    t = context.t
    feedback = ("✅ " + quiz.right) if correct else ("❌ " + quiz.wrong)
    if following:
        onward = Choice(t.gettext("Next"), f"learn:s:{following}")
    else:
        onward = Choice(t.gettext("Topics"), "learn:topics")
        feedback += "\n\n" + t.gettext("You have reached the end of this topic. Well done!")
    await context.reply.say(feedback, [onward])


async def show_progress(update: Update, context: Context) -> None:
    """Show read and quiz figures per topic."""
    champion = await require_member(update, context)
    if champion is None:
        return
    async with context.db() as session:
        rows = await learning.progress(session, champion.id)
    t = context.t
    if not rows:
        await context.reply.say(t.gettext("You haven't started learning yet. Send /learn to begin."))
        return
    lines = [t.gettext("Your learning so far:")]
    for topic in context.library.topics():
        ids = context.library.in_topic(topic)
        read = sum(1 for i in ids if i in rows)
        answered = [bool(rows[i].quiz_correct) for i in ids if i in rows and rows[i].quiz_correct is not None]
        if answered:
            line = t.ngettext(
                "{topic}: read {read}/{total}, {right} of {count} quiz answer right",
                "{topic}: read {read}/{total}, {right} of {count} quiz answers right",
                len(answered),
            )
        else:
            line = t.gettext("{topic}: read {read}/{total}, no quiz answered yet")
        lines.append(
            line.format(
                topic=topic_title(t, topic),
                read=t.number(read),
                total=t.number(len(ids)),
                right=t.number(sum(answered)),
                count=t.number(len(answered)),
            )
        )
    await context.reply.say("\n".join(lines))


async def ask_weekly(update: Update, context: Context) -> None:
    """Show the weekly snippet choice, or offer the days to choose from."""
    champion = await require_member(update, context)
    if champion is None:
        return
    t = context.t
    async with context.db() as session:
        current = await learning.weekly(session, champion.id)
    if current is not None:
        await context.reply.say(
            t.gettext("You get a snippet every {day} at {time} ({timezone}).").format(
                day=_day(t, current.weekday), time=f"{current.hour:02d}:00", timezone=champion.timezone
            ),
            [Choice(t.gettext("Change"), "weekly:change"), Choice(t.gettext("Stop"), "weekly:stop")],
            columns=2,
        )
        return
    await _ask_day(context)


async def change_weekly(update: Update, context: Context) -> None:
    """Echo Change under the current choice and offer the days again."""
    await context.reply.picked(context.t.gettext("Change"))
    await _ask_day(context)


async def _ask_day(context: Context) -> None:
    t = context.t
    days = [Choice(_day(t, d), f"weekly:d:{d}") for d in range(7)]
    await context.reply.say(t.gettext("Get a snippet of the week? Choose a day."), days, columns=2)


async def choose_weekly_day(update: Update, context: Context) -> None:
    """Echo the chosen day and offer the hours for it."""
    query = update.callback_query
    assert query and query.data
    if await require_member(update, context) is None:
        await stale_button(update, context)
        return
    day = int(query.data.rsplit(":", 1)[1])
    t = context.t
    await context.reply.picked(_day(t, day))
    assert context.champion
    hours = [Choice(f"{h:02d}:00", f"weekly:h:{day}:{h}") for h in _weekly_hours(context.champion)]
    await context.reply.say(
        t.gettext("At what time? (Your time zone: {timezone})").format(timezone=context.champion.timezone),
        hours,
        columns=4,
    )


def _weekly_hours(champion: Champion) -> list[int]:
    """The hours offered for the weekly snippet: the usual ones outside quiet hours, or, when quiet
    hours cover them all, every hour outside quiet hours."""
    usual = [hour for hour in WEEKLY_HOURS if not hour_is_quiet(champion, hour)]
    return usual or [hour for hour in range(24) if not hour_is_quiet(champion, hour)]


async def choose_weekly_hour(update: Update, context: Context) -> None:
    """Echo the chosen hour and save the weekly day and hour."""
    query = update.callback_query
    assert query and query.data
    champion = await require_member(update, context)
    _prefix, _kind, day, hour = query.data.split(":")
    if (
        champion is None
        or not 0 <= int(day) <= 6
        or int(hour) not in _weekly_hours(champion)
    ):
        await stale_button(update, context)
        return
    await context.reply.picked(f"{int(hour):02d}:00")
    async with context.db.begin() as session:
        await learning.set_weekly(session, champion, int(day), int(hour))
    t = context.t
    await context.reply.say(
        t.gettext("Done! You will get a snippet every {day} at {time} ({timezone}).").format(
            day=_day(t, int(day)), time=f"{int(hour):02d}:00", timezone=champion.timezone
        ),
    )


async def stop_weekly(update: Update, context: Context) -> None:
    """Stop the weekly snippet."""
    champion = await require_member(update, context)
    if champion is None:
        await stale_button(update, context)
        return
    await context.reply.picked(context.t.gettext("Stop"))
    async with context.db.begin() as session:
        await learning.stop_weekly(session, champion.id)
    await context.reply.say(context.t.gettext("Stopped. You won't get weekly snippets."))


async def weekly_job(context: Context) -> None:
    """Scheduler job: queue the weekly snippets that are due now."""
    if await queue_due_snippets(context, utcnow()):
        context.bot_data.wake.ring(outbox.BULK)


async def queue_due_snippets(context: Context, now: datetime) -> int:
    """Queue each due champion's next unread snippet and move every due schedule on a week, in one
    transaction: a week is claimed exactly when its snippet is queued. The schedule lives in the
    database, so what fell due while the bot was down is queued on the next run; the outbox holds it
    through quiet hours and sends it only to a champion who is active then. Returns how many."""
    queued = 0
    async with context.db.begin() as session:
        for row, champion in await learning.due_weekly(session, now):
            following = learning.next_weekly(row.weekday, row.hour, champion.timezone, now)
            if not await learning.reschedule(session, row, following):  # another run claimed the week
                continue
            if champion.status != Status.ACTIVE:
                continue
            read = set(await learning.progress(session, champion.id))
            snippet_id = learning.next_unread(context.library, read)
            if snippet_id is None:
                continue
            payload = {"snippet": snippet_id}
            queued += await outbox.queue(
                session, outbox.WEEKLY, [champion.id], payload, not_before=now, expires_at=following
            )
    return queued


async def weekly_message(session: AsyncSession, item: outbox.Claimed, services: Services) -> Outgoing | None:
    """Outbox renderer: the snippet of the week in the champion's language; None if the content no
    longer has it."""
    snippet_id = str(item.payload["snippet"])
    if services.library.get(snippet_id, item.language) is None:
        return None
    t = translator(item.language)
    read = set(await learning.progress(session, item.champion.id))
    disclaimer = learning.opens_topic(services.library, read, snippet_id)
    heading = t.gettext("Your snippet of the week:")
    return snippet_message(services.library, t, snippet_id, heading=heading, disclaimer=disclaimer)


def _following(library: Library, snippet: Snippet) -> str | None:
    """The snippet after this one in its topic, if any."""
    ids = library.in_topic(snippet.topic)
    position = ids.index(snippet.id)
    return ids[position + 1] if position + 1 < len(ids) else None


def _day(t: Translator, weekday: int) -> str:
    return str(get_day_names("wide", locale=t.locale)[weekday])
