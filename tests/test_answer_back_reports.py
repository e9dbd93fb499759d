"""Questions and concerns from a message's answer-back buttons become reports: on the message's topic,
anonymous, told to every coordinator through the outbox with an Open button that shows the report in
/insights, where it is filtered, counted and answered ("you said, we did") like any report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.i18n import LANGUAGES, translator
from handlers.digest import digest_text
from handlers.export import local_date
from storage import broadcasts, campaigns, champions, outbox, reports
from storage.audience import Audience
from storage.insight_figures import Counts, Digest
from storage.models import Delivery, Report, Response, utcnow
from storage.report_topics import load_topics
from tests.conftest import BotHarness, Person, join, make_coordinator, texts
from tests.test_broadcast_chat import EN, PL, deliver
from tests.test_insights import received, you_said

EXCERPT = EN[:59].rstrip() + "…"  # the first 60 characters, as coordinators see the message
CAMPAIGN = """\
name: Flu week
timezone: UTC
topic: vaccinations
messages:
  - key: jabs
    at: {at}
    texts: {{en: "{en}", pl: "{pl}"}}
"""
QUESTION = "A champion has a question about “{message}” ({reference}):\n\n{text}"
CONCERN = "A champion heard a concern about “{message}” ({reference}):\n\n{text}"


async def coordinator(bot: BotHarness, user_id: int, name: str, language: str = "en") -> Person:
    """A coordinator who has written to the bot (so it can message them), reading `language`."""
    person = bot.person(user_id, name)
    await make_coordinator(bot, person)
    async with bot.sessions.begin() as session:
        found = await champions.by_telegram_id(session, user_id)
        assert found
        await champions.set_language(session, found.id, language)
    await person.send("/help")
    return person


async def campaign_message(bot: BotHarness) -> None:
    """Load a campaign file naming the topic `vaccinations`, its one message due a minute ago."""
    at = utcnow() - timedelta(minutes=1)  # in UTC, so no change of the clocks can make it ambiguous
    text = CAMPAIGN.format(at=f"{at:%Y-%m-%d %H:%M}", en=EN, pl=PL)
    spec = campaigns.parse_campaign(text, "flu.yaml", tuple(LANGUAGES))
    async with bot.sessions.begin() as session:
        await campaigns.load_campaign(session, spec, utcnow(), allow_past=True)


async def one_off_message(bot: BotHarness) -> None:
    """A broadcast to everyone, with its answer-back buttons, delivered."""
    async with bot.sessions.begin() as session:
        await broadcasts.create_broadcast(session, texts={"en": EN}, audience=Audience())
    await deliver(bot)


async def only_report(bot: BotHarness) -> Report:
    async with bot.sessions() as session:
        (report,) = await session.scalars(select(Report))
    return report


async def test_a_question_under_a_campaign_message_is_a_report_the_coordinator_opens_and_answers(
    bot: BotHarness, places: None
) -> None:
    sam = await coordinator(bot, 9001, "Sam")
    ana = bot.person(9002, "Ana")
    await join(ana)
    await campaign_message(bot)
    await deliver(bot)
    assert ana.history[-1]["text"] == EN

    assert await ana.press("A question") == ["Tell us your question in a few words, or /cancel."]
    question = "Is it free for people over 65?"
    assert await ana.send(question) == ["Thank you. We have passed it on to the coordinators."]
    report = await only_report(bot)
    reference = reports.reference(report.id)
    async with bot.sessions() as session:
        copy = await session.scalar(select(Delivery).where(Delivery.champion_id == report.champion_id))
        kinds = list(await session.scalars(select(Response.kind)))
    assert copy is not None and report.delivery_id == copy.id  # linked to Ana's copy of the message
    assert (report.kind, report.topic, report.people) == ("question", "vaccinations", "one")
    assert report.text == question
    assert report.anonymous and report.language == "en" and report.area is not None
    assert report.area.name == "Northfield" and report.status == "new"
    assert kinds == ["question"]  # the answer-back figure is kept as before

    await deliver(bot)  # the coordinators' notification goes through the outbox
    assert texts(sam.history[-1:]) == [QUESTION.format(message=EXCERPT, reference=reference, text=question)]
    assert sam.buttons() == ["Open"]

    # Open, with no /insights list open: the report, marked seen, ready to answer.
    day = local_date(translator("en"), report.created_at, "Europe/London")  # anonymous: the day only
    assert await sam.press("Open") == [
        f"Report {reference} · seen\nTopic: Vaccinations\nKind: A question or concern\n"
        f"What was heard: {question}\nHow many people: One person\nArea: Northfield\n"
        f"In answer to the message “{EXCERPT}”\nSent: {day}\nMay be shared with partners: yes"
    ]
    assert sam.buttons() == ["Mark acted on", "Mark new", "Respond", "Add to a theme", "Back to list"]
    await sam.press("Respond")
    response = "Yes: the flu jab is free on the NHS for everyone aged 65 and over."
    await sam.send(response)
    before = len(ana.history)
    assert await sam.press("Confirm") == [
        f"Sent. {reference} is marked acted on, and its champion is being told."
    ]
    await deliver(bot)
    assert await received(ana, before, 1) == [you_said(translator("en"), report.id, question, response)]

    # It is listed and filtered like any report, and the coordinator never learns who asked.
    (listing,) = await sam.send("/insights")
    assert f"{reference} · {day} · Vaccinations · A question or concern · acted on\n“{question}”" in listing
    await sam.press("Filter")
    await sam.press("Kind")
    assert {"A question or concern", "A concern heard"} <= set(sam.buttons())
    (listing,) = await sam.press("A question or concern")
    assert listing.startswith("1 report · Kind: A question or concern\n")
    assert "Ana" not in json.dumps(sam.history, ensure_ascii=False)


async def test_a_concern_reaches_every_coordinator_in_their_language_and_is_counted(
    bot: BotHarness, places: None
) -> None:
    sam = await coordinator(bot, 9101, "Sam", "ro")
    lee = await coordinator(bot, 9102, "Lee")
    kasia = bot.person(9103, "Kasia", "pl")
    await join(kasia, language="Polski")
    async with bot.sessions.begin() as session:  # a one-off message: it names no topic
        await broadcasts.create_broadcast(session, texts={"en": EN, "pl": PL}, audience=Audience())
    await deliver(bot)
    pl = translator("pl")
    assert await kasia.press(pl.gettext("Concern heard")) == [
        pl.gettext("Tell us the concern you heard in a few words, or /cancel.")
    ]
    concern = "Sąsiedzi mówią, że szczepionka wywołuje grypę."
    assert await kasia.send(concern) == [pl.gettext("Thank you. We have passed it on to the coordinators.")]
    report = await only_report(bot)
    reference = reports.reference(report.id)
    assert (report.kind, report.topic, report.language, report.anonymous) == ("concern", "other", "pl", True)

    await deliver(bot)
    ro = translator("ro")
    assert texts(sam.history[-1:]) == [
        ro.gettext(CONCERN).format(message=EXCERPT, reference=reference, text=concern)
    ]
    assert sam.buttons() == [ro.gettext("Open")]
    assert texts(lee.history[-1:]) == [CONCERN.format(message=EXCERPT, reference=reference, text=concern)]
    (view,) = await lee.press("Open")
    assert "\nTopic: Other\nKind: A concern heard\n" in view
    assert f"\nIn answer to the message “{EXCERPT}”\n" in view  # in Lee's language, not Kasia's

    await lee.send("/insights")
    await lee.press("Filter")
    await lee.press("Kind")
    (listing,) = await lee.press("A concern heard")
    assert listing.startswith("1 report · Kind: A concern heard\n") and reference in listing
    shown = await lee.send("/stats")
    figures = ": sent 1 · shared 0 · questions 0 · concerns 1"  # answer-back figures count it as before
    assert len([line for line in shown[0].split("\n") if line.endswith(figures)]) == 1
    assert "\nBy kind:\nA concern heard: 1 (▲1)\n" in shown[1]
    # Nothing the coordinators got names Kasia or shows the message in her language.
    everything = json.dumps(sam.history + lee.history, ensure_ascii=False)
    assert "Kasia" not in everything and PL[:30] not in everything


async def test_a_question_deleted_before_its_notification_is_sent_is_not_sent(
    bot: BotHarness, places: None
) -> None:
    sam = await coordinator(bot, 9201, "Sam")
    ana = bot.person(9202, "Ana")
    await join(ana)
    await one_off_message(bot)
    await ana.press("A question")
    await ana.send("Where is the library?")
    await ana.send("/deleteme")
    await ana.press("Yes, delete it all")
    async with bot.sessions() as session:
        assert await session.scalar(select(Report)) is None
    before = len(sam.history)
    await deliver(bot)
    assert sam.history[before:] == []
    async with bot.sessions() as session:
        (forwarded,) = await session.scalars(select(Delivery).where(Delivery.kind == outbox.FORWARDED))
    assert forwarded.state == "skipped"  # the renderer had nothing to say any more


def test_the_digest_counts_concerns_beside_questions() -> None:
    week = Counts(total=7, by_topic={"other": 7}, by_kind={"question": 2, "concern": 5}, by_area={None: 7})
    slot = datetime(2026, 11, 23, 9, tzinfo=UTC)
    lines = digest_text(translator("en"), load_topics(), Digest(week, 0, []), slot).splitlines()
    assert lines[lines.index("By kind:") + 1 :][:2] == ["A question or concern: <5", "A concern heard: 5"]


async def test_a_coordinator_who_blocked_the_bot_stops_neither_the_others_nor_the_champion(
    bot: BotHarness, places: None
) -> None:
    sam = await coordinator(bot, 9301, "Sam")
    lee = await coordinator(bot, 9302, "Lee")
    ana = bot.person(9303, "Ana")
    await join(ana)
    await one_off_message(bot)
    await ana.press("Concern heard")
    bot.emulator.fail(sam.id, 403, times=None)  # Sam has blocked the bot
    assert await ana.send("People say the jab gives you flu.") == [
        "Thank you. We have passed it on to the coordinators."
    ]
    await deliver(bot)
    assert "Open" not in sam.buttons() and lee.buttons() == ["Open"]  # Sam's newest: his /help home
    report = await only_report(bot)
    async with bot.sessions() as session:
        rows = await session.execute(
            select(Delivery.champion_id, Delivery.state).where(Delivery.kind == outbox.FORWARDED)
        )
        states = {champion_id: state for champion_id, state in rows}
        blocked = await champions.by_telegram_id(session, sam.id)
        asker = await champions.by_telegram_id(session, ana.id)
    assert blocked and asker and blocked.unreachable_at is not None and asker.unreachable_at is None
    assert states[blocked.id] == outbox.BLOCKED and sorted(states.values()) == [outbox.BLOCKED, outbox.SENT]
    assert report.kind == "concern"
