"""/log on WhatsApp: typed `log`, the three taps as lists and buttons, and the weekly reminder sent
by its template once the champion's 24-hour window has closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.context import Context
from handlers import log
from handlers.digest import last_slot
from storage.models import ActivityLog, Identity, utcnow
from tests.test_whatsapp_journeys import join
from tests.whatsapp_harness import WhatsAppHarness, said, whatsapp_fixture  # noqa: F401

pytestmark = pytest.mark.usefixtures("places")


async def test_a_champion_logs_on_whatsapp_and_gets_the_reminder_by_template(
    whatsapp: WhatsAppHarness,
) -> None:
    zara = whatsapp.person("GB.1000000101", "447700900101", "Zara")
    await join(zara)
    assert await zara.send("log") == ["How many people did you talk to? Choose one, or type the number."]
    assert zara.choices() == ["1", "2–5", "6–10", "11–25", "26+", "Type a number", "Cancel"]
    await zara.send("15")
    await zara.press("Cost of living")
    (thanks,) = await zara.press("Community centre")
    assert thanks.startswith("Logged: 15 people · Cost of living · Community centre")
    await zara.press("Remind me weekly")
    async with whatsapp.bot.sessions() as session:
        (entry,) = await session.scalars(select(ActivityLog))
    assert (entry.people, entry.band, entry.setting) == (15, None, "centre")
    # Two quiet days before this week's reminder: it can only go as its template.
    at = last_slot(utcnow(), log.NUDGE_WEEKDAY, log.NUDGE_HOUR) + timedelta(hours=1)
    whatsapp.emulator.age(days=2)
    async with whatsapp.bot.sessions.begin() as session:
        await session.execute(update(Identity).values(last_inbound_at=at - timedelta(days=2)))
    assert await log.queue_nudges(Context(whatsapp.bot.application), at) == 1
    await whatsapp.bot.deliver(at)
    await whatsapp.settle()
    got = [m for m in zara.history if m.get("from_bot")][-1]
    assert got["type"] == "template" and got["template"]["category"] == "utility"
    assert said(got).startswith("Did you talk with people about health this week? Send /log")
