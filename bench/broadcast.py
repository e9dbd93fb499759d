"""Broadcast delivery benchmarks against the local Bot API emulator, each beside a bare baseline.

Three figures, from the broadcast-delivery issue:

1. limits on  — a 3,000-champion broadcast through `DeliveryWorker` with `Budget(29)` against the
   emulator enforcing Telegram's limits (30 messages/s overall, 1/s per chat) sustains ≥ 95% of 30 msg/s,
   and no delivery fails for a 429. Baseline: a bare `send_message` loop paced by the same limiter.
2. limits off — the fan-out rate for 10,000 champions (from queueing until the outbox shows all sent) is
   ≥ 80% of a bare python-telegram-bot `send_message` loop at the same concurrency, with no database.
3. memory     — a 100,000-champion broadcast grows the delivering process's peak RSS by ≤ 60 MB.
   Baseline: a bare `send_message` loop doing the same sends in the same kind of process.

The emulator always runs in a process of its own, so its CPU and memory (it keeps every chat's history)
are not the measured process's. Each figure gets a fresh database: SQLite in a temporary directory, or
with `--db postgresql` a private schema in TEST_DATABASE_URL's database (dropped afterwards).

Run all:      .venv/bin/python -m bench.broadcast            (several minutes; `bench/run` runs every module)
Smoke run:    .venv/bin/python -m bench.broadcast --quick    (counts scaled down 10×)
One figure:   .venv/bin/python -m bench.broadcast --only 2

Absolute times mean little on a shared machine: read the ratios. The exit status is 1 when a target is
missed.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing as mp
import multiprocessing.connection
import sys
import time
import tracemalloc
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bench.common import (
    FIRST_ID,
    Database,
    EmulatorProcess,
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
from bot.budget import Budget
from bot.delivery import DeliveryWorker, WorkerOptions
from bot.emulator import OVERALL_PER_SECOND
from storage import broadcasts, outbox
from storage.audience import Audience
from storage.db import make_sessions
from storage.models import Role, utcnow

TEXT = "Flu jabs this Saturday at the community centre, 10:00-16:00. Please pass it on."
WARM_UP = 200  # coordinators that warm each side up before a measurement
FULL = {"limited": 3_000, "fanout": 10_000, "memory": 100_000}
QUICK = {"limited": 300, "fanout": 1_000, "memory": 10_000}
LIMIT_SHARE = 0.95  # of the emulator's 30 messages a second
FANOUT_RATIO = 0.80  # of the bare loop's rate
MEMORY_LIMIT_MB = 60.0


def size(run: Run, figure: str) -> int:
    """The champion count of a figure; QUICK scales it down 10x."""
    return (QUICK if run.quick else FULL)[figure]


async def prepare(database: Database, emulator: EmulatorProcess, n: int) -> None:
    """`n` champions plus the warm-up coordinators, in the database and in the emulator."""
    engine = database.engine()
    await add_champions(engine, FIRST_ID - WARM_UP, WARM_UP, Role.COORDINATOR)
    await add_champions(engine, FIRST_ID, n)
    await engine.dispose()
    emulator.add_users(FIRST_ID - WARM_UP, WARM_UP + n)


# ----------------------------------------------------------------------------------- the two sides


def make_bot(base_url: str, concurrency: int) -> Bot:
    return Bot("1:bench", base_url=f"{base_url}/bot", request=HTTPXRequest(connection_pool_size=concurrency))


def bare_buttons(key: int) -> InlineKeyboardMarkup:
    """The same three answer-back buttons the worker attaches, built with nothing but PTB."""
    labels = (("shared", "Shared it"), ("question", "A question"), ("concern", "Concern heard"))
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"answer:{key}:{kind}") for kind, label in labels]]
    )


@dataclass
class Tally:
    sent: int = 0
    rate_limited: int = 0
    failed: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def bare_loop(
    bot: Bot, ids: Iterable[int], concurrency: int, limiter: Budget | None = None
) -> Tally:
    """The baseline: a plain send_message loop, at most `concurrency` in flight (an asyncio.Semaphore),
    no database. Tasks are made as slots free up, so memory does not grow with the number of ids."""
    tally = Tally()
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()

    async def send(telegram_id: int) -> None:
        try:
            if limiter is not None:
                await limiter.take(telegram_id)
            await bot.send_message(telegram_id, TEXT, reply_markup=bare_buttons(telegram_id))
            tally.sent += 1
        except RetryAfter:
            tally.rate_limited += 1
        except TelegramError:
            tally.failed += 1
        finally:
            slots.release()

    started = time.perf_counter()
    for telegram_id in ids:
        await slots.acquire()
        task = asyncio.create_task(send(telegram_id))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    tally.seconds = time.perf_counter() - started
    return tally


async def outbox_broadcast(
    database: Database,
    bot: Bot,
    limiter: Budget,
    options: WorkerOptions,
    audience: Audience,
) -> Tally:
    """The code under test: create a broadcast, queue it (fan-out), run a DeliveryWorker until the
    outbox is idle, read the report. Timed from queueing until the report shows nothing pending."""
    engine = database.engine()
    sessions = make_sessions(engine)
    try:
        async with sessions.begin() as session:
            made = await broadcasts.create_broadcast(session, texts={"en": TEXT}, audience=audience)
            broadcast_id = made.id
        started = time.perf_counter()
        async with sessions.begin() as session:
            await broadcasts.queue_due(session, utcnow(), timedelta(hours=1))
        await DeliveryWorker(bot, sessions, limiter, options).run(asyncio.Event(), until_idle=True)
        async with sessions.begin() as session:
            report = await broadcasts.report(session, broadcast_id)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert report.pending == 0, f"broadcast {broadcast_id} still has {report.pending} pending"
    return Tally(
        sent=report.counts.get(outbox.SENT, 0),
        failed=report.counts.get(outbox.FAILED, 0) + report.counts.get(outbox.BLOCKED, 0),
        seconds=seconds,
        counts=report.counts,
    )


WARM_UP_AUDIENCE = Audience(roles=[Role.COORDINATOR.value])
AUDIENCE = Audience(roles=[Role.CHAMPION.value])


# ------------------------------------------------------------------------------------------ figures


async def figure_limited(run: Run) -> None:
    """1: with Telegram's limits on, the outbox keeps close to 30 msg/s and loses nothing to a 429.
    Baseline: a bare send_message loop paced by the same Budget(29), same concurrency."""
    n = size(run, "limited")
    database = await create_database(run.kind, run.workdir, "limited")
    with EmulatorProcess(enforce_limits=True) as emulator:
        await prepare(database, emulator, n)
        options = WorkerOptions(concurrency=run.concurrency)
        async with make_bot(emulator.base_url, run.concurrency) as bot:
            await bare_loop(bot, range(FIRST_ID - WARM_UP, FIRST_ID), run.concurrency, Budget())
            await asyncio.sleep(1.1)  # let the emulator's one-second window empty
            before = emulator.stats()["rate_limited"]
            bare = await bare_loop(bot, range(FIRST_ID, FIRST_ID + n), run.concurrency, Budget())
            bare_429 = emulator.stats()["rate_limited"] - before
            await asyncio.sleep(1.1)  # and again, and every chat's one-second interval with it
            before = emulator.stats()["rate_limited"]
            ours = await outbox_broadcast(database, bot, Budget(), options, AUDIENCE)
            ours_429 = emulator.stats()["rate_limited"] - before
    await drop_database(database)
    limit = float(OVERALL_PER_SECOND)
    emit(
        Row(
            f"1 limits on: rate, {count(n)} ({run.kind})",
            f"{ours.rate:.2f} msg/s = {100 * ours.rate / limit:.1f}% of {limit:.0f}",
            f"{bare.rate:.2f} msg/s bare, paced",
            f"{ours.rate / bare.rate:.3f}",
            f">= {LIMIT_SHARE * limit:.1f} msg/s ({100 * LIMIT_SHARE:.0f}%)",
            ours.rate >= LIMIT_SHARE * limit,
        ),
        run.rows,
    )
    emit(
        Row(
            f"1 limits on: 429s / failed ({run.kind})",
            f"{ours_429} 429s, {ours.failed} failed, {ours.sent:,} sent",
            f"{bare_429} 429s (bare: not retried)",
            "-",
            f"0 failed, all {count(n)} sent",
            ours.failed == 0 and ours.sent == n,
        ),
        run.rows,
    )


async def figure_fanout(run: Run) -> None:
    """2: with the limits off, the outbox delivers at ≥ 80% of a bare send_message loop's rate.
    The two sides take turns `repeat` times and the best of each is compared (the machine is shared)."""
    n = size(run, "fanout")
    database = await create_database(run.kind, run.workdir, "fanout")
    bare_runs: list[Tally] = []
    our_runs: list[Tally] = []
    with EmulatorProcess(enforce_limits=False) as emulator:
        await prepare(database, emulator, n)
        options = WorkerOptions(concurrency=run.concurrency)
        async with make_bot(emulator.base_url, run.concurrency) as bot:
            await bare_loop(bot, range(FIRST_ID - WARM_UP, FIRST_ID), run.concurrency)
            await outbox_broadcast(database, bot, Budget(None), options, WARM_UP_AUDIENCE)
            for _ in range(run.repeat):
                bare_runs.append(await bare_loop(bot, range(FIRST_ID, FIRST_ID + n), run.concurrency))
                our_runs.append(await outbox_broadcast(database, bot, Budget(None), options, AUDIENCE))
    await drop_database(database)
    assert all(t.sent == n for t in bare_runs + our_runs), (bare_runs, our_runs)
    bare = max(bare_runs, key=lambda t: t.rate)
    ours = max(our_runs, key=lambda t: t.rate)
    ratio = ours.rate / bare.rate
    emit(
        Row(
            f"2 limits off: fan-out, {count(n)} ({run.kind})",
            f"{ours.rate:,.0f} msg/s ({ours.seconds:.1f} s)",
            f"{bare.rate:,.0f} msg/s bare ({bare.seconds:.1f} s)",
            f"{ratio:.3f}",
            f"ratio >= {FANOUT_RATIO:.2f}",
            ratio >= FANOUT_RATIO,
        ),
        run.rows,
    )
    turns = ", ".join(f"{b.rate:,.0f}/{o.rate:,.0f}" for b, o in zip(bare_runs, our_runs, strict=True))
    note("2", f"best of {run.repeat} turns; bare/outbox msg/s in each turn: {turns}")


def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise LookupError(field_name)


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


# The outbox side of figure 3 keeps the default limiter's per-chat bookkeeping (as in production) with
# the pacing made negligible, so a 100,000-message run takes minutes rather than an hour.
UNPACED = 1_000_000.0


def _measure_memory(
    conn: mp.connection.Connection, mode: str, database: Database, base_url: str, count: int, concurrency: int
) -> None:
    conn.send(asyncio.run(_memory_main(mode, database, base_url, count, concurrency)))


async def _memory_main(
    mode: str, database: Database, base_url: str, count: int, concurrency: int
) -> dict[str, Any]:
    """In a fresh process: warm up, reset the peak, do the sends, read the peak RSS (VmHWM)."""
    options = WorkerOptions(concurrency=concurrency)
    async with make_bot(base_url, concurrency) as bot:
        if mode == "bare":
            await bare_loop(bot, range(FIRST_ID - WARM_UP, FIRST_ID), concurrency)
        else:
            await outbox_broadcast(database, bot, Budget(UNPACED), options, WARM_UP_AUDIENCE)
        gc.collect()
        reset = _reset_peak()
        start_kb = _status_kb("VmRSS") if reset else _status_kb("VmHWM")
        if mode == "bare":
            tally = await bare_loop(bot, range(FIRST_ID, FIRST_ID + count), concurrency)
        else:
            tally = await outbox_broadcast(database, bot, Budget(UNPACED), options, AUDIENCE)
        peak_kb = _status_kb("VmHWM")
    return {
        "growth_mb": (peak_kb - start_kb) / 1024,
        "start_mb": start_kb / 1024,
        "peak_mb": peak_kb / 1024,
        "reset": reset,
        "sent": tally.sent,
        "seconds": tally.seconds,
    }


def run_memory_child(
    mode: str, database: Database, base_url: str, count: int, concurrency: int
) -> dict[str, Any]:
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=_measure_memory, args=(child, mode, database, base_url, count, concurrency)
    )
    process.start()
    child.close()
    try:
        result: dict[str, Any] = parent.recv()
    except EOFError:
        raise RuntimeError(f"the {mode} memory process died (exit code {process.exitcode})") from None
    process.join()
    return result


async def limiter_bookkeeping_mb(count: int) -> float:
    """What Budget keeps after `count` distinct chats (tracemalloc), to explain figure 3."""
    limiter = Budget(UNPACED)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for telegram_id in range(FIRST_ID, FIRST_ID + count):
            await limiter.take(telegram_id)
        return (tracemalloc.get_traced_memory()[0] - before) / 2**20
    finally:
        tracemalloc.stop()


async def figure_memory(run: Run) -> None:
    """3: a large broadcast grows the delivering process's peak RSS by ≤ 60 MB. Each side runs in a
    fresh child process; the emulator in another one."""
    n = size(run, "memory")
    database = await create_database(run.kind, run.workdir, "memory")
    with EmulatorProcess(enforce_limits=False) as emulator:
        await prepare(database, emulator, n)
        bare = run_memory_child("bare", database, emulator.base_url, n, run.concurrency)
        ours = run_memory_child("outbox", database, emulator.base_url, n, run.concurrency)
    await drop_database(database)
    assert bare["sent"] == n and ours["sent"] == n, (bare, ours)
    how = "VmHWM" if ours["reset"] else "VmHWM, peak NOT reset"
    emit(
        Row(
            f"3 memory: peak RSS growth, {count(n)} ({run.kind})",
            f"{ours['growth_mb']:.1f} MB ({ours['start_mb']:.0f}->{ours['peak_mb']:.0f})",
            f"{bare['growth_mb']:.1f} MB bare ({bare['start_mb']:.0f}->{bare['peak_mb']:.0f})",
            f"{ours['growth_mb'] / bare['growth_mb']:.1f}" if bare["growth_mb"] >= 0.1 else "-",
            f"<= {MEMORY_LIMIT_MB:.0f} MB ({how})",
            ours["growth_mb"] <= MEMORY_LIMIT_MB,
        ),
        run.rows,
    )
    note(
        "3",
        f"of which Budget's per-chat dict: {await limiter_bookkeeping_mb(n):.1f} MB "
        f"(tracemalloc, same {count(n)} chats); rates meanwhile: outbox "
        f"{ours['sent'] / ours['seconds']:,.0f} msg/s, bare {bare['sent'] / bare['seconds']:,.0f} msg/s",
    )


FIGURES = {"1": Figure(figure_limited), "2": Figure(figure_fanout), "3": Figure(figure_memory)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("broadcast benchmarks", FIGURES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
