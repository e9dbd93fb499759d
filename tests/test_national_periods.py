"""The periods a national export (and the impact report) covers: a quarter, a month or a year, as
UTC bounds with the end excluded; anything else is refused with a message naming the forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.periods import Period, PeriodError, parse_period


def at(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_a_quarter_a_month_and_a_year_parse_to_utc_bounds() -> None:
    assert parse_period("2027-Q1") == Period(at(2027, 1), at(2027, 4), "2027-Q1")
    assert parse_period("2027-q4") == Period(at(2027, 10), at(2028, 1), "2027-Q4")
    assert parse_period(" 2027-03 ") == Period(at(2027, 3), at(2027, 4), "2027-03")
    assert parse_period("2027-12") == Period(at(2027, 12), at(2028, 1), "2027-12")
    assert parse_period("2027") == Period(at(2027, 1), at(2028, 1), "2027")


def test_a_period_lists_its_months() -> None:
    assert parse_period("2027-Q1").months() == ["2027-01", "2027-02", "2027-03"]
    assert parse_period("2027-03").months() == ["2027-03"]
    assert len(parse_period("2027").months()) == 12


@pytest.mark.parametrize(
    "text",
    [
        "2027-Q5",
        "2027-Q0",
        "2027-13",
        "2027-00",
        "last quarter",
        "",
        "  ",
        "27-Q1",
        "2027-1",
        "2027Q1",
        "2027-03-01",
        "0000",
        "2027-Q1x",
    ],
)
def test_anything_else_is_refused_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_period(text)
    message = str(refused.value)
    assert repr(text.strip()) in message
    for form in ("2027-Q1", "2027-03", "2027"):
        assert form in message
