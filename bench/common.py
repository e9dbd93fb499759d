"""What every benchmark shares: the table, the emulator's own process, benchmark databases, and running
figures from the command line (alone, or all of them through `python -m bench`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.emulator import Emulator
from storage.db import make_engine, make_sessions, upgrade
from storage.models import Champion, Role, Status, utcnow

FIRST_ID = 10_000_000  # Telegram ids of the benchmark's champions start here

# ---------------------------------------------------------------------------------------- the table


@dataclass
class Row:
    """One figure: what was measured, the bare baseline's figure, their ratio, the target, the verdict."""

    name: str
    value: str
    baseline: str
    ratio: str
    target: str
    ok: bool

    WIDTHS = (48, 30, 30, 7, 26)

    @classmethod
    def header(cls) -> str:
        cells = ("figure", "value", "baseline", "ratio", "target")
        return "  ".join(c.ljust(w) for c, w in zip(cells, cls.WIDTHS, strict=True)) + "  result"

    def line(self) -> str:
        cells = (self.name, self.value, self.baseline, self.ratio, self.target)
        return "  ".join(c.ljust(w) for c, w in zip(cells, self.WIDTHS, strict=True)) + (
            "  PASS" if self.ok else "  FAIL"
        )


def emit(row: Row, rows: list[Row]) -> None:
    rows.append(row)
    print(row.line(), flush=True)


def note(figure: str, text: str) -> None:
    """A line of detail under a figure, kept out of the final table."""
    print(f"  ({figure}: {text})", flush=True)


def count(n: int) -> str:
    return f"{n:,}"


# ------------------------------------------------------------------------ the emulator's own process

Command = Callable[..., Awaitable[Any]]
# Module-level, so a spawned process can import it: more commands, and routes added to the emulator's app.
Commands = Callable[[Emulator, web.Application], dict[str, Command]]


def no_commands(emulator: Emulator, app: web.Application) -> dict[str, Command]:
    return {}


@dataclass(frozen=True)
class Network:
    """The round trip each Bot API call waits in the emulator (0: none), jittered, from a seeded
    random stream so a benchmark sees the same trips each run."""

    rtt: float = 0.0
    seed: int = 12


def _serve_emulator(
    conn: mp.connection.Connection, enforce_limits: bool, commands: Commands, network: Network
) -> None:
    asyncio.run(_emulator_main(conn, enforce_limits, commands, network))


async def _emulator_main(
    conn: mp.connection.Connection, enforce_limits: bool, commands: Commands, network: Network
) -> None:
    """Serve the emulator; run the benchmark's commands, one at a time, while it serves."""
    emulator = Emulator(enforce_limits=enforce_limits, rtt=network.rtt, seed=network.seed)

    async def users(start: int, n: int) -> int:
        for telegram_id in range(start, start + n):
            emulator.add_user(telegram_id, f"C{telegram_id}", "en", started=True)
        return n

    async def stats() -> dict[str, int]:
        messages = sum(len(chat.messages) for chat in emulator.chats.values())
        return {"rate_limited": emulator.rate_limited, "messages": messages}

    app = web.Application()
    table: dict[str, Command] = {"users": users, "stats": stats, **commands(emulator, app)}
    conn.send(await emulator.start(app=app))
    while True:
        try:
            command, *args = await asyncio.to_thread(conn.recv)
        except EOFError:
            break
        if command == "stop":
            conn.send(True)
            break
        conn.send(await table[command](*args))
    await emulator.stop()


class EmulatorProcess:
    """The Bot API emulator in a child process; `call` runs a command in it (see `Commands`)."""

    def __init__(
        self, *, enforce_limits: bool, commands: Commands = no_commands, network: Network = Network()
    ) -> None:
        context = mp.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_emulator, args=(child, enforce_limits, commands, network), daemon=True
        )
        self._process.start()
        child.close()
        self.base_url: str = self._conn.recv()

    def call(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    async def acall(self, *command: Any) -> Any:
        """`call` without blocking this process's event loop."""
        return await asyncio.to_thread(self.call, *command)

    def add_users(self, start: int, n: int) -> None:
        self.call("users", start, n)

    def stats(self) -> dict[str, int]:
        return self.call("stats")  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, EOFError):
            self.call("stop")
        self._process.join(30)
        if self._process.is_alive():
            self._process.terminate()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Child:
    """A spawned process running `target(*args)`; stopped with SIGTERM, as a service manager would."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        self.process = mp.get_context("spawn").Process(target=target, args=args, daemon=True)
        self.process.start()
        assert self.process.pid is not None
        self.pid: int = self.process.pid

    def stop(self) -> None:
        if self.process.is_alive():
            os.kill(self.pid, signal.SIGTERM)
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


# ------------------------------------------------------------------------------------- the database


@dataclass
class Database:
    """A fresh benchmark database: a SQLite file, or a private schema on PostgreSQL."""

    url: str
    schema: str | None = None

    def engine(self) -> AsyncEngine:
        if self.schema is None:
            return make_engine(self.url)
        # As storage.db.make_engine makes the app's (JIT off), in the benchmark's own schema.
        settings = {"search_path": self.schema, "jit": "off"}
        return create_async_engine(self.url, pool_pre_ping=True, connect_args={"server_settings": settings})


async def create_database(kind: str, directory: Path, tag: str) -> Database:
    if kind == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{directory / f'{tag}.db'}")
    else:
        url = os.environ["TEST_DATABASE_URL"]
        database = Database(url, f"bench_{os.getpid()}_{tag}")
        admin = create_async_engine(url)
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{database.schema}"'))
        await admin.dispose()
    engine = database.engine()
    await upgrade(engine)
    await engine.dispose()
    return database


async def drop_database(database: Database) -> None:
    if database.schema is None:
        return  # the temporary directory goes with it
    admin = create_async_engine(database.url)
    async with admin.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE'))
    await admin.dispose()


async def add_champions(
    engine: AsyncEngine, start: int, n: int, role: Role = Role.CHAMPION, area_id: int | None = None
) -> None:
    """Active, consenting champions with Telegram ids start..start+n-1, inserted in chunks."""
    sessions = make_sessions(engine)
    now = utcnow()
    chunk = 5_000
    for first in range(start, start + n, chunk):
        rows = [
            {
                "telegram_id": telegram_id,
                "display_name": f"C{telegram_id}",
                "language": "en",
                "timezone": "Europe/London",
                "role": role,
                "status": Status.ACTIVE,
                "consent_at": now,
                "share_consent": False,
                "area_id": area_id,
                "created_at": now,
                "updated_at": now,
            }
            for telegram_id in range(first, min(first + chunk, start + n))
        ]
        async with sessions.begin() as session:
            await session.execute(insert(Champion), rows)


# ---------------------------------------------------------------------------------- running figures


@dataclass
class Run:
    """What every figure is run with."""

    kind: str  # sqlite or postgresql
    quick: bool
    concurrency: int
    repeat: int
    workdir: Path
    rows: list[Row] = field(default_factory=list)


@dataclass
class Figure:
    """One numbered figure: how to run it, and on which databases it means something."""

    run: Callable[[Run], Awaitable[None]]
    kinds: tuple[str, ...] = ("sqlite", "postgresql")


def parse_args(
    argv: list[str] | None, description: str | None, figures: dict[str, Figure]
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="scaled-down sizes and times: a smoke run")
    parser.add_argument(
        "--only",
        default=",".join(figures),
        help=f"figures to run, e.g. 2 or 1,3 (default: {','.join(figures)})",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="sends in flight (default 32)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="turns each side takes in figure 2; best counts (default 3)"
    )
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql", "all"),
        default="sqlite",
        help="database(s) to run on; postgresql uses TEST_DATABASE_URL with a private schema",
    )
    return parser.parse_args(argv)


async def run_figures(title: str, figures: dict[str, Figure], argv: list[str] | None, doc: str | None) -> int:
    """Run the chosen figures on the chosen databases, then print every row again as one table.
    Exit status: 0 if every target is met, 1 if one is missed, 2 if the arguments are wrong."""
    args = parse_args(argv, doc, figures)
    kinds = ["sqlite", "postgresql"] if args.db == "all" else [args.db]
    if "postgresql" in kinds and not os.environ.get("TEST_DATABASE_URL"):
        if args.db == "postgresql":
            print("TEST_DATABASE_URL is not set", file=sys.stderr)
            return 2
        print("TEST_DATABASE_URL is not set: PostgreSQL skipped", flush=True)
        kinds = ["sqlite"]
    chosen = [key.strip() for key in args.only.split(",") if key.strip()]
    unknown = [key for key in chosen if key not in figures]
    if unknown:
        print(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(figures)}", file=sys.stderr)
        return 2
    load = os.getloadavg()
    print(
        f"{title}: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load[0]:.2f}, "
        f"emulator in its own process",
        flush=True,
    )
    if args.quick:
        print("QUICK MODE: sizes and times SCALED DOWN (each figure says how); a smoke run only", flush=True)
    print(Row.header(), flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="champbot-bench-") as workdir:
        for kind in kinds:
            for key in chosen:
                figure = figures[key]
                if kind not in figure.kinds:
                    if kind == kinds[-1] and not set(figure.kinds) & set(kinds):
                        note(key, f"needs {' or '.join(figure.kinds)} (--db): skipped")
                    continue
                await figure.run(Run(kind, args.quick, args.concurrency, args.repeat, Path(workdir), rows))
    print(f"\n{title}: {len(rows)} figure(s)" + (" (QUICK MODE, scaled down)" if args.quick else ""))
    print(Row.header())
    for row in rows:
        print(row.line())
    return 0 if all(row.ok for row in rows) else 1
