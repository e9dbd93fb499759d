"""Counts and names read naturally (issue 16): no "– of quiz answers right", no "Showing 1–1 of 1
report", no "0 scheduled messages will not be sent", and a network's invite names its network."""

from __future__ import annotations

from datetime import timedelta

from storage import broadcasts, champions, reports
from storage.audience import Audience
from storage.models import Campaign, utcnow
from tests.conftest import BotHarness, join, make_coordinator, texts
from tests.test_coordinator import invite_code


async def test_stats_say_how_many_quiz_answers_and_none_plainly(bot: BotHarness, places: None) -> None:
    sam = bot.person(9101, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(9102, "Ana")
    await join(ana)
    await ana.send("/learn")
    await ana.press("Where to get help · 0/2")
    while ana.buttons()[0] == "More":  # a snippet longer than a phone screen comes in screens
        await ana.press("More")
    await ana.press("Quiz")
    await ana.press("Call 999")
    text, _reports = await sam.send("/stats")
    lines = text.splitlines()
    assert "Where to get help: 25% read, 100% of 1 quiz answer right" in lines
    assert "Core20PLUS5: 0% read, no quiz answers yet" in lines


async def add_reports(bot: BotHarness, telegram_id: int, count: int) -> None:
    async with bot.sessions.begin() as session:
        champion = await champions.by_telegram_id(session, telegram_id)
        assert champion is not None
        for n in range(count):
            draft = reports.Draft(topic="housing", kind="barrier", people="one", text=f"Damp {n}")
            await reports.create(session, champion, draft)


async def test_myreports_counts_only_when_paging(bot: BotHarness, places: None) -> None:
    ana = bot.person(9103, "Ana")
    await join(ana)
    await add_reports(bot, ana.id, 1)
    (page,) = await ana.send("/myreports")
    assert page.split("\n\n")[0] == "Your report:"
    await add_reports(bot, ana.id, 2)
    (page,) = await ana.send("/myreports")
    assert page.split("\n\n")[0] == "Your 3 reports, newest first:"
    await add_reports(bot, ana.id, 3)
    (page,) = await ana.send("/myreports")
    assert page.split("\n\n")[0] == "Showing 1–5 of 6 reports, newest first."
    (page,) = await ana.press("Older")
    assert page.split("\n\n")[0] == "Showing the oldest of 6 reports."


async def test_campaigns_say_which_are_shown_and_a_cancel_with_nothing_left(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(9104, "Sam")
    await make_coordinator(bot, sam)
    async with bot.sessions.begin() as session:
        session.add(Campaign(name="Spent", audience={}))
    (listing,) = await sam.send("/campaigns")  # one campaign: no heading
    assert listing.startswith("Spent: active\n")
    assert await sam.press("Cancel campaign") == ["Cancelled Spent. It had no messages left to send."]
    async with bot.sessions.begin() as session:
        for n in range(10):
            campaign = Campaign(name=f"Week {n}", audience={})
            session.add(campaign)
            await session.flush()
            await broadcasts.create_broadcast(
                session,
                texts={"en": f"Week {n}"},
                audience=Audience(),
                send_at=utcnow() + timedelta(days=1),
                campaign_id=campaign.id,
            )
    said = await sam.send("/campaigns")
    assert said[0] == "The latest 10 of 11 campaigns, running ones first:"
    assert len(said) == 11 and not any(text.startswith("Spent") for text in said)
    await sam.press("Cancel campaign")
    assert texts(sam.history[-1:]) == ["Cancelled Week 0: 1 scheduled message will not be sent."]


async def test_a_network_invite_names_its_network_to_both_sides(bot: BotHarness, places: None) -> None:
    sam = bot.person(9105, "Sam")
    await make_coordinator(bot, sam)
    assert await sam.send("/invite youth clubs") == ["An invite link for Youth clubs: who is it for?"]
    (text,) = await sam.press("Many people")
    assert text.startswith("Here is an invite link for any number of people, for Youth clubs. It works until")
    await sam.send("/invite Faith groups")
    (text,) = await sam.press("One person")
    assert text.startswith("Here is an invite link for one person, for Faith groups. It works until ")
    zara = bot.person(9106, "Zara")
    assert await zara.send(f"/start {invite_code(text)}") == [
        "Welcome! Your invite is for Faith groups. Please choose your language."
    ]
    assert await zara.send("hello") == [
        "Please choose one of the buttons.",
        "Welcome! Your invite is for Faith groups. Please choose your language.",
    ]
    await sam.send("/invite")  # no network: as before
    (text,) = await sam.press("One person")
    bo = bot.person(9107, "Bo")
    assert await bo.send(f"/start {invite_code(text)}") == ["Welcome! Please choose your language."]
