"""Answer-back records, the reports questions and concerns become, a broadcast's delivery progress
and reach figures.

"People reached" counts "Shared it" answers: a champion passing a message on is how it reaches
residents. Figures here are for coordinators inside the programme (no small-number suppression).
A question or concern typed after its button becomes an anonymous report linked to the champion's
copy of the message (`Report.delivery_id`), so coordinators find and answer it in /insights; its
Response row stays too, so reach figures count it as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage import broadcasts, outbox, reports
from storage.audience import Audience, size
from storage.models import Broadcast, Campaign, Champion, Delivery, Report, Response, utcnow

KINDS = ("shared", "question", "concern")
REPORTED = ("question", "concern")  # the answers that become reports, each its report kind too
FALLBACK_TOPIC = "other"  # a question about a message that names no topic


# ------------------------------------------------------------------ answer-back


@dataclass
class Answerable:
    """A delivered message its champion may answer back on."""

    delivery_id: int
    broadcast_id: int
    texts: dict[str, str]
    topic: str | None = None  # the report topic its questions and concerns get


async def answerable(session: AsyncSession, delivery_id: int, champion_id: int) -> Answerable | None:
    """The delivery if it exists, is this champion's, and its broadcast takes answers; else None."""
    row = (
        await session.execute(
            select(Delivery.id, Broadcast.id, Broadcast.texts, Broadcast.topic)
            .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
            .where(
                Delivery.id == delivery_id,
                Delivery.champion_id == champion_id,
                Broadcast.answer_back.is_(True),
            )
        )
    ).first()
    return Answerable(row[0], row[1], dict(row[2]), row[3]) if row else None


async def record_response(session: AsyncSession, delivery_id: int, kind: str) -> bool:
    """Record an answer once per delivery and kind; False if it was already recorded."""
    if kind not in KINDS:
        raise ValueError(f"unknown answer-back kind {kind!r}")
    dialect = session.get_bind().dialect.name
    make_insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        make_insert(Response)
        .values(delivery_id=delivery_id, kind=kind, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["delivery_id", "kind"])
        .returning(Response.id)
    )
    return (await session.scalar(statement)) is not None


async def answered(session: AsyncSession, delivery_id: int) -> set[str]:
    """The answers recorded on one delivery so far."""
    return set(await session.scalars(select(Response.kind).where(Response.delivery_id == delivery_id)))


async def report_answer(
    session: AsyncSession, found: Answerable, champion: Champion, kind: str, text: str
) -> Report:
    """Keep a champion's question or concern about a message as a report of that kind: on the
    message's topic (a campaign's messages carry their file's), one person, their area and
    language, anonymous (they were not asked to share their name), linked to their copy."""
    if kind not in REPORTED:
        raise ValueError(f"answer-back kind {kind!r} does not become a report")
    draft = reports.Draft(
        topic=found.topic or FALLBACK_TOPIC,
        kind=kind,
        people="one",
        text=text,
        area_id=champion.area_id,
        anonymous=True,
        delivery_id=found.delivery_id,
    )
    return await reports.create(session, champion, draft)


async def answered_texts(session: AsyncSession, report: Report) -> dict[str, str] | None:
    """The texts of the message a report answers (from its answer-back buttons); None if it
    answers none, or that message is gone."""
    if report.delivery_id is None:
        return None
    texts = await session.scalar(
        select(Broadcast.texts)
        .join(Delivery, Delivery.broadcast_id == Broadcast.id)
        .where(Delivery.id == report.delivery_id)
    )
    return dict(texts) if texts is not None else None


# ------------------------------------------------------------- delivery progress


@dataclass
class Progress:
    """Where one broadcast's delivery stands, for the live report."""

    status: str
    total: int
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0  # not sent: the champion or the campaign changed since it was queued
    pending: int = 0
    possibly_twice: int = 0
    finished: bool = False


async def progress(session: AsyncSession, broadcast_id: int) -> Progress | None:
    """Delivery figures; before the scheduler has queued it, everyone in the audience is pending."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return None
    report = await broadcasts.report(session, broadcast_id)
    if report.status == broadcasts.SCHEDULED:
        waiting = await size(session, Audience.from_json(broadcast.audience))
        return Progress(report.status, waiting, pending=waiting)
    counts = report.counts
    return Progress(
        report.status,
        report.total,
        sent=counts.get(outbox.SENT, 0),
        failed=counts.get(outbox.FAILED, 0),
        blocked=counts.get(outbox.BLOCKED, 0),
        skipped=counts.get(outbox.SKIPPED, 0),
        pending=report.pending,
        possibly_twice=len(report.possibly_twice),
        finished=report.finished,
    )


# ---------------------------------------------------------------------- reach


@dataclass
class Reach:
    """Deliveries sent and the answers they drew."""

    sent: int = 0
    shared: int = 0
    questions: int = 0
    concerns: int = 0
    whatsapp: int = 0  # of those sent, sent on WhatsApp
    read: int = 0  # of those, read: WhatsApp tells, Telegram doesn't


_KIND_FIELD = {"shared": "shared", "question": "questions", "concern": "concerns"}


async def _reach_by(
    session: AsyncSession, column: InstrumentedAttribute[Any], ids: list[int]
) -> dict[int, Reach]:
    """Reach grouped by `column` (Broadcast.id or Broadcast.campaign_id) for these ids."""
    found = {key: Reach() for key in ids}
    if not ids:
        return found
    sent = await session.execute(
        select(
            column, func.count(Delivery.id), func.count(Delivery.wa_message_id), func.count(Delivery.read_at)
        )
        .select_from(Broadcast)
        .join(Delivery, Delivery.broadcast_id == Broadcast.id)
        .where(column.in_(ids), Delivery.state == outbox.SENT)
        .group_by(column)
    )
    for key, count, whatsapp, read in sent.all():
        found[key].sent, found[key].whatsapp, found[key].read = count, whatsapp, read
    answers = await session.execute(
        select(column, Response.kind, func.count(Response.id))
        .select_from(Response)
        .join(Delivery, Delivery.id == Response.delivery_id)
        .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .where(column.in_(ids))
        .group_by(column, Response.kind)
    )
    for key, kind, count in answers.all():
        if kind in _KIND_FIELD:
            setattr(found[key], _KIND_FIELD[kind], count)
    return found


@dataclass
class BroadcastReach:
    id: int
    texts: dict[str, str]
    sent_at: datetime
    reach: Reach


@dataclass
class CampaignReach:
    id: int
    name: str
    reach: Reach


@dataclass
class RecentReach:
    """Reach of the campaigns and one-off broadcasts sent since a time, and shares in that time."""

    campaigns: list[CampaignReach] = field(default_factory=list)
    broadcasts: list[BroadcastReach] = field(default_factory=list)
    shared: int = 0


async def recent_reach(session: AsyncSession, since: datetime, limit: int = 5) -> RecentReach:
    """The `limit` most recent campaigns and one-off broadcasts queued since `since`, with reach
    (a campaign's over all its messages), and how many messages were shared since then."""
    broadcasts = list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.campaign_id.is_(None), Broadcast.queued_at >= since)
            .order_by(Broadcast.queued_at.desc(), Broadcast.id.desc())
            .limit(limit)
        )
    )
    recent_campaigns = select(Broadcast.campaign_id).where(Broadcast.queued_at >= since)
    campaigns = list(
        await session.scalars(
            select(Campaign)
            .where(Campaign.id.in_(recent_campaigns))
            .order_by(Campaign.created_at.desc(), Campaign.id.desc())
            .limit(limit)
        )
    )
    by_broadcast = await _reach_by(session, Broadcast.id, [b.id for b in broadcasts])
    by_campaign = await _reach_by(session, Broadcast.campaign_id, [c.id for c in campaigns])
    shared = await session.scalar(
        select(func.count(Response.id)).where(Response.kind == "shared", Response.created_at >= since)
    )
    return RecentReach(
        campaigns=[CampaignReach(c.id, c.name, by_campaign[c.id]) for c in campaigns],
        broadcasts=[
            BroadcastReach(b.id, dict(b.texts), b.queued_at or b.send_at, by_broadcast[b.id])
            for b in broadcasts
        ],
        shared=int(shared or 0),
    )


async def campaign_reach(session: AsyncSession, campaign_ids: list[int]) -> dict[int, Reach]:
    """Reach of these campaigns, each over all its messages."""
    return await _reach_by(session, Broadcast.campaign_id, campaign_ids)


async def broadcast_reach(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, Reach]:
    """Reach of these broadcasts, each on its own."""
    return await _reach_by(session, Broadcast.id, broadcast_ids)
