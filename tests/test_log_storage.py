"""Logged sessions in storage: recorded in the champion's area of the time, only the last one
corrected or deleted, refused values, the reminder's recipients, erasure by cascade, and the
dashboard's overview showing the people reached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import activity_logs, champions
from storage.models import ActivityLog, Area, Champion, Status
from tests.web_harness import coordinator, dashboard, link, sign_in

Sessions = async_sessionmaker[AsyncSession]
NOON = datetime(2027, 3, 2, 12, tzinfo=UTC)


async def a_champion(session: AsyncSession, telegram_id: int = 1, **fields: object) -> Champion:
    area = Area(name=f"Ward {telegram_id}")
    session.add(area)
    await session.flush()
    champion = Champion(
        telegram_id=telegram_id, language="en", status=Status.ACTIVE, area_id=area.id, **fields
    )
    session.add(champion)
    await session.flush()
    return champion


async def test_a_session_keeps_the_area_of_its_time_and_only_the_last_is_changed(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        ana = await a_champion(session)
        first = await activity_logs.record(
            session, ana, people=2, band="2-5", topic="housing", setting="faith", now=NOON
        )
        area_then = ana.area_id
        moved = Area(name="Elsewhere")
        session.add(moved)
        await session.flush()
        ana.area_id = moved.id
        assert (await activity_logs.last(session, ana.id)) == first
        assert first.area_id == area_then != moved.id
        second = await activity_logs.record(
            session,
            ana,
            people=40,
            band=None,
            topic="gp-access",
            setting="online",
            now=NOON + timedelta(hours=1),
        )
        assert second.area_id == moved.id
        # The first is no longer the last: neither changed nor deleted.
        assert await activity_logs.correct(session, ana.id, first.id, topic="maternity") is None
        assert await activity_logs.delete_last(session, ana.id, first.id) is False
        changed = await activity_logs.correct(
            session, ana.id, second.id, people=26, band="26+", setting="event"
        )
        assert changed is not None and (changed.people, changed.band, changed.setting) == (26, "26+", "event")
        assert changed.topic == "gp-access"
        # Someone else's entry is not theirs to change.
        ben = await a_champion(session, 2)
        assert await activity_logs.correct(session, ben.id, second.id, topic="housing") is None
        assert await activity_logs.delete_last(session, ana.id, second.id) is True
        assert [e.id for e in await activity_logs.of_champion(session, ana.id)] == [first.id]
        assert await activity_logs.last(session, ana.id) == first


@pytest.mark.parametrize(
    ("people", "band", "setting"),
    [(3, "2-5", "faith"), (0, None, "faith"), (1001, None, "faith"), (-1, None, "faith"), (5, None, "pub")],
)
async def test_values_the_chat_cannot_offer_are_refused(
    sessions: Sessions, people: int, band: str | None, setting: str
) -> None:
    async with sessions.begin() as session:
        ana = await a_champion(session)
        with pytest.raises(ValueError):
            await activity_logs.record(
                session, ana, people=people, band=band, topic="housing", setting=setting
            )
    async with sessions() as session:
        assert list(await session.scalars(select(ActivityLog))) == []


async def test_the_reminder_goes_to_active_champions_who_asked(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        asked = await a_champion(session, 1, log_nudge=True)
        await a_champion(session, 2)  # did not ask
        paused = await a_champion(session, 3, log_nudge=True)
        paused.status = Status.PAUSED
        off = await a_champion(session, 4)
        await activity_logs.set_nudge(session, off.id, True)
        await activity_logs.set_nudge(session, off.id, False)
    async with sessions() as session:
        assert await activity_logs.nudged(session) == [asked.id]


async def test_erasing_a_champion_erases_their_sessions_by_cascade(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        ana, ben = await a_champion(session, 1), await a_champion(session, 2)
        for champion in (ana, ben):
            await activity_logs.record(session, champion, people=1, band="1", topic="housing", setting="door")
    async with sessions.begin() as session:
        stored = await session.get(Champion, ana.id)
        assert stored is not None
        await champions.erase(session, stored)
    async with sessions() as session:
        assert list(await session.scalars(select(ActivityLog.champion_id))) == [ben.id]


async def test_the_overview_shows_conversations_and_people_reached(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        ana = await a_champion(session, 1)
        now = datetime.now(UTC)
        for people, band, at in [
            (6, "6-10", now),
            (13, None, now - timedelta(days=3)),
            (50, None, now - timedelta(days=70)),
        ]:
            await activity_logs.record(
                session, ana, people=people, band=band, topic="housing", setting="faith", now=at
            )
    async with dashboard(sessions) as client:
        sam = await coordinator(sessions)
        assert (await sign_in(client, await link(sessions, sam))).status == 303
        html = await (await client.get("/", params={"period": "30d"})).text()
    assert "Conversations logged: 2 · people reached: 19" in html
    assert "<p>People reached by setting:</p>" in html
    assert "<li>Faith group: 19 (2 conversations)</li>" in html
