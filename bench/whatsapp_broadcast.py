"""WhatsApp broadcast benchmarks against the local WhatsApp Cloud API emulator, each beside a baseline.

12. WhatsApp alone — a broadcast to 3,000 WhatsApp champions (half inside their 24-hour window, sent
    the session message; half outside it, sent their kind's template), delivered by `run_delivery` as
    `champbot deliver` runs it (WhatsApp rows by WhatsApp's own workers and Budget(whatsapp_rate,
    whatsapp_pair_seconds), as shipped: 78/s, 6 s), against the emulator enforcing 80 messages/s per
    number and the pair limit. Figure: the sustained rate at the emulator (first send to last) ≥ 95% of
    the configured 78/s, and no 130429 (throughput) nor 131056 (pair limit) refusal. Baseline: a bare
    `WhatsAppClient.send` loop paced by Budget(78, 6 s), to the same people, in the same run.
13. both at once — one broadcast to 3,000 Telegram and 3,000 WhatsApp champions: each channel's
    sustained rate ≥ 95% of its own limit (Telegram's `delivery_rate`, WhatsApp's `whatsapp_rate`).
    Baseline: each channel's broadcast alone, to the same champions, in the same run; each channel's
    emulator in a process of its own, so one's load does not jitter the other's arrivals.

The WhatsApp emulator (`bot.whatsapp_emulator.WhatsAppEmulator`) runs in a benchmark emulator process
beside the Telegram one, on a port of its own, started by the `wa_start` command with the limits a
figure wants; it counts refusals by error code and the most sends in any one second, and the
`whatsapp_commands` here time every accepted send on each channel (`Sends`). This module also holds
what the other WhatsApp benchmark (`bench.whatsapp_inbound`) shares: WhatsApp champions seeded in
the database, the webhook load generator, the bot's WhatsApp settings for the emulator.

Run:        .venv/bin/python -m bench.whatsapp_broadcast            (about 8 minutes)
Smoke run:  .venv/bin/python -m bench.whatsapp_broadcast --quick    (12: 800 people; 13: 480 + 180)
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import (
    FIRST_ID,
    Command,
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
from bot.app import SANDBOX_TOKEN, whatsapp_out
from bot.budget import Budget
from bot.channels import run_delivery
from bot.emulator import Emulator
from bot.emulator import Event as TelegramEvent
from bot.settings import Settings, load_settings
from bot.whatsapp_api import WhatsAppClient, WhatsAppError, WhatsAppUnavailable
from bot.whatsapp_emulator import (
    APP_SECRET,
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    TOKEN,
    WABA_ID,
    WhatsAppEmulator,
)
from bot.whatsapp_emulator import Event as WhatsAppEvent
from bot.whatsapp_templates import load as load_templates
from storage import broadcasts, directory, outbox
from storage.audience import Audience
from storage.db import make_sessions
from storage.identities import WHATSAPP, WHATSAPP_KEYS
from storage.models import Champion, Identity, Role, Status, utcnow

FIRST_PERSON = 7_000_000_000  # WhatsApp people of the benchmark: BSUID GB.<FIRST_PERSON + i>
TEXT = "Flu jabs this Saturday at the community centre, 10:00-16:00. Please pass it on."
META_RATE = 80.0  # messages/s Meta lets a business number send by default: the emulator enforces it
WHATSAPP_RATE = float(Settings.model_fields["whatsapp_rate"].default)  # the bot's, a little under it
PAIR_SECONDS = 6.0  # Meta's pair limit (settings.whatsapp_pair_seconds)
VERIFY_TOKEN = "bench-verify"


def bsuid(i: int) -> str:
    """The business-scoped user id of the benchmark's i-th WhatsApp person."""
    return f"GB.{FIRST_PERSON + i}"


def phone(i: int) -> str:
    """The i-th person's phone number (digits), which every benchmark person shares."""
    return f"4477{i:08d}"


# ------------------------------------------------------------------ the WhatsApp emulator's commands


@dataclass
class Sends:
    """Accepted sends a channel's emulator saw since `mark`: how many, the first's and last's
    time.monotonic() (the machine's clock on Linux, so it compares across processes)."""

    count: int = 0
    first: float | None = None
    last: float | None = None
    gap: float = 0.0  # the longest pause between two sends, seconds

    def seen(self) -> None:
        now = time.monotonic()
        self.count += 1
        self.first = now if self.first is None else self.first
        if self.last is not None:
            self.gap = max(self.gap, now - self.last)
        self.last = now

    def result(self) -> dict[str, Any]:
        return {"count": self.count, "first": self.first, "last": self.last, "gap": self.gap}


@dataclass
class Posted:
    """What the load generator saw of its webhook posts to the bot."""

    latencies: list[float] = field(default_factory=list)  # seconds, POST sent -> answer read
    failed: int = 0  # answered other than 2xx, or not at all
    late: float = 0.0  # how far behind its clock the open-loop injector fell at worst, seconds
    seconds: float = 0.0

    def result(self) -> dict[str, Any]:
        return self.__dict__.copy()


def message_envelope(i: int, wamid: str, text: str, now: float) -> dict[str, Any]:
    """A Meta webhook with one text message from the i-th person, as the Cloud API posts it."""
    contact = {"profile": {"name": f"P{i}"}, "wa_id": phone(i), "user_id": bsuid(i)}
    message = {
        "from": phone(i),
        "from_user_id": bsuid(i),
        "id": wamid,
        "timestamp": str(int(now)),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [contact],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def whatsapp_commands(emulator: Emulator, app: web.Application) -> dict[str, Command]:
    """Commands for the emulator's process: a WhatsApp emulator beside the Telegram one, its people,
    its counts, each channel's accepted sends timed, and an open-loop webhook load generator."""
    held: list[WhatsAppEmulator] = []
    sends: dict[str, Sends] = {"telegram": Sends(), "whatsapp": Sends()}
    wamids = itertools.count(1)

    def wa() -> WhatsAppEmulator:
        return held[0]

    def on_whatsapp(event: WhatsAppEvent, _address: str) -> None:
        if event == "message":
            sends["whatsapp"].seen()

    def on_telegram(event: TelegramEvent, _chat_id: int) -> None:
        if event == "message":
            sends["telegram"].seen()

    emulator.listener = on_telegram

    async def close(_app: web.Application) -> None:
        for one in held:
            await one.stop()

    app.on_cleanup.append(close)

    async def wa_start(throughput: float | None, pair_interval: float | None, statuses: bool) -> str:
        """Start the WhatsApp emulator with these limits; its Graph base URL."""
        one = WhatsAppEmulator(throughput=throughput, pair_interval=pair_interval, statuses=statuses)
        one.listener = on_whatsapp
        for languages in load_templates().root.values():  # as Meta approved the shipped catalogue
            for template in languages.values():
                if template.whatsapp_code is not None:
                    one.add_template(
                        template.name,
                        template.whatsapp_code,
                        template.category,  # type: ignore[arg-type]  # checked by the catalogue
                        len(template.variables),
                    )
        held.append(one)
        return await one.start()

    async def wa_people(first: int, n: int, window: bool) -> int:
        """People first..first+n-1, each with a phone number; `window`: each wrote just now."""
        for i in range(first, first + n):
            person = wa().add_user(bsuid(i), phone(i), f"P{i}")
            if window:
                person.last_inbound = wa().now()
        return n

    async def wa_hook(url: str | None) -> None:
        """Where the WhatsApp emulator posts statuses (None: nowhere, kept out of its log)."""
        wa().webhook_url = url
        wa().statuses = url is not None

    async def mark() -> None:
        """Count afresh: both channels' sends, the peaks, WhatsApp's refusals."""
        for channel in sends:
            sends[channel] = Sends()
        emulator.send_peak = 0
        emulator.rate_limited = 0
        if held:
            wa().send_peak = 0
            wa().refused.clear()
            wa().requests.clear()
            wa().webhook_log.clear()

    async def counts() -> dict[str, Any]:
        result: dict[str, Any] = {
            "telegram": sends["telegram"].result()
            | {"peak": emulator.send_peak, "429": emulator.rate_limited}
        }
        if held:
            result["whatsapp"] = sends["whatsapp"].result() | {
                "peak": wa().send_peak,
                "refused": dict(wa().refused),
                "dropped": wa().webhooks_dropped,
            }
        return result

    async def wa_inbound(
        url: str, first: int, n: int, rate: float, seconds: float, text: str
    ) -> dict[str, Any]:
        """Post `rate` signed text webhooks a second to `url` on a fixed clock (open loop), from people
        first..first+n-1 in turn, each renewing the person's window; time each POST to its answer."""
        posted = Posted()
        posts: set[asyncio.Task[None]] = set()
        async with ClientSession(timeout=ClientTimeout(total=30)) as http:

            async def post(raw: bytes) -> None:
                headers = {
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": wa().sign(raw),
                    "User-Agent": "facebookexternalua",
                }
                started = time.perf_counter()
                try:
                    async with http.post(url, data=raw, headers=headers) as answer:
                        await answer.read()
                        ok = 200 <= answer.status < 300
                except (OSError, TimeoutError):
                    ok = False
                if ok:
                    posted.latencies.append(time.perf_counter() - started)
                else:
                    posted.failed += 1

            started = time.perf_counter()
            for k in range(int(rate * seconds)):
                delay = started + k / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                posted.late = max(posted.late, -delay)
                i = first + k % n
                wa().people[bsuid(i)].last_inbound = wa().now()
                wamid = "wamid." + base64.b64encode(f"bench-{next(wamids):012d}".encode()).decode()
                raw = WhatsAppEmulator.encode(message_envelope(i, wamid, text, wa().now()))
                task = asyncio.create_task(post(raw))
                posts.add(task)
                task.add_done_callback(posts.discard)
            posted.seconds = time.perf_counter() - started
            await asyncio.gather(*list(posts))
        return posted.result()

    return {
        "wa_start": wa_start,
        "wa_people": wa_people,
        "wa_hook": wa_hook,
        "mark": mark,
        "counts": counts,
        "wa_inbound": wa_inbound,
    }


# ------------------------------------------------------------------------- WhatsApp champions, seeded


async def add_whatsapp_champions(
    engine: AsyncEngine,
    first: int,
    n: int,
    *,
    window: bool = True,
    role: Role = Role.CHAMPION,
    area_id: int | None = None,
) -> list[int]:
    """Active, consenting champions who joined on WhatsApp: people first..first+n-1 (BSUID and phone
    as `bsuid`/`phone` give them), each an identity with its chat key (the champion's telegram_id),
    their window open (`window`: they wrote just now) or closed. Returns their chat keys, in order."""
    sessions = make_sessions(engine)
    now = utcnow()
    chunk = 5_000
    for start in range(first, first + n, chunk):
        rows = [
            {
                "channel": WHATSAPP,
                "address": bsuid(i),
                "phone": phone(i),
                "last_inbound_at": now if window else None,
                "created_at": now,
            }
            for i in range(start, min(start + chunk, first + n))
        ]
        async with sessions.begin() as session:
            await session.execute(insert(Identity), rows)
    async with sessions.begin() as session:
        await session.execute(
            update(Identity).where(Identity.chat_id.is_(None)).values(chat_id=-(WHATSAPP_KEYS + Identity.id))
        )
        keys: dict[str, int] = {
            address: int(chat_id or 0)
            for address, chat_id in await session.execute(
                select(Identity.address, Identity.chat_id).where(Identity.channel == WHATSAPP)
            )
        }
    chats = [keys[bsuid(i)] for i in range(first, first + n)]
    for start in range(0, n, chunk):
        champions: list[dict[str, object]] = [
            {
                "telegram_id": chat_id,
                "display_name": f"P{first + start + j}",
                "language": "en",
                "timezone": "Europe/London",
                "role": role,
                "status": Status.ACTIVE,
                "consent_at": now,
                "share_consent": False,
                "area_id": area_id,
                "created_at": now,
                "updated_at": now,
            }
            for j, chat_id in enumerate(chats[start : start + chunk])
        ]
        async with sessions.begin() as session:
            await session.execute(insert(Champion), champions)
    async with sessions.begin() as session:
        champion_id = select(Champion.id).where(Champion.telegram_id == Identity.chat_id).scalar_subquery()
        await session.execute(
            update(Identity)
            .where(Identity.channel == WHATSAPP, Identity.champion_id.is_(None))
            .values(champion_id=champion_id)
        )
    return chats


# --------------------------------------------------------------------------------- the bare baseline


@dataclass
class Tally:
    sent: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    unavailable: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def bare_payload(i: int) -> dict[str, Any]:
    """A session message with three reply buttons, as the bot sends a broadcast in the window."""
    labels = (("shared", "Shared it"), ("question", "A question"), ("concern", "Concern heard"))
    buttons = [{"type": "reply", "reply": {"id": f"answer:{i}:{kind}", "title": t}} for kind, t in labels]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone(i),
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": TEXT}, "action": {"buttons": buttons}},
    }


async def bare_loop(base_url: str, people: Iterable[int], concurrency: int, budget: Budget) -> Tally:
    """The baseline: `WhatsAppClient.send` in a plain loop paced by `budget`, at most `concurrency` in
    flight, no database, no retries (a refusal is counted by its code)."""
    tally = Tally()
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()
    async with WhatsAppClient(base_url, PHONE_NUMBER_ID, TOKEN) as client:

        async def send(i: int) -> None:
            try:
                await budget.take(i)
                await client.send(bare_payload(i))
                tally.sent += 1
            except WhatsAppError as exc:
                tally.refused[exc.code] = tally.refused.get(exc.code, 0) + 1
            except WhatsAppUnavailable:
                tally.unavailable += 1
            finally:
                slots.release()

        started = time.perf_counter()
        for i in people:
            await slots.acquire()
            task = asyncio.create_task(send(i))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*list(running))
        tally.seconds = time.perf_counter() - started
    return tally


def whatsapp_settings(base_url: str, **more: Any) -> dict[str, Any]:
    """The bot's WhatsApp settings for the emulator (as `champbot sandbox` gives them)."""
    return {
        "whatsapp_token": TOKEN,
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_api_url": base_url,
        "whatsapp_number": DISPLAY_PHONE_NUMBER,
        **more,
    }


# ------------------------------------------------------------------------------------------ figures

FULL = {"whatsapp": 3_000, "telegram": 3_000}
QUICK = {"whatsapp": 800, "telegram": 300}  # about 10 s of each channel's pace
QUICK_BOTH = {"whatsapp": 480, "telegram": 180}  # figure 13 runs three broadcasts: about 6 s each
WARM_UP = 100  # WhatsApp coordinators that warm each side up before a measurement
LIMIT_SHARE = 0.95  # of each channel's own limit
WARM_UP_AUDIENCE = Audience(roles=[Role.COORDINATOR.value])
AUDIENCE = Audience(roles=[Role.CHAMPION.value])


def delivery_settings(telegram: str, graph: str, database: Database) -> Settings:
    """The settings a `champbot deliver` process would have, both channels on the emulators, each
    with its limits as shipped (Telegram's `delivery_rate`, WhatsApp's 80/s and 6 s pair gap)."""
    return load_settings(
        _env_file=None,
        token=SANDBOX_TOKEN,
        api_base_url=telegram,
        database_url=database.url,
        **whatsapp_settings(graph),
    )


async def seed_whatsapp(
    database: Database, emulator: EmulatorProcess, first: int, n: int, area_id: int | None = None
) -> None:
    """`n` WhatsApp champions from person `first`: the first half wrote just now (a session message),
    the second half has no window open (their kind's template); the same in the emulator."""
    engine = database.engine()
    half = n // 2
    await add_whatsapp_champions(engine, first, half, window=True, area_id=area_id)
    await add_whatsapp_champions(engine, first + half, n - half, window=False, area_id=area_id)
    await engine.dispose()
    await emulator.acall("wa_people", first, half, True)
    await emulator.acall("wa_people", first + half, n - half, False)


async def deliver(database: Database, settings: Settings, audience: Audience) -> tuple[float, float, Any]:
    """The code under test: create a broadcast, queue it (fan-out) and run the delivery workers as
    `champbot deliver` does (`run_delivery`: each channel its own workers and budget) until the
    outbox is idle. Returns when it was queued (time.monotonic()), how long until idle, the report."""
    engine = database.engine()
    sessions = make_sessions(engine)
    try:
        async with sessions.begin() as session:
            made = await broadcasts.create_broadcast(session, texts={"en": TEXT}, audience=audience)
        queued = time.monotonic()
        async with sessions.begin() as session:
            await broadcasts.queue_due(session, utcnow(), timedelta(hours=1))
        budget = Budget(settings.delivery_rate or None)
        whatsapp = whatsapp_out(settings, sessions)  # as `champbot deliver` makes it
        try:
            await run_delivery(
                settings, sessions, asyncio.Event(), budget, until_idle=True, whatsapp=whatsapp
            )
        finally:
            if whatsapp is not None:
                await whatsapp.client.close()
        seconds = time.monotonic() - queued
        async with sessions.begin() as session:
            report = await broadcasts.report(session, made.id)
    finally:
        await engine.dispose()
    assert report.pending == 0, f"broadcast {made.id} still has {report.pending} pending"
    return queued, seconds, report


def channel_rate(sends: dict[str, Any]) -> float:
    """A channel's sustained messages/s at its emulator: from its first send to its last (the
    fan-out before the first, a fixed cost, is noted beside)."""
    if sends["count"] < 2 or sends["last"] == sends["first"]:
        return 0.0
    return float((sends["count"] - 1) / (sends["last"] - sends["first"]))


def refusals(refused: dict[Any, int]) -> str:
    return ", ".join(f"{code}: {n}" for code, n in sorted(refused.items())) or "none"


async def figure_whatsapp(run: Run) -> None:
    """12: a WhatsApp broadcast keeps close to the number's 80 messages/s, with no 130429 (throughput)
    and no 131056 (pair limit) from the emulator enforcing both. Baseline: a bare Graph send loop
    paced by the same Budget(80, 6 s) to the same people."""
    n = (QUICK if run.quick else FULL)["whatsapp"]
    database = await create_database(run.kind, run.workdir, "wa_broadcast")
    with EmulatorProcess(enforce_limits=True, commands=whatsapp_commands) as emulator:
        graph = await emulator.acall("wa_start", META_RATE, PAIR_SECONDS, False)
        engine = database.engine()
        await add_whatsapp_champions(engine, 0, WARM_UP, role=Role.COORDINATOR)
        await engine.dispose()
        await emulator.acall("wa_people", 0, WARM_UP, True)
        await seed_whatsapp(database, emulator, WARM_UP, n)
        settings = delivery_settings(emulator.base_url, graph, database)
        people = range(WARM_UP, WARM_UP + n)
        await bare_loop(graph, range(WARM_UP), run.concurrency, Budget(WHATSAPP_RATE, PAIR_SECONDS))
        await asyncio.sleep(1.1)  # let the emulator's one-second window empty
        await emulator.acall("mark")
        bare = await bare_loop(graph, people, run.concurrency, Budget(WHATSAPP_RATE, PAIR_SECONDS))
        bare_counts = (await emulator.acall("counts"))["whatsapp"]
        await deliver(database, settings, WARM_UP_AUDIENCE)
        await asyncio.sleep(1.1)
        await emulator.acall("mark")
        queued, seconds, report = await deliver(database, settings, AUDIENCE)
        ours = (await emulator.acall("counts"))["whatsapp"]
    await drop_database(database)
    sent = report.counts.get(outbox.SENT, 0)
    rate = channel_rate(ours)
    throughput, pair = ours["refused"].get(130429, 0), ours["refused"].get(131056, 0)
    emit(
        Row(
            f"12 WhatsApp broadcast: rate, {count(n)} ({run.kind})",
            f"{rate:.2f} msg/s = {100 * rate / WHATSAPP_RATE:.1f}% of {WHATSAPP_RATE:.0f}",
            f"{bare.rate:.2f} msg/s bare, paced",
            f"{rate / bare.rate:.3f}",
            f">= {LIMIT_SHARE * WHATSAPP_RATE:.1f} msg/s ({100 * LIMIT_SHARE:.0f}%)",
            rate >= LIMIT_SHARE * WHATSAPP_RATE,
        ),
        run.rows,
    )
    emit(
        Row(
            f"12 WhatsApp broadcast: 130429/131056 ({run.kind})",
            f"{throughput} 130429, {pair} 131056, {sent:,} sent",
            f"bare: {refusals(bare_counts['refused'])}",
            "-",
            f"0 and 0, all {count(n)} sent",
            throughput == 0 and pair == 0 and sent == n,
        ),
        run.rows,
    )
    note(
        "12",
        f"half in the window (session message), half by template; outbox {report.counts}, idle "
        f"{seconds:.1f} s after queueing ({sent / seconds:.2f} msg/s); first send "
        f"{ours['first'] - queued:.2f} s after queueing, longest pause {ours['gap']:.2f} s (bare "
        f"{bare_counts['gap']:.2f} s), most in one second {ours['peak']} (bare {bare_counts['peak']}), "
        f"refused {refusals(ours['refused'])}",
    )


async def channel_areas(database: Database) -> dict[str, int]:
    """An area for each channel's champions, so a broadcast can go to one channel alone."""
    engine = database.engine()
    async with make_sessions(engine).begin() as session:
        await directory.add_areas(session, ["Telegram", "WhatsApp"])
        areas = {area.name.lower(): area.id for area in await directory.list_areas(session)}
    await engine.dispose()
    return areas


async def figure_both(run: Run) -> None:
    """13: one broadcast to Telegram and WhatsApp champions at once: each channel keeps ≥ 95% of its
    own limit (Telegram's delivery_rate, WhatsApp's 80/s), so neither slows the other. Baseline:
    each channel's broadcast alone, to the same champions, in the same run."""
    sizes = QUICK_BOTH if run.quick else FULL
    n_wa, n_tg = sizes["whatsapp"], sizes["telegram"]
    database = await create_database(run.kind, run.workdir, "wa_both")
    areas = await channel_areas(database)
    alone: dict[str, dict[str, Any]] = {}
    # Each channel's emulator in a process of its own, so one's load does not jitter the other's
    # arrivals (each counts its limit by when requests arrive).
    with (
        EmulatorProcess(enforce_limits=True, commands=whatsapp_commands) as telegram,
        EmulatorProcess(enforce_limits=True, commands=whatsapp_commands) as whatsapp,
    ):
        emulators = {"telegram": telegram, "whatsapp": whatsapp}
        graph = await whatsapp.acall("wa_start", META_RATE, PAIR_SECONDS, False)
        engine = database.engine()
        await add_champions(engine, FIRST_ID, n_tg, area_id=areas["telegram"])
        await engine.dispose()
        telegram.add_users(FIRST_ID, n_tg)
        await seed_whatsapp(database, whatsapp, 0, n_wa, areas["whatsapp"])
        settings = delivery_settings(telegram.base_url, graph, database)
        for channel, emulator in emulators.items():
            await asyncio.sleep(1.1)  # the one-second windows and every chat's interval empty
            await emulator.acall("mark")
            await deliver(database, settings, Audience(areas=[areas[channel]]))
            alone[channel] = (await emulator.acall("counts"))[channel]
        await asyncio.sleep(1.1)
        for emulator in emulators.values():
            await emulator.acall("mark")
        queued, seconds, report = await deliver(database, settings, AUDIENCE)
        counts = {channel: (await e.acall("counts"))[channel] for channel, e in emulators.items()}
    await drop_database(database)
    limits = {"telegram": settings.delivery_rate, "whatsapp": settings.whatsapp_rate}
    sizes_by = {"telegram": n_tg, "whatsapp": n_wa}
    for channel in ("telegram", "whatsapp"):
        sends, bare = counts[channel], alone[channel]
        rate, bare_rate = channel_rate(sends), channel_rate(bare)
        limit = limits[channel]
        emit(
            Row(
                f"13 both at once: {channel}, {count(sizes_by[channel])} ({run.kind})",
                f"{rate:.2f} msg/s = {100 * rate / limit:.1f}% of {limit:.0f}",
                f"{bare_rate:.2f} msg/s {channel} alone",
                f"{rate / bare_rate:.3f}" if bare_rate else "-",
                f">= {LIMIT_SHARE * limit:.1f} msg/s ({100 * LIMIT_SHARE:.0f}%)",
                rate >= LIMIT_SHARE * limit and sends["count"] == sizes_by[channel],
            ),
            run.rows,
        )
    refused = {
        channel: f"{sends['429']} 429s" if channel == "telegram" else refusals(sends["refused"])
        for channel, sends in (("telegram", counts["telegram"]), ("whatsapp", counts["whatsapp"]))
    }
    note(
        "13",
        f"{n_tg:,} Telegram and {n_wa:,} WhatsApp champions (half of these by template) in one "
        f"broadcast, delivered by `run_delivery` in {seconds:.1f} s: {report.counts}; sent "
        f"{counts['telegram']['count']:,} + {counts['whatsapp']['count']:,}; refused: Telegram "
        f"{refused['telegram']}, WhatsApp {refused['whatsapp']} (alone: Telegram {alone['telegram']['429']} "
        f"429s, WhatsApp {refusals(alone['whatsapp']['refused'])}); longest pause: Telegram "
        f"{counts['telegram']['gap']:.2f} s, WhatsApp {counts['whatsapp']['gap']:.2f} s; first send "
        f"{counts['telegram']['first'] - queued:.2f} s / {counts['whatsapp']['first'] - queued:.2f} s "
        f"after queueing; most in one "
        f"second: Telegram {counts['telegram']['peak']}, WhatsApp {counts['whatsapp']['peak']}",
    )


FIGURES = {"12": Figure(figure_whatsapp), "13": Figure(figure_both)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("WhatsApp broadcast benchmarks", FIGURES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
