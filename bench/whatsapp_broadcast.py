"""WhatsApp broadcast benchmarks against the local WhatsApp Cloud API emulator, each beside a bare baseline.

(The figures are added once the outbox delivers WhatsApp rows; this module already holds what every
WhatsApp benchmark shares: the WhatsApp emulator in the emulator's process, WhatsApp champions in the
database, a bare Graph API send loop.)

The WhatsApp emulator (`bot.whatsapp_emulator.WhatsAppEmulator`) runs in the benchmark emulator's own
process beside the Telegram one, on a port of its own, started by the `wa_start` command with the
limits a figure wants; it counts accepted sends (`messages_sent`), the most sends in any one second
(`send_peak`) and its refusals by error code (`refused`), and the benchmark reads them with `wa_stats`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import Command, Figure, run_figures
from bot.budget import Budget
from bot.emulator import Emulator
from bot.emulator import Event as TelegramEvent
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
from storage.db import make_sessions
from storage.identities import WHATSAPP, WHATSAPP_KEYS
from storage.models import Champion, Identity, Role, Status, utcnow

FIRST_PERSON = 7_000_000_000  # WhatsApp people of the benchmark: BSUID GB.<FIRST_PERSON + i>
TEXT = "Flu jabs this Saturday at the community centre, 10:00-16:00. Please pass it on."
WHATSAPP_RATE = 80.0  # messages/s, the number's default throughput (settings.whatsapp_rate)
PAIR_SECONDS = 6.0  # Meta's pair limit (settings.whatsapp_pair_seconds)


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

    def seen(self) -> None:
        now = time.monotonic()
        self.count += 1
        self.first = now if self.first is None else self.first
        self.last = now

    def result(self) -> dict[str, Any]:
        return {"count": self.count, "first": self.first, "last": self.last}


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
    engine: AsyncEngine, first: int, n: int, *, window: bool = True
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
        keys = {
            address: chat_id
            for address, chat_id in await session.execute(
                select(Identity.address, Identity.chat_id).where(Identity.channel == WHATSAPP)
            )
        }
    chats = [int(keys[bsuid(i)]) for i in range(first, first + n)]
    for start in range(0, n, chunk):
        rows = [
            {
                "telegram_id": chat_id,
                "display_name": f"P{first + start + j}",
                "language": "en",
                "timezone": "Europe/London",
                "role": Role.CHAMPION,
                "status": Status.ACTIVE,
                "consent_at": now,
                "share_consent": False,
                "created_at": now,
                "updated_at": now,
            }
            for j, chat_id in enumerate(chats[start : start + chunk])
        ]
        async with sessions.begin() as session:
            await session.execute(insert(Champion), rows)
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
        "whatsapp_verify_token": "bench-verify",
        "whatsapp_api_url": base_url,
        "whatsapp_number": DISPLAY_PHONE_NUMBER,
        **more,
    }


FIGURES: dict[str, Figure] = {}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("WhatsApp broadcast benchmarks", FIGURES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
