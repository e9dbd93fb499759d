"""Coordinator tools: invites (single, multi-use, expiring, per network), approval, role checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from storage import champions
from storage.models import Invite, Status, utcnow
from tests.conftest import BotHarness, Person, join, make_coordinator, texts


def invite_code(text: str) -> str:
    return text.rsplit("?start=", 1)[1].strip()


async def make_link(coordinator: Person, kind: str, network: str = "") -> str:
    await coordinator.send(f"/invite {network}".strip())
    (text,) = await coordinator.press(kind)
    return invite_code(text)


async def test_single_use_invite_works_once(bot: BotHarness, places: None) -> None:
    sam = bot.person(301, "Sam")
    await make_coordinator(bot, sam)
    assert await sam.send("/invite") == ["Who is this invite link for?"]
    (text,) = await sam.press("One person")
    assert text.startswith("Here is an invite link for one person. It works until ")
    question = sam.history[-2]  # answered: the choice shown on it, its buttons gone
    assert question["text"] == "Who is this invite link for?\n\n\u2068✓ One person\u2069"
    assert not question.get("reply_markup")
    assert f"https://t.me/{bot.emulator.bot_username}?start=" in text
    code = invite_code(text)
    assert len(code) <= 64 and code.replace("-", "").replace("_", "").isalnum()

    first = bot.person(302, "First")
    await join(first)  # uses /start without code; do it again with the code below
    newcomer = bot.person(303, "Newcomer")
    await newcomer.send(f"/start {code}")
    await newcomer.press("English")
    await newcomer.press("Yes, I agree")
    await newcomer.press("No")
    await newcomer.send("Newcomer")
    await newcomer.press("Riverside")
    assert (await newcomer.press("Done"))[0].startswith("You're all set")

    late = bot.person(304, "Late")
    replies = await late.send(f"/start {code}")
    assert replies[0] == "This invite link is not valid or has expired. Ask your coordinator for a new one."


@pytest.mark.bot_settings(signup_mode="invite")
async def test_invite_only_mode_needs_a_valid_link(bot: BotHarness, places: None) -> None:
    sam = bot.person(311, "Sam")
    await make_coordinator(bot, sam)
    stranger = bot.person(312, "Stranger")
    assert await stranger.send("/start") == [
        "Joining is by invitation only. Ask your coordinator for an invite link."
    ]
    code = await make_link(sam, "Many people", "youth clubs")
    for user_id in (313, 314):
        person = bot.person(user_id, f"Friend {user_id}")
        await person.send(f"/start {code}")
        await person.press("English")
        await person.press("Yes, I agree")
        await person.press("Yes, that's fine")
        await person.send(person.name)
        await person.press("Northfield")
        assert "✓ Youth clubs" in person.buttons()  # the invite's network is pre-selected
        await person.press("Done")
    async with bot.sessions.begin() as session:
        joined = await champions.by_telegram_id(session, 314)
        assert joined
        await session.refresh(joined, ["networks"])  # not loaded with the champion
        assert [n.name for n in joined.networks] == ["Youth clubs"]
        await session.execute(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = bot.person(315, "Expired")
    assert (await expired.send(f"/start {code}"))[0].startswith(
        "This invite link is not valid or has expired"
    )


async def test_unknown_network_is_explained(bot: BotHarness, places: None) -> None:
    sam = bot.person(321, "Sam")
    await make_coordinator(bot, sam)
    assert await sam.send("/invite Chess club") == [
        "There is no network called Chess club. Networks: Faith groups, Youth clubs"
    ]


@pytest.mark.bot_settings(signup_mode="approval")
async def test_approval_mode_waits_for_a_coordinator(bot: BotHarness, places: None) -> None:
    sam = bot.person(331, "Sam")
    await make_coordinator(bot, sam)
    await sam.send("/help")  # Telegram lets the bot message only people who have written to it
    zara = bot.person(332, "Zara")
    await zara.send("/start")
    await zara.press("English")
    await zara.press("Yes, I agree")
    await zara.press("No")
    await zara.send("Zara")
    await zara.press("Riverside")
    assert await zara.press("Done") == ["Thank you, Zara. A coordinator will look at your request soon."]
    await bot.deliver()
    assert texts(sam.history[-1:]) == ["Zara asks to join (area: Riverside)."]
    assert await zara.send("/pause") == ["Your request to join is waiting for a coordinator's approval."]
    assert await sam.send("/pending") == ["1 person is waiting:", "Zara asks to join (area: Riverside)."]
    assert await sam.press("Approve") == []
    assert texts(sam.history[-1:]) == ["Zara can now take part."] and sam.history[-1]["edited"]
    assert not sam.history[-1].get("reply_markup")
    await bot.deliver()
    assert zara.history[-1]["text"] == "Good news: you have been approved! Send /help to see what you can do."
    # The first notification still shows its buttons: a second decision is refused.
    assert await sam.press("Decline") == ["Someone has already decided about this person."]


async def test_champions_are_refused_coordinator_commands_and_buttons(bot: BotHarness, places: None) -> None:
    ana = bot.person(341, "Ana")
    await join(ana)
    assert await ana.send("/invite") == ["Sorry, only coordinators can do that."]
    assert await ana.send("/pending") == ["Sorry, only coordinators can do that."]
    last = ana.history[-1]["message_id"]
    # Replaying a coordinator's callback data is refused on the server.
    assert await ana.press_data(last, "invite:0:many") == ["Sorry, only coordinators can do that."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 341)
        assert champion
    assert await ana.press_data(last, f"approve:{champion.id}:yes") == [
        "Sorry, only coordinators can do that."
    ]


async def test_a_demoted_coordinator_loses_access_at_once(bot: BotHarness, places: None) -> None:
    sam = bot.person(351, "Sam")
    await make_coordinator(bot, sam)
    await sam.send("/invite")
    async with bot.sessions.begin() as session:
        await champions.remove_coordinator(session, 351)
    message, data = sam.find_button("One person")
    assert await sam.press_data(message["message_id"], data) == ["Sorry, only coordinators can do that."]
    async with bot.sessions() as session:
        coordinator = await champions.by_telegram_id(session, 351)
        assert coordinator and coordinator.status == Status.ACTIVE


@pytest.mark.bot_settings(signup_mode="approval")
async def test_a_right_to_left_name_cannot_flip_an_english_message(bot: BotHarness, places: None) -> None:
    sam = bot.person(361, "Sam")
    await make_coordinator(bot, sam)
    await sam.send("/help")
    huda = bot.person(362, "هدى", "ar")
    await join(huda, language="English")
    await bot.deliver()
    assert sam.history[-1]["text"] == "\u2068هدى\u2069 asks to join (area: Northfield)."
    async with bot.sessions() as session:
        stored = await champions.by_telegram_id(session, 362)
        assert stored and stored.display_name == "هدى"  # stored as typed


@pytest.mark.bot_settings(signup_mode="invite")
async def test_a_single_use_link_used_up_meanwhile_does_not_let_a_second_person_in(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(371, "Sam")
    await make_coordinator(bot, sam)
    code = await make_link(sam, "One person")
    first, second = bot.person(372, "First"), bot.person(373, "Second")
    for person in (first, second):  # both open the link before either finishes
        await person.send(f"/start {code}")
        await person.press("English")
        await person.press("Yes, I agree")
        await person.press("No")
        await person.send(person.name)
        await person.press("Riverside")
    assert (await first.press("Done"))[
        0
    ] == "You're all set, First! Thank you for being a community champion."
    assert await second.press("Done") == [
        "This invite link is not valid or has expired. Ask your coordinator for a new one."
    ]
    async with bot.sessions() as session:
        late = await champions.by_telegram_id(session, 373)
        assert late and late.status == Status.JOINING


async def test_a_stats_period_pressed_is_shown_under_the_figures_it_was_pressed_on(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(381, "Sam")
    await make_coordinator(bot, sam)
    _learning, month = await sam.send("/stats")
    (week,) = await sam.press("This week")
    assert week.startswith("Reports this week: 0 (=)")
    figures = sam.history[-2]
    assert texts([figures]) == [f"{month}\n\n✓ This week"] and not figures.get("reply_markup")
    assert sam.buttons() == ["This week", "This month", "Last 30 days"]
