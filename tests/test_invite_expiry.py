"""An invite's expiry is checked when it is used at the end of joining, not only at /start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from storage import champions
from storage.models import Invite, Status, utcnow
from tests.conftest import BotHarness, Person, answer_joining, make_coordinator


async def start_with_fresh_invite(bot: BotHarness, coordinator: Person, newcomer: Person) -> None:
    """Make a link, follow it and answer every step but the last while it is still valid."""
    await coordinator.send("/invite")
    (text,) = await coordinator.press("Many people")
    code = text.rsplit("?start=", 1)[1].strip()
    await answer_joining(newcomer, f"/start {code}")


async def expire_all_invites(bot: BotHarness) -> None:
    async with bot.sessions.begin() as session:
        await session.execute(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))


@pytest.mark.bot_settings(signup_mode="invite")
async def test_invite_expiring_mid_join_is_refused_in_invite_mode(bot: BotHarness, places: None) -> None:
    sam = bot.person(3501, "Sam")
    await make_coordinator(bot, sam)
    late = bot.person(3502, "Late")
    await start_with_fresh_invite(bot, sam, late)
    await expire_all_invites(bot)
    assert await late.press("Done") == [
        "This invite link is not valid or has expired. Ask your coordinator for a new one."
    ]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 3502)
        assert champion is None or champion.status != Status.ACTIVE
        invite = (await session.execute(Invite.__table__.select())).one()
        assert invite.uses == 0  # an expired link is not counted as used


@pytest.mark.bot_settings(signup_mode="approval")
async def test_invite_expiring_mid_join_waits_for_approval(bot: BotHarness, places: None) -> None:
    sam = bot.person(3511, "Sam")
    await make_coordinator(bot, sam)
    late = bot.person(3512, "Late")
    await start_with_fresh_invite(bot, sam, late)
    await expire_all_invites(bot)
    assert await late.press("Done") == ["Thank you, Late. A coordinator will look at your request soon."]
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 3512)
        assert champion is not None and champion.status == Status.PENDING
