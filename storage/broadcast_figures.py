"""Each broadcast's delivery figures by channel, for the dashboard: queued, sent, failed and (on
WhatsApp, which tells) delivered and read. A champion's channel is WhatsApp if they have a
WhatsApp identity, else Telegram, as the audience's channel figures count it. Counted in SQL
for a page of broadcasts at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.identities import TELEGRAM, WHATSAPP
from storage.models import Broadcast, Champion, Delivery, Identity
from storage.outbox import BLOCKED, CLAIMED, FAILED, PENDING, SENT

CHANNELS = (TELEGRAM, WHATSAPP)


@dataclass
class ChannelFigures:
    """One broadcast's deliveries on one channel."""

    queued: int = 0  # waiting or being sent
    sent: int = 0
    failed: int = 0  # failed or blocked
    delivered: int = 0  # WhatsApp only
    read: int = 0  # WhatsApp only


async def by_channel(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, dict[str, ChannelFigures]]:
    """broadcast id → channel → figures, for these broadcasts (every channel present, zeros too)."""
    found = {key: {channel: ChannelFigures() for channel in CHANNELS} for key in broadcast_ids}
    if not broadcast_ids:
        return found
    channel = case((Identity.id.is_not(None), WHATSAPP), else_=TELEGRAM).label("channel")
    rows = await session.execute(
        select(
            Delivery.broadcast_id,
            channel,
            Delivery.state,
            func.count(),
            func.count(Delivery.delivered_at),
            func.count(Delivery.read_at),
        )
        .select_from(Delivery)
        .join(Champion, Champion.id == Delivery.champion_id)
        .outerjoin(Identity, and_(Identity.chat_id == Champion.telegram_id, Identity.channel == WHATSAPP))
        .where(Delivery.broadcast_id.in_(broadcast_ids))
        .group_by(Delivery.broadcast_id, channel, Delivery.state)
    )
    for broadcast_id, on, state, count, delivered, read in rows.all():
        figures = found[broadcast_id][on]
        if state in (PENDING, CLAIMED):
            figures.queued += count
        elif state == SENT:
            figures.sent += count
        elif state in (FAILED, BLOCKED):
            figures.failed += count
        figures.delivered += delivered
        figures.read += read
    return found


async def one_off_page(session: AsyncSession, offset: int, limit: int) -> tuple[list[Broadcast], int]:
    """One page of the one-off broadcasts (not a campaign's), newest first, and how many there are."""
    one_off = Broadcast.campaign_id.is_(None)
    total = await session.scalar(select(func.count(Broadcast.id)).where(one_off))
    shown = await session.scalars(
        select(Broadcast)
        .where(one_off)
        .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(shown), int(total or 0)
