"""The one sending budget: priorities, the per-chat gap, cancellation, back-off, the processes'
shares, and the real bot's replies with a delivery worker together within Telegram's limits."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import RetryAfter

from bot.budget import Budget, BudgetLimiter, Chat, Priority
from bot.channels import run_delivery
from bot.heartbeat import ALIVE, NEWCOMER_HOLD, Heartbeat, sharing
from storage import broadcasts, sending
from storage.audience import Audience
from storage.models import SendingProcess, utcnow
from tests.conftest import BotHarness
from tests.test_delivery import add_champions


class Handle:
    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeTimer:
    """A clock that moves only when the test says, firing what fell due on the way; like a busy event
    loop, each timer fires the next of `late` seconds (in turn) after it was due."""

    def __init__(self, late: tuple[float, ...] = (0.0,)) -> None:
        self.now = 0.0
        self.late = itertools.cycle(late)
        self.calls = 0
        self._due: list[tuple[float, int, Handle]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        self.calls += 1
        return self.now

    def call_at(self, when: float, callback: Callable[[], object], /) -> Handle:
        handle = Handle(when + next(self.late), callback)
        heapq.heappush(self._due, (handle.when, next(self._seq), handle))
        return handle

    async def advance(self, seconds: float, *, run: bool = True) -> None:
        """Move on `seconds`, firing what falls due on the way; after each (unless not `run`), let the
        takers it woke run (their wake-ups are already queued, so one turn of the loop is enough)."""
        end = self.now + seconds
        while self._due and self._due[0][0] <= end + 1e-9:
            when, _, handle = heapq.heappop(self._due)
            if not handle.cancelled:
                self.now = max(self.now, when)
                handle.callback()
                if run:
                    await asyncio.sleep(0)
        self.now = end


class Takers:
    """take() calls in tasks, each noting its label and the fake time once it may send."""

    def __init__(self, budget: Budget, timer: FakeTimer) -> None:
        self.budget = budget
        self.timer = timer
        self.order: list[str] = []
        self.at: dict[str, float] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def add(self, label: str, chat: int | None, priority: Priority = Priority.BULK) -> None:
        """Start a take() and let it queue."""

        async def take() -> None:
            await self.budget.take(chat, priority)
            self.order.append(label)
            self.at[label] = self.timer.now

        self.tasks[label] = asyncio.create_task(take())
        await asyncio.sleep(0)

    def done(self) -> set[str]:
        return set(self.order)


def budget(
    per_second: float = 10, per_chat: float = 1.0, late: tuple[float, ...] = (0.0,)
) -> tuple[Budget, FakeTimer]:
    timer = FakeTimer(late)
    return Budget(per_second, per_chat, timer=timer), timer


async def test_a_reply_queued_behind_twenty_bulk_sends_goes_first() -> None:
    limiter, timer = budget()
    await limiter.take(1)  # takes the slot now; the rest wait
    takers = Takers(limiter, timer)
    for chat in range(100, 120):
        await takers.add(f"bulk{chat}", chat)
    await takers.add("person", 200, Priority.PERSON)
    await takers.add("reply", 300, Priority.REPLY)
    await timer.advance(0.1)
    assert takers.order == ["reply"]
    await timer.advance(3.0)
    assert takers.order == ["reply", "person", *(f"bulk{chat}" for chat in range(100, 120))]


async def test_the_chat_gap_holds_bulk_and_person_sends_but_not_replies() -> None:
    limiter, timer = budget(per_second=10, per_chat=1.0)
    await limiter.take(1)  # chat 1 sent to at 0
    takers = Takers(limiter, timer)
    await takers.add("bulk", 1)
    await takers.add("person", 1, Priority.PERSON)
    await takers.add("reply", 1, Priority.REPLY)
    await takers.add("reply again", 1, Priority.REPLY)
    await takers.add("other chat", 2)
    await timer.advance(0.35)
    # Both replies go in the next slots (a handler's two messages in a row), then the other chat.
    assert takers.order == ["reply", "reply again", "other chat"]
    # The second reply went at 0.2, so chat 1's gap ends at 1.2 for the others.
    await timer.advance(1.15 - timer.now)
    assert "person" not in takers.done()
    await timer.advance(0.1)
    assert takers.order[-1] == "person" and takers.at["person"] == pytest.approx(1.2)
    await timer.advance(2.15 - timer.now)
    assert "bulk" not in takers.done()
    await timer.advance(0.1)
    assert takers.order[-1] == "bulk"


async def test_a_send_refused_before_it_reached_its_chat_starts_no_gap() -> None:
    limiter, timer = budget(per_second=10, per_chat=6.0)
    await limiter.take(1)  # a send to chat 1 at 0, which WhatsApp refused (130429): it never arrived
    limiter.unsent(1)
    takers = Takers(limiter, timer)
    await takers.add("again", 1)
    await timer.advance(0.15)
    assert takers.order == ["again"] and takers.at["again"] == pytest.approx(0.1)  # the next slot


async def test_a_waiter_held_by_its_chat_does_not_hold_up_the_others() -> None:
    limiter, timer = budget(per_second=10, per_chat=5.0)
    await limiter.take(1)
    takers = Takers(limiter, timer)
    await takers.add("chat 1 again", 1)
    for chat in range(2, 12):
        await takers.add(f"chat {chat}", chat)
    await timer.advance(1.0)
    assert takers.order == [f"chat {chat}" for chat in range(2, 12)]  # at the pace, in order
    await timer.advance(4.0)
    assert takers.order[-1] == "chat 1 again" and takers.at["chat 1 again"] == pytest.approx(5.0)


async def test_a_cancelled_take_leaves_no_slot_behind() -> None:
    limiter, timer = budget(per_second=10)
    await limiter.take(1)
    takers = Takers(limiter, timer)
    await takers.add("gone", 2)
    await takers.add("next", 3)
    takers.tasks["gone"].cancel()
    await asyncio.sleep(0)
    await timer.advance(0.1)
    assert takers.order == ["next"]  # in the slot the cancelled one would have had
    assert not limiter._ready and not limiter._held


async def test_a_take_cancelled_once_given_its_slot_hands_it_on() -> None:
    limiter, timer = budget(per_second=10)
    await limiter.take(1)
    takers = Takers(limiter, timer)
    await takers.add("given", 2)
    await takers.add("next", 3)
    await takers.add("after", 2)
    await timer.advance(0.1, run=False)  # "given" gets the slot at 0.1, but is cancelled before it sends
    takers.tasks["given"].cancel()
    await asyncio.sleep(0)
    assert takers.order == []
    await timer.advance(0)
    assert takers.order == ["next"] and takers.at["next"] == pytest.approx(0.1)
    await timer.advance(0.1)
    assert takers.order == ["next", "after"]  # chat 2 was not sent to, so it has no gap to wait


async def test_back_off_holds_every_send() -> None:
    limiter, timer = budget(per_second=10)
    await limiter.take(1)
    limiter.back_off(5.0)
    takers = Takers(limiter, timer)
    await takers.add("reply", 2, Priority.REPLY)
    await takers.add("bulk", 3)
    await timer.advance(4.95)
    assert takers.order == []
    await timer.advance(0.1)
    assert takers.order == ["reply"]
    await timer.advance(0.1)
    assert takers.order == ["reply", "bulk"]


async def test_late_timers_keep_the_pace_and_never_start_more_than_the_rate_in_a_second() -> None:
    limiter, timer = budget(per_second=10, late=(0.01, 0.005, 0.05))
    takers = Takers(limiter, timer)
    for chat in range(100):
        await takers.add(str(chat), chat)
    await timer.advance(5.0)
    starts = sorted(takers.at.values())
    # Every timer fires late, yet the pace holds (spaced from each start, it would be 43)...
    assert len(starts) >= 48
    # ...and a late start followed by timely ones never makes more than 10 in a second.
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(starts[:-10], starts[10:], strict=True))


async def test_a_share_of_the_budget_slows_the_pace() -> None:
    limiter, timer = budget(per_second=10)
    limiter.share(2)
    takers = Takers(limiter, timer)
    for chat in range(20):
        await takers.add(str(chat), chat)
    await timer.advance(0.99)
    assert len(takers.order) == 5 and limiter.rate == 5
    limiter.share(1)
    await timer.advance(1.0)
    assert len(takers.order) == 15


async def test_only_chats_within_their_gap_are_remembered() -> None:
    limiter, timer = budget(per_second=100, per_chat=1.0)
    takers = Takers(limiter, timer)
    for chat in range(1000):
        await takers.add(str(chat), chat)
    await timer.advance(10.0)
    assert len(takers.order) == 1000
    assert len(limiter._last_chat) <= 101 and len(limiter._recent) <= 101


async def test_no_limit_means_no_waiting_and_no_bookkeeping() -> None:
    for per_second in (None, 0):
        timer = FakeTimer()
        limiter = Budget(per_second, timer=timer)
        for chat in range(1000):
            await limiter.take(chat % 3, Priority.BULK)
        limiter.back_off(60)
        await limiter.take(1)
        assert timer.calls == 0 and not limiter._last_chat


class Spy(Budget):
    """Notes what the limiter asks of its budget."""

    def __init__(self) -> None:
        super().__init__(None)
        self.taken: list[tuple[Chat | None, Priority]] = []
        self.held: list[float] = []

    async def take(self, chat: Chat | None, priority: Priority = Priority.BULK) -> None:
        self.taken.append((chat, priority))

    def back_off(self, seconds: float) -> None:
        self.held.append(seconds)


async def sent() -> bool:
    return True


async def test_the_bots_messages_go_through_the_budget_as_replies_and_other_calls_go_at_once() -> None:
    spy = Spy()
    limiter = BudgetLimiter(spy)
    for endpoint in ("sendMessage", "sendPhoto", "sendMediaGroup", "copyMessage", "editMessageText"):
        assert await limiter.process_request(sent, (), {}, endpoint, {"chat_id": 42}, None)
    await limiter.process_request(sent, (), {}, "sendMessage", {"chat_id": "43"}, Priority.PERSON)
    await limiter.process_request(sent, (), {}, "sendMessage", {"chat_id": "@news"}, Priority.BULK)
    await limiter.process_request(sent, (), {}, "editMessageText", {"inline_message_id": "x"}, None)
    for endpoint in ("answerCallbackQuery", "getMe", "setMyCommands", "getUpdates", "getupdates"):
        assert await limiter.process_request(sent, (), {}, endpoint, {"chat_id": 42}, None)
    assert spy.taken == [
        *[(42, Priority.REPLY)] * 5,
        (43, Priority.PERSON),
        ("@news", Priority.BULK),
        (None, Priority.REPLY),
    ]


def refused(times: int, seconds: int) -> Callable[[], Awaitable[bool]]:
    """A Bot API call that Telegram answers with "retry after `seconds`" `times` times, then takes."""
    left = times

    async def call() -> bool:
        nonlocal left
        if left:
            left -= 1
            raise RetryAfter(seconds)
        return True

    return call


async def test_retry_after_holds_the_budget_and_tries_three_times_more() -> None:
    spy = Spy()
    limiter = BudgetLimiter(spy)
    sent = refused(3, seconds=2)
    assert await limiter.process_request(sent, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert spy.held == [2.0, 2.0, 2.0] and len(spy.taken) == 4
    with pytest.raises(RetryAfter):
        await limiter.process_request(refused(4, seconds=2), (), {}, "sendMessage", {"chat_id": 1}, None)
    assert len(spy.taken) == 8


async def test_a_call_that_is_not_a_message_is_tried_again_after_retry_after_too() -> None:
    """Telegram may answer any method with "retry after" (PTB's own limiter retried them all)."""
    spy = Spy()
    limiter = BudgetLimiter(spy)
    assert await limiter.process_request(refused(1, seconds=0), (), {}, "setMyCommands", {}, None)
    assert spy.taken == [] and spy.held == [0.0]


async def test_two_sending_processes_halve_their_budgets_and_one_leaving_gives_it_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = Budget(30)
    second, second_timer = budget(per_second=30)
    one, two = Heartbeat(first, sessions, name="one"), Heartbeat(second, sessions, name="two")
    assert await one.beat() == 1 and first.rate == 30
    assert await two.beat() == 2 and second.rate == 15
    await one.beat()
    assert first.rate == 15
    await two.leave()
    await one.beat()
    assert first.rate == 30
    # The newcomer held its sends until the other had had time to see it.
    takers = Takers(second, second_timer)
    await takers.add("first send", 1)
    await second_timer.advance(NEWCOMER_HOLD - 0.1)
    assert takers.order == []
    await second_timer.advance(0.2)
    assert takers.order == ["first send"]


async def test_the_whatsapp_numbers_budget_is_split_between_the_same_processes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    telegram, whatsapp = Budget(30), Budget(80, 6.0)
    one = Heartbeat(telegram, sessions, name="one", more=(whatsapp,))
    two = Heartbeat(Budget(30), sessions, name="two", more=(Budget(80, 6.0),))
    assert await one.beat() == 1 and whatsapp.rate == 80
    assert await two.beat() == 2
    assert await one.beat() == 2  # one process is counted once, whatever it sends with
    assert (telegram.rate, whatsapp.rate) == (15, 40)


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def test_a_process_that_died_ages_out(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        now = await session.scalar(select(func.now())) if is_postgresql(session) else utcnow()
        assert now is not None
        session.add(SendingProcess(name="quiet a moment", seen_at=now - timedelta(seconds=1)))
        session.add(SendingProcess(name="dead", seen_at=now - ALIVE - timedelta(seconds=1)))
    alive = Heartbeat(Budget(30), sessions, name="alive")
    assert await alive.beat() == 2 and alive.budget.rate == 15
    async with sessions() as session:
        assert set(await session.scalars(select(SendingProcess.name))) == {"alive", "quiet a moment"}


async def test_a_process_is_counted_while_it_shares_and_no_longer_once_it_stops(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def counted() -> int:
        async with sessions() as session:
            return await sending.count_seen(session, timedelta(minutes=1))

    async with sharing(Budget(30), sessions):
        assert await counted() == 1
    assert await counted() == 0
    async with sharing(Budget(None), sessions):  # no limit: nothing to share
        assert await counted() == 0


async def test_replies_and_a_delivery_worker_together_keep_telegrams_limits(bot: BotHarness) -> None:
    recipients = await add_champions(bot.sessions, bot.emulator, 45, start=3000)
    async with bot.sessions.begin() as session:
        await broadcasts.create_broadcast(session, texts={"en": "Clinic open late"}, audience=Audience())
        await broadcasts.queue_due(session, utcnow(), timedelta(hours=1))
    people = [bot.person(900 + i, f"P{i}") for i in range(12)]
    bot.emulator.enforce_limits = True  # from here on; the command menu was registered at start
    budget = bot.application.bot_data.budget  # the replies' own
    delivering = asyncio.create_task(
        run_delivery(bot.settings, bot.sessions, asyncio.Event(), budget, workers=1, until_idle=True)
    )
    replies = await asyncio.gather(*(person.send("/help") for person in people))
    await delivering
    assert [len(said) for said in replies] == [1] * len(people)
    assert all(len(bot.emulator.history(telegram_id)) == 1 for telegram_id in recipients)
    assert bot.emulator.rate_limited == 0
