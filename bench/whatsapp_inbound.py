"""WhatsApp inbound webhook benchmark: the real bot in a process of its own, Meta played by a load
generator in the emulator's process.

14. inbound latency — signed Meta-shaped webhooks, each one text message "help" from a champion who
    joined on WhatsApp, posted at a steady 100 messages/s (open loop: on a fixed clock, whatever the
    answers) to the bot's /whatsapp route, served as `champbot webhook` serves it (one port with
    Telegram's webhook). The bot checks the signature on the raw body, claims the message id, renews
    the window, runs the /help journey and sends its answer to the WhatsApp emulator before it answers
    the POST, so the POST's time is the whole handling. The emulator then posts the reply's `sent` and
    `delivered` statuses to the same route, as Meta does (load beside the timed messages, not timed).
    Figure: p50/p99 from the POST to its answer, p99 < 50 ms, none failed. Baseline: a bare aiohttp
    handler that only checks the signature and answers 200, in the same kind of process, at the same
    rate.

100 answers a second are more than the number's 80 messages/s (`whatsapp_rate`), which would alone
queue the replies and grow the latency without bound, so the bot runs with `whatsapp_rate=0` (as
figures 4 and 5 run with `delivery_rate=0`) and the emulator with no throughput limit; the pair limit
stays on in both (each champion writes every `champions / 100` seconds and gets one answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import sys
from typing import Any

from aiohttp import ClientError, ClientSession, web

from bench.common import (
    Child,
    Database,
    EmulatorProcess,
    Figure,
    Row,
    Run,
    create_database,
    drop_database,
    emit,
    note,
    run_figures,
)
from bench.handling import SECRET, _champbot, bot_settings, free_port, p50_p99, percentile
from bench.whatsapp_broadcast import (
    PAIR_SECONDS,
    VERIFY_TOKEN,
    add_whatsapp_champions,
    whatsapp_commands,
    whatsapp_settings,
)
from bot.i18n import compile_catalogs
from bot.whatsapp_emulator import APP_SECRET

FULL = {"champions": 1_000, "seconds": 30.0}
QUICK = {"champions": 500, "seconds": 8.0}
WARM_UP_SECONDS = 3.0
RATE = 100.0  # messages/s offered
P99_LIMIT_MS = 50.0
TEXT = "help"  # typed without a slash: the /help command (`bot.whatsapp_inbound.COMMAND_WORDS`)


def _bare_webhook(port: int, secret: str) -> None:
    """The baseline: a bare aiohttp handler that checks the signature on the raw body and answers 200."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Hub-Signature-256", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return web.Response(status=403, text="bad signature")
        return web.Response(text="ok")

    async def verify(request: web.Request) -> web.Response:
        return web.Response(text=request.query.get("hub.challenge", ""))

    app = web.Application()
    app.add_routes([web.post("/whatsapp", receive), web.get("/whatsapp", verify)])
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system, all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def until_verified(url: str) -> None:
    """Wait until the webhook answers Meta's verification (it is up, with its routes)."""
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    async with asyncio.timeout(60), ClientSession() as http:
        while True:
            try:
                async with http.get(url, params=params) as answer:
                    if answer.status == 200 and await answer.text() == "42":
                        return
            except ClientError:
                pass
            await asyncio.sleep(0.1)


async def start_side(
    side: str, emulator: EmulatorProcess, database: Database, graph: str
) -> tuple[Child, str]:
    """The bare handler or champbot (`champbot webhook`, WhatsApp on the same port), up and verified;
    the child and its /whatsapp URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/whatsapp"
    if side == "bare":
        child = Child(_bare_webhook, port, APP_SECRET)
    else:
        settings = bot_settings(
            emulator,
            database,
            webhook_url=f"http://127.0.0.1:{port}/hook",
            webhook_port=port,
            webhook_secret=SECRET,
            **whatsapp_settings(graph, whatsapp_rate=0, whatsapp_pair_seconds=PAIR_SECONDS),
        )
        child = Child(_champbot, settings, database, "webhook")
    await until_verified(url)
    return child, url


async def figure_inbound(run: Run) -> None:
    """14: inbound webhook POST p50/p99 at 100 messages/s, signature included, against a bare handler."""
    sizes = QUICK if run.quick else FULL
    n, seconds = int(sizes["champions"]), sizes["seconds"]
    compile_catalogs()
    database = await create_database(run.kind, run.workdir, "wa_inbound")
    engine = database.engine()
    await add_whatsapp_champions(engine, 0, n)
    await engine.dispose()
    results: dict[str, dict[str, Any]] = {}
    with EmulatorProcess(enforce_limits=False, commands=whatsapp_commands) as emulator:
        graph = await emulator.acall("wa_start", None, PAIR_SECONDS, True)
        await emulator.acall("wa_people", 0, n, True)
        for side in ("bare", "champbot"):
            child, url = await start_side(side, emulator, database, graph)
            try:
                await emulator.acall("wa_hook", url if side == "champbot" else None)
                await emulator.acall("wa_inbound", url, 0, n, RATE, WARM_UP_SECONDS, TEXT)
                await emulator.acall("mark")
                cpu = cpu_seconds(child.pid)
                results[side] = await emulator.acall("wa_inbound", url, 0, n, RATE, seconds, TEXT)
                await asyncio.sleep(1.0)  # the last replies' statuses
                results[side]["cpu"] = cpu_seconds(child.pid) - cpu
                results[side]["counts"] = (await emulator.acall("counts"))["whatsapp"]
            finally:
                child.stop()
    await drop_database(database)
    ours, bare = results["champbot"], results["bare"]
    (p50, p99), (b50, b99) = p50_p99(ours["latencies"]), p50_p99(bare["latencies"])
    offered = int(RATE * seconds)
    replies = ours["counts"]["count"]
    emit(
        Row(
            f"14 WhatsApp inbound p50/p99 @{RATE:.0f}/s ({run.kind})",
            f"{p50:.1f} / {p99:.1f} ms",
            f"{b50:.1f} / {b99:.1f} ms bare handler",
            f"{p99 / b99:.2f}",
            f"p99 < {P99_LIMIT_MS:.0f} ms, 0 failed",
            p99 < P99_LIMIT_MS and ours["failed"] == 0 and len(ours["latencies"]) == offered,
        ),
        run.rows,
    )
    ours_ms = 1000 * ours["cpu"] / max(1, replies)  # per message the bot handled (and answered)
    note(
        "14",
        f"{n:,} champions, {offered:,} messages in {ours['seconds']:.1f} s; bot: {ours['failed']} failed, "
        f"{replies:,} replies sent, refused {ours['counts']['refused'] or 'none'}, p90 "
        f"{percentile(ours['latencies'], 0.9):.1f} ms, max {1000 * max(ours['latencies'], default=0):.0f} "
        f"ms; "
        f"bare: {bare['failed']} failed; injector at worst {1000 * ours['late']:.1f} ms late",
    )
    note(
        "14",
        f"CPU used by the bot's process: {ours_ms:.1f} ms a message handled, its two status webhooks "
        f"included "
        f"({RATE * ours_ms / 1000:.2f} CPUs at {RATE:.0f}/s, on a machine of {os.cpu_count()}); bare "
        f"handler {1000 * bare['cpu'] / offered:.2f} ms",
    )


FIGURES = {"14": Figure(figure_inbound)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("WhatsApp inbound benchmark", FIGURES, argv, __doc__)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main()))
