"""Wake the delivery workers when a row is queued, instead of at their next look for work."""

from __future__ import annotations

import asyncio
import contextlib


class Wake:
    """One event per outbox lane, rung after a commit that queued rows in that lane."""

    def __init__(self) -> None:
        self._events: dict[int, asyncio.Event] = {}

    def _event(self, lane: int) -> asyncio.Event:
        return self._events.setdefault(lane, asyncio.Event())

    def ring(self, lane: int) -> None:
        """Rows were queued in `lane`: its workers look now."""
        self._event(lane).set()

    async def wait(self, lane: int, timeout: float) -> None:
        """Return when `lane` is rung or after `timeout` seconds, whichever comes first."""
        event = self._event(lane)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()
