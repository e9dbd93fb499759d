"""One sending budget per bot token: Telegram's ~30 messages a second overall and about one a second
per chat, shared by replies to the person who just wrote and every delivery worker."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from enum import IntEnum


class Priority(IntEnum):
    """Who goes first when the budget is short: lower first."""

    REPLY = 0  # a reply to the person who just wrote
    PERSON = 1  # a message the bot starts for one person: a reply to a report, an approval
    BULK = 2  # broadcasts, campaigns, weekly snippets, digests


class Budget:
    """Spaces sends to at most `per_second` overall and one per chat every `per_chat` seconds.

    Only chats sent to within the last `per_chat` seconds are remembered (about 30), so memory
    does not grow with the audience.
    """

    def __init__(self, per_second: float | None = 29.0, per_chat: float = 1.0) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.per_chat = per_chat if per_second else 0.0
        self._next = 0.0
        self._last_chat: dict[int, float] = {}
        self._recent: deque[tuple[float, int]] = deque()

    async def take(self, chat_id: int, priority: Priority = Priority.BULK) -> None:
        """Sleep until this chat may be sent to (no await before the slot is taken, so no lock)."""
        if not self.interval:
            return
        now = time.monotonic()
        while self._recent and self._recent[0][0] + self.per_chat <= now:
            old_slot, old_chat = self._recent.popleft()
            if self._last_chat.get(old_chat) == old_slot:
                del self._last_chat[old_chat]
        slot = max(now, self._next, self._last_chat.get(chat_id, -math.inf) + self.per_chat)
        self._next = max(self._next, now) + self.interval
        self._last_chat[chat_id] = slot
        self._recent.append((slot, chat_id))
        if slot > now:
            await asyncio.sleep(slot - now)

    def back_off(self, seconds: float) -> None:
        """Telegram said to wait: hold every send, not only the one that was refused."""
        self._next = max(self._next, time.monotonic() + seconds)
