"""One async engine per process, its session factory, and migrations applied from code."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError
from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.base import Executable

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
    """Create the engine; SQLite gets WAL mode, foreign keys and a busy timeout. Its errors never
    carry the values of a statement (a report's text, a name, a Telegram id), so no log line or
    traceback can show them. PostgreSQL's JIT is off: it spent 150-210 ms compiling the learning
    figures' queries, and an application of short queries gains nothing from it."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        connect_args = {"server_settings": {"jit": "off"}} if url.startswith("postgresql+asyncpg") else {}
        engine = create_async_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)
    event.listen(engine.sync_engine, "handle_error", _redact_driver_messages)
    return engine


def _redact_driver_messages(context: ExceptionContext) -> None:
    """Cut values out of the driver's messages, which `hide_parameters` leaves: PostgreSQL's DETAIL
    ("Key (telegram_id)=(…) already exists", "Failing row contains (…)") and quoted values
    ('invalid input for query argument $1: \'…\''). What stays is each error's class, the first
    line of its message up to the first quote, and the schema names and SQLSTATE it carries."""
    original = context.original_exception
    chain: list[BaseException] = []
    seen: BaseException | None = original  # the wrapper is chained to it only after this event
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for error in chain:
        if error.args:
            error.args = (_safe_message(error),)
        for field in ("detail", "hint"):  # asyncpg appends these to its message
            if getattr(error, field, None) is not None:
                setattr(error, field, None)
    wrapped = context.sqlalchemy_exception
    if isinstance(wrapped, DBAPIError) and wrapped.args:  # its message was made from the driver's
        kind = f"{type(original).__module__}.{type(original).__name__}"
        wrapped.args = (f"({kind}) {original}",)


def _safe_message(error: BaseException) -> str:
    """The first line of the message up to the first quote, with the schema names the error names."""
    first = str(error.args[0]).split("\n", 1)[0]
    kept = re.split("[\"']", first, maxsplit=1)[0].rstrip(" :")
    names = [
        f"{field} {value}"
        for field in ("constraint_name", "table_name", "column_name", "sqlstate")
        if isinstance(value := getattr(error, field, None), str)
    ]
    return f"{kept} ({', '.join(names)})" if names else kept


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory every query module is given."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def rows_changed(session: AsyncSession, statement: Executable) -> int:
    """Run an INSERT, UPDATE or DELETE and return how many rows it changed: what a conditional
    update (a claim, a status change) decides by. SQLAlchemy types `execute` as returning rows of
    any statement, so the one cast to the cursor result it is for DML lives here."""
    result = cast("CursorResult[Any]", await session.execute(statement))
    return int(result.rowcount or 0)


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the engine's database."""
    async with _migrating(engine) as connection:
        await connection.run_sync(_run_alembic, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Revert migrations down to `revision`."""
    async with _migrating(engine) as connection:
        await connection.run_sync(_run_alembic, "downgrade", revision)


@asynccontextmanager
async def _migrating(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction to migrate on. SQLite alters a table by building a new copy
    and dropping the old one, and that drop would cascade deletes to every row referring to it, so
    foreign keys are off meanwhile (the pragma is ignored inside a transaction) and checked before
    the commit."""
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as connection:
        if sqlite:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                yield connection
                if sqlite and (await connection.exec_driver_sql("PRAGMA foreign_key_check")).first():
                    raise RuntimeError("the migration left rows that refer to rows that are gone")
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


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
