"""Broadcasts and the delivery outbox: schedule, fan out, claim, record, recover, report.

Fan-out is one INSERT ... SELECT, so no list of recipients is ever held in memory. Workers claim
rows with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite has one writer at a time anyway), so
several workers share a broadcast and no row is sent by two of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from storage import champions
from storage.audience import Audience, members
from storage.db import rows_changed
from storage.models import Broadcast, Campaign, Champion, Delivery, UTCDateTime, utcnow

SCHEDULED, SENDING, DONE, MISSED, CANCELLED = "scheduled", "sending", "done", "missed", "cancelled"
PENDING, CLAIMED, SENT, FAILED, BLOCKED = "pending", "sending", "sent", "failed", "blocked"
FINAL = (SENT, FAILED, BLOCKED)
PERSON, BULK = 1, 2  # lanes: person-to-person messages never wait behind bulk ones
MEDIA_KINDS = ("photo", "document")
CAPTION_MAX = 1024  # Telegram's limit for a caption


async def create_broadcast(
    session: AsyncSession,
    *,
    texts: dict[str, str],
    audience: Audience,
    send_at: datetime | None = None,
    created_by: int | None = None,
    campaign_id: int | None = None,
    answer_back: bool = True,
    urgent: bool = False,
    media: tuple[str, str] | None = None,
) -> Broadcast:
    """A broadcast waiting for its time (now by default); the scheduler queues it. `media` is
    ("photo" or "document", Telegram file id); its texts then go as the caption."""
    if not texts.get("en", "").strip():
        raise ValueError("a broadcast needs an English text, the fallback for every language")
    if media is not None and media[0] not in MEDIA_KINDS:
        raise ValueError(f"media must be one of {', '.join(MEDIA_KINDS)}")
    if media is not None and max(len(text) for text in texts.values()) > CAPTION_MAX:
        raise ValueError(f"with a photo or document, each text can have at most {CAPTION_MAX} characters")
    broadcast = Broadcast(
        texts={language: text for language, text in texts.items() if text.strip()},
        audience=audience.as_json(),
        send_at=send_at or utcnow(),
        created_by=created_by,
        campaign_id=campaign_id,
        answer_back=answer_back,
        urgent=urgent,
        status=SCHEDULED,
        media_kind=media[0] if media else None,
        media_file_id=media[1] if media else None,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def enqueue(session: AsyncSession, broadcast: Broadcast, now: datetime | None = None) -> int:
    """Fan a broadcast out into one pending delivery per champion in its audience, in the database."""
    now = now or utcnow()
    audience = Audience.from_json(broadcast.audience)
    chosen = members(audience).add_columns(
        literal(broadcast.id, Integer).label("broadcast_id"),
        literal(PENDING).label("state"),
        literal(now, UTCDateTime()).label("not_before"),
        literal(0).label("attempts"),
        literal(False).label("in_flight_at_crash"),
    )
    insert_rows = insert(Delivery).from_select(
        ["champion_id", "broadcast_id", "state", "not_before", "attempts", "in_flight_at_crash"], chosen
    )
    result = await rows_changed(session, insert_rows)
    broadcast.status = SENDING
    broadcast.queued_at = now
    return result


async def queue_due(session: AsyncSession, now: datetime, grace: timedelta) -> tuple[list[int], list[int]]:
    """Queue broadcasts whose time has come; mark missed those that fell due longer ago than
    `grace` (e.g. while the bot was down). Paused or cancelled campaigns' messages wait.
    Returns (queued ids, missed ids)."""
    paused = select(Campaign.id).where(Campaign.status != "active")
    due = (
        select(Broadcast)
        .where(Broadcast.status == SCHEDULED, Broadcast.send_at <= now)
        .where((Broadcast.campaign_id.is_(None)) | (Broadcast.campaign_id.not_in(paused)))
        .order_by(Broadcast.send_at)
        .with_for_update(skip_locked=True)
    )
    queued, missed = [], []
    for broadcast in list(await session.scalars(due)):
        late = now - broadcast.send_at > grace
        # Claim it with a conditional update, so two schedulers never both queue it.
        taken = await rows_changed(session,
            update(Broadcast)
            .where(Broadcast.id == broadcast.id, Broadcast.status == SCHEDULED)
            .values(status=MISSED if late else SENDING)
            .execution_options(synchronize_session=False)
        )
        if not taken:
            continue
        await session.refresh(broadcast)
        if late:
            missed.append(broadcast.id)
        else:
            await enqueue(session, broadcast, now)
            queued.append(broadcast.id)
    return queued, missed


@dataclass
class Claimed:
    """A delivery a worker has claimed, with what it needs to send it."""

    id: int
    broadcast_id: int
    telegram_id: int
    language: str
    champion: Champion
    texts: dict[str, str]
    answer_back: bool
    urgent: bool
    attempts: int
    media_kind: str | None = None
    media_file_id: str | None = None

    @property
    def text(self) -> str:
        """The text in the champion's language now (they may have changed it), else English."""
        return self.texts.get(self.language) or self.texts["en"]


async def claim(session: AsyncSession, worker: str, limit: int, now: datetime) -> list[Claimed]:
    """Claim up to `limit` due pending deliveries for this worker."""
    due_ids = (
        select(Delivery.id)
        .where(Delivery.state == PENDING, Delivery.not_before <= now)
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(
        await session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(due_ids.scalar_subquery()))
            .values(state=CLAIMED, claimed_by=worker, claimed_at=now, attempts=Delivery.attempts + 1)
            .returning(Delivery.id)
        )
    )
    if not ids:
        return []
    rows = await session.execute(
        select(Delivery, Champion, Broadcast)
        .options(lazyload(Champion.area), lazyload(Champion.networks))  # not needed to send
        .join(Champion, Champion.id == Delivery.champion_id)
        .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    )
    return [
        Claimed(
            id=delivery.id,
            broadcast_id=broadcast.id,
            telegram_id=champion.telegram_id,
            language=champion.language,
            champion=champion,
            texts=broadcast.texts,
            answer_back=broadcast.answer_back,
            urgent=broadcast.urgent,
            attempts=delivery.attempts,
            media_kind=broadcast.media_kind,
            media_file_id=broadcast.media_file_id,
        )
        for delivery, champion, broadcast in rows
    ]


@dataclass
class Outcome:
    """What happened to one claimed delivery."""

    id: int
    state: str  # sent, failed, blocked, or pending to try again at not_before
    not_before: datetime | None = None
    message_id: int | None = None
    error: str | None = None
    unreachable_champion: int | None = None  # champion id to mark unreachable


async def record(session: AsyncSession, outcomes: Iterable[Outcome], now: datetime) -> None:
    """Store the outcomes of a batch in one round trip per kind."""
    rows = []
    unreachable = []
    for outcome in outcomes:
        row: dict[str, object] = {"id": outcome.id, "state": outcome.state, "error": outcome.error}
        if outcome.state == SENT:
            row.update(sent_at=now, message_id=outcome.message_id)
        if outcome.state == PENDING:
            row.update(not_before=outcome.not_before or now, claimed_by=None, claimed_at=None)
        rows.append(row)
        if outcome.unreachable_champion is not None:
            unreachable.append(outcome.unreachable_champion)
    by_keys: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for row in rows:
        by_keys.setdefault(tuple(sorted(row)), []).append(row)
    for group in by_keys.values():
        await session.execute(update(Delivery), group)
    await champions.mark_unreachable(session, unreachable)


async def recover(session: AsyncSession, now: datetime, lease: timedelta) -> int:
    """Put back deliveries a worker claimed but never finished (it died): they are sent again,
    flagged as possibly received twice. Returns how many."""
    result = await rows_changed(session,
        update(Delivery)
        .where(Delivery.state == CLAIMED, Delivery.claimed_at <= now - lease)
        .values(state=PENDING, in_flight_at_crash=True, claimed_by=None, claimed_at=None, not_before=now)
    )
    return result


@dataclass
class Report:
    """Delivery figures for one broadcast."""

    broadcast_id: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    possibly_twice: list[int] = field(default_factory=list)  # champion ids

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def pending(self) -> int:
        return self.counts.get(PENDING, 0) + self.counts.get(CLAIMED, 0)

    @property
    def finished(self) -> bool:
        return self.status in {DONE, MISSED, CANCELLED} or (self.status == SENDING and self.pending == 0)


async def report(session: AsyncSession, broadcast_id: int) -> Report:
    """Counts by delivery state, and who may have received it twice after a crash."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise LookupError(f"no broadcast {broadcast_id}")
    rows = await session.execute(
        select(Delivery.state, func.count())
        .where(Delivery.broadcast_id == broadcast_id)
        .group_by(Delivery.state)
    )
    counts = {state: count for state, count in rows}
    twice = list(
        await session.scalars(
            select(Delivery.champion_id).where(
                and_(Delivery.broadcast_id == broadcast_id, Delivery.in_flight_at_crash.is_(True))
            )
        )
    )
    result = Report(broadcast_id, broadcast.status, counts, twice)
    if broadcast.status == SENDING and result.pending == 0:
        broadcast.status = result.status = DONE
    return result


async def has_unfinished(session: AsyncSession) -> bool:
    """Whether any delivery is still pending or being sent."""
    unfinished = select(Delivery.id).where(Delivery.state.in_((PENDING, CLAIMED))).limit(1)
    return (await session.scalar(unfinished)) is not None
