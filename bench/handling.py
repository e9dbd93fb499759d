"""Update handling benchmarks: the real bot in a process of its own, champions played by the emulator.

4. throughput — pre-joined champions run scripted sessions (commands, button presses, steps that write to
   the database, learn browsing) as fast as the bot answers (closed loop, `--concurrency` champions at a
   time, long polling as `champbot run` does). Figure: updates answered per second, ≥ 50% of a bare
   python-telegram-bot echo bot (one MessageHandler echoing text, one CallbackQueryHandler answering)
   doing the same sessions in the same kind of process.
5. latency    — the same sessions offered at a steady 100 updates/s (open loop: pushed on a fixed clock,
   whatever the replies), from the emulator's push of an update to the reply that completes it (the
   bot's message; for the echo bot's button presses, its answerCallbackQuery): p50 and p99 < 50 ms, by
   webhook and by long polling, beside the echo bot's at the same load.
6. scale-out  — PostgreSQL only: one, then two webhook workers behind a round-robin proxy and two delivery
   processes handle the sessions while a broadcast goes out. Every update answered once, every champion
   in the broadcast's audience gets it exactly once (counted in the emulator), and updates/s with two
   workers over one (target > 1.0; on a 2-CPU machine there is little to gain, see bench/README.md).

The emulator runs in a process of its own and plays every champion there (the `Driver`), timing each
update with its listener. Sessions are lists of steps in `SESSIONS`: add a journey there.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bench.common import (
    FIRST_ID,
    Child,
    Command,
    Database,
    EmulatorProcess,
    Figure,
    Row,
    Run,
    add_champions,
    create_database,
    drop_database,
    emit,
    note,
    run_figures,
)
from bot.app import SANDBOX_TOKEN, build_application
from bot.budget import Budget
from bot.channels import run_delivery, serve_polling, serve_webhook, stop_on_signals
from bot.emulator import Emulator, Event
from bot.heartbeat import sharing
from bot.i18n import compile_catalogs
from bot.settings import load_settings
from storage import broadcasts, directory, outbox
from storage.audience import Audience
from storage.db import make_sessions

SECRET = "bench-webhook-secret"
STEP_TIMEOUT = 30.0  # an update not answered by then counts as lost
FULL = {"champions": 1_000, "seconds": 30.0, "recipients": 2_000, "scale_seconds": 60.0}
QUICK = {"champions": 500, "seconds": 8.0, "recipients": 300, "scale_seconds": 20.0}
WARM_UP_SECONDS = 3.0
THROUGHPUT_SHARE = 0.50  # of the echo bot's updates/s
LATENCY_RATE = 100.0  # updates/s offered in figure 5
P99_LIMIT_MS = 50.0


# ------------------------------------------------------------------------------------- the workload


@dataclass(frozen=True)
class Text:
    """The champion sends this text or command."""

    text: str


@dataclass(frozen=True)
class Press:
    """The champion presses a button whose callback data starts with `prefix` on the bot's newest
    message (one chosen by chat id when several match). An optional press is left out when there is
    no such button (a snippet without a quiz); a missing one counts as a failure."""

    prefix: str
    optional: bool = False


Step = Text | Press

# Each champion goes through these in turn, one step per update; add a journey as one more tuple.
SESSIONS: tuple[tuple[Step, ...], ...] = (
    (Text("/help"),),
    (
        Text("/learn"),
        Press("learn:t:"),
        Press("learn:q:", optional=True),
        Press("learn:a:", optional=True),
        Press("learn:s:", optional=True),
        Press("learn:topics"),
    ),
    (Text("/progress"),),
    (Text("/quiet"), Press("quiet:s:"), Press("quiet:e:")),
    (Text("/language"), Press("lang:")),
    (Text("/weekly"), Press("weekly:change", optional=True), Press("weekly:d:"), Press("weekly:h:")),
    (
        Text("/cancel"),  # a run may start where the last left a report half-made
        Text("/report"),
        Press("rep:t:"),
        Press("rep:k:"),
        Text("People at the mosque say the flu jab gives you flu"),
        Press("rep:p:"),
        Press("rep:a:"),
        Press("rep:anon:"),
        Press("rep:ok"),
    ),
    (Text("/myreports"),),
)


@dataclass
class Pending:
    """An update pushed and not yet answered."""

    done: Event  # the reply that completes it
    pushed: float = 0.0
    first: float | None = None
    answered: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class Tallies:
    """What the driver saw since it was last reset."""

    answered: int = 0
    lost: int = 0  # not answered within STEP_TIMEOUT, or overtaken by the chat's next update
    strays: int = 0  # messages to no pending update: an update answered twice, or a reply out of place
    missing: int = 0  # a button the session expected was not there
    latencies: list[float] = field(default_factory=list)  # push -> completing reply, seconds
    firsts: list[float] = field(default_factory=list)  # push -> first reply, seconds
    seconds: float = 0.0
    late: float = 0.0  # how far behind its clock the open-loop injector fell at worst, seconds

    def result(self) -> dict[str, Any]:
        return self.__dict__.copy()


class Driver:
    """Plays the champions inside the emulator's process and times every update with its listener."""

    def __init__(self, emulator: Emulator, sessions: tuple[tuple[Step, ...], ...] = SESSIONS) -> None:
        self.emulator = emulator
        self.sessions = sessions
        self.echo = False  # the echo bot answers a press with answerCallbackQuery only
        self.cursor: dict[int, tuple[int, int]] = {}  # chat -> (session, step)
        self.pending: dict[int, Pending] = {}
        self.chats: set[int] = set()  # the champions played; replies to others (a broadcast) are not counted
        self.tallies = Tallies()
        emulator.listener = self.on_event

    def reset(self, chats: list[int], echo: bool) -> None:
        """Start counting afresh, every chat at the start of a session (a bot may have changed)."""
        self.chats = set(chats)
        self.echo = echo
        self.cursor.clear()
        self.pending.clear()
        self.tallies = Tallies()

    def on_event(self, event: Event, chat_id: int) -> None:
        if chat_id not in self.chats:
            return
        now = time.perf_counter()
        pending = self.pending.get(chat_id)
        if event == "push":
            if pending is not None:
                pending.pushed = now
            return
        if pending is None:
            # A press's acknowledgement or echoed choice may land after the next step's message, which
            # completed it; a handler run twice shows as a message of its own.
            if event == "message":
                self.tallies.strays += 1
            return
        if pending.first is None:
            pending.first = now
            self.tallies.firsts.append(now - pending.pushed)
        if event == pending.done:
            del self.pending[chat_id]
            self.tallies.answered += 1
            self.tallies.latencies.append(now - pending.pushed)
            pending.answered.set_result(None)

    def next_step(self, chat_id: int) -> tuple[Step, bool]:
        """The chat's next step, and whether it ends a session."""
        session, step = self.cursor.get(chat_id, (chat_id % len(self.sessions), 0))
        steps = self.sessions[session]
        last = step + 1 == len(steps)
        self.cursor[chat_id] = ((session + 1) % len(self.sessions), 0) if last else (session, step + 1)
        return steps[step], last

    def push(self, chat_id: int, step: Step) -> Pending | None:
        """Push the step as an update; None when an optional button is not there (or one is missing)."""
        if isinstance(step, Text):
            pending = self._pending(chat_id, "message")
            self.emulator.send(chat_id, step.text)
            return pending
        message: dict[str, Any] = next(
            (m for m in reversed(self.emulator.history(chat_id)) if m.get("from_bot") and "message_id" in m),
            {},
        )
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        choices = [
            b["callback_data"] for row in rows for b in row if b["callback_data"].startswith(step.prefix)
        ]
        if choices:
            data = choices[chat_id % len(choices)]
        elif self.echo:
            data = step.prefix
        else:
            self.tallies.missing += 0 if step.optional else 1
            return None
        pending = self._pending(chat_id, "answer" if self.echo else "message")
        self.emulator.press(chat_id, int(message.get("message_id", 0)), data)
        return pending

    def _pending(self, chat_id: int, done: Event) -> Pending:
        if chat_id in self.pending:
            self.tallies.lost += 1
        pending = self.pending[chat_id] = Pending(done)
        return pending

    async def wait(self, chat_id: int, pending: Pending) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(pending.answered), STEP_TIMEOUT)
        except TimeoutError:
            self.pending.pop(chat_id, None)
            self.tallies.lost += 1
            return False
        return True

    async def closed(self, chats: list[int], concurrency: int, seconds: float, echo: bool) -> dict[str, Any]:
        """`concurrency` champions at a time each push a step and wait for its answer, for `seconds`."""
        self.reset(chats, echo)
        started = time.perf_counter()
        deadline = started + seconds

        async def champion(mine: list[int]) -> None:
            for chat_id in itertools.cycle(mine):
                last = False
                while not last:
                    if time.perf_counter() >= deadline:
                        return
                    step, last = self.next_step(chat_id)
                    pending = self.push(chat_id, step)
                    if pending is not None and not await self.wait(chat_id, pending):
                        break

        await asyncio.gather(*(champion(chats[i::concurrency]) for i in range(concurrency)))
        self.tallies.seconds = time.perf_counter() - started
        return self.tallies.result()

    async def open_loop(self, chats: list[int], rate: float, seconds: float, echo: bool) -> dict[str, Any]:
        """Push `rate` updates a second on a fixed clock, whatever the replies; then wait for the last."""
        self.reset(chats, echo)
        started = time.perf_counter()
        chat_ids = itertools.cycle(chats)
        for k in range(int(rate * seconds)):
            due = started + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.tallies.late = max(self.tallies.late, -delay)
            chat_id = next(chat_ids)
            for _ in range(max(len(s) for s in self.sessions)):  # skip optional steps that do not apply
                if self.push(chat_id, self.next_step(chat_id)[0]) is not None:
                    break
        self.tallies.seconds = time.perf_counter() - started
        waits = [self.wait(chat_id, pending) for chat_id, pending in list(self.pending.items())]
        await asyncio.gather(*waits)
        return self.tallies.result()


def driver_commands(
    emulator: Emulator,
    app: web.Application,
    sessions: tuple[tuple[Step, ...], ...] = SESSIONS,
    *,
    driver: Driver | None = None,
) -> dict[str, Command]:
    """The driver's commands (a `Driver` of these sessions, unless another driver is given), and a
    round-robin webhook proxy at /hook for several workers."""
    driver = driver or Driver(emulator, sessions)
    targets: list[str] = []
    forwarded: dict[str, int] = {}
    turn = itertools.count()
    client: list[ClientSession] = []
    polls = [0]

    async def close(_app: web.Application) -> None:
        for session in client:
            await session.close()

    async def proxy(request: web.Request) -> web.Response:
        if not client:
            client.append(ClientSession())
        url = targets[next(turn) % len(targets)]
        forwarded[url] = forwarded.get(url, 0) + 1
        async with client[0].post(url, data=await request.read(), headers=request.headers) as answer:
            return web.Response(status=answer.status, body=await answer.read())

    app.router.add_post("/hook", proxy)
    app.on_cleanup.append(close)

    async def route(urls: list[str]) -> None:
        targets[:] = urls
        forwarded.clear()

    async def expect() -> None:
        polls[0] = emulator.calls.get("getupdates", 0)

    async def ready(webhook: str | None, ports: list[int]) -> None:
        """Wait until the bot polls (after `expect`), or set the webhook and listens on every port."""
        async with asyncio.timeout(60):
            while (
                emulator.webhook is not None or emulator.calls.get("getupdates", 0) <= polls[0]
                if webhook is None
                else emulator.webhook is None or emulator.webhook[0] != webhook
            ):
                await asyncio.sleep(0.05)
            for port in ports:
                while True:
                    try:
                        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    except OSError:
                        await asyncio.sleep(0.05)
                        continue
                    writer.close()
                    break

    async def received(text: str, chats: list[int]) -> dict[int, int]:
        """How many messages with this text each chat got (only chats with other than one)."""
        got = {c: sum(m.get("text") == text for m in emulator.history(c)) for c in chats}
        return {c: n for c, n in got.items() if n != 1}

    async def split() -> dict[str, int]:
        return dict(forwarded)

    return {
        "closed": driver.closed,
        "open": driver.open_loop,
        "route": route,
        "expect": expect,
        "ready": ready,
        "received": received,
        "split": split,
    }


# ------------------------------------------------------------------------------- the bots' processes


def _champbot(overrides: dict[str, Any], database: Database, mode: str, capped: bool = False) -> None:
    """The real bot as `champbot run` (polling), `champbot webhook` or `champbot deliver` runs it.

    Unless `capped`, its sending budget has no limit (`delivery_rate=0`; its limiter still retries
    after a 429), so the figures show how fast the bot handles updates rather than Telegram's 30
    messages a second, which alone would hold replies to the budget's 29 a second."""
    logging.basicConfig(level=logging.WARNING)
    if not capped:
        overrides = {**overrides, "delivery_rate": 0}
    asyncio.run(_champbot_main(overrides, database, mode))


async def _champbot_main(overrides: dict[str, Any], database: Database, mode: str) -> None:
    settings = load_settings(_env_file=None, token=SANDBOX_TOKEN, **overrides)
    engine = database.engine()
    sessions = make_sessions(engine)
    stop = stop_on_signals()
    try:
        if mode == "deliver":  # as `champbot deliver` runs it
            budget = Budget(settings.delivery_rate or None)
            async with sharing(budget, sessions):
                await run_delivery(settings, sessions, stop, budget, workers=1)
        elif mode == "webhook":
            await serve_webhook(build_application(settings, sessions), settings, stop)
        else:
            await serve_polling(build_application(settings, sessions), stop)
    finally:
        await engine.dispose()


def _echo_bot(base_url: str, mode: str, port: int) -> None:
    """The baseline: a bare python-telegram-bot Application that echoes text and answers presses."""

    async def echo(update: Update, _context: object) -> None:
        assert update.message and update.message.text
        await update.message.reply_text(update.message.text)

    async def answer(update: Update, _context: object) -> None:
        assert update.callback_query
        await update.callback_query.answer()

    application: Application = ApplicationBuilder().token(SANDBOX_TOKEN).base_url(f"{base_url}/bot").build()  # type: ignore[type-arg]
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(answer))
    run_bare(application, mode, port)


def run_bare(application: Application, mode: str, port: int) -> None:  # type: ignore[type-arg]
    """Run a baseline's bare Application as the bot runs: on a loopback webhook, or polling."""
    if mode == "webhook":
        application.run_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url=f"http://127.0.0.1:{port}/hook",
            secret_token=SECRET,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_settings(emulator: EmulatorProcess, database: Database, **more: Any) -> dict[str, Any]:
    return {"api_base_url": emulator.base_url, "database_url": database.url, **more}


EchoBot = Callable[[str, str, int], None]  # (emulator's base URL, mode, webhook port): runs until stopped


async def start_bot(
    emulator: EmulatorProcess,
    database: Database,
    side: str,
    mode: str,
    capped: bool = False,
    echo_bot: EchoBot = _echo_bot,
) -> Child:
    """Start the echo bot or champbot, polling or on its own webhook port, and wait until it is up."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook" if mode == "webhook" else None
    await emulator.acall("expect")
    if side == "echo":
        child = Child(echo_bot, emulator.base_url, mode, port)
    else:
        hook = {"webhook_url": url, "webhook_port": port, "webhook_secret": SECRET} if url else {}
        child = Child(_champbot, bot_settings(emulator, database, **hook), database, mode, capped)
    await emulator.acall("ready", url, [port] if url else [])
    return child


# ------------------------------------------------------------------------------------------ figures


def size(run: Run, key: str) -> float:
    return (QUICK if run.quick else FULL)[key]


async def prepare(run: Run, tag: str, recipients: int = 0) -> tuple[Database, EmulatorProcess, list[int]]:
    """A database with the champions (and broadcast recipients in an area of their own), and the
    emulator with them all; returns the workload's chat ids."""
    compile_catalogs()
    n = int(size(run, "champions"))
    database = await create_database(run.kind, run.workdir, tag)
    engine = database.engine()
    await add_champions(engine, FIRST_ID, n)
    if recipients:
        async with make_sessions(engine).begin() as session:
            await directory.add_areas(session, ["Broadcast"])
            area = (await directory.list_areas(session))[0].id
        await add_champions(engine, FIRST_ID + n, recipients, area_id=area)
    await engine.dispose()
    emulator = EmulatorProcess(enforce_limits=False, commands=driver_commands)
    emulator.add_users(FIRST_ID, n + recipients)
    return database, emulator, list(range(FIRST_ID, FIRST_ID + n))


async def closed_run(
    run: Run, emulator: EmulatorProcess, chats: list[int], seconds: float, echo: bool
) -> dict[str, Any]:
    """A warm-up, then the measured closed-loop run."""
    await emulator.acall("closed", chats, run.concurrency, WARM_UP_SECONDS, echo)
    return await emulator.acall("closed", chats, run.concurrency, seconds, echo)  # type: ignore[no-any-return]


def rate(result: dict[str, Any]) -> float:
    return float(result["answered"] / result["seconds"])


def problems(result: dict[str, Any]) -> int:
    return int(result["lost"] + result["strays"] + result["missing"])


def faults(result: dict[str, Any]) -> str:
    return f"{result['lost']} lost, {result['strays']} stray, {result['missing']} missing"


async def figure_throughput(run: Run) -> None:
    """4: updates answered per second by the bot, long polling, against the echo bot."""
    seconds = size(run, "seconds")
    database, emulator, chats = await prepare(run, "throughput")
    results: dict[str, dict[str, Any]] = {}
    with emulator:
        for side in ("echo", "champbot", "capped"):
            bot = await start_bot(emulator, database, side, "polling", capped=side == "capped")
            try:
                results[side] = await closed_run(run, emulator, chats, seconds, side == "echo")
            finally:
                bot.stop()
    await drop_database(database)
    ours, bare = results["champbot"], results["echo"]
    ratio = rate(ours) / rate(bare)
    emit(
        Row(
            f"4 handling: updates/s, polling ({run.kind})",
            f"{rate(ours):,.0f} upd/s ({ours['answered']:,})",
            f"{rate(bare):,.0f} upd/s echo bot ({bare['answered']:,})",
            f"{ratio:.3f}",
            f"ratio >= {THROUGHPUT_SHARE:.2f}, 0 lost",
            ratio >= THROUGHPUT_SHARE and problems(ours) == 0,
        ),
        run.rows,
    )
    note(
        "4",
        f"{len(chats):,} champions, {run.concurrency} at a time, {seconds:.0f} s each; "
        f"bot: {faults(ours)}; echo: {faults(bare)}; as shipped, its sending budget's 29 sends/s "
        f"holds the bot to {rate(results['capped']):,.0f} upd/s",
    )


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie, in ms."""
    if len(values) < 2:
        return float("nan")
    return 1000 * statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


async def both_sides(
    emulator: EmulatorProcess,
    database: Database,
    chats: list[int],
    rate: float,
    seconds: float,
    echo_bot: EchoBot = _echo_bot,
    before_ours: Callable[[], Awaitable[object]] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """By webhook, then by polling: the echo bot, then champbot (after `before_ours`, once), each
    warmed up and then offered `rate` updates/s for `seconds`; what the emulator measured, by
    (mode, side)."""
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for mode in ("webhook", "polling"):
        for side in ("echo", "champbot"):
            bot = await start_bot(emulator, database, side, mode, echo_bot=echo_bot)
            try:
                echo = side == "echo"
                if not echo and before_ours is not None:
                    await before_ours()
                    before_ours = None
                await emulator.acall("open", chats, rate, WARM_UP_SECONDS, echo)
                results[mode, side] = await emulator.acall("open", chats, rate, seconds, echo)
            finally:
                bot.stop()
    return results


def p50_p99(values: list[float]) -> tuple[float, float]:
    """The median and the 99th percentile, in ms."""
    return percentile(values, 0.50), percentile(values, 0.99)


async def figure_latency(run: Run) -> None:
    """5: p50/p99 from push to completing reply at 100 updates/s offered, webhook and polling."""
    seconds = size(run, "seconds")
    database, emulator, chats = await prepare(run, "latency")
    with emulator:
        results = await both_sides(emulator, database, chats, LATENCY_RATE, seconds)
    await drop_database(database)
    for mode in ("webhook", "polling"):
        ours, bare = results[mode, "champbot"], results[mode, "echo"]
        (p50, p99), (b50, b99) = p50_p99(ours["latencies"]), p50_p99(bare["latencies"])
        emit(
            Row(
                f"5 latency p50/p99 @{LATENCY_RATE:.0f}/s, {mode} ({run.kind})",
                f"{p50:.1f} / {p99:.1f} ms",
                f"{b50:.1f} / {b99:.1f} ms echo bot",
                f"{p99 / b99:.2f}",
                f"p99 < {P99_LIMIT_MS:.0f} ms, 0 lost",
                p99 < P99_LIMIT_MS and problems(ours) == 0,
            ),
            run.rows,
        )
        note(
            "5",
            f"{mode}: {ours['answered']:,} updates in {ours['seconds']:.1f} s; first reply p50/p99 "
            f"{percentile(ours['firsts'], 0.5):.1f}/{percentile(ours['firsts'], 0.99):.1f} ms; "
            f"injector at worst {1000 * ours['late']:.1f} ms late; bot: {faults(ours)}; echo: {faults(bare)}",
        )


async def scale_turn(
    run: Run, database: Database, emulator: EmulatorProcess, chats: list[int], workers: int, turn: int
) -> dict[str, Any]:
    """`workers` webhook workers and two delivery processes handle the sessions while a broadcast to
    the Broadcast area goes out (queued by the workers' scheduler ticks). Returns what was seen."""
    n = len(chats)
    recipients = list(range(FIRST_ID + n, FIRST_ID + n + int(size(run, "recipients"))))
    text = f"Scale-out broadcast {turn}: clinic hours change next week."
    proxy = f"{emulator.base_url}/hook"
    ports = [free_port() for _ in range(workers)]
    await emulator.acall("route", [f"http://127.0.0.1:{port}/hook" for port in ports])
    quiet = {"delivery_workers": 0}
    hooks = {"webhook_url": proxy, "webhook_secret": SECRET}
    unpaced = bot_settings(emulator, database, delivery_rate=0)
    children = [Child(_champbot, unpaced, database, "deliver") for _ in range(2)]
    children += [
        Child(
            _champbot, bot_settings(emulator, database, **quiet, **hooks, webhook_port=p), database, "webhook"
        )
        for p in ports
    ]
    engine = database.engine()
    sessions = make_sessions(engine)
    try:
        await emulator.acall("ready", proxy, ports)
        await emulator.acall("closed", chats, run.concurrency, WARM_UP_SECONDS, False)
        async with sessions.begin() as session:
            area = (await directory.list_areas(session))[0].id
            chosen = Audience(areas=[area])
            made = await broadcasts.create_broadcast(session, texts={"en": text}, audience=chosen)
            broadcast_id = made.id
        result = await emulator.acall("closed", chats, run.concurrency, size(run, "scale_seconds"), False)
        async with asyncio.timeout(120):
            while True:
                async with sessions.begin() as session:
                    report = await broadcasts.report(session, broadcast_id)
                if report.total and report.finished:
                    break
                await asyncio.sleep(0.5)
        result["split"] = await emulator.acall("split")
    finally:
        for child in children:
            child.stop()
        await engine.dispose()
    result["report"] = {"counts": report.counts, "total": report.total, "twice": report.possibly_twice}
    result["not_once"] = await emulator.acall("received", text, recipients)
    result["recipients"] = len(recipients)
    return result


def delivered_once(result: dict[str, Any]) -> bool:
    report = result["report"]
    sent = report["counts"].get(outbox.SENT, 0)
    return bool(
        sent == report["total"] == result["recipients"] and not report["twice"] and not result["not_once"]
    )


async def figure_scale_out(run: Run) -> None:
    """6: two webhook workers against one, with two delivery processes and a broadcast, on PostgreSQL."""
    database, emulator, chats = await prepare(run, "scale", int(size(run, "recipients")))
    with emulator:
        one = await scale_turn(run, database, emulator, chats, 1, 1)
        two = await scale_turn(run, database, emulator, chats, 2, 2)
    await drop_database(database)
    ratio = rate(two) / rate(one)
    emit(
        Row(
            f"6 scale-out: upd/s, 2 vs 1 worker ({run.kind})",
            f"{rate(two):,.0f} upd/s with 2",
            f"{rate(one):,.0f} upd/s with 1",
            f"{ratio:.3f}",
            "ratio > 1.0",
            ratio > 1.0,
        ),
        run.rows,
    )
    for workers, result in ((1, one), (2, two)):
        report = result["report"]
        emit(
            Row(
                f"6 scale-out: once each, {workers} worker ({run.kind})",
                f"{faults(result)}",
                f"bc {report['counts'].get(outbox.SENT, 0):,}/{report['total']:,}, "
                f"{len(result['not_once'])} not once",
                "-",
                "0 lost/stray; bc all once",
                problems(result) == 0 and delivered_once(result),
            ),
            run.rows,
        )
        note(
            "6",
            f"{workers} worker(s): {result['answered']:,} updates answered in {result['seconds']:.0f} s, "
            f"split {sorted(result['split'].values())}; broadcast to {result['recipients']:,} by 2 delivery "
            f"processes: {report['counts']}, possibly twice {report['twice']}",
        )


FIGURES = {
    "4": Figure(figure_throughput),
    "5": Figure(figure_latency),
    "6": Figure(figure_scale_out, kinds=("postgresql",)),
}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("update handling benchmarks", FIGURES, argv, __doc__)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main()))
