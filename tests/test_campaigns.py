"""Campaign files: checked with errors that name the line, loaded, reloaded, exported, paused."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import LANGUAGES
from storage import broadcasts
from storage.campaigns import (
    ADD,
    CANCEL,
    KEEP,
    SAME,
    UPDATE,
    CampaignError,
    CampaignFileError,
    CampaignSpec,
    LoadResult,
    StatusChange,
    campaign_summary,
    cancel_campaign,
    change_campaign,
    export_campaign,
    find_campaign,
    latest_campaigns,
    list_campaigns,
    load_campaign,
    parse_campaign,
    pause_campaign,
    read_campaign,
    resume_campaign,
)
from storage.models import Broadcast, Campaign

EXAMPLES = Path(__file__).resolve().parent.parent / "content" / "campaigns"
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # fixed, so the examples' 2027 dates stay in the future
GRACE = timedelta(minutes=30)


def parse(text: str) -> CampaignSpec:
    return parse_campaign(text, "test.yaml", tuple(LANGUAGES))


async def load(sessions: async_sessionmaker[AsyncSession], spec: CampaignSpec, **options: bool) -> LoadResult:
    async with sessions.begin() as session:
        return await load_campaign(session, spec, NOW, **options)


async def messages(sessions: async_sessionmaker[AsyncSession], name: str) -> dict[str, Broadcast]:
    """The campaign's messages by key."""
    async with sessions() as session:
        campaign = await find_campaign(session, name)
        rows = await session.scalars(select(Broadcast).where(Broadcast.campaign_id == campaign.id))
        return {row.key or "": row for row in rows}


async def export(sessions: async_sessionmaker[AsyncSession], name: str) -> str:
    async with sessions() as session:
        return await export_campaign(session, await find_campaign(session, name))


@pytest.mark.parametrize(
    ("file", "count", "topic"),
    [("winter-vaccines.yaml", 9, "vaccinations"), ("bowel-screening.yaml", 3, "cancer-screening")],
)
async def test_an_example_loads_with_every_message_in_all_eight_languages(
    sessions: async_sessionmaker[AsyncSession], file: str, count: int, topic: str
) -> None:
    spec = read_campaign(EXAMPLES / file, tuple(LANGUAGES))
    result = await load(sessions, spec)
    assert result.created and result.count(ADD) == count == len(result.changes)
    sent = await messages(sessions, spec.name)
    assert len(sent) == count
    for row in sent.values():
        assert set(row.texts) == set(LANGUAGES), row.key
        assert all(len(text) < 700 for text in row.texts.values()), row.key  # one phone screen
        assert row.status == "scheduled" and row.answer_back and not row.urgent
        assert row.topic == topic  # what questions and concerns about it are filed under
        assert row.send_at.astimezone(LONDON).time() == time(10, 0)
        assert row.send_at.year == 2027


async def test_a_weekly_message_stays_at_ten_local_time_when_the_clocks_go_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await load(sessions, read_campaign(EXAMPLES / "winter-vaccines.yaml", tuple(LANGUAGES)))
    sent = await messages(sessions, "Winter vaccines 2027")
    weekly = sorted(
        (row for key, row in sent.items() if key.startswith("reminder#")), key=lambda r: r.send_at
    )
    assert [row.key for row in weekly] == [f"reminder#{n}" for n in range(1, 7)]
    assert [row.send_at.astimezone(LONDON).strftime("%a %d %b %H:%M") for row in weekly] == [
        "Thu 07 Oct 10:00",
        "Thu 14 Oct 10:00",
        "Thu 21 Oct 10:00",
        "Thu 28 Oct 10:00",  # British Summer Time ends on Sunday 31 October 2027
        "Thu 04 Nov 10:00",
        "Thu 11 Nov 10:00",
    ]
    assert [row.send_at.astimezone(UTC).hour for row in weekly] == [9, 9, 9, 9, 10, 10]


HELLO = """\
name: Test
messages:
  - key: hello
    at: 2027-01-05 10:00
    texts:
      en: Hello
"""
WEEKLY = "every: monday 10:00\n    from: 2027-01-04\n    weeks: 3"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("name: Test\nmessages:\n  - key: hello\n    texts: {en: Hello\n", 5, "not valid YAML"),
        ("", 1, "the file is empty"),
        (HELLO.replace("name: Test\n", ""), 1, "the campaign has no 'name'"),
        (HELLO.replace("en: Hello", "pl: Cześć"), 6, "'texts' has no 'en'"),
        (HELLO.replace("en: Hello", "en: Hello\n      xx: Hi"), 7, "unknown language 'xx' in 'texts'"),
        (HELLO.replace("en: Hello", "en: ' '"), 6, "'texts.en' is empty"),
        (HELLO.replace("en: Hello", f"en: {'x' * 4097}"), 6, "'texts.en' is 4097 characters"),
        (HELLO.replace("    texts:", "    colour: red\n    texts:"), 5, "unknown key 'colour' in a message"),
        (HELLO.replace("name: Test", "name: Test\ncolour: red"), 2, "unknown key 'colour' in the campaign"),
        (HELLO.replace("10:00", "10am"), 4, "'at' must be YYYY-MM-DD HH:MM (got '2027-01-05 10am')"),
        (HELLO.replace("2027-01-05", "2027-02-30"), 4, "'at' must be YYYY-MM-DD HH:MM"),
        (HELLO.replace("2027-01-05 10:00", "2027-03-28 01:30"), 4, "does not exist in Europe/London"),
        (
            HELLO.replace("at: 2027-01-05 10:00", WEEKLY.replace("monday", "mondy")),
            4,
            "unknown weekday 'mondy'",
        ),
        (
            HELLO.replace("at: 2027-01-05 10:00", WEEKLY.replace("3", "60")),
            6,
            "'weeks' must be a whole number",
        ),
        (
            HELLO.replace("at: 2027-01-05 10:00", WEEKLY.replace("2027-01-04", "4 Jan")),
            5,
            "'from' must be YYYY-MM-DD",
        ),
        (HELLO.replace("    texts:", "    every: monday 10:00\n    texts:"), 3, "exactly one of 'at'"),
        (HELLO.replace("    at:", "    weeks: 2\n    at:"), 4, "'weeks' goes with 'every'"),
        (
            HELLO + "  - key: hello\n    at: 2027-01-06 10:00\n    texts: {en: Hi}\n",
            7,
            "used twice (first on line 3)",
        ),
        (
            HELLO.replace("at: 2027-01-05 10:00", WEEKLY)
            + "  - key: hello#2\n    at: 2027-01-06 10:00\n    texts: {en: Hi}\n",
            9,
            "'hello#2' is used twice",
        ),
        (HELLO.replace("name: Test", "name: Test\ntimezone: Europe/Londn"), 2, "unknown timezone"),
        (HELLO.replace("name: Test", "name: Test\nurgent: maybe"), 2, "'urgent' must be true or false"),
        (HELLO.replace("name: Test", "name: Test\naudience: {languages: [xx]}"), 2, "unknown language 'xx'"),
        (HELLO.replace("name: Test", "name: Test\nname: Again"), 2, "'name' appears twice"),
        (HELLO.replace("key: hello", "key: hello there"), 3, "may only use letters"),
        (
            HELLO.replace("name: Test", "name: Test\ntopic: flu"),
            2,
            "unknown topic 'flu'; use one of vaccinations, cancer-screening,",
        ),
        (HELLO.replace("name: Test", "name: Test\ntopic: [vaccinations]"), 2, "'topic' must be a single"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(CampaignFileError) as raised:
        parse(text)
    message = str(raised.value)
    assert message.startswith(f"test.yaml line {line}: "), message
    assert problem in message and "\n" not in message


async def test_a_past_time_or_unknown_area_is_refused_when_loading(
    sessions: async_sessionmaker[AsyncSession], places: None
) -> None:
    past = parse(HELLO.replace("2027-01-05", "2026-05-01"))
    with pytest.raises(
        CampaignFileError, match=r"^test\.yaml line 4: 'hello' would be sent at 2026-05-01 10:00"
    ):
        await load(sessions, past)
    weekly = parse(
        HELLO.replace("at: 2027-01-05 10:00", "every: monday 10:00\n    from: 2026-05-25\n    weeks: 4")
    )
    with pytest.raises(
        CampaignFileError, match=r"^test\.yaml line 5: 'hello#1' would be sent .* in the past"
    ):
        await load(sessions, weekly)
    unknown = parse(
        HELLO.replace("name: Test", "name: Test\naudience:\n  areas:\n    - Riverside\n    - Southfield")
    )
    with pytest.raises(
        CampaignFileError,
        match=r"^test\.yaml line 5: unknown area 'Southfield'; known: Northfield, Riverside$",
    ):
        await load(sessions, unknown)
    async with sessions() as session:
        assert await list_campaigns(session) == []
    assert (await load(sessions, past, allow_past=True)).count(ADD) == 1


async def test_a_dry_run_checks_against_the_database_and_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], places: None
) -> None:
    spec = parse(HELLO.replace("name: Test", "name: Test\naudience: {networks: [faith groups]}"))
    result = await load(sessions, spec, dry_run=True)
    assert result.created and [c.action for c in result.changes] == [ADD]
    async with sessions() as session:
        assert await session.scalar(select(Campaign)) is None


THREE = """\
name: Clinic week
audience: {areas: [Riverside]}
messages:
  - key: first
    at: 2027-01-04 10:00
    texts: {en: First, pl: Pierwsza}
  - key: second
    at: 2027-01-05 10:00
    texts: {en: Second}
  - key: third
    at: 2027-01-06 10:00
    texts: {en: Third}
"""


async def test_reloading_edits_scheduled_messages_and_leaves_sent_ones_alone(
    sessions: async_sessionmaker[AsyncSession], places: None
) -> None:
    await load(sessions, parse(THREE))
    first_at = datetime(2027, 1, 4, 10, tzinfo=LONDON)
    async with sessions.begin() as session:
        queued, _missed = await broadcasts.queue_due(session, first_at, GRACE)
    assert len(queued) == 1

    edited = (
        THREE.replace("name: Clinic week", "name: Clinic week\nurgent: true\ntopic: gp-access")
        .replace("First, pl", "First again, pl")
        .replace("{en: Second}", "{en: Second again}")
        .replace("key: third", "key: fourth")
    )
    result = await load(sessions, parse(edited))
    assert not result.created
    actions = {change.key: (change.action, change.edited) for change in result.changes}
    assert actions == {
        "first": (KEEP, True),
        "second": (UPDATE, False),
        "third": (CANCEL, False),
        "fourth": (ADD, False),
    }
    sent = await messages(sessions, "Clinic week")
    assert sent["first"].status == "sending" and sent["first"].texts == {"en": "First", "pl": "Pierwsza"}
    assert not sent["first"].urgent and sent["first"].topic is None  # sent as it was
    assert sent["second"].texts == {"en": "Second again"} and sent["second"].urgent
    assert sent["second"].topic == sent["fourth"].topic == "gp-access"
    assert sent["third"].status == "cancelled"
    assert sent["fourth"].status == "scheduled" and sent["fourth"].texts == {"en": "Third"}

    moved = edited.replace("2027-01-05 10:00", "2026-01-05 10:00")
    with pytest.raises(CampaignFileError, match=r"line 10: 'second' would be sent at 2026-01-05 10:00"):
        await load(sessions, parse(moved))
    again = await load(sessions, parse(THREE))  # `third` was cancelled, so it can come back
    assert {c.key: c.action for c in again.changes} == {
        "first": KEEP,
        "second": UPDATE,
        "third": ADD,
        "fourth": CANCEL,
    }


async def test_export_then_load_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], places: None
) -> None:
    text = THREE.replace(
        "audience: {areas: [Riverside]}",
        "audience: {areas: [Riverside], networks: [Youth clubs], languages: [so, ur]}\nanswer_back: false"
        "\ntopic: maternity",
    )
    weekly = (
        "  - key: weekly\n    every: Friday 18:30\n    from: 2027-03-20\n    weeks: 3\n    texts: {en: Hi}\n"
    )
    await load(sessions, parse(text + weekly))
    async with sessions.begin() as session:
        await broadcasts.queue_due(session, datetime(2027, 1, 4, 10, tzinfo=LONDON), GRACE)  # `first` goes
    exported = await export(sessions, "Clinic week")
    assert "key: weekly#3\n  at: 2027-04-09 18:30" in exported  # after the clocks went forward

    spec = parse_campaign(exported, "export.yaml", tuple(LANGUAGES))
    assert spec.answer_back is False and spec.audience.languages == ["so", "ur"]
    assert spec.topic == "maternity"
    result = await load(sessions, spec)
    assert {change.action for change in result.changes} == {SAME, KEEP}
    assert result.count(KEEP) == 1 and not any(change.edited for change in result.changes)
    assert await export(sessions, "Clinic week") == exported


async def test_a_paused_campaign_waits_and_a_resumed_one_is_sent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await load(sessions, parse(HELLO))
    due = datetime(2027, 1, 5, 10, 5, tzinfo=LONDON)
    async with sessions.begin() as session:
        pause_campaign(await find_campaign(session, "Test"))
    async with sessions.begin() as session:
        assert await broadcasts.queue_due(session, due, GRACE) == ([], [])
        (summary,) = await list_campaigns(session)
    assert (summary.status, summary.scheduled, summary.sent) == ("paused", 1, 0)
    assert summary.next_at == datetime(2027, 1, 5, 10, tzinfo=UTC)

    async with sessions.begin() as session:
        assert await resume_campaign(session, await find_campaign(session, "Test"), due) == 1
    async with sessions.begin() as session:
        queued, _missed = await broadcasts.queue_due(session, due, GRACE)
        (summary,) = await list_campaigns(session)
    assert len(queued) == 1
    assert (summary.status, summary.scheduled, summary.sent, summary.next_at) == ("active", 0, 1, None)


async def test_a_cancelled_campaign_cancels_what_is_left_and_cannot_be_reloaded(
    sessions: async_sessionmaker[AsyncSession], places: None
) -> None:
    await load(sessions, parse(THREE))
    async with sessions.begin() as session:
        await broadcasts.queue_due(session, datetime(2027, 1, 4, 10, tzinfo=LONDON), GRACE)
    async with sessions.begin() as session:
        assert await cancel_campaign(session, await find_campaign(session, "Clinic week")) == 2
    statuses = {key: row.status for key, row in (await messages(sessions, "Clinic week")).items()}
    assert statuses == {"first": "sending", "second": "cancelled", "third": "cancelled"}
    with pytest.raises(CampaignFileError, match=r"^test\.yaml line 1: campaign 'Clinic week' was cancelled"):
        await load(sessions, parse(THREE))


async def test_a_change_applies_only_from_a_status_it_fits(
    sessions: async_sessionmaker[AsyncSession], places: None
) -> None:
    await load(sessions, parse(THREE))
    async with sessions.begin() as session:
        campaign_id = (await find_campaign(session, "Clinic week")).id
        assert await change_campaign(session, campaign_id, "resume") == StatusChange(False)  # not paused
        assert await change_campaign(session, campaign_id, "pause") == StatusChange(True)
        assert await change_campaign(session, campaign_id, "pause") == StatusChange(False)
        assert await change_campaign(session, campaign_id, "cancel") == StatusChange(True, 3)
        assert await change_campaign(session, campaign_id, "cancel") == StatusChange(False)
        assert await change_campaign(session, 999999, "pause") == StatusChange(False)
        assert await campaign_summary(session, 999999) is None
    async with sessions.begin() as session:
        with pytest.raises(CampaignError, match=r"^campaign 'Clinic week' was cancelled$"):
            await resume_campaign(session, await find_campaign(session, "Clinic week"), NOW)
        assert await cancel_campaign(session, await find_campaign(session, "Clinic week")) == 0


async def test_the_chat_lists_running_campaigns_first_and_counts_them_all(
    sessions: async_sessionmaker[AsyncSession], places: None
) -> None:
    await load(sessions, parse(HELLO))
    await load(sessions, parse(THREE))
    async with sessions.begin() as session:
        assert await cancel_campaign(session, await find_campaign(session, "Clinic week")) == 3
        assert [s.name for s in await list_campaigns(session)] == ["Clinic week", "Test"]
        shown, total = await latest_campaigns(session, 1)
    assert [(s.name, s.status, s.scheduled) for s in shown] == [("Test", "active", 1)] and total == 2


def champbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "champbot"), *args]
    env = {"PATH": "/usr/bin:/bin", "CHAMPBOT_DATA_DIR": str(cwd)}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_cli_dry_run_shows_the_plan_and_a_bad_file_gives_one_line(tmp_path: Path) -> None:
    future = HELLO.replace("2027-01-05", "2099-01-05")
    future += (
        "  - key: weekly\n    every: monday 10:00\n    from: 2099-01-01\n    weeks: 2\n    texts: {en: Hi}\n"
    )
    (tmp_path / "good.yaml").write_text(future)
    result = champbot("campaign", "load", "--dry-run", "good.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Campaign 'Test' would be created (active); messages: 3 added.",
        "  add        2099-01-05 10:00  hello",
        "  add        2099-01-05 10:00  weekly#1",
        "  add        2099-01-12 10:00  weekly#2",
        "Dry run: nothing was saved. Times are in Europe/London.",
    ]
    assert champbot("campaign", "list", cwd=tmp_path).stdout.startswith("No campaigns yet")
    result = champbot("campaign", "load", "good.yaml", cwd=tmp_path)
    assert result.stdout == "Campaign 'Test' created (active); messages: 3 added.\n"
    assert champbot("campaign", "list", cwd=tmp_path).stdout.splitlines() == [
        "name  status    scheduled  sent missed  next send",
        "Test  active            3     0      0  2099-01-05 10:00 Europe/London",
    ]

    (tmp_path / "bad.yaml").write_text(future.replace("every: monday", "every: mondy"))
    result = champbot("campaign", "load", "bad.yaml", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Error: bad.yaml line 8: unknown weekday 'mondy' in 'every'; use monday to sunday"
    ]
