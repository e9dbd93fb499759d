"""Run every benchmark (`bench/run`): each module's figures in turn, then one table of them all."""

from __future__ import annotations

import asyncio
import sys

from bench import (
    activity_reach,
    broadcast,
    data_scale,
    handling,
    idle,
    national,
    outbox,
    press,
    web_pages,
    whatsapp_broadcast,
    whatsapp_inbound,
)
from bench.common import run_figures

FIGURES = {
    **broadcast.FIGURES,
    **handling.FIGURES,
    **idle.FIGURES,
    **data_scale.FIGURES,
    **national.FIGURES,
    **outbox.FIGURES,
    **press.FIGURES,
    **whatsapp_broadcast.FIGURES,
    **whatsapp_inbound.FIGURES,
    **web_pages.FIGURES,
    **activity_reach.FIGURES,
}

if __name__ == "__main__":
    sys.exit(asyncio.run(run_figures("benchmarks", FIGURES, None, __doc__)))
