"""Claiming a scheduled job's run, so it happens once per slot across restarts and workers."""

from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import JobRun


async def claim(session: AsyncSession, name: str, slot: datetime, now: datetime) -> bool:
    """Record that job `name` runs now for the slot that began at `slot`; False if it already ran
    for that slot. A conditional update, so of two workers claiming at once exactly one wins."""
    dialect = session.get_bind().dialect.name
    make_insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        make_insert(JobRun)
        .values(name=name, last_run_at=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    result = await rows_changed(session,
        update(JobRun)
        .where(JobRun.name == name, or_(JobRun.last_run_at.is_(None), JobRun.last_run_at < slot))
        .values(last_run_at=now)
    )
    return bool(result)
