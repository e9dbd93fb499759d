"""Delivery workers: claim rows from the outbox and send them within Telegram's limits.

Each worker claims a batch, sends it with bounded concurrency through a rate limiter (about 30
messages a second overall and one a second per chat; python-telegram-bot's AIORateLimiter does
not keep the per-chat one), and records every outcome: sent, blocked (the champion becomes
unreachable), failed with its reason, or pending again after a RetryAfter, a network error or
quiet hours. Any number of workers, in any number of processes, can share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.budget import Budget
from bot.context import Context
from bot.i18n import N_, translator
from storage import outbox
from storage.models import utcnow
from storage.quiet_hours import is_quiet, quiet_until

log = logging.getLogger(__name__)

ANSWER_BACK = (
    ("shared", N_("Shared it")),
    ("question", N_("A question")),
    ("concern", N_("Concern heard")),
)


@dataclass
class WorkerOptions:
    batch: int = 100
    concurrency: int = 32
    max_attempts: int = 5
    lease: timedelta = timedelta(minutes=2)  # a claim older than this belonged to a dead worker
    idle_wait: float = 1.0


def answer_buttons(delivery_id: int, language: str) -> InlineKeyboardMarkup:
    """ "Shared it" / "A question" / "Concern heard" in the champion's language."""
    tr = translator(language)
    keys = [
        InlineKeyboardButton(tr.gettext(label), callback_data=f"answer:{delivery_id}:{kind}")
        for kind, label in ANSWER_BACK
    ]
    return InlineKeyboardMarkup([keys])


async def send_broadcast_message(
    bot: Bot, chat_id: int, text: str, media: tuple[str, str] | None, markup: InlineKeyboardMarkup | None
) -> Message:
    """Send a broadcast as a champion gets it: text, or a photo or document with the text as caption."""
    if media is None:
        return await bot.send_message(chat_id, text, reply_markup=markup)
    kind, file_id = media
    if kind == "photo":
        return await bot.send_photo(chat_id, file_id, caption=text, reply_markup=markup)
    return await bot.send_document(chat_id, file_id, caption=text, reply_markup=markup)


class DeliveryWorker:
    """One worker; run several (in one process or many) to share the outbox."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        limiter: Budget,
        options: WorkerOptions | None = None,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.limiter = limiter
        self.options = options or WorkerOptions()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.clock = clock  # tests move time on instead of sleeping
        self._slots = asyncio.Semaphore(self.options.concurrency)

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """Deliver until `stop` is set (or, with `until_idle`, until nothing is left to send)."""
        async with self.sessions.begin() as session:
            recovered = await outbox.recover(session, self.clock(), self.options.lease)
        if recovered:
            log.warning("Re-queued %s deliveries left in flight by a stopped worker", recovered)
        while not stop.is_set():
            if await self.run_once():
                continue
            if until_idle and not await self._anything_left():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.options.idle_wait)

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; return how many were claimed."""
        async with self.sessions.begin() as session:
            claimed = await outbox.claim(session, self.name, self.options.batch, self.clock())
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._send(item) for item in claimed))
        async with self.sessions.begin() as session:
            await outbox.record(session, outcomes, self.clock())
        return len(claimed)

    async def _anything_left(self) -> bool:
        async with self.sessions() as session:
            return await outbox.has_unfinished(session)

    async def _send(self, item: outbox.Claimed) -> outbox.Outcome:
        now = self.clock()
        if not item.urgent and is_quiet(item.champion, now):
            return outbox.Outcome(item.id, outbox.PENDING, not_before=quiet_until(item.champion, now))
        markup = answer_buttons(item.id, item.language) if item.answer_back else None
        async with self._slots:
            try:
                await self.limiter.take(item.telegram_id)
                media = (
                    (item.media_kind, item.media_file_id) if item.media_kind and item.media_file_id else None
                )
                message = await send_broadcast_message(self.bot, item.telegram_id, item.text, media, markup)
            except RetryAfter as exc:
                wait = (
                    exc.retry_after
                    if isinstance(exc.retry_after, timedelta)
                    else timedelta(seconds=exc.retry_after)
                )
                self.limiter.back_off(wait.total_seconds())
                return outbox.Outcome(
                    item.id, outbox.PENDING, not_before=self.clock() + wait, error="rate limited"
                )
            except Forbidden as exc:
                return outbox.Outcome(
                    item.id, outbox.BLOCKED, error=str(exc)[:200], unreachable_champion=item.champion.id
                )
            except BadRequest as exc:
                return outbox.Outcome(item.id, outbox.FAILED, error=str(exc)[:200])
            except (NetworkError, TelegramError) as exc:
                if item.attempts >= self.options.max_attempts:
                    return outbox.Outcome(item.id, outbox.FAILED, error=str(exc)[:200])
                backoff = timedelta(seconds=2 ** min(item.attempts, 6))
                return outbox.Outcome(
                    item.id, outbox.PENDING, not_before=self.clock() + backoff, error=str(exc)[:200]
                )
        return outbox.Outcome(item.id, outbox.SENT, message_id=message.message_id)


async def schedule_tick(context: Context) -> None:
    """Scheduler job: queue the broadcasts that are due; mark missed those found too late."""
    grace = timedelta(minutes=context.settings.schedule_grace_minutes)
    async with context.db.begin() as session:
        queued, missed = await outbox.queue_due(session, utcnow(), grace)
    if queued:
        log.info("Queued broadcasts %s", queued)
    if missed:
        log.warning("Broadcasts %s fell due more than %s ago and were marked missed", missed, grace)
