"""The conversation sessions a champion logs (/log): record one, correct or delete their last one,
list them for /mydata, and the weekly reminder to log that they may ask for. The reach figures
counted from these rows are storage.activity_figures'."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import ActivityLog, Champion, Status, utcnow

# The bands a champion can choose, with the people each counts: its lower end, so reach is never
# overstated.
BANDS = {"1": 1, "2-5": 2, "6-10": 6, "11-25": 11, "26+": 26}
# Where the conversation took place: faith group, school gate, community centre, online group,
# door to door, an event, somewhere else.
SETTINGS = ("faith", "school", "centre", "online", "door", "event", "other")
PEOPLE_MIN, PEOPLE_MAX = 1, 1000  # a typed count outside these is refused
_WHOLE_NUMBER = re.compile(r"\d{1,7}")  # any script's digits (Arabic-Indic, Bengali, ...)


def typed_people(text: str) -> int | None:
    """The number of people a champion typed, if it is a whole number from 1 to 1000; else None
    (0, negative, huge, a fraction or words)."""
    text = text.strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        return None
    people = int(text)
    return people if PEOPLE_MIN <= people <= PEOPLE_MAX else None


def _checked(people: int, band: str | None, topic: str | None, setting: str | None) -> None:
    """Refuse values the chat could not have offered (a programming error, not a typing one)."""
    if band is not None and BANDS.get(band) != people:
        raise ValueError(f"band {band!r} does not count {people} people")
    if band is None and not PEOPLE_MIN <= people <= PEOPLE_MAX:
        raise ValueError(f"{people} people is outside {PEOPLE_MIN}..{PEOPLE_MAX}")
    if setting is not None and setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}")
    if topic is not None and not topic:
        raise ValueError("a topic is needed")


async def record(
    session: AsyncSession,
    champion: Champion,
    *,
    people: int,
    band: str | None,
    topic: str,
    setting: str,
    now: datetime | None = None,
) -> ActivityLog:
    """Store a session in the champion's area as it is now (a later move does not change it)."""
    _checked(people, band, topic, setting)
    entry = ActivityLog(
        champion_id=champion.id,
        people=people,
        band=band,
        topic=topic,
        setting=setting,
        area_id=champion.area_id,
        created_at=now or utcnow(),
    )
    session.add(entry)
    await session.flush()
    return entry


async def last(session: AsyncSession, champion_id: int) -> ActivityLog | None:
    """The champion's latest entry, if any."""
    query = (
        select(ActivityLog)
        .where(ActivityLog.champion_id == champion_id)
        .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def _is_last(session: AsyncSession, champion_id: int, entry_id: int) -> bool:
    latest = await last(session, champion_id)
    return latest is not None and latest.id == entry_id


async def correct(
    session: AsyncSession,
    champion_id: int,
    entry_id: int,
    *,
    people: int | None = None,
    band: str | None = None,
    topic: str | None = None,
    setting: str | None = None,
) -> ActivityLog | None:
    """Change the people (with their band, None when typed), the topic or the setting of the
    champion's last entry; None, and nothing changed, when it is not their last entry (any more)."""
    if not await _is_last(session, champion_id, entry_id):
        return None
    changes: dict[str, object] = {}
    if people is not None:
        _checked(people, band, None, None)
        changes.update(people=people, band=band)
    if topic is not None:
        _checked(1, None, topic, None)
        changes["topic"] = topic
    if setting is not None:
        _checked(1, None, None, setting)
        changes["setting"] = setting
    if changes:
        await session.execute(update(ActivityLog).where(ActivityLog.id == entry_id).values(**changes))
    entry = await session.get(ActivityLog, entry_id, populate_existing=True)
    return entry


async def delete_last(session: AsyncSession, champion_id: int, entry_id: int) -> bool:
    """Delete the champion's last entry; False when `entry_id` is not it (any more)."""
    if not await _is_last(session, champion_id, entry_id):
        return False
    return bool(await rows_changed(session, delete(ActivityLog).where(ActivityLog.id == entry_id)))


async def of_champion(session: AsyncSession, champion_id: int) -> Sequence[ActivityLog]:
    """Every entry of the champion, oldest first (for /mydata)."""
    query = select(ActivityLog).where(ActivityLog.champion_id == champion_id).order_by(ActivityLog.id)
    return list(await session.scalars(query))


async def set_nudge(session: AsyncSession, champion_id: int, on: bool) -> None:
    """Turn the champion's weekly reminder to log on or off."""
    await session.execute(
        update(Champion).where(Champion.id == champion_id).values(log_nudge=on, updated_at=utcnow())
    )


async def nudged(session: AsyncSession) -> list[int]:
    """The active champions who asked for the weekly reminder to log."""
    query = select(Champion.id).where(Champion.log_nudge.is_(True), Champion.status == Status.ACTIVE)
    return list(await session.scalars(query.order_by(Champion.id)))
