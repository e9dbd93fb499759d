"""Idle memory: the bot idling beside 100,000 champions stays flat, against a bare PTB application.

7. The bot (long polling, as `champbot run`, with its scheduler tick every 10 s, the weekly job every
   60 s and a delivery worker) and a bare python-telegram-bot Application (the echo bot) idle side by side
   for 10 minutes (`--quick`: 1 minute) against the emulator, with 100,000 champions in the database.
   Each one's RSS is sampled every few seconds; the figure is the growth of the mean RSS from the first
   half of the run to the second (and the slope of a straight-line fit, MB/min), target ≤ 5 MB.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from bench.common import (
    FIRST_ID,
    Child,
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
from bench.handling import _champbot, _echo_bot, bot_settings
from bot.i18n import compile_catalogs

CHAMPIONS = 100_000
SECONDS = {"full": 600.0, "quick": 60.0}
SETTLE_SECONDS = 15.0  # after start-up, before the first sample: both have polled and run a tick
SAMPLE_SECONDS = 5.0
GROWTH_LIMIT_MB = 5.0


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise LookupError(pid)


def growth(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean RSS of the second half minus the first's (MB), and the fitted slope (MB/min)."""
    half = len(samples) // 2
    first = statistics.fmean(mb for _t, mb in samples[:half])
    second = statistics.fmean(mb for _t, mb in samples[half:])
    slope = statistics.linear_regression([t for t, _mb in samples], [mb for _t, mb in samples]).slope
    return second - first, 60 * slope


async def figure_idle(run: Run) -> None:
    """7: RSS growth of the idling bot against the idling bare application, sampled side by side."""
    seconds = SECONDS["quick" if run.quick else "full"]
    compile_catalogs()
    database = await create_database(run.kind, run.workdir, "idle")
    engine = database.engine()
    await add_champions(engine, FIRST_ID, CHAMPIONS)
    await engine.dispose()
    samples: dict[str, list[tuple[float, float]]] = {"bot": [], "bare": []}
    with EmulatorProcess(enforce_limits=False) as emulator:
        children = {
            "bot": Child(_champbot, bot_settings(emulator, database), database, "polling", True),
            "bare": Child(_echo_bot, emulator.base_url, "polling", 0),
        }
        try:
            await asyncio.sleep(SETTLE_SECONDS)
            started = time.monotonic()
            while (now := time.monotonic()) - started < seconds:
                for side, child in children.items():
                    samples[side].append((now - started, rss_mb(child.pid)))
                await asyncio.sleep(SAMPLE_SECONDS)
        finally:
            for child in children.values():
                child.stop()
    await drop_database(database)
    ours, bare = growth(samples["bot"]), growth(samples["bare"])
    emit(
        Row(
            f"7 idle memory: RSS growth, {seconds / 60:.0f} min ({run.kind})",
            f"{ours[0]:+.2f} MB ({ours[1]:+.3f} MB/min)",
            f"{bare[0]:+.2f} MB bare ({bare[1]:+.3f} MB/min)",
            "-",
            f"<= {GROWTH_LIMIT_MB:.0f} MB",
            ours[0] <= GROWTH_LIMIT_MB,
        ),
        run.rows,
    )
    note(
        "7",
        f"{count(CHAMPIONS)} champions; {len(samples['bot'])} samples every {SAMPLE_SECONDS:.0f} s; RSS bot "
        f"{samples['bot'][0][1]:.1f}->{samples['bot'][-1][1]:.1f} MB, bare "
        f"{samples['bare'][0][1]:.1f}->{samples['bare'][-1][1]:.1f} MB",
    )


FIGURES = {"7": Figure(figure_idle)}


async def main(argv: list[str] | None = None) -> int:
    return await run_figures("idle memory benchmark", FIGURES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
