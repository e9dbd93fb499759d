"""The national export (`champbot export national`) at scale: a quarter of 100,000 champions,
1,000,000 reports and 2,000,000 logged sessions spread over two years (the reports as figure 8 fills
them, the sessions alike), 70% of champions agreeing to sharing.

16. the export of the last full quarter, written to a file, in < 5 s (median of 3), beside a
   primary-key lookup in the same database and run; and its memory: the peak of Python allocations
   (tracemalloc) while exporting, at a tenth of the size and at full size. Flat means the ratio of
   the two stays near 1 (target ≤ 1.5) while the rows grow tenfold: the counting is done by the
   database (GROUP BY) and the tables written as they are made.

Run:         bench/run --only 16            (fills two databases first: a few minutes)
Smoke run:   bench/run --only 16 --quick    (a tenth and a hundredth of the size)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import tracemalloc
from datetime import UTC
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import (
    Database,
    Figure,
    Row,
    Run,
    count,
    create_database,
    drop_database,
    emit,
    note,
    run_figures,
)
from bench.data_scale import AREAS, _case, _spread, fill
from storage.db import make_sessions
from storage.models import Champion, utcnow
from storage.national_export import SETTINGS, write_export
from storage.periods import Period, parse_period
from storage.report_topics import load_topics

FULL = {"champions": 100_000, "reports": 1_000_000, "logs": 2_000_000}
LIMIT_S = 5.0
FLAT = 1.5
RUNS = 3
CHUNK = 100_000


def last_quarter() -> Period:
    """The last quarter that has ended."""
    now = utcnow()
    quarter = (now.month - 1) // 3  # this quarter, counted from 0
    year, previous = (now.year, quarter) if quarter else (now.year - 1, 4)
    return parse_period(f"{year}-Q{previous}")


async def fill_logs(engine: AsyncEngine, champions: int, logs: int) -> None:
    """`logs` sessions over about two years (one every 30 s), from champions in AREAS areas, by the
    database itself; and 70% of champions agreeing to sharing."""
    sessions = make_sessions(engine)
    async with sessions.begin() as session:
        await session.execute(text("UPDATE champion SET share_consent = (id % 10 < 7)"))
        first = await session.scalar(select(func.min(Champion.id)))
    topics = [topic.id for topic in load_topics()]
    columns = {
        "champion_id": f"{first} + (i % {champions})",
        "people": _case(_spread("i", 4, 1), ["1", "2", "6", "11"]).replace("'", ""),
        "topic": _case(_spread("i", 9, 2), topics),
        "setting": _case(_spread("i", len(SETTINGS), 3), list(SETTINGS)),
        "area_id": f"1 + {_spread('i', AREAS, 4)}",
    }
    postgres = engine.dialect.name == "postgresql"
    now = utcnow().replace(microsecond=0)
    for start in range(0, logs, CHUNK):
        stop = min(start + CHUNK, logs)
        if postgres:
            prefix, source = "", f"generate_series({start}, {stop - 1}) AS n(i)"
            created = "CAST(:now AS timestamptz) - i * interval '30 seconds'"
        else:
            prefix = (
                f"WITH RECURSIVE n(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM n WHERE i < {stop - 1}) "
            )
            source, created = "n", "datetime(:now, '-' || (i * 30) || ' seconds')"
        names = [*columns, "created_at"]
        sql = (
            f"{prefix}INSERT INTO activity_log ({', '.join(names)}) "
            f"SELECT {', '.join([*columns.values(), created])} FROM {source}"
        )
        async with sessions.begin() as session:
            await session.execute(text(sql), {"now": now if postgres else now.strftime("%Y-%m-%d %H:%M:%S")})
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


async def export_once(engine: AsyncEngine, period: Period, path: Path) -> float:
    """Seconds to write the national export of `period` to `path`."""
    topics = load_topics()
    started = time.perf_counter()
    async with make_sessions(engine)() as session:
        with path.open("w", encoding="utf-8") as out:
            await write_export(session, period, topics, out, deployment="Bench", now=utcnow().astimezone(UTC))
    return time.perf_counter() - started


async def peak_memory(engine: AsyncEngine, period: Period, path: Path) -> int:
    """The peak of Python allocations (bytes) while exporting, above what was allocated before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        await export_once(engine, period, path)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


async def filled(run: Run, tag: str, sizes: dict[str, int]) -> Database:
    database = await create_database(run.kind, run.workdir, tag)
    started = time.perf_counter()
    engine = database.engine()
    try:
        await fill(engine, sizes["champions"], sizes["reports"])
        await fill_logs(engine, sizes["champions"], sizes["logs"])
    finally:
        await engine.dispose()
    note(
        "16",
        f"{run.kind}: {count(sizes['champions'])} champions, {count(sizes['reports'])} reports and "
        f"{count(sizes['logs'])} sessions filled in {time.perf_counter() - started:.0f} s",
    )
    return database


async def figure_national(run: Run) -> None:
    """16: the national export of a quarter: time at full size, memory at two sizes."""
    full = {k: v // (10 if run.quick else 1) for k, v in FULL.items()}
    small = {k: v // 10 for k, v in full.items()}
    period = last_quarter()
    path = Path(run.workdir) / "national.json"
    peaks = []
    for tag, sizes in (("national_small", small), ("national_full", full)):
        database = await filled(run, tag, sizes)
        engine = database.engine()
        try:
            async with make_sessions(engine)() as session:
                first = int(await session.scalar(select(func.min(Champion.id))) or 0)
                lookups = []
                for n in range(15):
                    started = time.perf_counter()
                    await session.get(Champion, first + 11 + n, populate_existing=True)
                    lookups.append(time.perf_counter() - started)
            baseline_ms = statistics.median(lookups) * 1000
            seconds = statistics.median([await export_once(engine, period, path) for _ in range(RUNS)])
            peaks.append(await peak_memory(engine, period, path))
            note(
                "16",
                f"{tag}: {period.label} exported in {seconds:.2f} s, {path.stat().st_size:,} bytes, "
                f"peak {peaks[-1] / 1e6:.1f} MB",
            )
        finally:
            await engine.dispose()
            await drop_database(database)
    size = f"{count(full['reports'])} reports, {count(full['logs'])} logs"
    emit(
        Row(
            f"16 {run.kind}: national export, {period.label}"[:48],
            f"{seconds:.2f} s ({size})"[:30],
            f"{baseline_ms:.2f} ms PK lookup",
            f"{seconds * 1000 / baseline_ms:.0f}",
            f"< {LIMIT_S:.0f} s",
            seconds < LIMIT_S,
        ),
        run.rows,
    )
    ratio = peaks[1] / peaks[0]
    emit(
        Row(
            f"16 {run.kind}: export memory, 10x the rows"[:48],
            f"peak {peaks[1] / 1e6:.1f} MB",
            f"peak {peaks[0] / 1e6:.1f} MB at a tenth",
            f"{ratio:.2f}",
            f"≤ {FLAT} (flat)",
            ratio <= FLAT,
        ),
        run.rows,
    )


FIGURES = {"16": Figure(figure_national)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("national export benchmark", FIGURES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
