"""Quiet hours: set them, and nothing that can wait (the weekly snippet) is sent inside them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.context import Context
from handlers.learn import queue_due_snippets
from storage import champions, outbox
from storage.models import Champion, Delivery, WeeklySnippet
from storage.quiet_hours import is_quiet, quiet_until
from tests.conftest import BotHarness, join


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


async def test_set_show_and_turn_off_quiet_hours(bot: BotHarness, places: None) -> None:
    ana = bot.person(901, "Ana")
    await join(ana)
    assert await ana.send("/quiet") == ["You have no quiet hours.\nWhen should quiet hours start?"]
    assert ana.buttons() == ["20:00", "21:00", "22:00", "23:00", "No quiet hours"]
    assert await ana.press("22:00") == ["And when should they end?"]
    assert await ana.press("07:00") == ["Saved. Your quiet hours are 22:00 to 07:00."]
    (text,) = await ana.send("/quiet")
    assert text.startswith("Your quiet hours are 22:00 to 07:00: nothing that can wait is sent then.")
    assert await ana.press("No quiet hours") == ["Quiet hours are off."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 901)
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
