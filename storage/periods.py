"""The periods figures that leave the organisation are counted over: a quarter (`2027-Q1`), a month
(`2027-03`) or a year (`2027`), each as UTC bounds with the start included and the end excluded,
the way every query in storage/ takes them. Shared by the national export and the impact report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

FORMS = "a quarter like 2027-Q1, a month like 2027-03, or a year like 2027"
_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:[Qq](?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


class PeriodError(ValueError):
    """A period that does not parse; the message names the forms accepted."""


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, and the label it was given in (`2027-Q1`, `2027-03`, `2027`)."""

    start: datetime
    end: datetime
    label: str

    def months(self) -> list[str]:
        """The months the period covers, as `YYYY-MM`, in order."""
        first = self.start.year * 12 + self.start.month - 1
        last = self.end.year * 12 + self.end.month - 1
        return [f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(first, last)]


def _month_start(year: int, month: int) -> datetime:
    """The first instant of a month, `month` counted from 1 and allowed to run past 12."""
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def parse_period(text: str) -> Period:
    """The period `text` names; raise PeriodError, naming the accepted forms, for anything else."""
    given = text.strip()
    match = _PATTERN.match(given)
    if match is None or not 1 <= int(match["year"]) < 9999:
        raise PeriodError(f"period {given!r} is not one of: {FORMS}")
    year = int(match["year"])
    if match["quarter"]:
        first = (int(match["quarter"]) - 1) * 3 + 1
        return Period(_month_start(year, first), _month_start(year, first + 3), f"{year}-Q{match['quarter']}")
    if match["month"]:
        month = int(match["month"])
        return Period(_month_start(year, month), _month_start(year, month + 1), f"{year}-{month:02d}")
    return Period(_month_start(year, 1), _month_start(year + 1, 1), str(year))
