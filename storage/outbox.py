"""The outbox: every message the bot starts on its own, as rows a delivery worker claims and sends.

Broadcasts and campaign messages are fanned out into it by storage.broadcasts. Replies to reports,
theme responses, weekly snippets, digests, approvals and forwarded questions are rows too, each
with its kind, its recipient and a payload the kind's renderer reads at send time. Workers claim
rows lane by lane (person to person before bulk) with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite
has one writer at a time anyway), so several workers share the outbox and no row is sent by two of
them. What a row may still become is checked when it is claimed (`check`); a row is marked sent
only after the send succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from storage import champions, learning, whatsapp_statuses
from storage.db import rows_changed
from storage.identities import TELEGRAM, WHATSAPP
from storage.models import (
    Broadcast,
    Campaign,
    Champion,
    Delivery,
    Identity,
    ReportReply,
    Status,
    utcnow,
)
from storage.quiet_hours import is_quiet, quiet_until

PENDING, CLAIMED, SENT, FAILED = "pending", "sending", "sent", "failed"
BLOCKED, SKIPPED = "blocked", "skipped"
FINAL = (SENT, FAILED, BLOCKED, SKIPPED)
CHANNEL = "champbot_outbox"  # PostgreSQL NOTIFY channel: the payload is the lane with new rows

# What a row is. Person-to-person kinds never wait behind bulk ones.
BROADCAST, CAMPAIGN, THEME, WEEKLY, DIGEST = "broadcast", "campaign", "theme", "weekly", "digest"
REPLY, FORWARDED = "reply", "forwarded"
LOG_NUDGE = "log-nudge"  # the weekly reminder to /log, for champions who asked for it
APPROVAL_REQUEST, APPROVAL_RESULT = "approval-request", "approval-result"
PERSON, BULK = 1, 2
LANE = {
    BROADCAST: BULK,
    CAMPAIGN: BULK,
    THEME: BULK,
    WEEKLY: BULK,
    DIGEST: BULK,
    LOG_NUDGE: BULK,
    REPLY: PERSON,
    APPROVAL_REQUEST: PERSON,
    APPROVAL_RESULT: PERSON,
    FORWARDED: PERSON,
}
KINDS = tuple(LANE)
# Who may still get each kind, by their status at send time: a stopped champion gets nothing, one
# who is not yet approved only the answer to their request.
RECIPIENTS: dict[str, frozenset[Status]] = {
    BROADCAST: frozenset({Status.ACTIVE}),
    CAMPAIGN: frozenset({Status.ACTIVE}),
    WEEKLY: frozenset({Status.ACTIVE}),
    REPLY: frozenset({Status.ACTIVE, Status.PAUSED}),  # pausing stops campaign messages, not answers
    THEME: frozenset({Status.ACTIVE, Status.PAUSED}),
    APPROVAL_RESULT: frozenset({Status.ACTIVE, Status.DECLINED}),
    DIGEST: frozenset({Status.ACTIVE}),
    APPROVAL_REQUEST: frozenset({Status.ACTIVE}),
    FORWARDED: frozenset({Status.ACTIVE}),
    LOG_NUDGE: frozenset({Status.ACTIVE}),
}
FOR_COORDINATORS = frozenset({DIGEST, APPROVAL_REQUEST, FORWARDED})


async def queue(
    session: AsyncSession,
    kind: str,
    champion_ids: Iterable[int],
    payload: dict[str, Any] | None = None,
    *,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
) -> int:
    """Queue one row of `kind` for each recipient, all with one payload, in the caller's
    transaction; return how many. Ring the process's wake for `LANE[kind]` after the commit."""
    rows = [(champion_id, payload) for champion_id in champion_ids]
    return await queue_each(session, kind, rows, not_before=not_before, expires_at=expires_at)


async def queue_each(
    session: AsyncSession,
    kind: str,
    rows: Sequence[tuple[int, dict[str, Any] | None]],
    *,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
) -> int:
    """Queue one row of `kind` per (recipient, payload), in the caller's transaction."""
    if not rows:
        return 0
    common = {
        "kind": kind,
        "lane": LANE[kind],
        "not_before": not_before or utcnow(),
        "expires_at": expires_at,
        "state": PENDING,
        "attempts": 0,
        "in_flight_at_crash": False,
    }
    values = [{**common, "champion_id": champion_id, "payload": payload} for champion_id, payload in rows]
    await session.execute(insert(Delivery), values)
    await notify(session, LANE[kind])
    return len(values)


async def notify(session: AsyncSession, lane: int) -> None:
    """Tell other processes' workers at commit that `lane` has new rows (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_notify(:channel, :lane)"), {"channel": CHANNEL, "lane": str(lane)}
        )


@dataclass
class Claimed:
    """A row a worker has claimed, with what it needs to check and send it."""

    id: int
    kind: str
    telegram_id: int
    language: str
    champion: Champion
    attempts: int
    payload: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    broadcast_id: int | None = None
    texts: dict[str, str] = field(default_factory=dict)
    answer_back: bool = False
    urgent: bool = False
    media_kind: str | None = None
    media_file_id: str | None = None
    # The channel the recipient is reached on (no identity: Telegram, as for the first release's
    # champions), and for WhatsApp where to send and when they last wrote (the 24-hour window).
    channel: str = TELEGRAM
    wa_address: str | None = None
    last_inbound_at: datetime | None = None
    channel_error: int | None = None  # the WhatsApp code an earlier try of this row failed with

    @property
    def text(self) -> str:
        """A broadcast's text in the champion's language now (they may have changed it), else English."""
        return self.texts.get(self.language) or self.texts["en"]


async def claim(
    session: AsyncSession,
    worker: str,
    limit: int,
    now: datetime,
    lane: int = BULK,
    channel: str | None = None,
) -> list[Claimed]:
    """Claim up to `limit` due pending rows of one lane for this worker, of one channel's recipients
    if `channel` is given (each channel's workers then keep its pace, never waiting for the
    other's). Rows of a paused campaign are left where they are until it is resumed."""
    due_ids = (
        select(Delivery.id)
        .where(Delivery.state == PENDING, Delivery.lane == lane, Delivery.not_before <= now, _not_paused())
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if channel == WHATSAPP:
        due_ids = due_ids.where(Delivery.champion_id.in_(_on_whatsapp()))
    elif channel is not None:
        due_ids = due_ids.where(Delivery.champion_id.not_in(_on_whatsapp()))
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
        select(Delivery, Champion, Broadcast, Identity)
        .options(lazyload(Champion.area))  # not needed to send (nor are the networks, never loaded with one)
        .join(Champion, Champion.id == Delivery.champion_id)
        .outerjoin(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .outerjoin(Identity, Identity.chat_id == Champion.telegram_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    )
    claimed = []
    for delivery, champion, broadcast, identity in rows:
        item = Claimed(
            id=delivery.id,
            kind=delivery.kind,
            telegram_id=champion.telegram_id,
            language=champion.language,
            champion=champion,
            attempts=delivery.attempts,
            payload=dict(delivery.payload or {}),
            expires_at=delivery.expires_at,
        )
        if broadcast is not None:
            item.broadcast_id = broadcast.id
            item.texts = broadcast.texts
            item.answer_back = broadcast.answer_back
            item.urgent = broadcast.urgent
            item.media_kind = broadcast.media_kind
            item.media_file_id = broadcast.media_file_id
        if identity is not None and identity.channel == WHATSAPP:
            item.channel = WHATSAPP
            item.wa_address = identity.phone or identity.address
            item.last_inbound_at = identity.last_inbound_at
            item.channel_error = delivery.channel_error
        claimed.append(item)
    return claimed


def _on_whatsapp() -> Select[int]:
    """The champions reached on WhatsApp: their chat is a WhatsApp identity's."""
    return (
        select(Champion.id)
        .join(Identity, Identity.chat_id == Champion.telegram_id)
        .where(Identity.channel == WHATSAPP)
    )


def _not_paused() -> ColumnElement[bool]:
    """Rows not of a paused campaign's message: those wait where they are until it is resumed."""
    paused = (
        select(Broadcast.id)
        .join(Campaign, Campaign.id == Broadcast.campaign_id)
        .where(Campaign.status == "paused")
    )
    return Delivery.broadcast_id.is_(None) | Delivery.broadcast_id.not_in(paused)


@dataclass
class Outcome:
    """What happened to one claimed row."""

    id: int
    state: str  # sent, failed, blocked, skipped, or pending to try again at not_before
    not_before: datetime | None = None
    message_id: int | None = None
    error: str | None = None
    unreachable_champion: int | None = None  # champion id to mark unreachable
    wa_message_id: str | None = None  # WhatsApp: the sent message's id (its statuses name it)
    template: str | None = None  # WhatsApp: the template it went as (outside the 24-hour window)
    channel_error: int | None = None  # WhatsApp: the error code it was refused with


def check(item: Claimed, now: datetime) -> Outcome | None:
    """Whether a claimed row may go now: None to send it, else what becomes of it instead (skipped
    with the reason, or held until its recipient's quiet hours end)."""
    champion = item.champion
    reason = None
    if champion.status not in RECIPIENTS[item.kind]:
        reason = f"recipient {champion.status.value}"
    elif item.kind in FOR_COORDINATORS and not champion.is_coordinator:
        reason = "recipient no longer a coordinator"
    elif item.expires_at is not None and item.expires_at <= now:
        reason = "expired"
    elif LANE[item.kind] == BULK and champion.unreachable_at is not None:
        reason = "recipient unreachable"
    if reason is not None:
        return Outcome(item.id, SKIPPED, error=reason)
    if not item.urgent and is_quiet(champion, now):
        return Outcome(item.id, PENDING, not_before=quiet_until(champion, now))
    return None


async def record(
    session: AsyncSession, claimed: Sequence[Claimed], outcomes: Sequence[Outcome], now: datetime
) -> None:
    """Store the outcomes of a batch (one round trip per shape of row), then what a sent row means
    for its kind: a reply is marked told, a weekly snippet read; a declined champion, told or not,
    is erased. WhatsApp statuses that came before their send was recorded are applied now."""
    rows = []
    unreachable = []
    sent_on_whatsapp = []
    for outcome in outcomes:
        row: dict[str, object] = {"id": outcome.id, "state": outcome.state}
        if outcome.state == SENT:  # an earlier attempt's reason stays, to show it was retried
            row.update(sent_at=now, message_id=outcome.message_id)
            if outcome.wa_message_id is not None:
                row.update(wa_message_id=outcome.wa_message_id, template=outcome.template)
                sent_on_whatsapp.append(outcome.wa_message_id)
        else:
            row.update(error=outcome.error)
        if outcome.channel_error is not None:
            row.update(channel_error=outcome.channel_error)
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
    if sent_on_whatsapp:
        await whatsapp_statuses.apply(session, sent_on_whatsapp)
    for item, outcome in zip(claimed, outcomes, strict=True):
        await _after(session, item, outcome, now)


async def _after(session: AsyncSession, item: Claimed, outcome: Outcome, now: datetime) -> None:
    """What a finished row means for its kind."""
    if outcome.state == SENT and item.kind in (REPLY, THEME):
        await session.execute(
            update(ReportReply).where(ReportReply.id == item.payload["reply"]).values(notified_at=now)
        )
    elif outcome.state == SENT and item.kind == WEEKLY:
        await learning.mark_read(session, item.champion.id, item.payload["snippet"])
    elif outcome.state in FINAL and item.kind == APPROVAL_RESULT and item.champion.status == Status.DECLINED:
        await champions.erase(session, item.champion)


async def recover(session: AsyncSession, now: datetime, lease: timedelta) -> int:
    """Put back deliveries a worker claimed but never finished (it died): they are sent again,
    flagged as possibly received twice. Returns how many."""
    result = await rows_changed(
        session,
        update(Delivery)
        .where(Delivery.state == CLAIMED, Delivery.claimed_at <= now - lease)
        .values(state=PENDING, in_flight_at_crash=True, claimed_by=None, claimed_at=None, not_before=now),
    )
    return result


async def has_due(session: AsyncSession, by: datetime) -> bool:
    """Whether any row is being sent, or pending and due by `by` (held for quiet hours or a paused
    campaign past then, it is not)."""
    due = (
        select(Delivery.id)
        .where(
            (Delivery.state == CLAIMED)
            | and_(Delivery.state == PENDING, Delivery.not_before <= by, _not_paused())
        )
        .limit(1)
    )
    return (await session.scalar(due)) is not None
