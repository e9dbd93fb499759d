"""Reach at scale: the /stats and dashboard reach figures on 100,000 champions and 2,000,000 logged
conversation sessions (/log).

Each figure (storage.activity_figures, as /stats and the overview run it: the period's reach and
its reach by setting) is the median of several
warm runs, beside a primary-key lookup in the same database and run; target < 200 ms, and no plan
that reads the whole activity_log table.

Run:         bench/run --only 17              (fills the database first)
Smoke run:   bench/run --only 17 --quick      (10,000 champions, 200,000 sessions)
PostgreSQL:  TEST_DATABASE_URL=... bench/run --only 17 --db postgresql
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import (
    Database,
    Figure,
    Row,
    Run,
    add_champions,
    count,
    create_database,
    drop_database,
    emit,
    note,
    run_figures,
)
from bench.data_scale import AREAS, FIRST_ID, _case, _spread, plan, timed
from handlers.stats import period_bounds
from storage import activity_figures, directory
from storage.activity_logs import BANDS, SETTINGS
from storage.db import make_sessions
from storage.models import ActivityLog, Champion, utcnow
from storage.report_topics import load_topics

FULL = {"champions": 100_000, "sessions": 2_000_000}
QUICK = {"champions": 10_000, "sessions": 200_000}
LIMIT_MS = 200.0
CHUNK = 200_000
MINUTES_APART = 0.5  # 2,000,000 sessions over about two years


async def fill(engine: AsyncEngine, champions: int, sessions_logged: int) -> None:
    """`champions` active champions in AREAS areas and `sessions_logged` sessions over about two
    years, inserted by the database itself (INSERT … SELECT over a generated series)."""
    sessions = make_sessions(engine)
    async with sessions.begin() as session:
        await directory.add_areas(session, [f"Ward {n}" for n in range(AREAS)])
    await add_champions(engine, FIRST_ID, champions)
    async with sessions.begin() as session:
        await session.execute(text(f"UPDATE champion SET area_id = 1 + (id % {AREAS})"))
        first = await session.scalar(select(func.min(Champion.id)))
    bands = list(BANDS)
    columns = {
        "champion_id": f"{first} + (i % {champions})",
        "people": f"CASE {_spread('i', 5, 1)} "
        + " ".join(f"WHEN {n} THEN {BANDS[b]}" for n, b in enumerate(bands))
        + " END",
        "band": _case(_spread("i", 5, 1), bands),
        "topic": _case(_spread("i", 9, 2), [topic.id for topic in load_topics()]),
        "setting": _case(_spread("i", len(SETTINGS), 3), list(SETTINGS)),
        "area_id": f"1 + {_spread('i', AREAS, 4)}",
    }
    postgres = engine.dialect.name == "postgresql"
    now = utcnow().replace(microsecond=0)
    for start in range(0, sessions_logged, CHUNK):
        stop = min(start + CHUNK, sessions_logged)
        if postgres:
            prefix, source = "", f"generate_series({start}, {stop - 1}) AS n(i)"
            created = f"CAST(:now AS timestamptz) - i * interval '{int(MINUTES_APART * 60)} seconds'"
        else:
            prefix = (
                f"WITH RECURSIVE n(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM n WHERE i < {stop - 1}) "
            )
            source = "n"
            created = f"datetime(:now, '-' || (i * {int(MINUTES_APART * 60)}) || ' seconds')"
        names = ", ".join([*columns, "created_at"])
        values = ", ".join([*columns.values(), created])
        sql = f"{prefix}INSERT INTO activity_log ({names}) SELECT {values} FROM {source}"
        async with sessions.begin() as session:
            await session.execute(text(sql), {"now": now if postgres else now.strftime("%Y-%m-%d %H:%M:%S")})
        note("17", f"… {stop:,} of {sessions_logged:,} sessions")
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


def full_scan(lines: list[str]) -> bool:
    """Whether a plan reads the whole activity_log table rather than an index."""
    return any(
        "Seq Scan on activity_log" in line or (line.startswith("SCAN activity_log") and "INDEX" not in line)
        for line in lines
    )


async def figure_reach(run: Run) -> None:
    """17: the reach figures' median times and plans on a database filled to full size."""
    counts = QUICK if run.quick else FULL
    database: Database = await create_database(run.kind, run.workdir, "reach")
    engine = database.engine()
    try:
        started = time.perf_counter()
        await fill(engine, counts["champions"], counts["sessions"])
        note(
            "17",
            f"{run.kind}: {count(counts['champions'])} champions and {count(counts['sessions'])} "
            f"sessions filled in {time.perf_counter() - started:.0f} s",
        )
        now = utcnow()
        month, _now = period_bounds("month", now, "Europe/London")
        days30 = now - timedelta(days=30)
        between = [ActivityLog.created_at >= days30, ActivityLog.created_at < now]
        figures = [
            ("reach, last 30 days", lambda s: activity_figures.reach(s, days30, now)),
            ("reach, this month", lambda s: activity_figures.reach(s, month, now)),
            ("reach by area, last 30 days", lambda s: activity_figures.reach_by(s, "area", days30, now)),
            ("reach by setting, 30 days", lambda s: activity_figures.reach_by(s, "setting", days30, now)),
            ("reach, 30 days, 3 areas", lambda s: activity_figures.reach(s, days30, now, [1, 2, 3])),
        ]
        statements: list[Any] = [  # Select statements of any shape
            select(func.count(), func.sum(ActivityLog.people)).where(*between),
            select(ActivityLog.area_id, func.count(), func.sum(ActivityLog.people))
            .where(*between)
            .group_by(ActivityLog.area_id),
        ]
        sessions = make_sessions(engine)
        async with sessions() as session:
            first = int(await session.scalar(select(func.min(Champion.id))) or 0)
            baseline = await timed(session, lambda s: s.get(Champion, first + 11, populate_existing=True))
            plans = [await plan(session, statement) for statement in statements]
            scans = any(full_scan(lines) for lines in plans)
            for lines in plans:
                note("17", "plan: " + " | ".join(line.strip() for line in lines))
            for name, query in figures:
                ms = await timed(session, query)
                emit(
                    Row(
                        f"17 {run.kind}: {name}"[:48],
                        f"{ms:.1f} ms" + (" FULL SCAN" if scans else ""),
                        f"{baseline:.2f} ms PK lookup",
                        f"{ms / baseline:.1f}",
                        f"< {LIMIT_MS:.0f} ms, no log scan",
                        ms < LIMIT_MS and not scans,
                    ),
                    run.rows,
                )
    finally:
        await engine.dispose()
        await drop_database(database)


FIGURES = {"17": Figure(figure_reach)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("reach benchmark", FIGURES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
