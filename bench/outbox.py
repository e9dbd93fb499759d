"""Outbox benchmarks: person-to-person messages and interactive replies while a broadcast is delivered
at Telegram's limits, against the emulator enforcing them (30 messages/s overall, 1/s per chat) in a
process of its own.

9. reply behind a broadcast — while a 10,000-champion broadcast goes out, 20 replies to reports are
   queued at random moments as the /insights handler queues them (`reports.reply` and
   `outbox.queue(REPLY)` in one transaction, then the workers' `Wake` rung after the commit). Delivery
   is `bot.channels.run_delivery`, as the bot runs it, in this process. Figure: p50/p99 from the commit
   to the emulator receiving the reply's sendMessage, p99 < 2 s. Baseline: the same replies with no
   broadcast, to the same workers. The broadcast is stopped once the replies are measured.
10. one budget — the real bot (`build_application` + `serve_polling`, delivery workers in the same
   process, as `champbot run` runs it) in a process of its own answers /help from other champions at
   20 updates/s (open loop, played by the emulator) while that broadcast goes out. Figure: the most
   send requests the emulator saw in any one second (≤ 30) and its 429s (0), beside the /help latency
   p50/p99 from push to reply. Baseline: the same traffic with no broadcast.

Times are taken with `time.monotonic()` in this process (commit) and in the emulator's (arrival): on
Linux that clock is the machine's, so the two compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.broadcast import TEXT
from bench.common import (
    FIRST_ID,
    Command,
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
from bench.handling import Text, driver_commands, percentile, problems, start_bot
from bot.app import SANDBOX_TOKEN, load_content, load_report_topics
from bot.budget import Budget
from bot.channels import run_delivery
from bot.context import Services
from bot.emulator import OVERALL_PER_SECOND, Emulator, Event
from bot.heartbeat import sharing
from bot.i18n import compile_catalogs
from bot.settings import Settings, load_settings
from bot.wake import Wake
from storage import broadcasts, directory, outbox, reports
from storage.audience import Audience
from storage.db import make_sessions
from storage.models import Champion, Role

REPLY = "We asked the GP surgery: evening clinics start next month."
FULL = {"broadcast": 10_000, "replies": 20, "window": 120.0, "seconds": 60.0}
QUICK = {"broadcast": 2_000, "replies": 10, "window": 20.0, "seconds": 15.0}
BASELINE_WINDOW = 10.0  # seconds the baseline's replies are spread over (no broadcast to wait behind)
SEED = 11  # the replies' random moments, the same in every run
REPLY_P99_LIMIT_MS = 2000.0
REPLY_TIMEOUT = 30.0  # a reply not received this long after the last was queued counts as lost
INTERACTIVE_RATE = 20.0  # updates/s in figure 10
INTERACTIVE_CHAMPIONS = 1_000  # each gets /help every 50 s: a slow answer is not overtaken by the next
WARM_UP_SECONDS = 3.0
HELP = ((Text("/help"),),)  # one message in answer


def size(run: Run, key: str) -> float:
    return (QUICK if run.quick else FULL)[key]


# --------------------------------------------------------------------- in the emulator's process


class Watcher:
    """When each watched chat first got a message from the bot, and how many messages the broadcast's
    chats got. Chains the listener already set (the driver's)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.watched: set[int] = set()
        self.first: dict[int, float] = {}
        self.bulk = range(0)
        self.bulk_sent = 0
        self._next = emulator.listener
        emulator.listener = self.on_event

    def on_event(self, event: Event, chat_id: int) -> None:
        if event == "message":
            if chat_id in self.bulk:
                self.bulk_sent += 1
            elif chat_id in self.watched and chat_id not in self.first:
                self.first[chat_id] = time.monotonic()
        if self._next is not None:
            self._next(event, chat_id)

    async def watch(self, chats: list[int]) -> None:
        self.watched = set(chats)
        self.first.clear()

    async def seen(self) -> dict[int, float]:
        return dict(self.first)

    async def broadcast(self, start: int, n: int) -> None:
        self.bulk = range(start, start + n)

    async def window(self) -> dict[str, Any]:
        """What was seen so far, and the send peak since the last call (then measured afresh)."""
        seen = {
            "at": time.monotonic(),
            "peak": self.emulator.send_peak,
            "rate_limited": self.emulator.rate_limited,
            "bulk_sent": self.bulk_sent,
        }
        self.emulator.send_peak = 0
        return seen


def outbox_commands(emulator: Emulator, app: web.Application) -> dict[str, Command]:
    """The driver's commands (champions sending /help) and the watcher's."""
    table = driver_commands(emulator, app, HELP)
    watcher = Watcher(emulator)
    table.update(watch=watcher.watch, seen=watcher.seen, broadcast=watcher.broadcast, window=watcher.window)
    return table


@dataclass
class Window:
    """What the emulator saw between two `window` calls."""

    seconds: float
    peak: int
    rate_limited: int
    bulk_sent: int

    @classmethod
    def between(cls, start: dict[str, Any], end: dict[str, Any]) -> Window:
        return cls(
            end["at"] - start["at"],
            end["peak"],
            end["rate_limited"] - start["rate_limited"],
            end["bulk_sent"] - start["bulk_sent"],
        )

    @property
    def bulk_rate(self) -> float:
        return self.bulk_sent / self.seconds if self.seconds else 0.0


# ------------------------------------------------------------------------------------ the setup


async def broadcast_area(sessions: async_sessionmaker[AsyncSession]) -> int:
    """An area of its own for the broadcast's audience, so no one else gets the broadcast."""
    async with sessions.begin() as session:
        await directory.add_areas(session, ["Broadcast"])
        return (await directory.list_areas(session))[0].id


async def queue_broadcast(sessions: async_sessionmaker[AsyncSession], area: int) -> int:
    """Create the broadcast and fan it out to its area, as "Send now" does."""
    async with sessions.begin() as session:
        made = await broadcasts.create_broadcast(session, texts={"en": TEXT}, audience=Audience(areas=[area]))
        await broadcasts.enqueue(session, made)
        return made.id


async def until_flowing(emulator: EmulatorProcess) -> None:
    """Wait until the broadcast has been going for about a second (30 messages received)."""
    async with asyncio.timeout(60):
        while (await emulator.acall("window"))["bulk_sent"] < OVERALL_PER_SECOND:
            await asyncio.sleep(0.1)


async def broadcast_left(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> broadcasts.Report:
    async with sessions.begin() as session:
        return await broadcasts.report(session, broadcast_id)


# ---------------------------------------------------------------------- 9: reply behind a broadcast


@dataclass
class Reported:
    """A champion with a report waiting for its reply."""

    telegram_id: int
    report_id: int


async def add_reports(sessions: async_sessionmaker[AsyncSession], start: int, n: int) -> list[Reported]:
    """One report from each of the champions start..start+n-1."""
    async with sessions.begin() as session:
        champions = await session.scalars(
            select(Champion)
            .where(Champion.telegram_id.between(start, start + n - 1))
            .order_by(Champion.telegram_id)
        )
        made = []
        for champion in champions:
            draft = reports.Draft(topic="other", kind="idea", people="one", text="Evening clinics")
            made.append(Reported(champion.telegram_id, (await reports.create(session, champion, draft)).id))
    return made


@dataclass
class Replies:
    """How long each reply took to reach the emulator, and how many never did."""

    latencies: list[float]  # commit -> sendMessage received, seconds
    lost: int

    def ms(self, share: float) -> float:
        """The `share` percentile, in ms."""
        return percentile(self.latencies, share)


async def send_replies(
    emulator: EmulatorProcess,
    sessions: async_sessionmaker[AsyncSession],
    wake: Wake,
    waiting: list[Reported],
    coordinator_id: int,
    window: float,
    rng: random.Random,
) -> Replies:
    """Reply to each report at a random moment within `window` seconds, as the /insights handler
    does, and time each from its commit to the emulator receiving the message."""
    await emulator.acall("watch", [r.telegram_id for r in waiting])
    moments = sorted(rng.uniform(0, window) for _ in waiting)
    committed: dict[int, float] = {}
    started = time.monotonic()
    for moment, reported in zip(moments, waiting, strict=True):
        await asyncio.sleep(max(0.0, started + moment - time.monotonic()))
        async with sessions.begin() as session:
            (replied,) = await reports.reply(
                session, [reported.report_id], REPLY, coordinator_id, theme=False
            )
            await outbox.queue(session, outbox.REPLY, [replied.champion_id], {"reply": replied.reply_id})
        committed[reported.telegram_id] = time.monotonic()
        wake.ring(outbox.LANE[outbox.REPLY])
    deadline = time.monotonic() + REPLY_TIMEOUT
    while len(seen := await emulator.acall("seen")) < len(waiting) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    latencies = [seen[chat] - at for chat, at in committed.items() if chat in seen]
    return Replies(latencies, len(waiting) - len(latencies))


async def deliver(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    budget: Budget,
    services: Services,
) -> None:
    """The delivery workers as the bot runs them, with this process's share of the token's budget."""
    async with sharing(budget, sessions):
        await run_delivery(settings, sessions, stop, budget, services=services)


async def figure_reply(run: Run) -> None:
    """9: replies to reports go out within 2 s while a broadcast is delivered at the limit."""
    compile_catalogs()
    n, k = int(size(run, "broadcast")), int(size(run, "replies"))
    coordinator, repliers, recipients = FIRST_ID - 1, FIRST_ID, FIRST_ID + 2 * k
    database = await create_database(run.kind, run.workdir, "reply")
    engine = database.engine()
    sessions = make_sessions(engine)
    await add_champions(engine, coordinator, 1, Role.COORDINATOR)
    await add_champions(engine, repliers, 2 * k)  # half for the baseline, half behind the broadcast
    area = await broadcast_area(sessions)
    await add_champions(engine, recipients, n, area_id=area)
    waiting = await add_reports(sessions, repliers, 2 * k)
    async with sessions.begin() as session:
        coordinator_id = await session.scalar(select(Champion.id).where(Champion.telegram_id == coordinator))
    assert coordinator_id is not None
    rng = random.Random(SEED)
    with EmulatorProcess(enforce_limits=True, commands=outbox_commands) as emulator:
        emulator.add_users(coordinator, 1 + 2 * k + n)
        settings = load_settings(
            _env_file=None, token=SANDBOX_TOKEN, api_base_url=emulator.base_url, database_url=database.url
        )
        budget = Budget(settings.delivery_rate or None)
        services = Services(
            settings=settings,
            sessions=sessions,
            library=load_content(),
            topics=load_report_topics(),
            budget=budget,
        )
        stop = asyncio.Event()
        delivering = asyncio.create_task(deliver(settings, sessions, stop, budget, services))
        try:
            alone = await send_replies(
                emulator, sessions, services.wake, waiting[:k], coordinator_id, BASELINE_WINDOW, rng
            )
            await emulator.acall("broadcast", recipients, n)
            broadcast_id = await queue_broadcast(sessions, area)
            services.wake.ring(outbox.BULK)
            await until_flowing(emulator)
            start = await emulator.acall("window")
            behind = await send_replies(
                emulator, sessions, services.wake, waiting[k:], coordinator_id, size(run, "window"), rng
            )
            seen = Window.between(start, await emulator.acall("window"))
            left = await broadcast_left(sessions, broadcast_id)
        finally:
            stop.set()  # the broadcast stops here: the workers finish the batch in hand
            await delivering
    await engine.dispose()
    await drop_database(database)
    p50, p99, b50, b99 = behind.ms(0.50), behind.ms(0.99), alone.ms(0.50), alone.ms(0.99)
    emit(
        Row(
            f"9 reply behind a broadcast, {count(n)} ({run.kind})",
            f"p50 {p50:.0f} / p99 {p99:.0f} ms",
            f"{b50:.0f} / {b99:.0f} ms no broadcast",
            f"{p99 / b99:.1f}",
            f"p99 < {REPLY_P99_LIMIT_MS:.0f} ms, 0 lost",
            p99 < REPLY_P99_LIMIT_MS and behind.lost == alone.lost == 0,
        ),
        run.rows,
    )
    note(
        "9",
        f"{k} replies at random moments (seed {SEED}) over {size(run, 'window'):.0f} s of the broadcast, "
        f"{k} over {BASELINE_WINDOW:.0f} s without; lost {behind.lost} / {alone.lost}; max "
        f"{1000 * max(behind.latencies, default=float('nan')):.0f} ms; meanwhile the broadcast went at "
        f"{seen.bulk_rate:.1f} msg/s, peak {seen.peak} sends in a second, {seen.rate_limited} 429s; "
        f"stopped after the replies with {left.pending:,} of {left.total:,} still pending",
    )


# ----------------------------------------------------------------------------- 10: one budget


async def interactive(
    emulator: EmulatorProcess, chats: list[int], seconds: float
) -> tuple[dict[str, Any], Window]:
    """/help at INTERACTIVE_RATE for `seconds`: the driver's tallies, and what the emulator saw."""
    start = await emulator.acall("window")
    result = await emulator.acall("open", chats, INTERACTIVE_RATE, seconds, False)
    return result, Window.between(start, await emulator.acall("window"))


async def figure_budget(run: Run) -> None:
    """10: interactive traffic during a broadcast keeps within Telegram's 30 a second, with no 429."""
    compile_catalogs()
    n, seconds = int(size(run, "broadcast")), size(run, "seconds")
    chats = list(range(FIRST_ID, FIRST_ID + INTERACTIVE_CHAMPIONS))
    recipients = FIRST_ID + INTERACTIVE_CHAMPIONS
    database = await create_database(run.kind, run.workdir, "budget")
    engine = database.engine()
    sessions = make_sessions(engine)
    await add_champions(engine, FIRST_ID, INTERACTIVE_CHAMPIONS)
    area = await broadcast_area(sessions)
    await add_champions(engine, recipients, n, area_id=area)
    with EmulatorProcess(enforce_limits=True, commands=outbox_commands) as emulator:
        emulator.add_users(FIRST_ID, INTERACTIVE_CHAMPIONS + n)
        await emulator.acall("broadcast", recipients, n)
        bot = await start_bot(emulator, database, "champbot", "polling", capped=True)
        try:
            await emulator.acall("open", chats, INTERACTIVE_RATE, WARM_UP_SECONDS, False)
            bare, quiet = await interactive(emulator, chats, seconds)
            broadcast_id = await queue_broadcast(sessions, area)
            await until_flowing(emulator)
            ours, busy = await interactive(emulator, chats, seconds)
            left = await broadcast_left(sessions, broadcast_id)
        finally:
            bot.stop()
    await engine.dispose()
    await drop_database(database)
    p50, p99 = percentile(ours["latencies"], 0.50), percentile(ours["latencies"], 0.99)
    b50, b99 = percentile(bare["latencies"], 0.50), percentile(bare["latencies"], 0.99)
    emit(
        Row(
            f"10 one budget: sends/s, 429s, {count(n)} ({run.kind})",
            f"{busy.peak}/s, {busy.rate_limited} 429s; p99 {p99:.0f} ms",
            f"{quiet.peak}/s, {quiet.rate_limited} 429s; {b99:.0f} ms alone",
            f"{busy.peak / quiet.peak:.2f}" if quiet.peak else "-",
            f"<= {OVERALL_PER_SECOND}/s, 0 429s, 0 lost",
            busy.peak <= OVERALL_PER_SECOND and busy.rate_limited == 0 and problems(ours) == 0,
        ),
        run.rows,
    )
    note(
        "10",
        f"the most sends the emulator saw in any one second, its 429s, and /help p99 from push to reply "
        f"at {INTERACTIVE_RATE:.0f} updates/s, {seconds:.0f} s a side; /help p50/p99 {p50:.1f}/{p99:.1f} ms "
        f"during the broadcast, {b50:.1f}/{b99:.1f} ms without ({p99 / b99:.1f}x); answered "
        f"{ours['answered']:,}/{bare['answered']:,}, lost {ours['lost']}/{bare['lost']}, stray "
        f"{ours['strays']}/{bare['strays']}; the broadcast went at {busy.bulk_rate:.1f} msg/s beside them "
        f"({left.pending:,} of {left.total:,} still pending at the end, then stopped); injector at worst "
        f"{1000 * ours['late']:.0f} ms late",
    )


FIGURES = {"9": Figure(figure_reply), "10": Figure(figure_budget)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("outbox benchmarks", FIGURES, argv, __doc__)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main()))
