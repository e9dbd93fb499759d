"""Scheduling a broadcast without typing a format (issue 16): quick times, a day-and-hour picker,
natural typed times in the coordinator's language, every time shown with its zone; "Send now" is
queued at once; a preview's answer buttons only say they are a preview."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.i18n import translator
from handlers import when
from storage import outbox
from storage.models import Broadcast, Champion, Delivery, utcnow
from tests.conftest import REPLY_TIMEOUT, BotHarness, Person, join, make_coordinator
from tests.test_broadcast_chat import EN, latest_broadcast, send_now

KARACHI = ZoneInfo("Asia/Karachi")  # UTC+5 all year: no clock change to step around
QUICK = ["In 1 hour", "Tomorrow 09:00", "Next Monday 10:00", "Another day", "Cancel"]


async def to_when(bot: BotHarness, first_id: int, language: str = "en") -> tuple[Person, list[str]]:
    """A coordinator in Karachi (speaking `language`) and one champion; the coordinator composes a
    broadcast to everyone and presses Schedule. Returns the coordinator and what the bot asked."""
    sam = bot.person(first_id, "Sam")
    await make_coordinator(bot, sam)
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Champion)
            .where(Champion.telegram_id == sam.id)
            .values(timezone=KARACHI.key, language=language)
        )
    await join(bot.person(first_id + 1, "Ana"))
    t = translator(language)
    await sam.send("/broadcast")
    await sam.send(EN)
    await sam.press(f"{t.gettext('Everyone')} · 1")
    await sam.press(t.gettext("Continue"))
    return sam, await sam.press(t.gettext("Schedule"))


def shown(moment: datetime, language: str = "en") -> str:
    """A time as the composer shows it: in the coordinator's zone, the zone named."""
    return f"{translator(language).datetime(moment, KARACHI.key)} ({KARACHI.key})"


def karachi(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KARACHI).astimezone(UTC)


def today_there() -> date:
    return utcnow().astimezone(KARACHI).date()


async def test_the_quick_times_need_no_typing_and_name_the_zone(bot: BotHarness, places: None) -> None:
    sam, asked = await to_when(bot, 4101)
    (question,) = asked
    assert question.startswith("When should it go out? Choose a time, or type one like “tomorrow 10am”")
    assert question.endswith("Times are in your time zone, Asia/Karachi.")
    assert sam.buttons() == QUICK
    before = utcnow()
    (confirm,) = await sam.press("In 1 hour")
    send_at = (await _confirmed(sam)).send_at
    assert send_at is not None
    assert before + timedelta(minutes=59) <= send_at <= utcnow() + timedelta(hours=1)
    assert confirm == f"Send to 1 champion on {shown(send_at)}?"


async def test_tomorrow_at_nine_on_the_coordinators_clock(bot: BotHarness, places: None) -> None:
    sam, _asked = await to_when(bot, 4111)
    tomorrow = karachi(today_there() + timedelta(days=1), 9)
    assert await sam.press("Tomorrow 09:00") == [f"Send to 1 champion on {shown(tomorrow)}?"]
    assert await sam.press("Confirm") == [f"Scheduled: it will go to 1 champion on {shown(tomorrow)}."]
    assert (await latest_broadcast(bot)).send_at == tomorrow


async def test_next_monday_at_ten(bot: BotHarness, places: None) -> None:
    sam, _asked = await to_when(bot, 4121)
    today = today_there()
    monday = karachi(today + timedelta(days=(-today.weekday() - 1) % 7 + 1), 10)
    assert monday.astimezone(KARACHI).weekday() == 0 and monday > utcnow()
    assert await sam.press("Next Monday 10:00") == [f"Send to 1 champion on {shown(monday)}?"]
    assert (await _confirmed(sam)).send_at == monday


async def _confirmed(sam: Person) -> Broadcast:
    await sam.press("Confirm")
    return await latest_broadcast(sam.bot)


async def test_a_day_then_an_hour_is_picked_from_the_next_seven_days(bot: BotHarness, places: None) -> None:
    sam, _asked = await to_when(bot, 4201)
    assert await sam.press("Another day") == ["Which day? Times are in your time zone, Asia/Karachi."]
    days = sam.buttons()
    assert days[-2:] == ["Back", "Cancel"]
    last = today_there() + timedelta(days=6)
    assert len(days) in (8, 9)  # today is left out once its last hour has gone
    assert days[1 if len(days) == 9 else 0].startswith("Tomorrow · ")
    assert days[-3].startswith(last.strftime("%A") + " · ")
    (question,) = await sam.press(days[-3])
    assert question.startswith("What time on ") and question.endswith(
        "? Times are in your time zone, Asia/Karachi."
    )
    assert sam.buttons() == [f"{hour:02d}:00" for hour in range(6, 23)] + ["Back"]
    assert await sam.press("Back") == ["Which day? Times are in your time zone, Asia/Karachi."]
    await sam.press(days[-3])
    expected = karachi(last, 14)
    assert await sam.press("14:00") == [f"Send to 1 champion on {shown(expected)}?"]
    assert (await _confirmed(sam)).send_at == expected


async def test_back_from_the_days_asks_when_again(bot: BotHarness, places: None) -> None:
    sam, (question,) = await to_when(bot, 4251)
    await sam.press("Another day")
    assert await sam.press("Back") == [question]
    assert sam.buttons() == QUICK


async def test_natural_typed_times_are_read_in_the_coordinators_zone(bot: BotHarness, places: None) -> None:
    sam, _asked = await to_when(bot, 4301)
    tomorrow = karachi(today_there() + timedelta(days=1), 10)
    assert await sam.send("tomorrow 10am") == [f"Send to 1 champion on {shown(tomorrow)}?"]
    assert (await _confirmed(sam)).send_at == tomorrow


async def test_a_typed_time_that_cant_be_used_is_refused_with_examples(bot: BotHarness, places: None) -> None:
    sam, _asked = await to_when(bot, 4311)
    (refused,) = await sam.send("next saturday")
    assert refused == (
        "I read a day but no time. Please add the time, like “tomorrow 10:00” or “monday 9:30” "
        "(Asia/Karachi)."
    )
    (refused,) = await sam.send("hello")
    assert refused.startswith("I couldn't read that as a date and time. Please type it like “tomorrow 10am”")
    assert "(Asia/Karachi)" in refused and sam.buttons() == QUICK
    past = karachi(date(2020, 1, 1), 10)
    assert await sam.send("2020-01-01 10:00") == [
        f"That time, {shown(past)}, has already passed. Please give a time in the future, like "
        "“in 2 hours” or “tomorrow 10am”."
    ]
    before = utcnow().replace(second=0, microsecond=0)
    (confirm,) = await sam.send("in 2 hours")
    send_at = (await _confirmed(sam)).send_at
    assert send_at is not None and before + timedelta(hours=2) <= send_at <= utcnow() + timedelta(hours=2)
    assert confirm == f"Send to 1 champion on {shown(send_at)}?"


async def test_a_time_is_read_in_the_coordinators_language(bot: BotHarness, places: None) -> None:
    sam, _asked = await to_when(bot, 4401, language="pl")
    tomorrow = karachi(today_there() + timedelta(days=1), 10)
    pl = translator("pl")
    said = await sam.send("jutro 10:00")
    assert len(said) == 1 and shown(tomorrow, "pl") in said[0]
    await sam.press(pl.gettext("Confirm"))
    assert (await latest_broadcast(bot)).send_at == tomorrow


@pytest.mark.parametrize(
    ("language", "typed", "day", "hour", "minute"),
    [
        ("en", "monday 9:30", "monday", 9, 30),
        ("en", "25 Dec 14:00", "25 Dec", 14, 0),
        ("en", "01/02 10:00", "1 Feb", 10, 0),
        ("pt", "amanhã 10:00", "tomorrow", 10, 0),
        ("ro", "mâine 10:00", "tomorrow", 10, 0),
        ("so", "berri 10:00", "tomorrow", 10, 0),
        ("ar", "غدا 10:00", "tomorrow", 10, 0),
        ("bn", "আগামীকাল 10:00", "tomorrow", 10, 0),
        ("ur", "پیر 9:30", "monday", 9, 30),
    ],
)
def test_typed_times_in_each_language(language: str, typed: str, day: str, hour: int, minute: int) -> None:
    now = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # a Tuesday; 19:30 in Karachi
    days = {"monday": date(2026, 12, 7), "tomorrow": date(2026, 12, 2)}
    days |= {"25 Dec": date(2026, 12, 25), "1 Feb": date(2027, 2, 1)}
    assert when.read(typed, KARACHI, now, language) == karachi(days[day], hour, minute)


def test_what_is_not_a_date_and_time_is_not_read() -> None:
    now = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    assert when.read("hello", KARACHI, now, "en") is None
    assert when.read("1700000000", KARACHI, now, "en") is None  # not seconds since 1970
    for day_only in ("next saturday", "tomorrow", "25 Dec"):
        with pytest.raises(when.NoTime):
            when.read(day_only, KARACHI, now, "en")


async def test_send_now_is_queued_due_now_and_wakes_the_workers(bot: BotHarness, places: None) -> None:
    sam = bot.person(4501, "Sam")
    await make_coordinator(bot, sam)
    await join(bot.person(4502, "Ana"))
    await send_now(sam, "Everyone · 1")
    broadcast = await latest_broadcast(bot)
    async with bot.sessions() as session:
        queued = select(Delivery.not_before).where(Delivery.broadcast_id == broadcast.id)
        due = list(await session.scalars(queued))
    assert len(due) == 1 and due[0] <= utcnow()  # due now: no scheduler tick between
    assert await bot.application.bot_data.wake.wait(outbox.BULK, REPLY_TIMEOUT)


async def test_a_previews_buttons_say_it_is_only_a_preview(bot: BotHarness, places: None) -> None:
    sam, _asked = await to_when(bot, 4601)
    preview = [m for m in sam.history if m.get("text") == EN][-1]
    assert await sam.press_data(preview["message_id"], "answer:0:shared") == ["This is only a preview."]
    await sam.press("In 1 hour")
    await sam.press("Confirm")  # the broadcast has gone: the preview stays a preview
    assert await sam.press_data(preview["message_id"], "answer:0:question") == ["This is only a preview."]
