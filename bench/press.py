"""A button press on a real network: the real bot in a process of its own, champions played by the emulator,
every Bot API call waiting a round trip.

11. press → next step at 60 ms — the emulator makes each Bot API call wait a 60 ms round trip (±20%
    uniform, seeded; half on the way in, half on the way back; a webhook post waits half), for the bot and
    the baseline alike. 200 champions, each on /report's first steps, press at 20 presses/s overall (open
    loop): a topic on the topic question (the next step asks what kind of thing they heard), Back on that
    one (the topics again). Timed from the emulator's push of the press to the bot's next message in that
    chat reaching it (a sendMessage), however many calls the handler makes besides (acknowledging the press,
    echoing the choice may finish later). p50 ≤ 1.3× the echo bot's and p99 < 300 ms, by webhook and by
    long polling. Baseline: a bare python-telegram-bot bot whose press handler makes one call, a
    sendMessage, handling updates concurrently (one at a time, 60 ms a call would hold it to ~16/s).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler

from bench.common import (
    FIRST_ID,
    Command,
    EmulatorProcess,
    Figure,
    Network,
    Row,
    Run,
    add_champions,
    create_database,
    drop_database,
    emit,
    note,
    run_figures,
)
from bench.handling import (
    Driver,
    Pending,
    Step,
    both_sides,
    driver_commands,
    faults,
    p50_p99,
    problems,
    run_bare,
)
from bot.app import SANDBOX_TOKEN
from bot.emulator import Emulator
from bot.i18n import compile_catalogs

RTT = 0.060  # seconds, each Bot API call
PRESS_RATE = 20.0  # presses/s offered, all chats together
FULL = {"champions": 200, "seconds": 60.0}
QUICK = {"champions": 200, "seconds": 15.0}
P50_SHARE = 1.3  # of the echo bot's p50
P99_LIMIT_MS = 300.0
TOPIC, BACK = "rep:t:", "rep:back"
BEGUN = 20  # chats starting /report at a time before the run


class PressDriver(Driver):
    """Plays champions on /report's first steps: each press is a topic (on the topic question) or Back
    (on the next one), done when the chat's next message arrives; the press's acknowledgement and the
    question's edit are not waited for, wherever they land."""

    def push(self, chat_id: int, step: Step) -> Pending | None:
        """Press what the chat's newest question offers (the bot's newest message with buttons: the echo
        bot's messages since have none): a topic, else Back. The echo bot takes any data."""
        message: dict[str, Any] = next(
            (
                m
                for m in reversed(self.emulator.history(chat_id))
                if m.get("from_bot") and m.get("reply_markup")
            ),
            {},
        )
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        offered = [b["callback_data"] for row in rows for b in row]
        topics = [data for data in offered if data.startswith(TOPIC)]
        if self.echo:
            data = TOPIC + "echo"
        elif topics:
            data = topics[chat_id % len(topics)]
        elif BACK in offered:
            data = BACK
        else:
            self.tallies.missing += 1
            return None
        pending = self._pending(chat_id, "message")
        self.emulator.press(chat_id, int(message.get("message_id", 0)), data)
        return pending

    async def begin(self, chats: list[int]) -> dict[str, Any]:
        """Every chat sends /report and gets the topic question, `BEGUN` at a time (not timed)."""
        self.reset(chats, echo=False)

        async def some(mine: list[int]) -> None:
            for chat_id in mine:
                pending = self._pending(chat_id, "message")
                self.emulator.send(chat_id, "/report")
                await self.wait(chat_id, pending)

        await asyncio.gather(*(some(chats[i::BEGUN]) for i in range(BEGUN)))
        return self.tallies.result()


def press_commands(emulator: Emulator, app: web.Application) -> dict[str, Command]:
    """The handling figures' commands, played by the press driver, and `begin`."""
    driver = PressDriver(emulator)
    return {**driver_commands(emulator, app, driver=driver), "begin": driver.begin}


def _press_echo_bot(base_url: str, mode: str, port: int) -> None:
    """The baseline: a bare python-telegram-bot Application answering a press with one sendMessage."""

    async def next_step(update: Update, context: Any) -> None:
        query = update.callback_query
        assert query
        await context.bot.send_message(query.from_user.id, f"You chose {query.data}")

    application: Application = (  # type: ignore[type-arg]
        ApplicationBuilder().token(SANDBOX_TOKEN).base_url(f"{base_url}/bot").concurrent_updates(True).build()
    )
    application.add_handler(CallbackQueryHandler(next_step))
    run_bare(application, mode, port)


async def figure_press(run: Run) -> None:
    """11: press → next step p50/p99 at 60 ms a call and 20 presses/s, webhook and polling."""
    sizes = QUICK if run.quick else FULL
    seconds, n = sizes["seconds"], int(sizes["champions"])
    compile_catalogs()
    database = await create_database(run.kind, run.workdir, "press")
    engine = database.engine()
    await add_champions(engine, FIRST_ID, n)
    await engine.dispose()
    chats = list(range(FIRST_ID, FIRST_ID + n))
    begun: dict[str, Any] = {}

    async def begin() -> None:  # once, with champbot up: every champion on /report's first question
        begun.update(await emulator.acall("begin", chats))

    with EmulatorProcess(enforce_limits=False, commands=press_commands, network=Network(RTT)) as emulator:
        emulator.add_users(FIRST_ID, n)
        results = await both_sides(
            emulator, database, chats, PRESS_RATE, seconds, echo_bot=_press_echo_bot, before_ours=begin
        )
    await drop_database(database)
    for mode in ("webhook", "polling"):
        ours, bare = results[mode, "champbot"], results[mode, "echo"]
        (p50, p99), (b50, b99) = p50_p99(ours["latencies"]), p50_p99(bare["latencies"])
        emit(
            Row(
                f"11 press→next step p50/p99 @{RTT * 1000:.0f} ms, {mode} ({run.kind})",
                f"{p50:.0f} / {p99:.0f} ms",
                f"{b50:.0f} / {b99:.0f} ms echo bot",
                f"{p50 / b50:.2f}",
                f"p50 ≤ {P50_SHARE}× echo, p99 < {P99_LIMIT_MS:.0f}",
                p50 <= P50_SHARE * b50 and p99 < P99_LIMIT_MS and problems(ours) == 0,
            ),
            run.rows,
        )
        note(
            "11",
            f"{mode}: {ours['answered']:,} presses by {n} champions in {ours['seconds']:.1f} s, "
            f"{RTT * 1000:.0f} ms ±20% a call; injector at worst {1000 * ours['late']:.1f} ms late; "
            f"bot: {faults(ours)}; echo: {faults(bare)}; /report begun: {faults(begun)}",
        )


FIGURES = {"11": Figure(figure_press)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("press benchmarks", FIGURES, argv, __doc__)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main()))
