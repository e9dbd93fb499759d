"""One sending budget per bot token: Telegram's ~30 messages a second overall and about one a second
per chat, shared by replies to the person who just wrote and every delivery worker.

`Budget` paces the sends of one process; `BudgetLimiter` puts python-telegram-bot's own sends (the
handlers' replies) through the same budget; `bot.heartbeat` splits the overall rate between the
processes that send with the token.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from enum import IntEnum
from typing import Any, Protocol

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

Chat = int | str  # a chat's id, or a channel's @username
RETRIES = 3  # times a send refused with RetryAfter is tried again, as PTB's AIORateLimiter does
MAX_SPREAD = 1000  # starts remembered to keep a second's worth apart (more only at rates past 1,000/s)

# The Bot API methods that deliver a message to a chat (compared in lower case: method names are
# case-insensitive). Everything else (answerCallbackQuery, getUpdates, getMe, ...) is not paced.
SENDING = frozenset(
    name.lower()
    for name in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
    )
)


class Priority(IntEnum):
    """Who goes first when the budget is short: lower first."""

    REPLY = 0  # a reply to the person who just wrote
    PERSON = 1  # a message the bot starts for one person: a reply to a report, an approval
    BULK = 2  # broadcasts, campaigns, weekly snippets, digests


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Timer(Protocol):
    """What the budget needs of a clock: the running event loop's, or a test's that moves when told."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object], /) -> Cancellable: ...


class _Waiter:
    """A take() waiting for its turn."""

    __slots__ = ("chat", "future", "granted_at", "previous", "priority", "seq", "slot_end")

    def __init__(self, chat: Chat | None, priority: Priority, seq: int, future: asyncio.Future[None]) -> None:
        self.chat = chat
        self.priority = priority
        self.seq = seq
        self.future = future
        self.granted_at = 0.0
        self.slot_end = 0.0  # when the slot after this one began, as granted
        self.previous: float | None = None  # when its chat was last sent to before it


class Budget:
    """Starts at most `per_second` sends a second overall, evenly spaced, and at most one a chat every
    `per_chat` seconds; waiters go lowest Priority first, then in the order they came.

    The slots are a fixed chain 1/per_second apart, so a timer that fires late does not slow the pace,
    and the last `per_second` starts (at most MAX_SPREAD) are kept a second apart, so a late start
    followed by an early one never puts more than `per_second` in any one second. A REPLY is not
    held to its chat's gap (a handler often answers in two messages; Telegram allows that burst in a
    private chat) but it counts in the overall pace and starts the chat's gap for the others. A waiter
    held by its chat's gap does not hold up the others. Only chats sent to within the last
    `per_chat` seconds are remembered, so memory does not grow with the audience.

    `per_second` None or 0: no limit and no bookkeeping at all. The chat gap is kept per process
    only: two processes sending to one chat within a second each keep their own.
    """

    def __init__(
        self, per_second: float | None = 29.0, per_chat: float = 1.0, *, timer: Timer | None = None
    ) -> None:
        self.per_second = per_second or 0.0
        self.per_chat = per_chat
        self.processes = 1  # sending with this token, the overall rate split between them
        self._timer = timer  # None: the running event loop's
        self._next = -math.inf  # when the next slot of the chain begins
        self._spread = min(max(1, math.floor(self.per_second)), MAX_SPREAD)
        self._starts: deque[float] = deque(maxlen=self._spread)  # the last sends' start times
        self._last_chat: dict[Chat, float] = {}
        self._recent: deque[tuple[float, Chat]] = deque()  # (sent at, chat), oldest first
        self._ready: list[tuple[int, int, _Waiter]] = []  # (priority, seq, waiter)
        self._held: list[tuple[float, int, _Waiter]] = []  # (chat free at, seq, waiter)
        self._seq = itertools.count()
        self._wake: Cancellable | None = None
        self._wake_at = math.inf

    @property
    def interval(self) -> float:
        """Seconds between two sends of this process (0: no limit)."""
        return self.processes / self.per_second if self.per_second else 0.0

    @property
    def rate(self) -> float:
        """Sends a second this process may start (0: no limit)."""
        return self.per_second / self.processes

    def share(self, processes: int) -> None:
        """Split the overall rate between this many processes sending with the token."""
        self.processes = max(1, processes)

    async def take(self, chat: Chat | None, priority: Priority = Priority.BULK) -> None:
        """Wait until a message to `chat` (None: no chat, e.g. an inline message) may start."""
        if not self.per_second:
            return
        timer = self._clock()
        now = timer.time()
        self._forget(now)
        free = now >= self._opens() and not self._ready and not self._due_held(now)
        if free and self._free_at(chat, priority) <= now:
            self._grant(chat, now)
            return
        waiter = _Waiter(chat, priority, next(self._seq), asyncio.get_running_loop().create_future())
        heapq.heappush(self._ready, (priority, waiter.seq, waiter))
        self._arm(timer)
        try:
            await waiter.future
        except asyncio.CancelledError:
            self._hand_back(waiter, timer)
            raise

    def unsent(self, chat: Chat) -> None:
        """A send to `chat` was refused before it reached them: it starts no gap for the chat."""
        self._last_chat.pop(chat, None)

    def back_off(self, seconds: float) -> None:
        """Telegram said to wait: hold every send, not only the one that was refused."""
        if self.per_second:
            self._next = max(self._next, self._clock().time() + seconds)

    # ------------------------------------------------------------------ the schedule

    def _clock(self) -> Timer:
        return self._timer or asyncio.get_running_loop()

    def _opens(self) -> float:
        """When the next send may start: the next slot, unless that would start more than
        `per_second` within a second."""
        if len(self._starts) < self._spread:
            return self._next
        return max(self._next, self._starts[0] + self._spread * self.interval)

    def _free_at(self, chat: Chat | None, priority: Priority) -> float:
        """When `chat`'s gap allows this send (-inf: now; a REPLY never waits for its chat)."""
        if priority == Priority.REPLY or chat is None or chat not in self._last_chat:
            return -math.inf
        return self._last_chat[chat] + self.per_chat

    def _due_held(self, now: float) -> bool:
        return bool(self._held) and self._held[0][0] <= now

    def _grant(self, chat: Chat | None, now: float) -> None:
        """Give the slot beginning at or before `now` to a send to `chat`. The chain of slots goes on
        from the slot, not from `now`, unless it fell a whole slot behind (nothing was waiting)."""
        interval = self.interval
        self._next = (self._next if now - self._next < interval else now) + interval
        self._starts.append(now)
        if chat is not None and self.per_chat:
            self._last_chat[chat] = now
            self._recent.append((now, chat))

    def _forget(self, now: float) -> None:
        """Drop the chats whose gap is over."""
        while self._recent and self._recent[0][0] + self.per_chat <= now:
            sent_at, chat = self._recent.popleft()
            if self._last_chat.get(chat) == sent_at:
                del self._last_chat[chat]

    def _arm(self, timer: Timer) -> None:
        """Wake at the next moment a waiter could start: the next slot, or the earliest chat gap's end."""
        if self._ready:
            when = self._opens()
        elif self._held:
            when = max(self._opens(), self._held[0][0])
        else:
            return
        if self._wake is not None:
            if self._wake_at <= when:
                return
            self._wake.cancel()
        self._wake_at = when
        self._wake = timer.call_at(when, self._dispatch)

    def _dispatch(self) -> None:
        """Start the first waiter, by priority then arrival, that its chat allows; hold the others."""
        self._wake, self._wake_at = None, math.inf
        timer = self._clock()
        now = timer.time()
        self._forget(now)
        while self._due_held(now):
            _, seq, waiter = heapq.heappop(self._held)
            if not waiter.future.done():
                heapq.heappush(self._ready, (waiter.priority, seq, waiter))
        while now >= self._opens() and self._ready:
            _, seq, waiter = heapq.heappop(self._ready)
            if waiter.future.done():  # its take() was cancelled while it waited
                continue
            free_at = self._free_at(waiter.chat, waiter.priority)
            if free_at > now:
                heapq.heappush(self._held, (free_at, seq, waiter))
                continue
            waiter.granted_at = now
            waiter.previous = None if waiter.chat is None else self._last_chat.get(waiter.chat)
            self._grant(waiter.chat, now)
            waiter.slot_end = self._next
            waiter.future.set_result(None)
        self._arm(timer)

    def _hand_back(self, waiter: _Waiter, timer: Timer) -> None:
        """A take() was cancelled after it was given its slot: if no other was given since, hand the
        slot on, so the next waiter need not wait for a slot nobody used. (One cancelled while still
        waiting is passed over when its turn comes.)"""
        if waiter.future.cancelled() or self._next != waiter.slot_end:
            return
        self._next = waiter.granted_at
        self._starts.pop()  # its own: no send started since
        chat, previous = waiter.chat, waiter.previous
        if chat is not None and self._last_chat.get(chat) == waiter.granted_at:
            # Back to the send before it, if that one's gap is still on (its entry in _recent is then
            # still there); the cancelled one's entry is skipped when it comes up.
            if previous is not None and previous + self.per_chat > timer.time():
                self._last_chat[chat] = previous
            else:
                del self._last_chat[chat]
        self._arm(timer)


class BudgetLimiter(BaseRateLimiter[Priority]):
    """python-telegram-bot's rate limiter, through the process's Budget: a message sent or edited goes
    when the budget allows, as a REPLY unless `rate_limit_args` names another Priority; other calls
    (answering a button press, getUpdates, setMyCommands, ...) go at once. A RetryAfter, for any call,
    holds the whole budget and the call is tried again, up to RETRIES times, then raised."""

    def __init__(self, budget: Budget, retries: int = RETRIES) -> None:
        self.budget = budget
        self.retries = retries

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Make the request within the budget (see the class)."""
        sending = endpoint.lower() in SENDING
        priority = Priority.REPLY if rate_limit_args is None else rate_limit_args
        chat = chat_of(data.get("chat_id"))
        attempt = 0
        while True:
            if sending:
                await self.budget.take(chat, priority)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self.retries:
                    raise
                attempt += 1
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.info("Telegram asked to wait %.0f s; holding every send", seconds)
                self.budget.back_off(seconds)
                if not sending:  # a message waits for the budget; any other call waits here
                    await asyncio.sleep(seconds)


def chat_of(value: object) -> Chat | None:
    """The chat a request goes to, as the budget keys it: ids as numbers, whether given as one or as
    text; a channel's @username as it is."""
    if isinstance(value, int) or value is None:
        return value
    text = str(value)
    try:
        return int(text)
    except ValueError:
        return text
