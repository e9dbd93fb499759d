"""The national export (`champbot export national`) and its merge (`champbot export merge`): a
documented JSON file of counts that validates against its schema, holds only sharing-consented
reports, hides small counts so none can be worked out, and merges across deployments into what one
deployment holding them all would export."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import national_export
from storage.db import make_engine, make_sessions
from storage.models import (
    ActivityLog,
    Area,
    Base,
    Broadcast,
    Campaign,
    Champion,
    Delivery,
    Report,
    Status,
    Theme,
    ThemeReport,
    ThemeStep,
)
from storage.national_export import MergeError, merge, schema, write_export
from storage.periods import parse_period
from storage.report_topics import load_topics
from storage.suppression import extended
from tests.test_suppression import determined

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2027, 4, 2, 9, 0, tzinfo=UTC)
Q1 = parse_period("2027-Q1")
SECRET_TITLE = "Mrs Quillfeather's surgery on Elm Road"
SHARED_OUTCOME = "The practice opened a second phone line at 8am."
PRIVATE_OUTCOME = "Spoke to the practice manager."
A_AREAS = ["Northfield", "Riverside"]
B_AREAS = ["Hillview", "Southgate"]


async def add_area_data(session: AsyncSession, name: str, telegram_base: int) -> Area:
    """One area's champions, reports, sessions and a theme, the same whatever database holds it."""
    rng = random.Random(name)
    area = Area(name=name)
    session.add(area)
    await session.flush()
    sharing = Champion(
        telegram_id=telegram_base, language="en", area_id=area.id, share_consent=True, status=Status.ACTIVE
    )
    private = Champion(
        telegram_id=telegram_base + 1,
        language="en",
        area_id=area.id,
        share_consent=False,
        status=Status.ACTIVE,
    )
    session.add_all([sharing, private])
    await session.flush()
    made: list[Report] = []
    for month in (1, 2, 3):
        for topic in ("vaccinations", "gp-access", "maternity"):
            for kind in ("barrier", "question", "works"):
                for n in range(rng.choice([0, 0, 1, 2, 3, 5, 6, 8, 12])):
                    made.append(
                        Report(
                            champion_id=sharing.id,
                            topic=topic,
                            kind=kind,
                            people="few",
                            language="en",
                            area_id=area.id,
                            created_at=datetime(2027, month, 1 + n, 10, tzinfo=UTC),
                        )
                    )
        # Never counted: the champion has not agreed to sharing, or it falls outside the quarter.
        made.append(
            Report(
                champion_id=private.id,
                topic="maternity",
                kind="idea",
                people="one",
                language="en",
                area_id=area.id,
                created_at=datetime(2027, month, 3, tzinfo=UTC),
            )
        )
    made.append(
        Report(
            champion_id=sharing.id,
            topic="maternity",
            kind="idea",
            people="one",
            language="en",
            area_id=area.id,
            created_at=datetime(2027, 4, 1, tzinfo=UTC),
        )
    )
    session.add_all(made)
    for month in (1, 2, 3):
        for setting in ("faith", "school", "online"):
            for n in range(rng.choice([0, 1, 2, 6, 9])):
                session.add(
                    ActivityLog(
                        champion_id=sharing.id,
                        people=rng.choice([1, 2, 6, 11]),
                        topic="gp-access",
                        setting=setting,
                        area_id=area.id,
                        created_at=datetime(2027, month, 2 + n, tzinfo=UTC),
                    )
                )
    await session.flush()
    theme = Theme(
        title=f"{SECRET_TITLE}, {name}",
        step=ThemeStep.ACT,
        area_id=area.id,
        outcome=SHARED_OUTCOME,
        outcome_shared=True,
        created_at=datetime(2027, 1, 20, tzinfo=UTC),
        updated_at=datetime(2027, 2, 20, tzinfo=UTC),
    )
    quiet = Theme(
        title=SECRET_TITLE,
        step=ThemeStep.RESEARCH,
        area_id=area.id,
        outcome=PRIVATE_OUTCOME,
        created_at=datetime(2027, 2, 1, tzinfo=UTC),
        updated_at=datetime(2027, 3, 1, tzinfo=UTC),
    )
    session.add_all([theme, quiet])
    await session.flush()
    for report in made[:7]:
        session.add(ThemeReport(theme_id=theme.id, report_id=report.id))
    session.add(ThemeReport(theme_id=quiet.id, report_id=made[0].id))
    return area


async def add_deliveries(session: AsyncSession, month: int, count: int, telegram_base: int) -> None:
    """`count` campaign messages sent in `month` of 2027 (and one still pending, never counted)."""
    campaign = Campaign(name=f"Flu {telegram_base}")
    session.add(campaign)
    await session.flush()
    broadcast = Broadcast(campaign_id=campaign.id, texts={"en": "Flu jabs at the library"})
    session.add(broadcast)
    await session.flush()
    for n in range(count + 1):
        person = Champion(telegram_id=telegram_base + n, language="en", status=Status.ACTIVE)
        session.add(person)
        await session.flush()
        sent = n < count
        session.add(
            Delivery(
                broadcast_id=broadcast.id,
                champion_id=person.id,
                state="sent" if sent else "pending",
                sent_at=datetime(2027, month, 5, tzinfo=UTC) if sent else None,
            )
        )


async def deployment(session: AsyncSession, which: str) -> None:
    """Deployment A's data, B's, or (for "both") both in one database."""
    if which in ("A", "both"):
        for number, name in enumerate(A_AREAS):
            await add_area_data(session, name, 1000 + 10 * number)
        await add_deliveries(session, 1, 7, 5000)
        # A report with no area: deployment A's own table.
        someone = Champion(telegram_id=900, language="en", share_consent=True, status=Status.ACTIVE)
        session.add(someone)
        await session.flush()
        for _ in range(6):
            session.add(
                Report(
                    champion_id=someone.id,
                    topic="vaccinations",
                    kind="barrier",
                    people="few",
                    language="en",
                    created_at=datetime(2027, 2, 14, tzinfo=UTC),
                )
            )
    if which in ("B", "both"):
        for number, name in enumerate(B_AREAS):
            await add_area_data(session, name, 2000 + 10 * number)
        await add_deliveries(session, 2, 6, 6000)


async def export(
    sessions: async_sessionmaker[AsyncSession], name: str, period: str = "2027-Q1", threshold: int = 5
) -> dict[str, Any]:
    out = io.StringIO()
    async with sessions() as session:
        await write_export(
            session, parse_period(period), load_topics(), out, deployment=name, threshold=threshold, now=NOW
        )
    document: dict[str, Any] = json.loads(out.getvalue())
    jsonschema.Draft202012Validator(schema()).validate(document)
    return document


async def wipe(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))


def table_cells(table: dict[str, Any]) -> tuple[list[list[int | None]], set[tuple[int, int]]]:
    """A published report table as its extended grid (None hidden) and the hidden positions."""
    rows = [[*row["kinds"].values(), row["total"]] for row in table["topics"]]
    grid = [*rows, [*table["kind_totals"].values(), table["total"]]]
    hidden = {(r, c) for r, row in enumerate(grid) for c, value in enumerate(row) if value is None}
    return grid, hidden


async def test_the_export_counts_consented_reports_and_gives_no_small_count_away(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await deployment(session, "A")
    document = await export(sessions, "North")
    assert document["schema"] == "champbot-national" and document["schema_version"] == 1
    assert document["period"] == "2027-Q1" and document["months"] == ["2027-01", "2027-02", "2027-03"]
    assert document["deployments"] == ["North"] and document["areas"] == A_AREAS
    assert document["generated_at"] == "2027-04-02T09:00:00Z" and document["threshold"] == 5
    tables = document["reports"]
    assert [(t["month"], t["area"]) for t in tables] == [
        ("2027-01", "Northfield"),
        ("2027-01", "Riverside"),
        ("2027-02", "Northfield"),
        ("2027-02", "Riverside"),
        ("2027-02", None),
        ("2027-03", "Northfield"),
        ("2027-03", "Riverside"),
    ]
    hidden_any = False
    topics = {t.id: t for t in load_topics()}
    for table in tables:
        assert [row["topic"] for row in table["topics"]] == list(topics)
        assert {row["topic"]: row["core20plus5"] for row in table["topics"]}["maternity"] == "maternity"
        assert {row["topic"]: row["core20plus5"] for row in table["topics"]}["gp-access"] == "none"
        assert "idea" in table["kind_totals"]
        grid, hidden = table_cells(table)
        hidden_any = hidden_any or bool(hidden)
        for row in grid:
            assert all(value is None or value == 0 or value >= 5 for value in row)
    assert hidden_any
    # Nobody who withdrew sharing is counted: the private champion's "idea" reports are nowhere.
    assert all(t["kind_totals"]["idea"] == 0 for t in tables)
    # The table with no area holds the six reports sent with none.
    no_area = next(t for t in tables if t["area"] is None)
    assert no_area["total"] == 6 and no_area["topics"][0]["kinds"]["barrier"] == 6


async def test_hidden_counts_cannot_be_worked_out(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await deployment(session, "A")
    out = io.StringIO()
    async with sessions() as session:
        await write_export(session, Q1, load_topics(), out, deployment="North", now=NOW)
    document = json.loads(out.getvalue())
    # The true counts behind each table, counted here from the rows.
    async with sessions() as session:
        from sqlalchemy import select

        query = (
            select(Area.name, Report.topic, Report.kind, Report.created_at)
            .join(Champion, Champion.id == Report.champion_id)
            .outerjoin(Area, Area.id == Report.area_id)
            .where(Champion.share_consent.is_(True), Report.created_at < Q1.end)
        )
        truth: dict[tuple[str, str | None], dict[tuple[str, str], int]] = {}
        for area, topic, kind, created in await session.execute(query):
            key = (created.astimezone(UTC).strftime("%Y-%m"), area)
            truth.setdefault(key, {})[(topic, kind)] = truth.get(key, {}).get((topic, kind), 0) + 1
    checked = 0
    for table in document["reports"]:
        counts = truth.get((table["month"], table["area"]), {})
        cells = [[counts.get((row["topic"], kind), 0) for kind in row["kinds"]] for row in table["topics"]]
        grid, hidden = table_cells(table)
        full = extended(cells)
        assert all(grid[r][c] in (None, full[r][c]) for r in range(len(full)) for c in range(len(full[0])))
        assert determined(cells, hidden) == []
        checked += len(hidden)
    assert checked > 0
    # Reach: sessions and people hide the same cells, and neither gives one away.
    for table in document["reach"]:
        for name in ("sessions", "people"):
            figures = table[name]
            grid = [[*m["settings"].values(), m["total"]] for m in figures["months"]]
            grid.append([*figures["setting_totals"].values(), figures["total"]])
            assert all(v is None or v == 0 or v >= 5 for row in grid for v in row)
        hidden_s = [[v is None for v in m["settings"].values()] for m in table["sessions"]["months"]]
        hidden_p = [[v is None for v in m["settings"].values()] for m in table["people"]["months"]]
        assert hidden_s == hidden_p


async def test_themes_show_step_and_count_and_only_a_shared_outcome(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await deployment(session, "A")
    out = io.StringIO()
    async with sessions() as session:
        await write_export(session, Q1, load_topics(), out, deployment="North", now=NOW)
    text = out.getvalue()
    assert "Quillfeather" not in text and PRIVATE_OUTCOME not in text
    themes = json.loads(text)["themes"]
    assert [(t["area"], t["step"], t["reports"], t.get("outcome")) for t in themes] == [
        ("Northfield", "research", None, None),  # one report: a small number
        ("Northfield", "act", 7, SHARED_OUTCOME),
        ("Riverside", "research", None, None),
        ("Riverside", "act", 7, SHARED_OUTCOME),
    ]


async def test_an_empty_period_is_a_valid_export_of_zeros(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await deployment(session, "A")
    document = await export(sessions, "North", period="2026-06")
    assert document["months"] == ["2026-06"]
    assert [t["total"] for t in document["reports"]] == [0, 0]
    assert [t["sessions"]["total"] for t in document["reach"]] == [0, 0]
    assert document["campaign_deliveries"] == [{"deployment": "North", "month": "2026-06", "sent": 0}]
    assert document["themes"] == []


def without_deployment(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every entry's deployment name taken out, and no time of writing."""
    stripped = copy.deepcopy(document)
    del stripped["generated_at"], stripped["deployments"]
    for field in ("reports", "reach", "campaign_deliveries", "themes"):
        for entry in stripped[field]:
            del entry["deployment"]
    return stripped


async def test_two_deployments_merged_equal_one_deployment_holding_both(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await deployment(session, "A")
    north = await export(sessions, "North")
    await wipe(sessions)
    async with sessions.begin() as session:
        await deployment(session, "B")
    south = await export(sessions, "South")
    await wipe(sessions)
    async with sessions.begin() as session:
        await deployment(session, "both")
    both = await export(sessions, "Both")

    merged = merge([("north.json", north), ("south.json", south)], now=NOW)
    jsonschema.Draft202012Validator(schema()).validate(merged)
    assert merged["deployments"] == ["North", "South"] and merged["areas"] == sorted(A_AREAS + B_AREAS)
    # Campaign deliveries belong to a deployment, not an area: merged, each deployment keeps its
    # own figures by month, where one deployment has one figure a month. They add up the same.
    by_month: dict[str, int] = {}
    for entry in merged["campaign_deliveries"]:
        by_month[entry["month"]] = by_month.get(entry["month"], 0) + entry["sent"]
    assert (
        by_month
        == {e["month"]: e["sent"] for e in both["campaign_deliveries"]}
        == {"2027-01": 7, "2027-02": 6, "2027-03": 0}
    )
    merged_rest, both_rest = without_deployment(merged), without_deployment(both)
    del merged_rest["campaign_deliveries"], both_rest["campaign_deliveries"]
    assert merged_rest == both_rest  # every table, cell for cell, hidden where it is hidden
    assert any(v is None for t in merged["reports"] for v in t["kind_totals"].values())


async def test_merge_refuses_what_cannot_be_merged(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await deployment(session, "A")
    north = await export(sessions, "North")
    other = copy.deepcopy(north)
    other["deployments"], other["areas"] = ["South"], ["Hillview"]
    for field in ("reports", "reach", "campaign_deliveries", "themes"):
        other[field] = []
    assert merge([("a.json", north), ("b.json", other)], now=NOW)["areas"] == ["Hillview", *A_AREAS]

    def refused(change: dict[str, Any]) -> str:
        changed = {**copy.deepcopy(other), **change}
        with pytest.raises(MergeError) as error:
            merge([("a.json", north), ("b.json", changed)], now=NOW)
        return str(error.value)

    assert refused({"schema_version": 2}) == "b.json: schema version 2; this champbot merges version 1"
    assert refused({"period": "2027-Q2", "months": ["2027-04", "2027-05", "2027-06"]}) == (
        "b.json has period '2027-Q2' but a.json has '2027-Q1': only exports of one period merge"
    )
    assert "threshold 10" in refused({"threshold": 10})
    assert refused({"areas": ["Hillview", "Riverside"]}) == (
        "b.json and a.json both cover area 'Riverside': areas must not overlap"
    )
    assert refused({"deployments": ["North"]}) == "b.json and a.json both hold deployment 'North'"
    assert refused({"reports": [{"area": "Hillview"}]}).startswith(
        "b.json: not a national export (reports/0:"
    )
    with pytest.raises(MergeError, match="at least two"):
        merge([("a.json", north)], now=NOW)


# ------------------------------------------------------------------- the command line


def champbot(database: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "CHAMPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    command = [str(Path(sys.executable).parent / "champbot"), "export", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def filled(database: Path, which: str) -> None:
    """A migrated SQLite database at `database` holding deployment `which`'s data."""
    from storage.db import upgrade

    async def go() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        await upgrade(engine)
        async with make_sessions(engine).begin() as session:
            await deployment(session, which)
        await engine.dispose()

    asyncio.run(go())


def test_champbot_export_national_and_merge(tmp_path: Path) -> None:
    filled(tmp_path / "a.db", "A")
    filled(tmp_path / "b.db", "B")
    done = champbot(
        tmp_path / "a.db",
        "national",
        "--period",
        "2027-Q1",
        "--deployment",
        "North",
        "-o",
        "north.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "2027-01: reports counted" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("Wrote the national export for 2027-Q1 to north.json")
    north = json.loads((tmp_path / "north.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(north)
    done = champbot(
        tmp_path / "b.db",
        "national",
        "--period",
        "2027-Q1",
        "--deployment",
        "South",
        "-o",
        "south.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    done = champbot(
        tmp_path / "b.db", "merge", "north.json", "south.json", "-o", "england.json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    england = json.loads((tmp_path / "england.json").read_text())
    assert england["deployments"] == ["North", "South"]
    assert "Merged 2 exports (North, South; 4 areas) into england.json" in done.stderr
    # Merging north.json with itself: overlapping areas, nothing written.
    done = champbot(tmp_path / "b.db", "merge", "north.json", "north.json", "-o", "twice.json", cwd=tmp_path)
    assert done.returncode == 1 and "both hold deployment 'North'" in done.stderr
    assert not (tmp_path / "twice.json").exists()
    (tmp_path / "broken.json").write_text('{"schema": "champbot-national", ')
    done = champbot(tmp_path / "b.db", "merge", "north.json", "broken.json", "-o", "twice.json", cwd=tmp_path)
    assert done.returncode == 1 and "broken.json: cannot read it as JSON" in done.stderr
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [
        "broken.json",
        "england.json",
        "north.json",
        "south.json",
    ]


def test_champbot_export_national_refuses_a_bad_period_and_writes_nothing(tmp_path: Path) -> None:
    filled(tmp_path / "a.db", "A")
    for period in ("2027-Q5", "last quarter", ""):
        done = champbot(
            tmp_path / "a.db",
            "national",
            "--period",
            period,
            "--deployment",
            "North",
            "-o",
            "out.json",
            cwd=tmp_path,
        )
        assert done.returncode != 0
        assert f"period {period!r} is not one of: a quarter like 2027-Q1" in done.stderr
        assert list(tmp_path.glob("out*")) == [] and list(tmp_path.glob(".out*")) == []
    done = champbot(
        tmp_path / "a.db",
        "national",
        "--period",
        "2027-Q1",
        "--deployment",
        "North",
        "--threshold",
        "3",
        "-o",
        "out.json",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "--threshold" in done.stderr
    done = champbot(
        tmp_path / "a.db",
        "national",
        "--period",
        "2027-Q1",
        "--deployment",
        "  ",
        "-o",
        "out.json",
        cwd=tmp_path,
    )
    assert done.returncode == 1 and "--deployment must be 1-200 characters" in done.stderr
    assert list(tmp_path.glob("*out*")) == []
    done = champbot(
        tmp_path / "a.db",
        "national",
        "--period",
        "2026-Q1",
        "--deployment",
        "North",
        "-o",
        "out.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "No sharing-consented reports, logged sessions or themes in 2026-Q1" in done.stderr
    assert json.loads((tmp_path / "out.json").read_text())["reports"][0]["total"] == 0


def test_champbot_export_national_help_explains_the_file() -> None:
    from click.testing import CliRunner

    from bot.cli import main

    shown = CliRunner().invoke(main, ["export", "national", "--help"]).output
    for words in ("2027-Q1", "sharing", "suppress", "--threshold", "--deployment", "merge"):
        assert words in shown
    assert national_export.SCHEMA_VERSION == 1
