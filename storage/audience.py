"""Audiences: who a broadcast goes to. Only active, consenting champions are ever in one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Champion, Segment, Status, champion_network


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
