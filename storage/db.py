"""One async engine per process, its session factory, and migrations applied from code."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
RETRY_FIRST_DELAY = 0.2  # seconds before the first retry; doubles up to RETRY_MAX_DELAY
RETRY_MAX_DELAY = 5.0
# Errors that mean the database is away (SQLite's OperationalError includes "database is locked").
CONNECTION_ERRORS = (
    OperationalError,
    InterfaceError,
    OSError,
    PostgresConnectionError,  # asyncpg: connection lost or refused
    OperatorInterventionError,  # asyncpg: the server is shutting down or terminated the connection
)
T = TypeVar("T")
log = logging.getLogger(__name__)


def make_engine(url: str) -> AsyncEngine:
    """Create the engine; SQLite gets WAL mode, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory every query module is given."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the engine's database."""
    async with engine.begin() as connection:
        await connection.run_sync(_run_alembic, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Revert migrations down to `revision`."""
    async with engine.begin() as connection:
        await connection.run_sync(_run_alembic, "downgrade", revision)


def _run_alembic(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


def is_connection_error(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) means the database could not be reached or dropped the
    connection, rather than that the statement itself was wrong."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, CONNECTION_ERRORS):
            return True
        seen = seen.__cause__
    return False


async def retry_while_away(work: Callable[[], Awaitable[T]], give_up_after: float) -> T:
    """Run `work`, again and again with backoff while the database is unreachable, for at most
    `give_up_after` seconds; then the last error is raised. `work` must be safe to repeat."""
    deadline = time.monotonic() + give_up_after
    delay = RETRY_FIRST_DELAY
    while True:
        try:
            return await work()
        except Exception as exc:
            if not is_connection_error(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("The database is unreachable (%s); trying again in %.1f s", exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_DELAY)
