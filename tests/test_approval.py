"""Approval holds on every path: a failed send marks only its recipient unreachable, reachability is
kept apart from status, and every coordinator is asked even when one can't be messaged."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import champions
from storage.models import Champion, Status, utcnow
from tests.conftest import BotHarness, Person, answer_joining, join, make_coordinator, texts


async def stored(bot: BotHarness, person: Person) -> Champion:
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, person.id)
    assert champion is not None
    return champion


async def ask_to_join(person: Person) -> list[str]:
    await answer_joining(person)
    return await person.press("Done")


async def asked(bot: BotHarness, first_id: int) -> tuple[Person, Person]:
    """A coordinator, Kim, who has been asked (through the outbox) to approve Zara."""
    kim = bot.person(first_id, "Kim")
    await make_coordinator(bot, kim)
    await kim.send("/help")
    zara = bot.person(first_id + 1, "Zara")
    await ask_to_join(zara)
    await bot.deliver()
    return kim, zara


@pytest.mark.bot_settings(signup_mode="approval")
async def test_a_coordinator_who_cannot_be_messaged_lets_nobody_past_approval(
    bot: BotHarness, places: None
) -> None:
    silent = bot.person(801, "Silent")  # made coordinator on the command line, never pressed Start
    await make_coordinator(bot, silent)
    kim = bot.person(802, "Kim")
    await make_coordinator(bot, kim)
    await kim.send("/help")
    zara = bot.person(803, "Zara")
    assert await ask_to_join(zara) == ["Thank you, Zara. A coordinator will look at your request soon."]
    await bot.deliver()
    assert texts(kim.history[-1:]) == ["Zara asks to join (area: Riverside)."]  # asked despite the other
    for _ in range(2):  # writing again must not turn "couldn't reach a coordinator" into approval
        assert await zara.send("/report") == ["Your request to join is waiting for a coordinator's approval."]
    assert (await stored(bot, zara)).status == Status.PENDING
    assert (await stored(bot, zara)).unreachable_at is None
    coordinator = await stored(bot, silent)
    assert coordinator.status == Status.ACTIVE and coordinator.unreachable_at is not None


@pytest.mark.bot_settings(signup_mode="approval")
async def test_a_champion_who_cannot_be_told_of_the_decision_is_the_one_marked(
    bot: BotHarness, places: None
) -> None:
    kim, zara = await asked(bot, 811)
    bot.emulator.block(zara.id)
    assert await kim.press("Approve") == []
    assert texts(kim.history[-1:]) == ["Zara can now take part."]
    await bot.deliver()
    coordinator, champion = await stored(bot, kim), await stored(bot, zara)
    assert coordinator.unreachable_at is None and coordinator.status == Status.ACTIVE
    assert champion.unreachable_at is not None and champion.status == Status.ACTIVE
    assert (await zara.send("/help"))[0].startswith("Here is what I can do:")
    assert (await stored(bot, zara)).unreachable_at is None


async def test_writing_again_clears_unreachable_and_keeps_the_status(bot: BotHarness, places: None) -> None:
    ana = bot.person(821)
    await join(ana)
    await ana.send("/pause")
    async with bot.sessions.begin() as session:
        await champions.mark_unreachable(session, [(await stored(bot, ana)).id])
    assert (await ana.send("/help"))[0].startswith("Here is what I can do:")
    champion = await stored(bot, ana)
    assert champion.unreachable_at is None and champion.status == Status.PAUSED


async def test_statuses_change_only_along_the_intended_transitions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    allowed = {
        (Status.PENDING, Status.ACTIVE),  # approved
        (Status.PENDING, Status.DECLINED),  # erased once told
        (Status.PAUSED, Status.ACTIVE),  # resumed
        (Status.ACTIVE, Status.PAUSED),
        (Status.JOINING, Status.STOPPED),
        (Status.PENDING, Status.STOPPED),
        (Status.ACTIVE, Status.STOPPED),
        (Status.PAUSED, Status.STOPPED),
    }
    for number, (before, after) in enumerate(itertools.product(Status, [*champions.TRANSITIONS])):
        async with sessions.begin() as session:
            champion = Champion(telegram_id=900 + number, language="en", status=before, consent_at=utcnow())
            session.add(champion)
            await session.flush()
            changed = await champions.change_status(session, champion.id, after)
            await session.refresh(champion)
        assert changed == ((before, after) in allowed), (before, after)
        assert champion.status == (after if changed else before)


@pytest.mark.bot_settings(signup_mode="approval")
async def test_a_declined_champion_is_told_and_only_then_erased(bot: BotHarness, places: None) -> None:
    kim, zara = await asked(bot, 831)
    request, decline = kim.find_button("Decline")
    assert await kim.press_data(request["message_id"], decline) == []
    assert texts(kim.history[-1:]) == ["Zara was declined."]
    champion = await stored(bot, zara)
    assert champion.status == Status.DECLINED  # kept until the message is out
    approve = f"approve:{champion.id}:yes"
    assert await kim.press_data(request["message_id"], approve) == [
        "Someone has already decided about this person."
    ]
    await bot.deliver()
    assert texts(zara.history[-1:]) == [
        "Sorry, a coordinator could not approve your request. We have deleted your details."
    ]
    async with bot.sessions() as session:
        assert await champions.by_telegram_id(session, zara.id) is None
