"""Delivery processes: SIGKILL mid-broadcast and start again; two worker processes share a broadcast."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import Emulator
from storage import broadcasts
from storage.audience import Audience
from storage.models import Champion, Delivery, utcnow
from tests.test_delivery import add_champions

CHAMPBOT = str(Path(sys.executable).parent / "champbot")


async def start_worker(
    emulator: Emulator, database_url: str, tmp_path: Path, rate: float, *args: str
) -> asyncio.subprocess.Process:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CHAMPBOT_API_BASE_URL": emulator.base_url,
        "CHAMPBOT_DATABASE_URL": database_url,
        "CHAMPBOT_DATA_DIR": str(tmp_path),
        "CHAMPBOT_DELIVERY_RATE": str(rate),
    }
    return await asyncio.create_subprocess_exec(
        CHAMPBOT, "deliver", "--until-idle", *args, env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )


async def queued_broadcast(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        made = await broadcasts.create_broadcast(
            session, texts={"en": "Clinic open late on Thursday"}, audience=Audience()
        )
        await broadcasts.queue_due(session, utcnow(), timedelta(hours=1))
        return made.id


async def test_sigkill_mid_broadcast_then_restart_delivers_to_everyone(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, database_url: str, tmp_path: Path
) -> None:
    ids = await add_champions(sessions, emulator, 200, start=7000)
    broadcast_id = await queued_broadcast(sessions)
    first = await start_worker(emulator, database_url, tmp_path, 100.0)
    await emulator.wait_for_sent(40, timeout=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert first.returncode == -signal.SIGKILL
    assert emulator.messages_sent < 200  # it really died mid-broadcast

    second = await start_worker(emulator, database_url, tmp_path, 0.0, "--lease", "0")
    _out, err = await second.communicate()
    assert second.returncode == 0, err.decode()

    received = {telegram_id: len(emulator.history(telegram_id)) for telegram_id in ids}
    assert all(count >= 1 for count in received.values())  # everyone got it
    async with sessions.begin() as session:
        result = await broadcasts.report(session, broadcast_id)
        named = set(
            await session.scalars(select(Champion.telegram_id).where(Champion.id.in_(result.possibly_twice)))
        )
    twice = {telegram_id for telegram_id, count in received.items() if count == 2}
    assert max(received.values()) <= 2
    assert twice <= named  # only those in flight at the kill got it twice, and the report names them
    assert result.counts == {"sent": 200} and result.status == "done"


async def test_two_worker_processes_share_a_broadcast_without_duplicates(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, database_url: str, tmp_path: Path
) -> None:
    ids = await add_champions(sessions, emulator, 300, start=8000)
    await queued_broadcast(sessions)
    workers = [await start_worker(emulator, database_url, tmp_path, 0.0) for _ in range(2)]
    results = await asyncio.gather(*(w.communicate() for w in workers))
    assert [w.returncode for w in workers] == [0, 0], [err.decode()[-500:] for _out, err in results]
    assert all(len(emulator.history(telegram_id)) == 1 for telegram_id in ids)
    async with sessions() as session:
        by_worker = {d.claimed_by for d in await session.scalars(select(Delivery))}
    assert len(by_worker) == 2  # both processes took part


async def test_two_worker_processes_keep_one_budget_between_them(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, database_url: str, tmp_path: Path
) -> None:
    """Each process is given the whole token's rate; together they still keep Telegram's limit."""
    emulator.enforce_limits = True  # 429 past 30 sends in any second, or two to a chat within one
    ids = await add_champions(sessions, emulator, 150, start=8500)
    await queued_broadcast(sessions)
    workers = [await start_worker(emulator, database_url, tmp_path, 29.0) for _ in range(2)]
    results = await asyncio.gather(*(w.communicate() for w in workers))
    assert [w.returncode for w in workers] == [0, 0], [err.decode()[-500:] for _out, err in results]
    assert emulator.rate_limited == 0
    assert all(len(emulator.history(telegram_id)) == 1 for telegram_id in ids)
