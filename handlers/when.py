"""Times a coordinator types or picks for a scheduled broadcast, read in their own time zone.

Typed, the strict `YYYY-MM-DD HH:MM` (storage/local_time.py) comes first; anything else goes to
`dateparser`, in the person's language and English: "tomorrow 10am", "in 2 hours", "monday 9:30",
"25 Dec 14:00", "jutro 10:00", "amanhã 10:00". A text that names a day but no time ("next
saturday", "tomorrow at 9") is refused rather than given a time the person never chose. Picked, a
time is a wall clock in the zone, carried in the button's data as `YYYYMMDDHHMM`. Either way the
clock changes follow local_time's rule: a skipped time is refused, a repeated one is the first.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser

from storage import local_time

STAMP = "%Y%m%d%H%M"  # a wall-clock time in button data
DAY = "%Y%m%d"  # a day in button data
DAYS = 7  # days the picker offers, today first
HOURS = range(6, 23)  # hours the picker offers on a day (others can be typed)
MONDAY = 0

# dateparser's readers for what people type; its "timestamp" reader would take a bare number
# as seconds since 1970.
PARSERS = ["relative-time", "absolute-time"]


class NoTime(ValueError):
    """The text names a day but not a time of day."""


def local_now(now: datetime, zone: ZoneInfo) -> datetime:
    """`now` (aware) as a naive wall clock in `zone`, to the minute."""
    return now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def read(text: str, zone: ZoneInfo, now: datetime, language: str) -> datetime | None:
    """What a person typed, as a UTC time: None if it can't be read as a date and time, `NoTime`
    if it has a day but no time, `local_time.SkippedTime` if the clocks skip it."""
    strict = local_time.parse(text, zone)
    if strict is not None:
        return strict
    parser = DateDataParser(
        languages=list(dict.fromkeys([language, "en"])),
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": local_now(now, zone),
            "RETURN_AS_TIMEZONE_AWARE": False,
            "RETURN_TIME_AS_PERIOD": True,  # period "time" only when a time of day was read
            "DATE_ORDER": "DMY",  # 01/02 is the 1st of February, as in every language the bot has
            "PARSERS": PARSERS,
        },
    )
    found = parser.get_date_data(" ".join(text.split()))
    if found.date_obj is None:
        return None
    if found.period != "time":
        raise NoTime(text)
    return local_time.to_utc(found.date_obj.replace(second=0, microsecond=0), zone)


def stamp(local: datetime) -> str:
    """A wall-clock time for button data."""
    return local.strftime(STAMP)


def unstamp(text: str) -> datetime | None:
    """A wall-clock time from button data; None if it is not one."""
    try:
        return datetime.strptime(text, STAMP) if len(text) == len("YYYYMMDDHHMM") else None
    except ValueError:
        return None


def tomorrow_at(local: datetime, hour: int) -> datetime:
    """Tomorrow at `hour`:00, after the wall clock `local`."""
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time()).replace(hour=hour)


def next_weekday_at(local: datetime, weekday: int, hour: int) -> datetime:
    """The first `weekday` (0: Monday) after today, at `hour`:00."""
    ahead = (weekday - local.weekday() - 1) % 7 + 1
    return datetime.combine(local.date() + timedelta(days=ahead), datetime.min.time()).replace(hour=hour)


def hours_on(day: date, local: datetime) -> list[datetime]:
    """The picker's hours on `day` that are still to come after the wall clock `local`."""
    starts = (datetime.combine(day, datetime.min.time()).replace(hour=hour) for hour in HOURS)
    return [start for start in starts if start > local]


def days_from(local: datetime) -> list[date]:
    """The picker's days: today (if it has hours left) and the days after it, DAYS in all from today."""
    days = [local.date() + timedelta(days=n) for n in range(DAYS)]
    return days if hours_on(days[0], local) else days[1:]


def unday(text: str, local: datetime) -> date | None:
    """A day from button data, if it is one the picker offers now."""
    try:
        day = datetime.strptime(text, DAY).date() if len(text) == len("YYYYMMDD") else None
    except ValueError:
        return None
    return day if day in days_from(local) else None
