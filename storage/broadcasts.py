"""Broadcasts: one message to an audience, in several languages, now or at a time; the scheduler
fans each out into the outbox when it falls due, with one INSERT ... SELECT, so no list of
recipients is ever held in memory; and each one's delivery figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audience import Audience, members
from storage.db import rows_changed
from storage.models import Broadcast, Campaign, Delivery, UTCDateTime, utcnow
from storage.outbox import BROADCAST, BULK, CAMPAIGN, CLAIMED, PENDING, notify

SCHEDULED, SENDING, DONE, MISSED, CANCELLED = "scheduled", "sending", "done", "missed", "cancelled"
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


async def queue_composed(
    session: AsyncSession,
    *,
    texts: dict[str, str],
    audience: Audience,
    send_at: datetime | None,
    created_by: int,
    answer_back: bool,
    urgent: bool,
    media: tuple[str, str] | None = None,
) -> Broadcast:
    """A coordinator's broadcast, as the chat's composer and the dashboard's make it: for now, it is
    fanned out into the outbox in this transaction, so the workers start at once rather than at the
    scheduler's next tick; for later, the scheduler queues it at its time."""
    broadcast = await create_broadcast(
        session,
        texts=texts,
        audience=audience,
        send_at=send_at,
        created_by=created_by,
        answer_back=answer_back,
        urgent=urgent,
        media=media,
    )
    if send_at is None:
        await enqueue(session, broadcast)
    return broadcast


async def enqueue(session: AsyncSession, broadcast: Broadcast, now: datetime | None = None) -> int:
    """Fan a broadcast out into one pending delivery per champion in its audience, in the database."""
    now = now or utcnow()
    audience = Audience.from_json(broadcast.audience)
    chosen = members(audience).add_columns(
        literal(CAMPAIGN if broadcast.campaign_id is not None else BROADCAST).label("kind"),
        literal(BULK).label("lane"),
        literal(broadcast.id, Integer).label("broadcast_id"),
        literal(PENDING).label("state"),
        literal(now, UTCDateTime()).label("not_before"),
        literal(0).label("attempts"),
        literal(False).label("in_flight_at_crash"),
    )
    insert_rows = insert(Delivery).from_select(
        [
            "champion_id",
            "kind",
            "lane",
            "broadcast_id",
            "state",
            "not_before",
            "attempts",
            "in_flight_at_crash",
        ],
        chosen,
    )
    result = await rows_changed(session, insert_rows)
    broadcast.status = SENDING
    broadcast.queued_at = now
    if result:
        await notify(session, BULK)
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
        taken = await rows_changed(
            session,
            update(Broadcast)
            .where(Broadcast.id == broadcast.id, Broadcast.status == SCHEDULED)
            .values(status=MISSED if late else SENDING)
            .execution_options(synchronize_session=False),
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
