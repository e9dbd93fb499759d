"""Dashboard pages: the time each page takes to answer a signed-in coordinator with 100,000
champions and 1,000,000 reports in the database (figure 8's data, filled by its builder).

The dashboard runs in this process behind aiohttp's test server on a loopback port; a page's time
is from sending the request to reading the whole body (p50 and p95 of several warm runs), so it is
the server's time plus a loopback round trip. The baseline beside it is a primary-key lookup of one
champion in the same database and run. Target: p95 < 200 ms (issue 14).

The learning page reads the snapshot of its figures the running bot's job refreshes every ten
minutes, so the snapshot is refreshed once after filling, as the job would; that refresh (the
figures counted over every snippet read, in the background) is timed on a line of its own, with
no target, and so is counting them live as the page did before the snapshot.

A page added to the dashboard is one more path in PAGES.

Run:         bench/run --only 15              (fills the database first: about a minute)
Smoke run:   bench/run --only 15 --quick      (10,000 champions, 100,000 reports)
PostgreSQL:  TEST_DATABASE_URL=... bench/run --only 15 --db postgresql
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import String, case, func, insert, literal, literal_column, select, text, true, union_all
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
from bench.data_scale import FULL, QUICK, fill
from bot.app import load_content, load_report_topics
from bot.settings import load_settings
from bot.web import web_app
from storage import champions, learning, learning_snapshot, web_sessions
from storage.content import Library
from storage.db import make_sessions
from storage.models import Champion, SnippetProgress, UTCDateTime, utcnow

# The signed-in pages timed, as paths under the dashboard's home: one line per page.
PAGES = [
    "./",  # the overview, this month
    "./?period=30d",
    "./?period=week",
    "insights",  # the reports, newest first
    "insights?q=clinic",  # searched for words every report has
    "insights?q=nowhere-said",  # and for words none has
    "champions",  # the champions, newest first
    "champions?status=pending",
    "learning",  # completion per topic and area, on the reading `fill_reading` adds
    "exports",  # the Exports page's choices
    "broadcasts",  # the broadcasts list, first page
    "compose",  # composing a broadcast: the audiences offered
    "campaigns",  # the campaigns list, its reach chart and the upload form
]
SIGN_IN = "./"  # what someone not signed in is shown: the sign-in page
LIMIT_MS = 200.0
RUNS = {False: 40, True: 15}  # warm runs per page, full size and quick
COUNTING_RUNS = 5  # warm runs of counting the learning figures (about a second each at full size)
COORDINATOR = 19_999_999  # a Telegram id clear of the champions the data builder adds


async def fill_reading(engine: AsyncEngine, library: Library) -> int:
    """Snippet progress for the learning page: each champion has read each snippet with a chance
    falling from 60% for the library's first to about 25% for its last (spread independently, as
    figure 8 spreads report columns), and answered two in three of those quizzes, half of them
    right. About 5 reads a champion: half a million rows for 100,000 champions."""
    ids = library.all_ids()
    snippets = union_all(  # not VALUES … AS t(a, b), which SQLite lacks
        *(select(literal(i, String).label("snippet_id"), literal(n).label("n")) for n, i in enumerate(ids))
    ).subquery("snippet")
    spread = (Champion.id * literal_column("2654435761") + snippets.c.n * 40503) % 1000003
    chance = 60 - (35 * snippets.c.n) // max(len(ids) - 1, 1)
    answer = spread % 6
    reading = (
        select(
            Champion.id,
            snippets.c.snippet_id,
            literal(utcnow(), UTCDateTime()),
            case((answer < 2, None), else_=answer < 4),
            case((answer < 2, None), else_=literal(utcnow(), UTCDateTime())),
        )
        .join(snippets, true())
        .where(spread % 100 < chance)
    )
    names = ["champion_id", "snippet_id", "read_at", "quiz_correct", "answered_at"]
    async with engine.begin() as connection:
        await connection.execute(insert(SnippetProgress).from_select(names, reading))
        reads = int(await connection.scalar(select(func.count()).select_from(SnippetProgress)) or 0)
    # Freshly bulk-loaded PostgreSQL tables have no visibility map until autovacuum gets to them,
    # which a live database's have had long since; without it, index-only scans read the rows too.
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return reads


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 of the samples, in their unit."""
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), cuts[18]


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """p50 and p95 milliseconds of `runs` runs of `work`, after one warm-up run."""
    await work()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def page_time(client: TestClient[Any, Any], path: str) -> Callable[[], Awaitable[None]]:
    """One request for `path`, its whole body read; a page that does not answer 200 stops the run."""

    async def get() -> None:
        async with client.get("/" + path.removeprefix("./")) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")

    return get


async def figure_pages(run: Run) -> None:
    """15: each dashboard page's p50/p95 time on a database filled to full size."""
    counts = QUICK if run.quick else FULL
    runs = RUNS[run.quick]
    database: Database = await create_database(run.kind, run.workdir, "pages")
    engine = database.engine()
    try:
        started = time.perf_counter()
        await fill(engine, counts["champions"], counts["reports"])
        note(
            "15",
            f"{run.kind}: {count(counts['champions'])} champions and {count(counts['reports'])} "
            f"reports filled in {time.perf_counter() - started:.0f} s; {runs} runs a page",
        )
        library = load_content()
        started = time.perf_counter()
        reads = await fill_reading(engine, library)
        note("15", f"{count(reads)} snippet reads filled in {time.perf_counter() - started:.0f} s")
        sessions = make_sessions(engine)

        async def refresh() -> None:  # what the bot's job does every ten minutes
            async with sessions.begin() as session:
                await learning_snapshot.refresh(session, library, utcnow())

        async def count_live() -> None:  # what the learning page did on every visit before
            async with sessions() as session:
                await learning.topic_completion(session, library)
                await learning.completion(session, library)

        counting = [
            ("learning counted live (before)", await timed(COUNTING_RUNS, count_live)),
            ("learning snapshot refresh (job)", await timed(COUNTING_RUNS, refresh)),
        ]
        async with sessions.begin() as session:
            coordinator = await champions.make_coordinator(session, COORDINATOR, "Bench coordinator", "en")
            token = await web_sessions.create_login(session, coordinator.id, utcnow())
            first = int(await session.scalar(select(func.min(Champion.id))) or 0)
        async with sessions() as session:
            baseline = await timed(runs, lambda: session.get(Champion, first + 11, populate_existing=True))
        settings, topics = load_settings(web_url="http://127.0.0.1"), load_report_topics()
        signed_in = TestClient(TestServer(web_app(sessions, settings, topics, library)))
        stranger = TestClient(TestServer(web_app(sessions, settings, topics, library)))  # no cookie
        async with signed_in as client, stranger:
            answer = await client.post("/signin", data={"token": token}, allow_redirects=False)
            if answer.status != 303:
                raise RuntimeError(f"signing in answered {answer.status}")
            timings = [(f"sign-in page {SIGN_IN}", await timed(runs, page_time(stranger, SIGN_IN)))]
            for path in PAGES:
                timings.append((path, await timed(runs, page_time(client, path))))
        for name, (p50, p95) in timings:
            emit(
                Row(
                    f"15 {run.kind}: {name}"[:48],
                    f"p50 {p50:.1f} / p95 {p95:.1f} ms",
                    f"p50 {baseline[0]:.2f} / p95 {baseline[1]:.2f} ms PK",
                    f"{p50 / baseline[0]:.1f}",
                    f"p95 < {LIMIT_MS:.0f} ms",
                    p95 < LIMIT_MS,
                ),
                run.rows,
            )
        for name, (p50, p95) in counting:  # in the background or gone: no target
            emit(
                Row(
                    f"15 {run.kind}: {name}"[:48],
                    f"p50 {p50:.1f} / p95 {p95:.1f} ms",
                    f"p50 {baseline[0]:.2f} / p95 {baseline[1]:.2f} ms PK",
                    f"{p50 / baseline[0]:.1f}",
                    "none (not a page)",
                    True,
                ),
                run.rows,
            )
    finally:
        await engine.dispose()
        await drop_database(database)


FIGURES = {"15": Figure(figure_pages)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("dashboard-pages benchmark", FIGURES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
