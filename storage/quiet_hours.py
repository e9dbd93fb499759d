"""Quiet hours: a champion's local hours when nothing that can wait is sent."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.models import Champion


def hour_is_quiet(champion: Champion, hour: int) -> bool:
    """Whether a local hour of the day is inside the champion's quiet hours (which may span midnight)."""
    start, end = champion.quiet_start, champion.quiet_end
    if start is None or end is None or start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def is_quiet(champion: Champion, when: datetime) -> bool:
    """Whether `when` falls in the champion's quiet hours."""
    return hour_is_quiet(champion, when.astimezone(ZoneInfo(champion.timezone)).hour)


def quiet_until(champion: Champion, when: datetime) -> datetime:
    """`when` itself outside quiet hours; otherwise the moment they end."""
    if not is_quiet(champion, when):
        return when
    assert champion.quiet_end is not None
    zone = ZoneInfo(champion.timezone)
    local = when.astimezone(zone)
    end = datetime.combine(local.date(), time(champion.quiet_end), tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), time(champion.quiet_end), tzinfo=zone)
    return end.astimezone(when.tzinfo)
