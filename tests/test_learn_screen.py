"""How a snippet is shown: within one phone screen in every language, the medical disclaimer once
per topic with NHS 111 and 999 on every snippet, its source as a short link, and /progress in words."""

from __future__ import annotations

import math
from datetime import timedelta

from bot.context import Context
from bot.i18n import LANGUAGES, translator
from handlers.common import signpost
from handlers.learn import TOPIC_TITLES, queue_due_snippets, screens, short_link, snippet_message
from storage import champions, learning
from storage.content import load_library
from tests.conftest import BotHarness, Person, join, texts

# A conservative model of the sandbox chat at 390×844 (about 21 rows of 34 characters in its
# 515 px; tests/test_learn_browser.py measures the real thing): fewer, narrower rows.
ROW_CHARACTERS = 32
SCREEN_ROWS = 20
DISCLAIMER = "This bot does not give medical advice."


def rows(text: str) -> int:
    """The rows a text takes, each line wrapped at ROW_CHARACTERS (an empty line takes one)."""
    return sum(max(1, math.ceil(len(line) / ROW_CHARACTERS)) for line in text.split("\n"))


def test_every_snippet_in_every_language_fits_a_phone_screen() -> None:
    library, problems = load_library(languages=tuple(LANGUAGES))
    assert problems == []
    too_long = []
    for snippet_id in library.all_ids():
        for language in LANGUAGES:
            t = translator(language)
            # At its longest: the snippet of the week, opening its topic (with the disclaimer).
            heading = t.gettext("Your snippet of the week:")
            snippet = library.snippets[(snippet_id, language)]
            for page, text in enumerate(screens(t, snippet, heading, disclaimer=True)):
                if rows(text) > SCREEN_ROWS:
                    too_long.append(f"{language}/{snippet_id} screen {page + 1}: {rows(text)} rows")
            shown = snippet_message(library, t, snippet_id, heading=heading, disclaimer=True).text
            assert shown.startswith(f"{heading}\n{snippet.title}\n\n")
            # A More press goes on where the first screen ended, whatever it carried.
            assert len(screens(t, snippet, heading, True)) == len(screens(t, snippet, "", False))
    assert too_long == []


async def read_through(person: Person, first: str) -> str:
    """A snippet's whole text, pressing More until its last screen (whose choices are then shown)."""
    said = [first]
    while "More" in person.buttons():
        said += await person.press("More")
    return "\n\n".join(said)


async def test_a_snippet_longer_than_a_screen_goes_on_after_more(bot: BotHarness, places: None) -> None:
    library, _ = load_library()
    ana = bot.person(840, "Ana")
    await join(ana)
    await ana.send("/learn")
    (first,) = await ana.press("Where to get help · 0/2")
    assert ana.buttons() == ["More", "Topics"]
    pressed = ana.history[-1]["message_id"]
    (rest,) = await ana.press("More")
    assert ana.history[-2]["message_id"] == pressed and texts(ana.history[-2:-1])[0].endswith("\n\n✓ More")
    assert ana.buttons() == ["Quiz", "Next", "Topics"]
    for paragraph in library.snippets[("signposting-999-111", "en")].body.split("\n\n"):
        assert paragraph in first + rest
    assert rows(first) <= SCREEN_ROWS and rows(rest) <= SCREEN_ROWS
    last = ana.history[-1]["message_id"]
    assert await ana.press_data(last, "learn:m:signposting-999-111:7") == ["This button is no longer active."]


def test_a_source_shows_as_its_host_and_a_short_path() -> None:
    nhs = "https://www.nhs.uk/conditions/high-blood-pressure/"
    assert short_link(nhs) == "nhs.uk/conditions/high-blood-pressure"
    assert short_link("http://www.healthysf.org/chpp-old/cam.html") == "healthysf.org/chpp-old/cam.html"
    doi = "https://doi.org/10.1016/j.pecinn.2026.100455"
    assert short_link(doi) == "doi.org/10.1016/j.pecinn.2026.100455"
    long = "https://www.nhs.uk/nhs-services/urgent-and-emergency-care-services/when-to-use-111/"
    assert short_link(long) == "nhs.uk"  # the site, not a raw URL taking three rows
    library, _ = load_library()
    for snippet_id in library.all_ids():
        text = snippet_message(library, translator("en"), snippet_id, disclaimer=False).text
        assert "https://" not in text and "http://" not in text
        (line,) = [line for line in text.split("\n") if line.startswith("Source: ")]
        assert len(line) <= len("Source: ") + 40


async def test_the_disclaimer_comes_once_per_topic_and_111_and_999_on_every_snippet(
    bot: BotHarness, places: None
) -> None:
    ana = bot.person(841, "Ana")
    await join(ana)
    await ana.send("/learn")
    (first,) = await ana.press("Where to get help · 0/2")
    assert first.startswith("999 or 111?")
    assert first.endswith("Source: nhs.uk\n" + signpost(translator("en")))
    first += await read_through(ana, "")
    assert first.count(DISCLAIMER) == 1
    (second,) = await ana.press("Next")
    assert second.startswith("Pharmacy first, then GP")
    second = await read_through(ana, second)
    assert DISCLAIMER not in second
    assert second.endswith("Source: nhs.uk\nUrgent help: NHS 111 · Emergency: 999")
    await ana.press("Topics")
    (again,) = await ana.press("Where to get help · 2/2")  # all read: the first again, no disclaimer
    assert again.startswith("999 or 111?") and DISCLAIMER not in again
    await ana.press("Topics")
    (other,) = await ana.press("Mental health · 0/1")  # a topic of its own: its own disclaimer
    assert other.endswith(signpost(translator("en")))


async def test_every_way_through_each_topic_signposts_111_and_999_and_disclaims_once(
    bot: BotHarness, places: None
) -> None:
    library, _ = load_library()
    ana = bot.person(842, "Ana")
    await join(ana)
    en = translator("en")
    for topic in library.topics():
        await ana.send("/learn")
        (first,) = await ana.press(f"{en.gettext(TOPIC_TITLES[topic])} · 0/{len(library.in_topic(topic))}")
        screens_shown = [first]
        while "More" in ana.buttons() or "Next" in ana.buttons():
            screens_shown += await ana.press("More" if "More" in ana.buttons() else "Next")
        assert sum(DISCLAIMER in text for text in screens_shown) == 1, topic
        assert all("NHS 111" in text and "999" in text for text in screens_shown), topic


async def test_the_snippet_of_the_week_that_opens_a_topic_carries_the_disclaimer(
    bot: BotHarness, places: None
) -> None:
    ana = bot.person(843, "Ana")
    await join(ana)
    await ana.send("/weekly")
    await ana.press("Monday")
    await ana.press("10:00")
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 843)
        assert champion
        row = await learning.weekly(session, champion.id)
        assert row
        due = row.next_due_at
    context = Context(bot.application)
    for week, (title, disclaimed) in enumerate(
        [("Core20PLUS5 for adults", True), ("Core20PLUS5 for children and young people", False)]
    ):
        now = due + timedelta(days=7 * week, minutes=1)
        assert await queue_due_snippets(context, now) == 1
        await bot.deliver(now=now)
        text = ana.history[-1]["text"]
        assert text.startswith(f"Your snippet of the week:\n{title}\n\n")
        assert (DISCLAIMER in text) == disclaimed
        assert "NHS 111" in text and "999" in text


async def test_progress_says_no_quiz_yet_until_one_is_answered(bot: BotHarness, places: None) -> None:
    ana = bot.person(844, "Ana")
    await join(ana)
    await ana.send("/learn")
    await ana.press("Where to get help · 0/2")
    (text,) = await ana.send("/progress")
    assert "Where to get help: read 1/2, no quiz answered yet" in text.splitlines()
    assert "quiz 0/0" not in text
    await ana.press("More")
    await ana.press("Quiz")
    await ana.press("Call 999")
    (text,) = await ana.send("/progress")
    assert "Where to get help: read 1/2, 1 of 1 quiz answer right" in text.splitlines()
    await ana.press("Next")
    await read_through(ana, "")
    await ana.press("Quiz")
    await ana.press("A&E")
    (text,) = await ana.send("/progress")
    assert "Where to get help: read 2/2, 1 of 2 quiz answers right" in text.splitlines()
