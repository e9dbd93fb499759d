"""The one parser for local times people type or write (the broadcast schedule, `champbot broadcast
send --at`, campaign files) and for the time zones people type (/timezone), and the one rule at
the clock changes:

- a time the clocks skip (spring forward, e.g. 01:30 on 28 March 2027 in London) does not exist, so it
  is refused with a message naming it, rather than quietly moved by an hour;
- a time that happens twice (autumn, e.g. 01:30 on 31 October 2027 in London) is the first of the
  two, still on summer time (fold=0).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location

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


def utc_offset(zone: str, when: datetime) -> str:
    """A zone's offset from UTC at `when`, as people write it: "UTC+1", "UTC+5:30", "UTC-3:30"."""
    offset = when.astimezone(ZoneInfo(zone)).utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{'-' if offset < timedelta() else '+'}{hours}" + (f":{minutes:02d}" if minutes else "")


def find_zone(text: str, locale: Locale) -> str | None:
    """The time zone a person typed: its name ("Africa/Lagos"), or a city in it as English or their
    language writes it ("Lagos", "Warszawa"), as the zone is called now ("Calcutta" is Asia/Kolkata);
    None if there is none by that name."""
    typed = _plain(text)
    if not typed:
        return None
    return _zones("en").get(typed) or _zones(str(locale)).get(typed)


def _plain(text: str) -> str:
    """A name as it is looked up: any case, "_" or "-" for spaces, no spaces around a "/"."""
    words = " ".join(re.sub(r"[_-]", " ", text).split())
    return re.sub(r" ?/ ?", "/", words).casefold()


@cache
def _zones(language: str) -> dict[str, str]:
    """Every zone by its plain name and its city's, in `language` ("en": also by the zone's own
    name), each the zone's current name; the first zone by a name keeps it."""
    known = available_timezones() - {"Factory"}  # tzdata's placeholder, not a place
    aliases = get_global("zone_aliases")
    zones: dict[str, str] = {}
    for zone in sorted(known):
        alias = str(aliases.get(zone, zone))
        current = alias if alias in known else zone
        if language == "en":
            zones.setdefault(_plain(zone), current)
            zones.setdefault(_plain(zone.rsplit("/", 1)[-1]), current)
        try:
            city = get_timezone_location(current, language, return_city=True)
        except LookupError:  # a file of the system's zone database that is not a zone ("localtime")
            continue
        zones.setdefault(_plain(city), current)
    return zones
