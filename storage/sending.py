"""The processes sending with the bot's token, each noted every few seconds, so that they can split
Telegram's budget between them (see bot.heartbeat).

Times are the database's clock on PostgreSQL, so processes on hosts whose clocks differ still agree
on who was seen lately; a SQLite file has one host, whose clock is used."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SendingProcess, utcnow


def _now(session: AsyncSession) -> ColumnElement[datetime] | datetime:
    return func.now() if session.get_bind().dialect.name == "postgresql" else utcnow()


async def note(session: AsyncSession, name: str, forget_after: timedelta) -> None:
    """Record that process `name` is sending now; drop the rows of processes not seen for
    `forget_after` (they died without saying so)."""
    now = _now(session)
    make_insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        make_insert(SendingProcess)
        .values(name=name, seen_at=now)
        .on_conflict_do_update(index_elements=["name"], set_={"seen_at": now})
    )
    await session.execute(delete(SendingProcess).where(SendingProcess.seen_at < now - forget_after))


async def count_seen(session: AsyncSession, within: timedelta) -> int:
    """How many processes were seen within the last `within`."""
    found = await session.scalar(
        select(func.count())
        .select_from(SendingProcess)
        .where(SendingProcess.seen_at >= _now(session) - within)
    )
    return int(found or 0)


async def forget(session: AsyncSession, name: str) -> None:
    """Process `name` stops sending."""
    await session.execute(delete(SendingProcess).where(SendingProcess.name == name))
