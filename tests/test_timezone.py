"""/timezone (issue 16): a champion or a coordinator picks their zone from common ones or types a city
or zone name; their quiet hours and weekly snippet then follow it. And on WhatsApp, the whole day of
quiet hours is paged within its list limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale

from bot.replies import ROW_NOTE, ROW_TITLE
from storage import champions, learning
from storage.local_time import find_zone, utc_offset
from storage.models import WeeklySnippet, utcnow
from tests.conftest import BotHarness, join, make_coordinator
from tests.test_whatsapp_journeys import join as join_on_whatsapp
from tests.whatsapp_harness import WhatsAppHarness, whatsapp_fixture  # noqa: F401

UNKNOWN = (
    "I don't know that place or time zone. Type a city, such as Lagos or New York, or a time zone, "
    "such as Africa/Lagos. Or /cancel."
)


def now_in(zone: str) -> str:
    """A zone's offset today, as its button's note shows it."""
    return utc_offset(zone, utcnow())


def test_offsets_read_as_people_write_them() -> None:
    summer, winter = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert utc_offset("Europe/London", winter) == "UTC+0"
    assert utc_offset("Europe/London", summer) == "UTC+1"
    assert utc_offset("Asia/Kolkata", summer) == "UTC+5:30"
    assert utc_offset("America/New_York", winter) == "UTC-5"
    assert utc_offset("America/St_Johns", winter) == "UTC-3:30"


def test_a_typed_zone_is_found_by_its_name_or_a_city_in_any_language() -> None:
    english, polish = Locale.parse("en"), Locale.parse("pl")
    assert find_zone("Europe/Lisbon", english) == "Europe/Lisbon"
    assert find_zone("  europe / LISBON ", english) == "Europe/Lisbon"
    assert find_zone("New York", english) == "America/New_York"
    assert find_zone("new_york", english) == "America/New_York"
    assert find_zone("Buenos Aires", english) == "America/Argentina/Buenos_Aires"
    assert find_zone("Calcutta", english) == "Asia/Kolkata"  # an old name, as its zone is called now
    assert find_zone("Warszawa", polish) == "Europe/Warsaw"  # the city as Polish writes it
    assert find_zone("Warszawa", english) is None
    assert find_zone("Narnia", english) is None
    assert find_zone("", english) is None


async def test_pick_a_common_zone_and_the_screens_say_it(bot: BotHarness, places: None) -> None:
    ana = bot.person(1601, "Ana")
    await join(ana)
    london = now_in("Europe/London")
    assert await ana.send("/timezone") == [
        f"Your time zone is Europe/London ({london}).\nChoose yours, or Somewhere else to type a city."
    ]
    assert ana.buttons() == [
        f"✓ London · {london}",
        f"Dublin · {now_in('Europe/Dublin')}",
        f"Lisbon · {now_in('Europe/Lisbon')}",
        f"Warsaw · {now_in('Europe/Warsaw')}",
        f"Bucharest · {now_in('Europe/Bucharest')}",
        "Mogadishu · UTC+3",
        "Karachi · UTC+5",
        "Dhaka · UTC+6",
        "Somewhere else",
    ]
    assert await ana.press("Karachi · UTC+5") == ["Saved. Your time zone is Asia/Karachi (UTC+5)."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 1601)
        assert champion and champion.timezone == "Asia/Karachi"
    (text,) = await ana.send("/timezone")
    assert text.startswith("Your time zone is Asia/Karachi (UTC+5).")
    assert "✓ Karachi · UTC+5" in ana.buttons()
    (text,) = await ana.send("/quiet")
    assert text.startswith("You have no quiet hours. Your time zone is Asia/Karachi.")
    messages = await ana.send_raw("/mydata")
    content = bot.emulator.files[messages[-1]["document"]["file_id"]].content
    assert json.loads(content)["timezone"] == "Asia/Karachi"


async def test_somewhere_else_is_typed_and_an_unknown_one_is_explained(bot: BotHarness, places: None) -> None:
    ben = bot.person(1602, "Ben")
    await join(ben)
    await ben.send("/timezone")
    assert await ben.press("Somewhere else") == [
        "Type the city you live in, such as Lagos or New York, or a time zone, such as Africa/Lagos. "
        "Or /cancel."
    ]
    assert await ben.send("Narnia") == [UNKNOWN]
    assert await ben.send("lagos") == ["Saved. Your time zone is Africa/Lagos (UTC+1)."]
    await ben.send("Paris")  # the step has ended: this is only a message
    await ben.send("/timezone")
    await ben.press("Somewhere else")
    assert await ben.send("/cancel") == ["Cancelled. Send /help to see what you can do."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 1602)
        assert champion and champion.timezone == "Africa/Lagos"


async def test_a_city_is_found_in_the_persons_language(bot: BotHarness, places: None) -> None:
    ola = bot.person(1603, "Ola", "pl")
    await join(ola, language="Polski")
    await ola.send("/timezone")
    await ola.press(ola.buttons()[-1])  # Somewhere else, in Polish
    (text,) = await ola.send("Warszawa")
    assert "Europe/Warsaw" in text
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 1603)
        assert champion and champion.timezone == "Europe/Warsaw"


async def test_a_coordinator_sets_theirs_too(bot: BotHarness, places: None) -> None:
    cara = bot.person(1604, "Cara")
    await make_coordinator(bot, cara)
    await cara.send("/timezone")
    assert await cara.press(f"Dublin · {now_in('Europe/Dublin')}") == [
        f"Saved. Your time zone is Europe/Dublin ({now_in('Europe/Dublin')})."
    ]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 1604)
        assert champion and champion.timezone == "Europe/Dublin"


async def test_a_forged_zone_changes_nothing(bot: BotHarness, places: None) -> None:
    dev = bot.person(1605, "Dev")
    await join(dev)
    await dev.send("/timezone")
    message = dev.history[-1]["message_id"]
    assert await dev.press_data(message, "tz:America/New_York") == ["This button is no longer active."]
    stranger = bot.person(1606, "Eve")
    assert await stranger.send("/timezone") == ["You haven't joined yet. Send /start to join."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 1605)
        assert champion and champion.timezone == "Europe/London"


async def test_the_weekly_snippet_moves_to_the_same_local_hour_in_the_new_zone(
    bot: BotHarness, places: None
) -> None:
    fay = bot.person(1607, "Fay")
    await join(fay)
    await fay.send("/weekly")
    await fay.press("Monday")
    await fay.press("08:00")
    await fay.send("/timezone")
    await fay.press("Dhaka · UTC+6")
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 1607)
        assert champion
        row = await session.get(WeeklySnippet, champion.id)
        assert row
        due = row.next_due_at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Dhaka"))
    assert (due.weekday(), due.hour, due.minute) == (0, 8, 0)
    assert due.astimezone(UTC) - utcnow() <= timedelta(days=7)
    assert due.astimezone(UTC) == learning.next_weekly(0, 8, "Asia/Dhaka", utcnow())


async def test_timezone_on_whatsapp_is_one_list_with_the_offsets_as_notes(
    whatsapp: WhatsAppHarness, places: None
) -> None:
    gul = whatsapp.person("GB.1000001601", "447700901601", "Gul")
    await join_on_whatsapp(gul)
    (text,) = await gul.send("timezone")  # typed without the slash, as WhatsApp has no menu
    assert text.startswith("Your time zone is Europe/London")
    rows = [m for m in gul.history if m.get("from_bot") and m.get("rows")][-1]["rows"]
    assert len(rows) == 9
    assert all(len(row["title"]) <= ROW_TITLE for row in rows)
    assert all(len(row.get("description") or "") <= ROW_NOTE for row in rows)
    assert ("Karachi", "UTC+5") in {(row["title"], row.get("description")) for row in rows}
    assert await gul.press("Somewhere else")
    assert await gul.send("Dhaka") == ["Saved. Your time zone is Asia/Dhaka (UTC+6)."]


async def test_any_quiet_hour_on_whatsapp_is_paged_within_its_list_limit(
    whatsapp: WhatsAppHarness, places: None
) -> None:
    hana = whatsapp.person("GB.1000001602", "447700901602", "Hana")
    await join_on_whatsapp(hana)
    await hana.send("quiet")
    assert hana.choices() == ["20:00", "21:00", "22:00", "23:00", "Another time", "No quiet hours"]
    await hana.press("Another time")
    assert hana.choices() == [f"{hour:02d}:00" for hour in range(9)] + ["More…"]
    await hana.press("More…")
    assert hana.choices() == [f"{hour:02d}:00" for hour in range(9, 18)] + ["More…"]
    assert await hana.press("13:00") == ["And when should they end?"]
    await hana.press("More…")
    assert await hana.press("15:00") == ["Saved. Your quiet hours are 13:00 to 15:00 (Europe/London)."]
