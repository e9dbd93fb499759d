"""SIGKILL while a row of every kind is in flight (sent to the Bot API, not yet marked), then a
restart: nothing is lost, and only the rows in flight can repeat, each named as such."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import Emulator
from bot.i18n import LANGUAGES
from storage import broadcasts, outbox, reports
from storage.audience import Audience
from storage.content import load_library
from storage.models import Champion, Delivery, ReportReply, Role, SnippetProgress, Status, utcnow
from storage.reports import Draft
from tests.test_delivery import add_champions
from tests.test_delivery_processes import start_worker

KINDS = sorted(set(outbox.LANE) - {outbox.BROADCAST, outbox.CAMPAIGN})  # broadcasts: test_delivery_processes


async def queue_one_of_each(sessions: async_sessionmaker[AsyncSession], emulator: Emulator) -> dict[str, int]:
    """One row of each kind, each to a recipient of its own; returns kind → recipient's Telegram id."""
    ids = dict(zip(KINDS, await add_champions(sessions, emulator, len(KINDS), start=9500), strict=True))
    (pending_id,) = await add_champions(sessions, emulator, 1, start=9600, status=Status.PENDING)
    snippet = load_library(languages=tuple(LANGUAGES))[0].all_ids()[0]
    async with sessions.begin() as session:
        people = {
            kind: await session.scalar(select(Champion).where(Champion.telegram_id == telegram_id))
            for kind, telegram_id in ids.items()
        }
        for kind in (outbox.DIGEST, outbox.APPROVAL_REQUEST, outbox.FORWARDED):
            people[kind].role = Role.COORDINATOR  # type: ignore[union-attr]
        people[outbox.LOG_NUDGE].log_nudge = True  # type: ignore[union-attr]  # asked for the reminder
        pending = await session.scalar(select(Champion).where(Champion.telegram_id == pending_id))
        assert pending is not None
        broadcast = await broadcasts.create_broadcast(
            session, texts={"en": "Flu jabs on Saturday"}, audience=Audience(areas=[-1])
        )
        answered = Delivery(
            kind=outbox.BROADCAST,
            lane=outbox.BULK,
            broadcast_id=broadcast.id,
            champion_id=pending.id,
            state="sent",
        )
        session.add(answered)
        await session.flush()
        payloads: dict[str, dict[str, object] | None] = {
            outbox.WEEKLY: {"snippet": snippet},
            outbox.DIGEST: {"slot": utcnow().isoformat()},
            outbox.APPROVAL_REQUEST: {"champion": pending.id},
            outbox.APPROVAL_RESULT: None,
            outbox.LOG_NUDGE: {"slot": utcnow().isoformat()},
        }
        for kind in (outbox.REPLY, outbox.THEME):
            champion = people[kind]
            assert champion is not None
            report = await reports.create(
                session, champion, Draft(topic="other", kind="idea", people="one", text="x")
            )
            (replied,) = await reports.reply(
                session, [report.id], f"Answer by {kind}", None, theme=kind == outbox.THEME
            )
            payloads[kind] = {"reply": replied.reply_id}
        question = await reports.create(
            session,
            pending,
            Draft(topic="other", kind="question", people="one", text="When?", delivery_id=answered.id),
        )
        payloads[outbox.FORWARDED] = {"report": question.id}
        for kind in KINDS:
            champion = people[kind]
            assert champion is not None
            await outbox.queue(session, kind, [champion.id], payloads[kind])
    return ids


async def all_in_flight(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Return once every kind's row is claimed at the same moment."""
    while True:
        async with sessions() as session:
            states = set(await session.scalars(select(Delivery.state).where(Delivery.kind.in_(KINDS))))
        if states == {outbox.CLAIMED}:
            return
        await asyncio.sleep(0.05)


async def test_sigkill_with_every_kind_in_flight_then_restart_loses_nothing(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, database_url: str, tmp_path: Path
) -> None:
    ids = await queue_one_of_each(sessions, emulator)
    arrived = [emulator.hold(telegram_id) for telegram_id in ids.values()]
    first = await start_worker(emulator, database_url, tmp_path, 0.0)
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in arrived)), 60)
    await asyncio.wait_for(all_in_flight(sessions), 60)  # a held send times out and comes back later
    first.send_signal(signal.SIGKILL)  # every kind's send is hanging at the Bot API: in flight
    await first.wait()
    for telegram_id in ids.values():
        emulator.release(telegram_id)  # those sends fail: they never reached anyone
    assert all(emulator.history(telegram_id) == [] for telegram_id in ids.values())

    second = await start_worker(emulator, database_url, tmp_path, 0.0, "--lease", "0")
    _out, err = await second.communicate()
    assert second.returncode == 0, err.decode()[-2000:]
    for kind, telegram_id in ids.items():
        assert len(emulator.history(telegram_id)) == 1, kind  # each got theirs, once
    async with sessions() as session:
        rows = {
            row.kind: row for row in await session.scalars(select(Delivery).where(Delivery.kind.in_(KINDS)))
        }
        told = list(
            await session.scalars(select(ReportReply.notified_at).where(ReportReply.notified_at.is_not(None)))
        )
        read = list(await session.scalars(select(SnippetProgress.snippet_id)))
    assert {kind: (row.state, row.in_flight_at_crash) for kind, row in rows.items()} == {
        kind: ("sent", True) for kind in KINDS
    }  # all named as possibly received twice, since all were in flight
    assert len(told) == 2 and len(read) == 1  # what a sent row means was kept only once it was sent
