"""Audiences: who a broadcast goes to. Only active, consenting champions are ever in one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.identities import WHATSAPP
from storage.models import Champion, Delivery, Identity, Segment, Status, champion_network


@dataclass
class Audience:
    """Filters that narrow "everyone"; empty lists mean no filter on that field."""

    areas: list[int] = field(default_factory=list)
    networks: list[int] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        return cls(
            areas=[int(a) for a in data.get("areas", [])],
            networks=[int(n) for n in data.get("networks", [])],
            languages=[str(code) for code in data.get("languages", [])],
            roles=[str(role) for role in data.get("roles", [])],
        )


def members(audience: Audience) -> Select[int]:
    """The ids of the champions in an audience: active and consenting only, never paused, stopped
    or unreachable ones."""
    query = select(Champion.id).where(
        Champion.status == Status.ACTIVE,
        Champion.consent_at.is_not(None),
        Champion.unreachable_at.is_(None),
    )
    if audience.areas:
        query = query.where(Champion.area_id.in_(audience.areas))
    if audience.languages:
        query = query.where(Champion.language.in_(audience.languages))
    if audience.roles:
        query = query.where(Champion.role.in_(audience.roles))
    if audience.networks:
        in_network = select(champion_network.c.champion_id).where(
            champion_network.c.network_id.in_(audience.networks)
        )
        query = query.where(Champion.id.in_(in_network))
    return query


async def size(session: AsyncSession, audience: Audience) -> int:
    """How many champions an audience reaches right now."""
    return int(await session.scalar(select(func.count()).select_from(members(audience).subquery())) or 0)


async def languages(session: AsyncSession, audience: Audience) -> dict[str, int]:
    """How many champions of the audience read each language."""
    rows = await session.execute(
        select(Champion.language, func.count())
        .where(Champion.id.in_(members(audience)))
        .group_by(Champion.language)
    )
    return {language: count for language, count in rows.all()}


@dataclass(frozen=True)
class Channels:
    """How an audience would be reached now: on Telegram, or on WhatsApp as a session message (they
    wrote within the window) or as a template (outside it). `template_new` of the template ones
    had no template in the last day: each of those counts towards WhatsApp's daily tier."""

    telegram: int
    session: int
    template: int
    template_new: int

    @property
    def whatsapp(self) -> int:
        return self.session + self.template


def templated_since(since: datetime) -> Select[int]:
    """The champions sent a WhatsApp template since then."""
    return select(Delivery.champion_id).where(Delivery.template.is_not(None), Delivery.sent_at >= since)


def _whatsapp_closed(window_opened_after: datetime) -> Select[int]:
    """The champions on WhatsApp whose window is closed: they last wrote before then, or never."""
    return (
        select(Champion.id)
        .join(Identity, Identity.chat_id == Champion.telegram_id)
        .where(
            Identity.channel == WHATSAPP,
            or_(Identity.last_inbound_at.is_(None), Identity.last_inbound_at <= window_opened_after),
        )
    )


async def channels(
    session: AsyncSession, audience: Audience, window_opened_after: datetime, day_began: datetime
) -> Channels:
    """How the audience would be reached now, by channel (see Channels): a WhatsApp window is open
    for whoever wrote after `window_opened_after`; `day_began` starts WhatsApp's daily tier."""
    whatsapp = Identity.id.is_not(None)
    closed = or_(Identity.last_inbound_at.is_(None), Identity.last_inbound_at <= window_opened_after)
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(whatsapp, ~closed),
                func.count().filter(whatsapp, closed),
                func.count().filter(whatsapp, closed, Champion.id.not_in(templated_since(day_began))),
            )
            .select_from(Champion)
            .outerjoin(Identity, and_(Identity.chat_id == Champion.telegram_id, Identity.channel == WHATSAPP))
            .where(Champion.id.in_(members(audience)))
        )
    ).one()
    total, in_window, template, new = (int(n or 0) for n in row)
    return Channels(total - in_window - template, in_window, template, new)


async def people_templated(session: AsyncSession, since: datetime) -> int:
    """How many people were sent a WhatsApp template since then (WhatsApp's daily tier counts them)."""
    found = await session.scalar(
        select(func.count(func.distinct(Delivery.champion_id))).where(
            Delivery.champion_id.in_(templated_since(since))
        )
    )
    return int(found or 0)


async def spread_templates(
    session: AsyncSession,
    broadcast_id: int,
    *,
    window_opened_after: datetime,
    day_began: datetime,
    room: int,
    per_day: int,
    now: datetime,
) -> int:
    """Hold a broadcast's WhatsApp templates that would pass the daily tier to later days: the
    first `room` new template recipients go now, then `per_day` a day (the row's `not_before` a day
    later for each). Returns how many days it now takes."""
    ids = list(
        await session.scalars(
            select(Delivery.id)
            .where(
                Delivery.broadcast_id == broadcast_id,
                Delivery.champion_id.in_(_whatsapp_closed(window_opened_after)),
                Delivery.champion_id.not_in(templated_since(day_began)),
            )
            .order_by(Delivery.id)
        )
    )
    later = ids[max(room, 0) :]
    days = 1 + -(-len(later) // per_day) if later else 1
    for day in range(1, days):
        chunk = later[(day - 1) * per_day : day * per_day]
        await session.execute(
            update(Delivery).where(Delivery.id.in_(chunk)).values(not_before=now + timedelta(days=day))
        )
    return days


async def save_segment(session: AsyncSession, name: str, audience: Audience) -> Segment:
    """Save (or replace) a named audience."""
    segment = await session.scalar(select(Segment).where(Segment.name == name))
    if segment is None:
        segment = Segment(name=name, audience=audience.as_json())
        session.add(segment)
    else:
        segment.audience = audience.as_json()
    await session.flush()
    return segment


async def segments(session: AsyncSession) -> list[Segment]:
    """Saved audiences, by name."""
    return list(await session.scalars(select(Segment).order_by(Segment.name)))
