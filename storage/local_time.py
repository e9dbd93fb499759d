"""The one parser for local times people type or write (the broadcast schedule, `champbot broadcast
send --at`, campaign files), and the one rule at the clock changes:

- a time the clocks skip (spring forward, e.g. 01:30 on 28 March 2027 in London) does not exist, so it
  is refused with a message naming it, rather than quietly moved by an hour;
- a time that happens twice (autumn, e.g. 01:30 on 31 October 2027 in London) is the first of the
  two, still on summer time (fold=0).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LAYOUT = "%Y-%m-%d %H:%M"
SHOWN = "YYYY-MM-DD HH:MM"  # the form as people read it
PATTERN = re.compile(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}")


class SkippedTime(ValueError):
    """A wall-clock time the clocks skip over in a zone: it never happens there."""

    def __init__(self, local: datetime, zone: ZoneInfo) -> None:
        super().__init__(f"{local:{LAYOUT}} does not exist in {zone.key}: the clocks go forward")
        self.local, self.zone = local, zone


def wall_clock(text: str) -> datetime | None:
    """`YYYY-MM-DD HH:MM` (extra spaces allowed) as a naive wall-clock time; None if not in that form
    or not a real date and time."""
    value = " ".join(text.split())
    if not PATTERN.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, LAYOUT)
    except ValueError:
        return None


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in `zone`, in UTC: the first of two that happen twice, and
    `SkippedTime` for one the clocks skip."""
    first = local.replace(fold=0, tzinfo=zone)
    when = first.astimezone(UTC)
    if when.astimezone(zone).replace(tzinfo=None) != local.replace(fold=0):
        raise SkippedTime(local, zone)
    return when


def parse(text: str, zone: ZoneInfo) -> datetime | None:
    """A typed `YYYY-MM-DD HH:MM` in `zone`, in UTC; None if it is not in that form; `SkippedTime`
    if the clocks skip it."""
    local = wall_clock(text)
    return None if local is None else to_utc(local, zone)
