"""Areas and networks: the configured lists champions choose from."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Area, Network


async def list_areas(session: AsyncSession) -> list[Area]:
    """All areas, by name."""
    return list(await session.scalars(select(Area).order_by(Area.name)))


async def list_networks(session: AsyncSession) -> list[Network]:
    """All networks, by name."""
    return list(await session.scalars(select(Network).order_by(Network.name)))


async def add_areas(session: AsyncSession, names: list[str]) -> int:
    """Add the areas not already there; return how many were new."""
    existing = {area.name for area in await list_areas(session)}
    new = [name for name in dict.fromkeys(names) if name not in existing]
    session.add_all(Area(name=name) for name in new)
    return len(new)


async def add_networks(session: AsyncSession, names: list[str]) -> int:
    """Add the networks not already there; return how many were new."""
    existing = {network.name for network in await list_networks(session)}
    new = [name for name in dict.fromkeys(names) if name not in existing]
    session.add_all(Network(name=name) for name in new)
    return len(new)


async def find_network(session: AsyncSession, name: str) -> Network | None:
    """The network with this name, ignoring case."""
    networks = await list_networks(session)
    return next((n for n in networks if n.name.casefold() == name.casefold()), None)
