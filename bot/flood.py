"""Flood control: a token bucket per chat, so one chat sending very fast cannot starve the others.

Each chat may send a burst of `burst` updates, then `rate` a second. The buckets live in this
process's memory: they are not shared between processes and start full after a restart, which is
fine for a limit that only has to hold for a few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

MAX_TRACKED = 10_000  # chats whose buckets are kept before full (idle) ones are forgotten


class Verdict(Enum):
    """What to do with one update."""

    ALLOW = "allow"
    WARN = "warn"  # the first update over the limit: drop it, and tell the person once
    DROP = "drop"  # further updates of the same burst: drop them silently


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class FloodGate:
    """Per-chat token buckets; `rate` 0 means no limit."""

    def __init__(self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def check(self, chat_id: int) -> Verdict:
        """Take a token for one update from this chat, or say how to drop it."""
        if not self.rate:
            return Verdict.ALLOW
        now = self._clock()
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[chat_id] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return Verdict.ALLOW
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _forget_idle(self, now: float) -> None:
        """Keep memory bounded: drop the buckets that have refilled, which hold nothing to remember."""
        if len(self._buckets) < MAX_TRACKED:
            return
        self._buckets = {
            chat: b for chat, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate < self.burst
        }
