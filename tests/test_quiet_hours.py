"""Quiet hours: set them, and nothing that can wait (the weekly snippet) is sent inside them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.context import Context
from bot.emulator import Emulator
from handlers.learn import queue_due_snippets
from storage import champions, outbox
from storage.models import Champion, Delivery, WeeklySnippet
from storage.quiet_hours import is_quiet, quiet_until
from tests.conftest import BotHarness, join
from tests.test_delivery import Clock, add_champions, broadcast, the_report, worker


def test_quiet_hours_can_span_midnight_in_the_champions_timezone() -> None:
    champion = Champion(timezone="Europe/London", quiet_start=22, quiet_end=7)
    summer_night = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)  # 22:30 in London
    assert is_quiet(champion, summer_night)
    assert quiet_until(champion, summer_night) == datetime(2026, 7, 2, 6, 0, tzinfo=UTC)  # 07:00 BST
    assert not is_quiet(champion, datetime(2026, 7, 1, 20, 30, tzinfo=UTC))  # 21:30
    assert is_quiet(champion, datetime(2026, 1, 2, 6, 59, tzinfo=UTC))  # 06:59 GMT
    assert quiet_until(champion, datetime(2026, 1, 2, 12, 0, tzinfo=UTC)) == datetime(
        2026, 1, 2, 12, 0, tzinfo=UTC
    )
    assert not is_quiet(Champion(timezone="Europe/London"), summer_night)


def test_quiet_hours_need_not_span_midnight() -> None:
    champion = Champion(timezone="Europe/London", quiet_start=13, quiet_end=15)
    assert not is_quiet(champion, datetime(2026, 1, 5, 12, 59, tzinfo=UTC))
    assert is_quiet(champion, datetime(2026, 1, 5, 13, 0, tzinfo=UTC))
    assert quiet_until(champion, datetime(2026, 1, 5, 14, 30, tzinfo=UTC)) == datetime(
        2026, 1, 5, 15, 0, tzinfo=UTC
    )
    assert not is_quiet(champion, datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    assert not is_quiet(champion, datetime(2026, 1, 5, 23, 0, tzinfo=UTC))
    summer = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)  # 13:30 BST
    assert quiet_until(champion, summer) == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def test_quiet_hours_ending_at_midnight_or_in_the_hour_the_clocks_skip() -> None:
    evening = Champion(timezone="Europe/London", quiet_start=18, quiet_end=0)
    assert quiet_until(evening, datetime(2026, 1, 5, 20, 0, tzinfo=UTC)) == datetime(
        2026, 1, 6, 0, 0, tzinfo=UTC
    )
    assert not is_quiet(evening, datetime(2026, 1, 6, 0, 0, tzinfo=UTC))
    # 23:00-01:00 on the night the clocks go forward at 01:00: quiet until the clocks reach 02:00 BST
    night = Champion(timezone="Europe/London", quiet_start=23, quiet_end=1)
    assert quiet_until(night, datetime(2027, 3, 28, 0, 30, tzinfo=UTC)) == datetime(
        2027, 3, 28, 1, 0, tzinfo=UTC
    )
    assert not is_quiet(night, datetime(2027, 3, 28, 1, 0, tzinfo=UTC))


async def test_set_show_and_turn_off_quiet_hours(bot: BotHarness, places: None) -> None:
    ana = bot.person(901, "Ana")
    await join(ana)
    assert await ana.send("/quiet") == [
        "You have no quiet hours. Your time zone is Europe/London.\nWhen should quiet hours start?"
    ]
    assert ana.buttons() == ["20:00", "21:00", "22:00", "23:00", "Another time", "No quiet hours"]
    assert await ana.press("22:00") == ["And when should they end?"]
    assert ana.buttons() == ["06:00", "07:00", "08:00", "09:00", "Another time"]
    assert await ana.press("07:00") == ["Saved. Your quiet hours are 22:00 to 07:00 (Europe/London)."]
    (text,) = await ana.send("/quiet")
    assert text.startswith(
        "Your quiet hours are 22:00 to 07:00 (Europe/London): nothing that can wait is sent then."
    )
    assert await ana.press("No quiet hours") == ["Quiet hours are off."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 901)
        assert champion and champion.quiet_start is None and champion.quiet_end is None


async def test_quiet_hours_may_start_and_end_at_any_hour(bot: BotHarness, places: None) -> None:
    ben = bot.person(903, "Ben")
    await join(ben)
    await ben.send("/quiet")
    assert await ben.press("Another time") == ["When should quiet hours start?"]
    assert ben.buttons() == [f"{hour:02d}:00" for hour in range(24)]
    assert await ben.press("13:00") == ["And when should they end?"]
    assert ben.buttons() == [f"{hour:02d}:00" for hour in range(24) if hour != 13]  # any, but 13:00
    assert await ben.press("15:00") == ["Saved. Your quiet hours are 13:00 to 15:00 (Europe/London)."]
    await ben.send("/quiet")
    await ben.press("23:00")
    assert await ben.press("Another time") == ["And when should they end?"]
    assert await ben.press("01:00") == ["Saved. Your quiet hours are 23:00 to 01:00 (Europe/London)."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 903)
        assert champion and (champion.quiet_start, champion.quiet_end) == (23, 1)


async def test_quiet_hours_cannot_start_and_end_at_the_same_hour(bot: BotHarness, places: None) -> None:
    cai = bot.person(904, "Cai")
    await join(cai)
    await cai.send("/quiet")
    await cai.press("Another time")
    await cai.press("13:00")
    message = cai.history[-1]["message_id"]
    assert await cai.press_data(message, "quiet:e:13:13") == [
        "Quiet hours can't start and end at the same hour. When should they end?"
    ]
    assert "13:00" not in cai.buttons()
    assert await cai.press_data(message, "quiet:e:13:24") == ["This button is no longer active."]
    assert await cai.press_data(message, "quiet:s:24") == ["This button is no longer active."]
    assert await cai.press_data(message, "quiet:o:99") == ["This button is no longer active."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 904)
        assert champion and champion.quiet_start is None and champion.quiet_end is None


async def test_weekly_snippet_waits_for_quiet_hours_to_end(bot: BotHarness, places: None) -> None:
    ana = bot.person(902, "Ana")
    await join(ana)
    await ana.send("/weekly")
    await ana.press("Monday")
    await ana.press("08:00")
    await ana.send("/quiet")  # later she makes 21:00-09:00 quiet, which covers 08:00
    await ana.press("21:00")
    await ana.press("09:00")
    await ana.send("/weekly")
    await ana.press("Change")
    await ana.press("Tuesday")
    assert ana.buttons() == ["10:00", "12:00", "14:00", "16:00", "18:00", "20:00"]  # not 08:00, now quiet
    async with bot.sessions.begin() as session:
        champion = await champions.by_telegram_id(session, 902)
        assert champion
        row = await session.get(WeeklySnippet, champion.id)
        assert row and row.hour == 8  # the change was not completed
        due = row.next_due_at
    context = Context(bot.application)
    assert await queue_due_snippets(context, due + timedelta(minutes=1)) == 1
    before = len(ana.history)
    await bot.deliver(now=due + timedelta(minutes=1))
    assert len(ana.history) == before  # held in the outbox until 09:00, when quiet hours end
    async with bot.sessions() as session:
        held = await session.scalar(select(Delivery.not_before).where(Delivery.kind == outbox.WEEKLY))
    assert held == due + timedelta(hours=1)
    await bot.deliver(now=due + timedelta(hours=1, minutes=1))
    assert ana.history[-1]["text"].startswith("Your snippet of the week:")


@pytest.fixture
async def bare_bot(emulator: Emulator) -> AsyncIterator[Bot]:
    """A bot without the application, for the delivery worker alone (as in tests/test_delivery.py)."""
    bot = Bot("1:test", base_url=f"{emulator.base_url}/bot")
    async with bot:
        yield bot


async def test_delivery_holds_messages_in_each_recipients_own_quiet_hours(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, bare_bot: Bot
) -> None:
    clock = Clock()
    clock.now = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)  # 13:30 in London, 18:30 in Karachi
    (lunch,) = await add_champions(sessions, emulator, 1, start=910, quiet_start=13, quiet_end=15)
    (karachi,) = await add_champions(
        sessions, emulator, 1, start=911, timezone="Asia/Karachi", quiet_start=22, quiet_end=7
    )
    first = await broadcast(sessions, clock)
    delivering = worker(bare_bot, sessions, clock)
    await delivering.run_once()
    assert (await the_report(sessions, first)).counts == {"sent": 1, "pending": 1}
    assert emulator.history(lunch) == [] and len(emulator.history(karachi)) == 1
    clock.now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # London's quiet hours end
    await delivering.run_once()
    assert (await the_report(sessions, first)).counts == {"sent": 2}
    clock.now = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # 22:30 in Karachi
    second = await broadcast(sessions, clock, texts={"en": "Clinic open late"})
    await delivering.run_once()
    assert (await the_report(sessions, second)).counts == {"sent": 1, "pending": 1}
    async with sessions() as session:
        held = await session.scalar(
            select(Delivery.not_before).where(Delivery.broadcast_id == second, Delivery.state == "pending")
        )
    assert held is not None and held.replace(tzinfo=UTC) == datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 07:00
