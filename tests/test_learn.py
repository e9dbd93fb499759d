"""Learn: browsing topics, snippets, quizzes, progress, the English fallback, the weekly snippet, /stats."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import load_content
from bot.context import Context
from bot.i18n import LANGUAGES, translator
from handlers.common import signpost
from handlers.learn import queue_due_snippets, weekly_job
from storage import champions, learning
from storage.content import TOPICS, load_library
from storage.models import WeeklySnippet
from tests.conftest import BotHarness, Person, join, make_coordinator, texts

SNIPPET = """---
id: {id}
topic: {topic}
order: {order}
title: {title}
source: https://www.nhs.uk/
{extra}quiz:
  question: "Pick A"
  options:
    - "A"
    - "B"
  answer: 1
  right: "Yes, A."
  wrong: "No, it was A."
---
Body of {title}.
"""


def write(
    root: Path, language: str, snippet_id: str, title: str, order: int = 1, topic: str = "signposting"
) -> None:
    folder = root / "learn" / language
    folder.mkdir(parents=True, exist_ok=True)
    extra = "" if language == "en" else "translation: draft\n"
    text = SNIPPET.format(id=snippet_id, topic=topic, order=order, title=title, extra=extra)
    (folder / f"{snippet_id}.md").write_text(text, encoding="utf-8")


QUESTION = "Someone has sudden chest pain and is struggling to breathe. What should they do?"


def shown(person: Person, message_id: int) -> tuple[str, list[str]]:
    """What one bot message in the person's chat says now, and the labels still on it."""
    (message,) = [m for m in person.history if m.get("from_bot") and m.get("message_id") == message_id]
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return texts([message])[0], [button["text"] for row in rows for button in row]


def test_starter_pack_is_complete_in_every_language() -> None:
    library, problems = load_library(languages=tuple(LANGUAGES))
    assert problems == []
    ids = library.all_ids()
    assert len(ids) >= 12
    assert library.topics() == list(TOPICS)  # every starter topic has content
    for snippet_id in ids:
        for language in LANGUAGES:
            snippet = library.snippets[(snippet_id, language)]
            assert snippet.quiz is not None
            assert snippet.draft == (language != "en")
            assert snippet.source.startswith(("https://", "http://"))


async def test_browse_a_topic_read_snippets_and_see_progress(bot: BotHarness, places: None) -> None:
    ana = bot.person(801, "Ana")
    await join(ana)
    assert await ana.send("/learn") == ["Choose a topic to learn about."]
    assert ana.buttons()[:3] == [
        "Core20PLUS5 · 0/2",
        "Vaccine conversations · 0/2",
        "Where to get help · 0/2",
    ]
    topics = ana.history[-1]["message_id"]
    (text,) = await ana.press("Where to get help · 0/2")
    assert shown(ana, topics) == ("Choose a topic to learn about.\n\n✓ Where to get help", [])
    assert text.startswith("999 or 111?\n\nCall 999 when someone is seriously ill")
    assert text.endswith("Source: nhs.uk\n" + signpost(translator("en")))
    assert ana.buttons() == ["More", "Topics"]  # the rest of it is a screen of its own
    (text,) = await ana.press("More")
    assert text.startswith("Use NHS 111") and text.endswith("Urgent help: NHS 111 · Emergency: 999")
    assert ana.buttons() == ["Quiz", "Next", "Topics"]
    first = ana.history[-1]["message_id"]
    (text,) = await ana.press("Next")
    assert shown(ana, first)[0].endswith("Emergency: 999\n\n✓ Next")
    assert text.startswith("Pharmacy first, then GP")
    while ana.buttons()[0] == "More":
        await ana.press("More")
    assert ana.buttons() == ["Quiz", "Topics"]
    second = ana.history[-1]["message_id"]
    assert await ana.press("Topics") == ["Choose a topic to learn about."]
    assert shown(ana, second)[0].endswith("\n\n✓ Topics")
    assert "Where to get help · 2/2" in ana.buttons()
    (text,) = await ana.send("/progress")
    assert "Where to get help: read 2/2, no quiz answered yet" in text.splitlines()
    assert "Core20PLUS5: read 0/2, no quiz answered yet" in text.splitlines()


async def test_quiz_gives_feedback_and_keeps_the_answer(bot: BotHarness, places: None) -> None:
    ana = bot.person(802, "Ana")
    await join(ana)
    await ana.send("/learn")
    await ana.press("Where to get help · 0/2")
    await ana.press("More")
    assert await ana.press("Quiz") == [QUESTION]
    options = sorted(label.split(" · ") for label in ana.buttons())  # numbered, the option as the note
    assert [number for number, _ in options] == ["1", "2", "3"]
    assert sorted(option for _, option in options) == ["Book a GP appointment", "Call 111", "Call 999"]
    (feedback,) = await ana.press("Call 111")
    assert feedback.startswith("❌ Not quite.")
    assert ana.buttons() == ["Next"]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 802)
        assert champion
        assert (await learning.progress(session, champion.id))["signposting-999-111"].quiz_correct is False
    await ana.press("Next")
    while ana.buttons()[0] == "More":
        await ana.press("More")
    await ana.press("Quiz")
    (feedback,) = await ana.press("A pharmacy")
    assert feedback.startswith("✅ Right.") and feedback.endswith(
        "You have reached the end of this topic. Well done!"
    )
    (text,) = await ana.send("/progress")
    assert "Where to get help: read 2/2, 1 of 2 quiz answers right" in text.splitlines()


async def test_a_quiz_answer_is_echoed_under_its_question_and_the_feedback_follows(
    bot: BotHarness, places: None
) -> None:
    ana = bot.person(809, "Ana")
    await join(ana)
    await ana.send("/learn")
    await ana.press("Where to get help · 0/2")
    await ana.press("More")
    await ana.press("Quiz")
    question = ana.history[-1]["message_id"]
    (feedback,) = await ana.press("Call 999")
    assert shown(ana, question) == (f"{QUESTION}\n\n✓ Call 999", [])
    assert feedback.startswith("✅ Right.")
    assert texts(ana.history[-1:]) == [feedback] and ana.buttons() == ["Next"]


async def test_learn_on_the_main_menu_echoes_learn(bot: BotHarness, places: None) -> None:
    ana = bot.person(810, "Ana")
    await join(ana)
    welcome = ana.find_button("Learn")[0]["message_id"]  # main_menu is to send learn:start
    assert await ana.press_data(welcome, "learn:start") == ["Choose a topic to learn about."]
    text, labels = shown(ana, welcome)
    assert text.endswith("\n\n✓ Learn") and labels == []


async def test_learning_in_urdu(bot: BotHarness, places: None) -> None:
    ur = translator("ur")
    bilal = bot.person(803, "Bilal", "ur")
    await join(bilal, language="اردو")
    assert await bilal.send("/learn") == [ur.gettext("Choose a topic to learn about.")]
    library, _ = load_library()
    urdu = library.snippets[("signposting-999-111", "ur")]
    (text,) = await bilal.press(f"{ur.gettext('Where to get help')} · 0/2")
    first, rest = urdu.body.split("\n\n")  # a screen each
    assert text.startswith(f"{urdu.title}\n\n{first}\n\n")
    assert (await bilal.press(ur.gettext("More")))[0].startswith(rest)
    (question,) = await bilal.press(ur.gettext("Quiz"))
    assert urdu.quiz and question == urdu.quiz.question
    (feedback,) = await bilal.press(urdu.quiz.options[urdu.quiz.answer])
    assert feedback == "✅ " + urdu.quiz.right


async def test_a_snippet_not_yet_translated_falls_back_to_english(
    bot: BotHarness, places: None, tmp_path: Path
) -> None:
    write(tmp_path, "en", "only-english", "Only in English")
    write(tmp_path, "en", "both", "In both", order=2)
    write(tmp_path, "pl", "both", "Po polsku", order=2)
    library, problems = load_library(tmp_path / "learn")
    assert problems == []
    bot.application.bot_data.library = library
    kasia = bot.person(804, "Kasia", "pl")
    await join(kasia, language="Polski")
    pl = translator("pl")
    await kasia.send("/learn")
    (text,) = await kasia.press(f"{pl.gettext('Where to get help')} · 0/2")
    assert text.startswith(
        pl.gettext("This is not yet available in your language, so here it is in English.")
        + "\nOnly in English"
    )
    (text,) = await kasia.press(pl.gettext("Next"))
    assert text.startswith("Po polsku\n\n")


async def test_old_or_forged_learn_buttons_are_refused(bot: BotHarness, places: None) -> None:
    ana = bot.person(805, "Ana")
    await join(ana)
    last = ana.history[-1]["message_id"]
    inactive = ["This button is no longer active."]
    assert await ana.press_data(last, "learn:s:no-such-snippet") == inactive
    assert await ana.press_data(last, "learn:a:signposting-999-111:9") == inactive
    assert await ana.press_data(last, "learn:t:no-such-topic") == inactive
    assert await ana.press_data(last, "weekly:h:1:3") == inactive  # not an offered hour


def test_weekly_times_follow_the_timezone_through_clock_changes() -> None:
    after = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)  # a Wednesday in winter
    assert learning.next_weekly(0, 10, "Europe/London", after) == datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 8, 12, 0, tzinfo=UTC)
    assert learning.next_weekly(0, 10, "Europe/London", summer) == datetime(2026, 7, 13, 9, 0, tzinfo=UTC)
    monday_morning = datetime(2026, 7, 13, 8, 59, tzinfo=UTC)  # 09:59 London: still today
    assert learning.next_weekly(0, 10, "Europe/London", monday_morning) == datetime(
        2026, 7, 13, 9, 0, tzinfo=UTC
    )


async def test_weekly_snippet_is_sent_when_due_once_a_week(bot: BotHarness, places: None) -> None:
    assert bot.application.job_queue
    assert weekly_job.__name__ in [job.name for job in bot.application.job_queue.jobs()]
    ana = bot.person(806, "Ana")
    await join(ana)
    await ana.send("/weekly")
    assert ana.buttons()[0] == "Monday"
    days = ana.history[-1]["message_id"]
    assert await ana.press("Monday") == ["At what time? (Your time zone: Europe/London)"]
    assert shown(ana, days) == ("Get a snippet of the week? Choose a day.\n\n✓ Monday", [])
    hours = ana.history[-1]["message_id"]
    assert await ana.press("10:00") == ["Done! You will get a snippet every Monday at 10:00 (Europe/London)."]
    assert shown(ana, hours) == ("At what time? (Your time zone: Europe/London)\n\n✓ 10:00", [])
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 806)
        assert champion
        row = await session.get(WeeklySnippet, champion.id)
        assert row
        due = row.next_due_at
    context = Context(bot.application)
    assert await queue_due_snippets(context, due - timedelta(minutes=1)) == 0
    assert await queue_due_snippets(context, due + timedelta(minutes=1)) == 1
    await bot.deliver(now=due + timedelta(minutes=1))
    text = ana.history[-1]["text"]
    assert text.startswith("Your snippet of the week:\nCore20PLUS5 for adults")
    assert await queue_due_snippets(context, due + timedelta(minutes=2)) == 0
    async with bot.sessions() as session:
        row = await session.get(WeeklySnippet, champion.id)
        assert row and row.next_due_at == due + timedelta(days=7)
    # A week later, the next unread one; a paused champion gets nothing but keeps their schedule.
    assert await queue_due_snippets(context, due + timedelta(days=7, minutes=1)) == 1
    await bot.deliver(now=due + timedelta(days=7, minutes=1))
    assert ana.history[-1]["text"].startswith("Your snippet of the week:\nCore20PLUS5 for children")
    await ana.send("/pause")
    assert await queue_due_snippets(context, due + timedelta(days=14, minutes=1)) == 0
    assert await ana.send("/weekly") == ["You get a snippet every Monday at 10:00 (Europe/London)."]
    assert await ana.press("Change") == ["Get a snippet of the week? Choose a day."]
    assert shown(ana, ana.history[-2]["message_id"])[0].endswith("\n\n✓ Change")
    await ana.send("/weekly")
    assert await ana.press("Stop") == ["Stopped. You won't get weekly snippets."]
    assert shown(ana, ana.history[-2]["message_id"])[0].endswith("\n\n✓ Stop")


async def test_two_weekly_runs_at_once_send_each_snippet_once(bot: BotHarness, places: None) -> None:
    """Two leaders (or two runs of the job) at the same moment: each champion gets one snippet."""
    people = [bot.person(user_id, f"Weekly {user_id}") for user_id in (811, 812)]
    for person in people:
        await join(person)
        await person.send("/weekly")
        await person.press("Monday")
        await person.press("10:00")
    async with bot.sessions() as session:
        due = max(row.next_due_at for row in (await session.scalars(select(WeeklySnippet))).all())
    context = Context(bot.application)
    before = {person.id: len(person.history) for person in people}
    runs = [queue_due_snippets(context, due + timedelta(minutes=1)) for _ in range(2)]
    assert sum(await asyncio.gather(*runs)) == 2
    await bot.deliver(now=due + timedelta(minutes=1))
    for person in people:
        sent = [m for m in person.history[before[person.id] :] if m.get("from_bot")]
        assert [m["text"].split("\n")[0] for m in sent] == ["Your snippet of the week:"]


async def test_coordinators_see_completion_by_topic_and_area(bot: BotHarness, places: None) -> None:
    sam = bot.person(807, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(808, "Ana")
    await join(ana)
    await ana.send("/learn")
    await ana.press("Where to get help · 0/2")
    await ana.press("More")
    await ana.press("Quiz")
    await ana.press("Call 999")
    assert await ana.send("/stats") == ["Sorry, only coordinators can do that."]
    text, reports = await sam.send("/stats")
    assert reports.startswith("Reports this month: 0 (=)")  # the rest: tests/test_insights_export.py
    lines = text.splitlines()
    assert lines[0] == "Learning, 2 members:"
    assert "Where to get help: 25% read, 100% of 1 quiz answer right" in lines  # 1 of 2 snippets × 2 members
    assert "Core20PLUS5: 0% read, no quiz answers yet" in lines
    assert "Northfield: 8% read" in lines  # Ana, the one member there, has read 1 of 13 snippets
    assert "No area given: 0% read" in lines


def test_content_check_names_a_broken_file_and_keeps_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "en", "good-one", "Good")
    write(tmp_path, "en", "bad-one", "Bad")
    broken = tmp_path / "learn" / "en" / "bad-one.md"
    broken.write_text(broken.read_text().replace("answer: 1", "answer: 7"), encoding="utf-8")
    write(tmp_path, "ur", "good-one", "اچھا")
    (tmp_path / "learn" / "ur" / "orphan.md").write_text("no header", encoding="utf-8")
    library, problems = load_library(tmp_path / "learn")
    assert set(library.snippets) == {("good-one", "en"), ("good-one", "ur")}
    assert len(problems) == 2
    command = [
        str(Path(sys.executable).parent / "champbot"),
        "content",
        "check",
        "--dir",
        str(tmp_path / "learn"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "bad-one.md: quiz answer must be the number of the right option, 1 to 2" in result.stderr
    assert "orphan.md: the file must start with a '---' header line" in result.stderr
    assert "1 snippets in 1 topics; 2 files valid." in result.stdout


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("topic: signposting", "topic: astrology"), "unknown topic 'astrology'"),
        (("id: x", "id: y"), "id 'y' does not match the file name 'x'"),
        (("source: https://www.nhs.uk/", "source: nhs"), "source must be a web link"),
        (("Body of T.", "word " * 300), "at most 1000 fit a phone screen"),
        (("title: T\n", ""), "missing field(s): title"),
        (('    - "B"', '    - "' + "B" * 61 + '"'), "quiz option longer than 60 characters"),
        (("order: 1", "order: first"), "order must be a whole number"),
        (('question: "Pick A"', "question: [unclosed"), "the header is not valid YAML on line"),
    ],
)
def test_content_problems_are_explained(tmp_path: Path, change: tuple[str, str], problem: str) -> None:
    write(tmp_path, "en", "x", "T")
    path = tmp_path / "learn" / "en" / "x.md"
    path.write_text(path.read_text().replace(*change), encoding="utf-8")
    _library, problems = load_library(tmp_path / "learn")
    assert len(problems) == 1 and problem in problems[0], problems


def test_the_bot_starts_with_the_valid_content_and_logs_the_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "en", "good-one", "Good")
    write(tmp_path, "en", "bad-one", "Bad")
    broken = tmp_path / "learn" / "en" / "bad-one.md"
    broken.write_text(broken.read_text().replace("topic: signposting", "topic: astrology"), encoding="utf-8")
    monkeypatch.setattr("storage.content.CONTENT_DIR", tmp_path / "learn")
    library = load_content()
    assert library.all_ids() == ["good-one"]
    assert "learn/en/bad-one.md: unknown topic 'astrology'" in caplog.text


async def test_weekly_hours_are_offered_when_quiet_hours_cover_the_usual_ones(
    bot: BotHarness, places: None
) -> None:
    """Quiet hours from 07:00 to 21:00 cover every usual weekly hour (08–20): the hours outside
    them are offered instead, never a question without answers."""
    ana = bot.person(807, "Ana")
    await join(ana)
    await ana.send("/quiet")
    await ana.press("Another time")
    await ana.press("07:00")
    await ana.press("21:00")
    await ana.send("/weekly")
    assert await ana.press("Monday") == ["At what time? (Your time zone: Europe/London)"]
    offered = ana.buttons()
    assert offered and "21:00" in offered and "10:00" not in offered
    assert await ana.press("22:00") == ["Done! You will get a snippet every Monday at 22:00 (Europe/London)."]
    assert await ana.send("/weekly") == ["You get a snippet every Monday at 22:00 (Europe/London)."]
    last = ana.history[-1]["message_id"]
    assert await ana.press_data(last, "weekly:h:0:12") == ["This button is no longer active."]  # quiet
