"""Scale of data: the coordinator's hot queries on 100,000 champions and 1,000,000 reports.

Each query is timed (median of several runs, on a warm database) and must answer in under 200 ms;
the baseline beside it is a primary-key lookup of one champion in the same database and run. Each
query's plan is checked for a full scan of the report table (and printed with `--plans`), since an
index that stopped being used would pass on small data and fail on real data.

Run:         bench/run --only 8              (fills the database first: about a minute)
Smoke run:   bench/run --only 8 --quick      (10,000 champions, 100,000 reports)
PostgreSQL:  TEST_DATABASE_URL=... bench/run --only 8 --db postgresql
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, distinct, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

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
from storage import audience, directory, insight_figures, reports
from storage.audience import Audience
from storage.db import make_sessions
from storage.models import Champion, Report, utcnow
from storage.report_topics import load_topics
from storage.reports import Filters

FULL = {"champions": 100_000, "reports": 1_000_000}
QUICK = {"champions": 10_000, "reports": 100_000}
AREAS = 20
FIRST_ID = 20_000_000
LIMIT_MS = 200.0
RUNS = 15
CHUNK = 100_000


@dataclass
class Query:
    """One hot path: what it runs, and the statements whose plans are checked."""

    name: str
    run: Callable[[AsyncSession], Awaitable[Any]]
    statements: list[Any]  # Select statements of any shape


async def fill(engine: AsyncEngine, champions: int, count: int) -> None:
    """`champions` active champions in AREAS areas and `count` reports over about two years,
    inserted by the database itself (INSERT … SELECT over a generated series), with progress."""
    sessions = make_sessions(engine)
    async with sessions.begin() as session:
        await directory.add_areas(session, [f"Ward {n}" for n in range(AREAS)])
    await add_champions(engine, FIRST_ID, champions)
    async with sessions.begin() as session:
        await session.execute(text(f"UPDATE champion SET area_id = 1 + (id % {AREAS})"))
        first = await session.scalar(select(func.min(Champion.id)))
    topics = [topic.id for topic in load_topics()]
    columns = {
        "champion_id": f"{first} + (i % {champions})",
        "topic": _case(_spread("i", 9, 1), topics),
        "kind": _case(_spread("i", 6, 2), list(reports.KINDS)),
        "text": "'Heard at the school gate that the clinic is closed on Saturdays'",
        "people": _case(_spread("i", 3, 3), list(reports.PEOPLE)),
        "area_id": f"1 + {_spread('i', AREAS, 4)}",
        "anonymous": "(i % 2 = 0)",
        "language": "'en'",
        "status": f"CASE WHEN {_spread('i', 10, 5)} < 6 THEN 'seen' WHEN {_spread('i', 10, 5)} < 9 "
        "THEN 'acted' ELSE 'new' END",
    }
    postgres = engine.dialect.name == "postgresql"
    minutes = "i * interval '1 minute'" if postgres else None
    now = utcnow().replace(microsecond=0)
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        if postgres:
            source = f"generate_series({start}, {stop - 1}) AS n(i)"
            created = f"CAST(:now AS timestamptz) - {minutes}"
            prefix = ""
        else:
            prefix = (
                f"WITH RECURSIVE n(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM n WHERE i < {stop - 1}) "
            )
            source = "n"
            created = "datetime(:now, '-' || i || ' minutes')"
        names = [*columns, "created_at", "updated_at"]
        values = [*columns.values(), created, created]
        sql = f"{prefix}INSERT INTO report ({', '.join(names)}) SELECT {', '.join(values)} FROM {source}"
        async with sessions.begin() as session:
            await session.execute(text(sql), {"now": now if postgres else now.strftime("%Y-%m-%d %H:%M:%S")})
        note("8", f"… {stop:,} of {count:,} reports")
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


def _spread(column: str, n: int, seed: int) -> str:
    """A value 0..n-1 that looks random and is independent of the other columns' (a multiplicative
    hash with a different multiplier each), so filters combine as they would in real data."""
    multiplier = (2654435761, 2246822519, 3266489917, 668265263, 374761393)[seed - 1]
    return f"((CAST({column} AS BIGINT) * {multiplier}) % 1000003 % {n})"


def _case(expression: str, values: list[str]) -> str:
    whens = " ".join(f"WHEN {n} THEN '{value}'" for n, value in enumerate(values))
    return f"CASE {expression} {whens} END"


def queries(first_champion: int) -> list[Query]:
    """The coordinator's and champion's hot paths, as the handlers run them."""
    now = utcnow()
    month = now - timedelta(days=30)

    def page(filters: Filters, offset: int = 0) -> Query:
        query = filters.apply(select(Report)).order_by(Report.created_at.desc(), Report.id.desc())
        name = "/insights page " + (", ".join(f"{k}={v}" for k, v in filters.to_dict().items()) or "all")
        if offset:
            name += f" @{offset}"
        return Query(
            name,
            lambda s: reports.find(s, filters, offset=offset, limit=5),
            [
                query.offset(offset).limit(5),
                select(func.count()).select_from(
                    filters.apply(select(Report.id))
                    .order_by(Report.created_at.desc())
                    .offset(offset)
                    .limit(reports.COUNT_CAP + 1)
                    .subquery()
                ),
            ],
        )

    def size(name: str, who: Audience) -> Query:
        return Query(name, lambda s: audience.size(s, who), [audience.members(who)])

    return [
        size("audience size: everyone", Audience()),
        size("audience size: one area", Audience(areas=[3])),
        size("audience size: area + language", Audience(areas=[3], languages=["en"])),
        page(Filters()),
        page(Filters(topic="housing")),
        page(Filters(status="new", area_id=3)),
        page(Filters(status="new", area_id=3, topic="housing", kind="idea")),
        page(Filters(status="new", area_id=99)),  # nothing matches: must not read every report
        page(Filters(kind="misinfo", since=month)),
        page(Filters(topic="vaccinations"), offset=500),
        Query(
            "/stats last 30 days, with the 30 before",
            lambda s: insight_figures.figures(s, month, now),
            [
                select(Report.topic, func.count(Report.id))
                .where(Report.created_at >= month, Report.created_at < now)
                .group_by(Report.topic),
                select(func.count(distinct(Report.champion_id))).where(
                    Report.created_at >= month, Report.created_at < now
                ),
            ],
        ),
        Query(
            "/myreports page",
            lambda s: reports.of_champion(s, first_champion + 7),
            [
                select(Report)
                .where(Report.champion_id == first_champion + 7)
                .order_by(Report.created_at.desc())
            ],
        ),
    ]


async def timed(session: AsyncSession, run: Callable[[AsyncSession], Awaitable[Any]]) -> float:
    """Median milliseconds of RUNS runs, after one warm-up run."""
    await run(session)
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        await run(session)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def plan(session: AsyncSession, statement: Select[Any]) -> list[str]:
    """The database's plan for a statement, one line per step."""
    connection = await session.connection()
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    parameters = tuple(compiled.params[name] for name in compiled.positiontup or ())
    result = await connection.exec_driver_sql(explain + str(compiled), parameters)
    return [str(row[-1]) for row in result]


def full_scan(lines: list[str]) -> bool:
    """Whether a plan reads the whole report table rather than an index."""
    for line in lines:
        if "Seq Scan on report" in line:
            return True
        if line.startswith("SCAN report") and "INDEX" not in line:
            return True
    return False


async def figure_data(run: Run) -> None:
    """8: each hot query's median time and plan on a database filled to full size."""
    counts = QUICK if run.quick else FULL
    database: Database = await create_database(run.kind, run.workdir, "data")
    engine = database.engine()
    try:
        started = time.perf_counter()
        await fill(engine, counts["champions"], counts["reports"])
        note(
            "8",
            f"{run.kind}: {count(counts['champions'])} champions and {count(counts['reports'])} "
            f"reports filled in {time.perf_counter() - started:.0f} s",
        )
        sessions = make_sessions(engine)
        async with sessions() as session:
            first = int(await session.scalar(select(func.min(Champion.id))) or 0)
            baseline = await timed(session, lambda s: s.get(Champion, first + 11, populate_existing=True))
            for query in queries(first):
                ms = await timed(session, query.run)
                plans = [await plan(session, statement) for statement in query.statements]
                scans = any(full_scan(lines) for lines in plans)
                for lines in plans:
                    note("8", f"plan [{query.name}]: " + " | ".join(line.strip() for line in lines))
                emit(
                    Row(
                        f"8 {run.kind}: {query.name}"[:48],
                        f"{ms:.1f} ms" + (" FULL SCAN" if scans else ""),
                        f"{baseline:.2f} ms PK lookup",
                        f"{ms / baseline:.1f}",
                        f"< {LIMIT_MS:.0f} ms, no report scan",
                        ms < LIMIT_MS and not scans,
                    ),
                    run.rows,
                )
    finally:
        await engine.dispose()
        await drop_database(database)


FIGURES = {"8": Figure(figure_data)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("data-scale benchmark", FIGURES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
