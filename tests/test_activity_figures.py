"""Reach counted from logged sessions: by period and area, and grouped by area, topic or setting."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.activity_figures import Reach, reach, reach_by, summed
from storage.models import ActivityLog, Area, Champion

MARCH = datetime(2027, 3, 1, tzinfo=UTC)
APRIL = datetime(2027, 4, 1, tzinfo=UTC)


async def test_reach_counts_sessions_and_people_in_the_period_and_areas(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        north, river = Area(name="Northfield"), Area(name="Riverside")
        champion = Champion(telegram_id=1, language="en")
        session.add_all([north, river, champion])
        await session.flush()
        for people, topic, setting, area, at in [
            (6, "gp-access", "faith", north, datetime(2027, 3, 2, tzinfo=UTC)),
            (2, "gp-access", "school", north, datetime(2027, 3, 31, 23, 59, tzinfo=UTC)),
            (11, "vaccines", "faith", river, datetime(2027, 3, 15, tzinfo=UTC)),
            (25, "vaccines", "faith", river, APRIL),  # the next period
            (1, "vaccines", "door", river, datetime(2027, 2, 28, tzinfo=UTC)),  # the one before
        ]:
            session.add(
                ActivityLog(
                    champion_id=champion.id,
                    people=people,
                    topic=topic,
                    setting=setting,
                    area_id=area.id,
                    created_at=at,
                )
            )
    async with sessions() as session:
        assert await reach(session, MARCH, APRIL) == Reach(sessions=3, people=19)
        assert await reach(session, MARCH, APRIL, [north.id]) == Reach(sessions=2, people=8)
        assert await reach(session, APRIL, APRIL) == Reach()
        assert await reach_by(session, "setting", MARCH, APRIL) == {
            "faith": Reach(2, 17),
            "school": Reach(1, 2),
        }
        assert await reach_by(session, "area", MARCH, APRIL, [river.id]) == {river.id: Reach(1, 11)}
        by_setting = await reach_by(session, "setting", MARCH, APRIL)
        assert summed(by_setting.values()) == await reach(session, MARCH, APRIL)
        assert await reach_by(session, "topic", MARCH, APRIL) == {
            "gp-access": Reach(2, 8),
            "vaccines": Reach(1, 11),
        }
