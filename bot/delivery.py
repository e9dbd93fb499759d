"""Delivery workers: claim rows from the outbox and send them within the bot's one budget.

Each worker claims a batch from its lanes (person to person first), checks each row against what
its recipient and its campaign are now, renders it in the recipient's language with its kind's
renderer, sends it through the shared Budget (about 30 messages a second overall and one a second
per chat), and records every outcome: sent, blocked (the recipient becomes unreachable), failed or
skipped with its reason, or pending again after a RetryAfter, a network error, a 5xx or quiet hours.
Any number of workers, in any number of processes, can share one database.

A row for a WhatsApp champion goes through the WhatsApp number's own budget (its throughput and
Meta's pair limit), never Telegram's: as the rendered message while the champion's 24-hour window
is open, else as its kind's approved template (`bot.whatsapp_templates`, values from
`bot.whatsapp_values`), and as the template at once when Meta says the window closed meanwhile
(131047). Give a worker a `channel` to have it claim that channel's rows only, so each channel
keeps its own pace.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.budget import Budget, Priority
from bot.context import Context, Services
from bot.i18n import N_, translator
from bot.replies import Choice, Media, Outgoing
from bot.telegram_replies import send
from bot.wake import Wake
from bot.whatsapp_api import WhatsAppError, WhatsAppUnavailable
from bot.whatsapp_replies import WhatsAppOut
from bot.whatsapp_templates import Catalogue, TemplatesError, in_window, load, template_key, template_payload
from bot.whatsapp_values import TEMPLATE_VALUES, Values
from storage import broadcasts, outbox
from storage.identities import WHATSAPP
from storage.models import utcnow
from storage.whatsapp_statuses import MARKETING_CAP, UNDELIVERABLE, WINDOW_CLOSED

log = logging.getLogger(__name__)

ANSWER_BACK = (
    ("shared", N_("Shared it")),
    ("question", N_("A question")),
    ("concern", N_("Concern heard")),
)


IDLE_HORIZON = timedelta(minutes=2)  # rows due within this keep an `until_idle` worker going
THROUGHPUT = 130429  # WhatsApp: the number's messages a second were used up
PAIR_LIMIT = 131056  # WhatsApp: too many messages to one person in a short time
# Seconds every WhatsApp send holds after a 130429, and the refused row waits at first (doubling on
# each refusal of it): the number's throughput is counted over a second, so half of one is enough.
THROUGHPUT_PAUSE = 0.5


@dataclass
class WorkerOptions:
    batch: int = 100
    concurrency: int = 32
    max_attempts: int = 5
    lease: timedelta = timedelta(minutes=2)  # a claim older than this belonged to a dead worker
    idle_wait: float = 1.0


def answer_choices(delivery_id: int, language: str) -> list[Choice]:
    """ "Shared it" / "A question" / "Concern heard" in the champion's language."""
    tr = translator(language)
    return [Choice(tr.gettext(label), f"answer:{delivery_id}:{kind}") for kind, label in ANSWER_BACK]


# A kind's renderer: what the row says now, or None when there is nothing to say any more.
Render = Callable[[AsyncSession, outbox.Claimed, Services], Awaitable[Outgoing | None]]


async def broadcast_message(
    session: AsyncSession, item: outbox.Claimed, services: Services
) -> Outgoing | None:
    """A broadcast or campaign message as its champion gets it, with the answer-back buttons."""
    choices = answer_choices(item.id, item.language) if item.answer_back else []
    media = Media(item.media_kind, item.media_file_id) if item.media_kind and item.media_file_id else None
    return Outgoing(item.text, choices, columns=len(choices) or 1, media=media)


BROADCASTS: dict[str, Render] = {outbox.BROADCAST: broadcast_message, outbox.CAMPAIGN: broadcast_message}


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The shipped WhatsApp template catalogue, read once (checked at start where WhatsApp is on)."""
    return load()


@dataclass
class Templated:
    """A row as its WhatsApp template: the template's name and the Graph API message."""

    name: str
    payload: dict[str, Any]


@dataclass
class Ready:
    """A WhatsApp row ready to send: the session message and its template (or why there is none)."""

    outgoing: Outgoing
    template: Templated | str


class DeliveryWorker:
    """One worker; run several (in one process or many) to share the outbox. It takes its lanes in
    order, so a worker given both sends person-to-person rows before the next bulk batch."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        budget: Budget,
        options: WorkerOptions | None = None,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        *,
        messages: Mapping[str, Render] = BROADCASTS,
        services: Services | None = None,
        lanes: Sequence[int] = (outbox.PERSON, outbox.BULK),
        wake: Wake | None = None,
        channel: str | None = None,
        whatsapp: WhatsAppOut | None = None,
        templates: Catalogue | None = None,
        values: Mapping[str, Values] = TEMPLATE_VALUES,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.budget = budget
        self.options = options or WorkerOptions()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.clock = clock  # tests move time on instead of sleeping
        self.messages = messages
        self.services = services or Services()
        self.lanes = tuple(lanes)
        self.wake = wake or Wake()
        self.channel = channel  # None: rows of every channel
        self.whatsapp = whatsapp or self.services.whatsapp
        self._templates = templates
        self.values = values
        self._slots = asyncio.Semaphore(self.options.concurrency)

    @property
    def templates(self) -> Catalogue:
        """The WhatsApp templates (read when a WhatsApp row first needs them)."""
        if self._templates is None:
            self._templates = catalogue()
        return self._templates

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """Deliver until `stop` is set (or, with `until_idle`, until nothing is due soon)."""
        async with self.sessions.begin() as session:
            recovered = await outbox.recover(session, self.clock(), self.options.lease)
        if recovered:
            log.warning("Re-queued %s outbox rows left in flight by a stopped worker", recovered)
        while not stop.is_set():
            if await self.run_once():
                continue
            if until_idle and not await self._anything_left():
                return
            await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for the first of: a row queued in this worker's first lane, `stop`, or `idle_wait`."""
        waiting = asyncio.ensure_future(self.wake.wait(self.lanes[0], self.options.idle_wait))
        stopping = asyncio.ensure_future(stop.wait())
        others = [
            asyncio.ensure_future(self.wake.wait(lane, self.options.idle_wait)) for lane in self.lanes[1:]
        ]
        try:
            await asyncio.wait([waiting, stopping, *others], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiting, stopping, *others):
                task.cancel()

    async def run_once(self) -> int:
        """Claim one batch from the first lane that has due rows, send it, record the outcomes;
        return how many were claimed."""
        for lane in self.lanes:
            async with self.sessions.begin() as session:
                claimed = await outbox.claim(
                    session, self.name, self.options.batch, self.clock(), lane, self.channel
                )
            if claimed:
                break
        else:
            return 0
        async with self.sessions() as session:  # one session renders the batch, one row at a time
            ready = [await self._prepare(session, item) for item in claimed]
        results = {n: p for n, p in enumerate(ready) if isinstance(p, outbox.Outcome)}
        sending = {
            n: self._send(claimed[n], p) for n, p in enumerate(ready) if isinstance(p, Outgoing | Ready)
        }
        results.update(zip(sending, await asyncio.gather(*sending.values()), strict=True))
        outcomes = [results[n] for n in range(len(claimed))]
        async with self.sessions.begin() as session:
            await outbox.record(session, claimed, outcomes, self.clock())
        return len(claimed)

    async def _anything_left(self) -> bool:
        """Whether a row is in flight or falls due soon (a retry after its backoff); a row held for
        quiet hours, or for a paused campaign, does not keep an `until_idle` worker running."""
        async with self.sessions() as session:
            return await outbox.has_due(session, self.clock() + IDLE_HORIZON)

    async def _prepare(
        self, session: AsyncSession, item: outbox.Claimed
    ) -> Outgoing | Ready | outbox.Outcome:
        """What to send for one row, or what becomes of it instead (skipped, held, failed)."""
        instead = outbox.check(item, self.clock())
        if instead is not None:
            return instead
        render = self.messages.get(item.kind)
        if render is None:
            return outbox.Outcome(item.id, outbox.FAILED, error=f"no renderer for {item.kind}")
        outgoing = await render(session, item, self.services)
        if outgoing is None:
            return outbox.Outcome(item.id, outbox.SKIPPED, error="nothing to say any more")
        if item.channel == WHATSAPP:
            return Ready(outgoing, await self._template(session, item, outgoing))
        return outgoing

    async def _template(
        self, session: AsyncSession, item: outbox.Claimed, outgoing: Outgoing
    ) -> Templated | str:
        """The row as its kind's template in the champion's language (English's where theirs was
        not approved), its variables filled and each button given its choice's data; else why not."""
        try:
            template = self.templates.template_for(
                template_key(item.kind, answer_back=item.answer_back), item.language
            )
        except TemplatesError as exc:
            return str(exc)
        values = self.values.get(item.kind)
        if values is None or item.wa_address is None:
            return f"no template values for {item.kind}"
        filled = await values(session, item, outgoing, self.services)
        buttons = [choice.data for choice in outgoing.choices] if template.buttons else []
        try:
            payload = template_payload(item.wa_address, template, filled, buttons)
        except ValueError as exc:
            return str(exc)
        return Templated(template.name, payload)

    async def _send(self, item: outbox.Claimed, prepared: Outgoing | Ready) -> outbox.Outcome:
        """Send one row within its channel's budget (person-to-person rows before bulk ones)."""
        priority = Priority.PERSON if outbox.LANE[item.kind] == outbox.PERSON else Priority.BULK
        async with self._slots:
            if isinstance(prepared, Ready):
                return await self._attempt_whatsapp(item, prepared, priority)
            return await self._attempt(item, prepared, priority)

    async def _attempt(self, item: outbox.Claimed, outgoing: Outgoing, priority: Priority) -> outbox.Outcome:
        try:
            await self.budget.take(item.telegram_id, priority)
            message = await send(self.bot, item.telegram_id, outgoing)
        except RetryAfter as exc:
            wait = (
                exc.retry_after
                if isinstance(exc.retry_after, timedelta)
                else timedelta(seconds=exc.retry_after)
            )
            self.budget.back_off(wait.total_seconds())
            return outbox.Outcome(
                item.id, outbox.PENDING, not_before=self.clock() + wait, error="rate limited"
            )
        except Forbidden as exc:
            return outbox.Outcome(
                item.id, outbox.BLOCKED, error=str(exc)[:200], unreachable_champion=item.champion.id
            )
        except BadRequest as exc:
            return outbox.Outcome(item.id, outbox.FAILED, error=str(exc)[:200])
        except (NetworkError, TelegramError) as exc:  # network errors and 5xx: try again later
            if item.attempts >= self.options.max_attempts:
                return outbox.Outcome(item.id, outbox.FAILED, error=str(exc)[:200])
            backoff = timedelta(seconds=2 ** min(item.attempts, 6))
            return outbox.Outcome(
                item.id, outbox.PENDING, not_before=self.clock() + backoff, error=str(exc)[:200]
            )
        return outbox.Outcome(item.id, outbox.SENT, message_id=message.message_id)

    async def _attempt_whatsapp(
        self, item: outbox.Claimed, ready: Ready, priority: Priority
    ) -> outbox.Outcome:
        """Send a WhatsApp row within the number's budget: the session message inside the 24-hour
        window (its template at once if Meta says the window closed), the template outside it."""
        out = self.whatsapp
        if out is None:
            return outbox.Outcome(item.id, outbox.FAILED, error="WhatsApp is not configured")
        if item.wa_address is not None:
            out.addresses[item.telegram_id] = item.wa_address  # as the identity says now
        closed = item.channel_error == WINDOW_CLOSED  # Meta refused it as a session message before
        try:
            if not closed and in_window(item.last_inbound_at, self.clock()):
                try:
                    t = translator(item.language)
                    sent = await out.say(item.telegram_id, ready.outgoing, t, priority)
                    return outbox.Outcome(item.id, outbox.SENT, wa_message_id=sent)
                except WhatsAppError as exc:
                    if exc.code != WINDOW_CLOSED:
                        raise
                    closed = True
            if isinstance(ready.template, str):
                return outbox.Outcome(
                    item.id,
                    outbox.FAILED,
                    error=f"outside the window, no template: {ready.template}"[:200],
                    channel_error=WINDOW_CLOSED if closed else None,
                )
            await out.budget.take(item.telegram_id, priority)
            sent = await out.client.send(ready.template.payload)
            return outbox.Outcome(item.id, outbox.SENT, wa_message_id=sent, template=ready.template.name)
        except WhatsAppError as exc:
            return self._refused(item, exc, out, WINDOW_CLOSED if closed else None)
        except WhatsAppUnavailable as exc:  # network errors and 5xx: try again later
            return self._later(item, str(exc), WINDOW_CLOSED if closed else None)

    def _refused(
        self, item: outbox.Claimed, exc: WhatsAppError, out: WhatsAppOut, closed: int | None
    ) -> outbox.Outcome:
        """What becomes of a row WhatsApp refused: throughput and the pair limit try again after a
        backoff; an unreachable person blocks it; the marketing cap skips it; the rest fail it."""
        error = str(exc)[:200]
        if exc.code in (THROUGHPUT, PAIR_LIMIT):
            if exc.code == THROUGHPUT:  # the number's limit: every send holds a moment
                out.budget.back_off(THROUGHPUT_PAUSE)
                out.budget.unsent(item.telegram_id)  # it never reached them: no pair gap to wait
                backoff = timedelta(seconds=THROUGHPUT_PAUSE * 2 ** min(max(item.attempts - 1, 0), 6))
            else:  # one person's limit: only this row waits, at least the pair gap
                backoff = max(
                    timedelta(seconds=2 ** min(item.attempts, 6)), timedelta(seconds=out.budget.per_chat)
                )
            return outbox.Outcome(
                item.id, outbox.PENDING, not_before=self.clock() + backoff, error=error, channel_error=closed
            )
        if exc.code == UNDELIVERABLE:
            return outbox.Outcome(
                item.id,
                outbox.BLOCKED,
                error=error,
                unreachable_champion=item.champion.id,
                channel_error=exc.code,
            )
        state = outbox.SKIPPED if exc.code == MARKETING_CAP else outbox.FAILED
        return outbox.Outcome(item.id, state, error=error, channel_error=exc.code)

    def _later(self, item: outbox.Claimed, error: str, closed: int | None) -> outbox.Outcome:
        """Try a row again after a backoff, or fail it after `max_attempts`."""
        if item.attempts >= self.options.max_attempts:
            return outbox.Outcome(item.id, outbox.FAILED, error=error[:200], channel_error=closed)
        backoff = timedelta(seconds=2 ** min(item.attempts, 6))
        return outbox.Outcome(
            item.id,
            outbox.PENDING,
            not_before=self.clock() + backoff,
            error=error[:200],
            channel_error=closed,
        )


async def schedule_tick(context: Context) -> None:
    """Scheduler job: queue the broadcasts that are due; mark missed those found too late."""
    grace = timedelta(minutes=context.settings.schedule_grace_minutes)
    async with context.db.begin() as session:
        queued, missed = await broadcasts.queue_due(session, utcnow(), grace)
    if queued:
        log.info("Queued broadcasts %s", queued)
    if missed:
        log.warning("Broadcasts %s fell due more than %s ago and were marked missed", missed, grace)
