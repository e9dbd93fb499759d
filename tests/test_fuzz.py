"""Property-based: anything typed or pressed at any step of a journey (any unicode, emoji, right-to-left
text, control characters, over-long messages, forged button data) never reaches the error handler, is
answered in the person's language, and leaves their record and step valid, so /cancel and then /learn
(or /start) still work.

To fuzz another step, add one line to STEPS: a name and how to bring a fresh person there.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.i18n import LANGUAGES, LOCALES_DIR, PLACEHOLDER, Translator, translator
from storage import champions
from storage.models import Champion, ConversationState, Status
from tests.conftest import BotHarness, Person, join

Setup = Callable[[BotHarness, Person], Awaitable[None]]
FLUFF = 12  # shorter English fragments ("Done", "Back") may be a person's own words echoed back
STEP_PREFIXES = ("join:", "bc:", "erase:", "ans:", "rep:", "tz:")  # a new flow's steps add their prefix here
PRESS = "<press the first button>"
APOLOGY = "Sorry, something went wrong on our side. Please try again, or send /help."


def newest(person: Person) -> int:
    """The id of the newest message the bot sent this person."""
    return [m for m in person.history if m.get("from_bot") and "message_id" in m][-1]["message_id"]


async def starting(bot: BotHarness, person: Person) -> None:
    await person.send("/start")


async def press_first(person: Person) -> None:
    await person.press(person.buttons()[0])


async def joining(bot: BotHarness, person: Person, *answers: str) -> None:
    """/start and choose the language, then give `answers` in turn: PRESS for the first button, or text."""
    await person.send("/start")
    await person.press(LANGUAGES[language_of(person)])
    for answer in answers:
        if answer == PRESS:
            await press_first(person)
        else:
            await person.send(answer)


async def coordinator(bot: BotHarness, person: Person, *data: str) -> None:
    """Make the person a coordinator in their language, start /broadcast, then press `data` in turn
    (a press that does not fit the step, e.g. bc:done when no other language is needed, changes nothing)."""
    async with bot.sessions.begin() as session:
        await champions.make_coordinator(session, person.id, person.name, language_of(person))
    await person.send("/broadcast")
    if data:
        await person.send("Clinic open late on Thursday")
    for pressed in data:
        await person.press_data(newest(person), pressed)


async def member(bot: BotHarness, person: Person, *then: str) -> None:
    """Join in their language, then send `then` (commands) in turn."""
    await join(person, language=LANGUAGES[language_of(person)])
    for command in then:
        await person.send(command)


async def quiet_end(bot: BotHarness, person: Person) -> None:
    await member(bot, person, "/quiet")
    await press_first(person)


async def learning(bot: BotHarness, person: Person) -> None:
    await member(bot, person, "/learn")
    await press_first(person)  # a topic
    await press_first(person)  # its first snippet


async def reporting(bot: BotHarness, person: Person, *answers: str) -> None:
    """Join, start /report, then give `answers` in turn: PRESS for the first button, or text."""
    await member(bot, person, "/report")
    for answer in answers:
        if answer == PRESS:
            await press_first(person)
        else:
            await person.send(answer)


@dataclass(frozen=True)
class Step:
    name: str
    setup: Setup


STEPS = [
    Step("join:language", starting),
    Step("join:consent", joining),
    Step("join:share", lambda bot, p: joining(bot, p, PRESS)),
    Step("join:name", lambda bot, p: joining(bot, p, PRESS, PRESS)),
    Step("join:area", lambda bot, p: joining(bot, p, PRESS, PRESS, "Ana")),
    Step("join:networks", lambda bot, p: joining(bot, p, PRESS, PRESS, "Ana", PRESS)),
    Step("member", member),
    Step("quiet", lambda bot, p: member(bot, p, "/quiet")),
    Step("quiet:end", quiet_end),
    Step("language", lambda bot, p: member(bot, p, "/language")),
    Step("learn", learning),
    Step("erase:confirm", lambda bot, p: member(bot, p, "/deleteme")),
    Step("rep:topic", reporting),
    Step("rep:heard", lambda bot, p: reporting(bot, p, PRESS, PRESS)),
    Step("rep:area", lambda bot, p: reporting(bot, p, PRESS, PRESS, "Clinic closed", PRESS)),
    Step("rep:review", lambda bot, p: reporting(bot, p, PRESS, PRESS, "Clinic closed", PRESS, PRESS, PRESS)),
    Step("bc:text", coordinator),
    Step("bc:audience", lambda bot, p: coordinator(bot, p, "bc:area")),
    Step("bc:size", lambda bot, p: coordinator(bot, p, "bc:all")),
    Step("bc:confirm", lambda bot, p: coordinator(bot, p, "bc:all", "bc:next", "bc:done", "bc:now")),
]

PREFIXES = [
    "join:lang:",
    "join:area:",
    "join:net:",
    "join:consent:",
    "lang:",
    "quiet:s:",
    "quiet:e:",
    "quiet:o:",
    "tz:",
    "learn:t:",
    "learn:m:",
    "learn:a:",
    "bc:",
    "bc:lg:",
    "bc:ar:",
    "approve:",
    "camp:",
    "invite:",
    "answer:",
    "erase:",
    "weekly:h:",
]
WEIRD = [
    "فاطمة",
    "علی رضا 🌸",
    "\u202eevil\u202c",
    "\u200b\t\n",
    "Zażółć gęślą jaźń",
    "\x00\x07\x1b[31m",
    "👩🏽‍⚕️" * 30,
    "/start",
    "/cancel",
    "/quiet",
    "/timezone",
    "/learn",
    "/broadcast",
    "/deleteme",
    "/start " + "x" * 80,
]
TEXTS = st.one_of(
    st.text(min_size=1, max_size=60),
    st.sampled_from(WEIRD),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "ب", "😀"]), st.integers(4000, 5000)),
    st.from_regex(r"/[a-z_]{1,12}( [^\n]{0,20})?", fullmatch=True),
    st.from_regex(r"20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]", fullmatch=True),
)
DATA = st.one_of(
    st.text(min_size=1, max_size=64),
    st.builds(
        str.__add__, st.sampled_from(PREFIXES), st.text("abcdefghijklmnopqrstuvwxyz0123456789:-", max_size=12)
    ),
)
ACTIONS = st.lists(
    st.one_of(st.tuples(st.just("text"), TEXTS), st.tuples(st.just("press"), DATA)), max_size=3
)
LANGUAGE_CODES = st.sampled_from(["pl", "ur"])
PEOPLE = itertools.count(9_700_000)


def language_of(person: Person) -> str:
    code = person.bot.emulator.users[person.id].language_code
    assert code
    return code


@lru_cache
def english_fragments(language: str) -> frozenset[str]:
    """Pieces of English messages that `language` translates differently: a reply containing one was
    not translated."""
    with (LOCALES_DIR / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    t = translator(language)
    found = set()
    for message in template:
        if not message.id or not isinstance(message.id, str):  # plurals are left out
            continue
        translated = t.gettext(message.id)
        for piece in PLACEHOLDER.split(message.id):
            piece = piece.strip()
            if len(piece) >= FLUFF and piece not in translated:
                found.add(piece)
    return frozenset(found)


async def current_language(bot: BotHarness, person: Person) -> tuple[Champion | None, str]:
    """The person's record and the language the bot should now write to them in."""
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, person.id)
        state = await session.get(ConversationState, person.id)
    if champion is not None:
        return champion, champion.language
    return None, (state.data.get("language") if state else None) or language_of(person)


def assert_in_language(replies: list[str], language: str, typed: list[str]) -> None:
    """No reply holds an English message that `language` translates (the person's own words aside)."""
    if language == "en":
        return
    for reply in replies:
        for words in typed:
            reply = reply.replace(words, "")
        leaked = [piece for piece in english_fragments(language) if piece in reply]
        assert not leaked, (language, reply, leaked)


async def assert_still_valid(bot: BotHarness, person: Person) -> None:
    """The stored record and step are well-formed, and /cancel then the normal flow still work."""
    champion, language = await current_language(bot, person)
    async with bot.sessions() as session:
        state = await session.get(ConversationState, person.id)
    if champion is not None:
        assert champion.language in LANGUAGES
        assert champion.display_name is None or 0 < len(champion.display_name) <= 64
    if state is not None:
        assert state.step.startswith(STEP_PREFIXES) and isinstance(state.data, dict)
    t: Translator = translator(language)
    cancelled = await person.send("/cancel")
    assert cancelled in (
        [t.gettext("Cancelled. Send /help to see what you can do.")],
        [t.gettext("There is nothing to cancel.")],
    )
    async with bot.sessions() as session:
        assert await session.get(ConversationState, person.id) is None
    if champion is not None and champion.status in {Status.ACTIVE, Status.PAUSED}:
        assert await person.send("/learn") == [t.gettext("Choose a topic to learn about.")]
    else:
        assert await person.send("/start") == [t.gettext("Welcome! Please choose your language.")]


@settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written to the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(step=st.sampled_from(STEPS), language=LANGUAGE_CODES, actions=ACTIONS)
async def test_anything_at_any_step_is_handled_in_the_persons_language(
    bot: BotHarness,
    places: None,
    caplog: pytest.LogCaptureFixture,
    step: Step,
    language: str,
    actions: list[tuple[str, str]],
) -> None:
    caplog.set_level(logging.ERROR)
    await ensure_audience(bot)
    person = bot.person(next(PEOPLE), "Ana", language)
    await step.setup(bot, person)
    typed = [value for kind, value in actions if kind == "text"]
    for kind, value in actions:
        replies = (
            await person.send(value) if kind == "text" else await person.press_data(newest(person), value)
        )
        _champion, now = await current_language(bot, person)
        assert_in_language(replies, now, typed)
        assert translator(now).gettext(APOLOGY) not in replies
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    await assert_still_valid(bot, person)


async def ensure_audience(bot: BotHarness) -> None:
    """One English champion, so a broadcast has someone to go to."""
    async with bot.sessions() as session:
        if await champions.by_telegram_id(session, 9_699_999) is not None:
            return
    await join(bot.person(9_699_999, "Eve"))


def test_the_english_fragments_catch_an_untranslated_reply() -> None:
    """The language check can fail: an English message in a Polish chat is caught."""
    english = "Please choose one of the buttons."
    assert translator("pl").gettext(english) != english
    with pytest.raises(AssertionError):
        assert_in_language([english], "pl", [])
    assert_in_language([translator("pl").gettext(english)], "pl", [])


async def test_every_step_setup_reaches_its_step(bot: BotHarness, places: None) -> None:
    """The fuzz above starts from these steps, so check that each setup really gets there."""
    await ensure_audience(bot)
    for step in STEPS:
        person = bot.person(next(PEOPLE), "Ana", "pl")
        await step.setup(bot, person)
        async with bot.sessions() as session:
            state = await session.get(ConversationState, person.id)
        if step.name.startswith(STEP_PREFIXES):
            assert state is not None and state.step == step.name, step.name
        else:
            assert state is None, step.name
