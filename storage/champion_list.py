"""The dashboard's list of champions: one page of them at a time, filtered by area, network and
status, counted in SQL, with each one's channels and networks in one query each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.identities import TELEGRAM
from storage.models import Champion, Identity, Network, Status, champion_network

# The statuses the list shows: not people still answering the joining questions, nor those
# declined (erased once told).
LISTED = (Status.ACTIVE, Status.PAUSED, Status.PENDING, Status.STOPPED)


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; None is any."""

    area_id: int | None = None
    network_id: int | None = None
    status: Status | None = None


@dataclass(frozen=True)
class Listed:
    """One champion on the list, with the channels they are reached on and their networks' names."""

    champion: Champion
    channels: list[str]
    networks: list[str]


def _where(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Champion.status.in_([filters.status] if filters.status else LISTED)]
    if filters.area_id is not None:
        where.append(Champion.area_id == filters.area_id)
    if filters.network_id is not None:
        where.append(
            exists().where(
                champion_network.c.champion_id == Champion.id,
                champion_network.c.network_id == filters.network_id,
            )
        )
    return where


async def count(session: AsyncSession, filters: Filters) -> int:
    """How many champions match."""
    return int(await session.scalar(select(func.count()).select_from(Champion).where(*_where(filters))) or 0)


async def page(session: AsyncSession, filters: Filters, offset: int, limit: int) -> list[Listed]:
    """`limit` matching champions from `offset`, newest first, with their channels (Telegram for
    one with no identity, as the first release's champions) and networks."""
    found = list(
        await session.scalars(
            select(Champion).where(*_where(filters)).order_by(Champion.id.desc()).offset(offset).limit(limit)
        )
    )
    ids = [champion.id for champion in found]
    channels: dict[int | None, list[str]] = {i: [] for i in ids}  # (never None: chosen by id)
    for owner, channel in await session.execute(
        select(Identity.champion_id, Identity.channel)
        .where(Identity.champion_id.in_(ids))
        .distinct()
        .order_by(Identity.champion_id, Identity.channel)
    ):
        channels[owner].append(channel)
    networks: dict[int, list[str]] = {i: [] for i in ids}
    for champion_id, name in await session.execute(
        select(champion_network.c.champion_id, Network.name)
        .join(Network, Network.id == champion_network.c.network_id)
        .where(champion_network.c.champion_id.in_(ids))
        .order_by(champion_network.c.champion_id, Network.name)
    ):
        networks[champion_id].append(name)
    return [Listed(c, channels[c.id] or [TELEGRAM], networks[c.id]) for c in found]
