"""One parser for local times, with one rule at the clock changes, in every place a time is typed:
the broadcast schedule, `champbot broadcast send --at` and campaign files. A time the clocks skip
(spring forward) is refused with a message naming it; a time that happens twice (autumn) is the
first of the two, still on summer time."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.i18n import LANGUAGES, translator
from storage import local_time
from storage.campaigns import CampaignFileError, parse_campaign
from storage.models import Champion, utcnow
from tests.conftest import BotHarness, join, make_coordinator
from tests.test_broadcast_chat import latest_broadcast

LONDON = ZoneInfo("Europe/London")


def test_the_parser_takes_a_local_time_to_utc() -> None:
    assert local_time.parse("2027-01-05 10:00", LONDON) == datetime(2027, 1, 5, 10, 0, tzinfo=UTC)
    assert local_time.parse(" 2027-07-05   9:30 ", LONDON) == datetime(2027, 7, 5, 8, 30, tzinfo=UTC)
    for unreadable in ("next Saturday", "2027-02-30 10:00", "2027-01-05 10am", "2027-01-05", ""):
        assert local_time.parse(unreadable, LONDON) is None, unreadable


def test_a_time_the_clocks_skip_is_refused_and_named() -> None:
    with pytest.raises(local_time.SkippedTime) as refused:
        local_time.parse("2027-03-28 01:30", LONDON)
    assert str(refused.value) == "2027-03-28 01:30 does not exist in Europe/London: the clocks go forward"
    assert refused.value.local == datetime(2027, 3, 28, 1, 30) and refused.value.zone == LONDON
    assert local_time.parse("2027-03-28 02:00", LONDON) == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert local_time.parse("2027-03-28 00:59", LONDON) == datetime(2027, 3, 28, 0, 59, tzinfo=UTC)


def test_a_time_that_happens_twice_is_the_first() -> None:
    # 01:30 on 31 October 2027 happens at 00:30 UTC (summer time), then again at 01:30 UTC.
    assert local_time.parse("2027-10-31 01:30", LONDON) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert local_time.to_utc(datetime(2027, 10, 31, 1, 30, fold=1), LONDON) == datetime(
        2027, 10, 31, 0, 30, tzinfo=UTC
    )  # whatever fold it comes with


def next_clock_change(skipped: bool) -> tuple[ZoneInfo, str]:
    """A zone and a local time in it, within the coming year, that the clocks skip (or repeat)."""
    start = utcnow() + timedelta(days=1)
    for zone in (LONDON, ZoneInfo("Australia/Sydney")):
        first = start.astimezone(zone).replace(minute=30, second=0, microsecond=0, tzinfo=None)
        for half_hours in range(360 * 48):
            local = first + timedelta(minutes=30 * half_hours)
            there = local.replace(tzinfo=zone)
            round_trip = there.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
            twice = there.utcoffset() != local.replace(fold=1, tzinfo=zone).utcoffset()
            if round_trip != local if skipped else twice and round_trip == local:
                return zone, f"{local:%Y-%m-%d %H:%M}"
    raise AssertionError("no clock change within a year")


@pytest.mark.parametrize("skipped", [True, False], ids=["skipped", "repeated"])
async def test_the_broadcast_schedule_follows_the_rule(bot: BotHarness, places: None, skipped: bool) -> None:
    zone, typed = next_clock_change(skipped)
    sam = bot.person(3701, "Sam")
    await make_coordinator(bot, sam)
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Champion).where(Champion.telegram_id == sam.id).values(timezone=zone.key)
        )
    await join(bot.person(3702, "Ana"))
    await sam.send("/broadcast")
    await sam.send("Clinic open late on Thursday.")
    await sam.press("Everyone · 1")
    await sam.press("Continue")
    await sam.press("Schedule")
    said = await sam.send(typed)
    if skipped:
        assert said == [
            f"{typed} does not exist in {zone.key}: the clocks go forward then. Please choose another time."
        ]
        return
    first = datetime.strptime(typed, "%Y-%m-%d %H:%M").replace(tzinfo=zone).astimezone(UTC)
    assert said == [f"Send to 1 champion on {translator('en').datetime(first, zone.key)} ({zone.key})?"]
    await sam.press("Confirm")
    assert (await latest_broadcast(bot)).send_at == first


def champbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "champbot"), *args]
    env = {"PATH": "/usr/bin:/bin", "CHAMPBOT_DATA_DIR": str(cwd)}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_the_cli_follows_the_rule(tmp_path: Path) -> None:
    zone, skipped = next_clock_change(True)
    args = ("broadcast", "send", "--text", "Hi", "--at", skipped, "--timezone", zone.key, "--yes")
    result = champbot(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert f"--at '{skipped}': {skipped} does not exist in {zone.key}: the clocks go forward" in result.stderr
    zone, repeated = next_clock_change(False)
    assert champbot("coordinator", "add", "4242", "--name", "Sam", cwd=tmp_path).returncode == 0
    with closing(sqlite3.connect(tmp_path / "champbot.db")) as db:  # someone to send to, as if joined
        db.execute("UPDATE champion SET consent_at = '2026-01-01 00:00:00.000000'")
        db.commit()
    args = ("broadcast", "send", "--text", "Hi", "--at", repeated, "--timezone", zone.key, "--yes")
    result = champbot(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with closing(sqlite3.connect(tmp_path / "champbot.db")) as db:
        (stored,) = db.execute("SELECT send_at FROM broadcast").fetchone()
    first = datetime.strptime(repeated, "%Y-%m-%d %H:%M").replace(tzinfo=zone).astimezone(UTC)
    assert datetime.fromisoformat(stored).replace(tzinfo=UTC) == first


CAMPAIGN = "name: Test\nmessages:\n  - key: hello\n    at: {at}\n    texts:\n      en: Hello\n"


def test_campaign_files_follow_the_rule() -> None:
    with pytest.raises(CampaignFileError) as refused:
        parse_campaign(CAMPAIGN.format(at="2027-03-28 01:30"), "test.yaml", tuple(LANGUAGES))
    assert str(refused.value) == (
        "test.yaml line 4: 2027-03-28 01:30 does not exist in Europe/London: the clocks go forward"
    )
    spec = parse_campaign(CAMPAIGN.format(at="2027-10-31 01:30"), "test.yaml", tuple(LANGUAGES))
    assert [m.send_at for m in spec.messages] == [datetime(2027, 10, 31, 0, 30, tzinfo=UTC)]
    weekly = CAMPAIGN.replace("at: {at}", "every: sunday 01:30\n    from: 2027-03-22\n    weeks: 2")
    with pytest.raises(CampaignFileError, match="2027-03-28 01:30 does not exist in Europe/London"):
        parse_campaign(weekly, "test.yaml", tuple(LANGUAGES))  # Sunday 28 March 2027
