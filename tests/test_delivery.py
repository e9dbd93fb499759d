"""Broadcast delivery: audiences, the outbox, workers, faults, quiet hours, recovery, scheduling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.budget import Budget
from bot.delivery import DeliveryWorker, WorkerOptions
from bot.emulator import Emulator
from bot.i18n import translator
from storage import audience, broadcasts, directory, outbox
from storage.audience import Audience
from storage.models import Area, Broadcast, Champion, Delivery, Network, Role, Status, utcnow


class Clock:
    """A clock the test moves on, instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon in London

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def bare_bot(emulator: Emulator) -> AsyncIterator[Bot]:
    bot = Bot("1:test", base_url=f"{emulator.base_url}/bot")
    async with bot:
        yield bot


async def add_champions(
    sessions: async_sessionmaker[AsyncSession],
    emulator: Emulator,
    count: int,
    start: int = 5000,
    **fields: object,
) -> list[int]:
    """Active, consenting champions, each with a chat in the emulator; returns their Telegram ids."""
    ids = list(range(start, start + count))
    async with sessions.begin() as session:
        for telegram_id in ids:
            values = {"language": "en", "status": Status.ACTIVE, "consent_at": utcnow(), **fields}
            session.add(Champion(telegram_id=telegram_id, display_name=f"C{telegram_id}", **values))
            emulator.add_user(telegram_id, f"C{telegram_id}", started=True)
    return ids


def worker(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], clock: Clock, **options: object
) -> DeliveryWorker:
    return DeliveryWorker(
        bot,
        sessions,
        Budget(per_second=None),
        WorkerOptions(**options),
        name="w1",
        clock=clock,  # type: ignore[arg-type]
    )


async def broadcast(sessions: async_sessionmaker[AsyncSession], clock: Clock, **kwargs: object) -> int:
    texts = kwargs.pop("texts", {"en": "Flu jabs this Saturday"})
    async with sessions.begin() as session:
        made = await broadcasts.create_broadcast(
            session, texts=texts, audience=kwargs.pop("audience", Audience()), send_at=clock.now, **kwargs
        )  # type: ignore[arg-type]
        await broadcasts.queue_due(session, clock.now, timedelta(hours=1))
        return made.id


async def the_report(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> broadcasts.Report:
    async with sessions.begin() as session:
        return await broadcasts.report(session, broadcast_id)


async def test_audience_never_includes_paused_stopped_unreachable_or_unconsented(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator
) -> None:
    await add_champions(sessions, emulator, 2)
    for offset, status in enumerate(
        (Status.PAUSED, Status.STOPPED, Status.PENDING, Status.JOINING)
    ):
        await add_champions(sessions, emulator, 1, start=6000 + offset, status=status)
    await add_champions(sessions, emulator, 1, start=6050, unreachable_at=utcnow())
    await add_champions(sessions, emulator, 1, start=6100, consent_at=None)
    async with sessions() as session:
        assert await audience.size(session, Audience()) == 2


async def test_audience_filters_by_area_network_language_and_role(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator
) -> None:
    async with sessions.begin() as session:
        await directory.add_areas(session, ["North", "South"])
        await directory.add_networks(session, ["Youth"])
    async with sessions() as session:
        north, south = [a.id for a in await session.scalars(select(Area).order_by(Area.name))]
        (youth,) = [n.id for n in await session.scalars(select(Network))]
    await add_champions(sessions, emulator, 3, start=100, area_id=north)
    await add_champions(sessions, emulator, 2, start=200, area_id=south, language="pl")
    await add_champions(sessions, emulator, 1, start=300, area_id=south, role=Role.COORDINATOR)
    async with sessions.begin() as session:
        member = await session.scalar(select(Champion).where(Champion.telegram_id == 100))
        network = await session.get(Network, youth)
        assert member and network
        await session.refresh(member, ["networks"])
        member.networks = [network]
    async with sessions() as session:
        assert await audience.size(session, Audience(areas=[north])) == 3
        assert await audience.size(session, Audience(areas=[south], languages=["pl"])) == 2
        assert await audience.size(session, Audience(networks=[youth])) == 1
        assert await audience.size(session, Audience(roles=["coordinator"])) == 1
        assert await audience.languages(session, Audience()) == {"en": 4, "pl": 2}


async def test_each_champion_gets_their_language_or_english_with_answer_back_buttons(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, bare_bot: Bot
) -> None:
    clock = Clock()
    (english,) = await add_champions(sessions, emulator, 1, start=10)
    (polish,) = await add_champions(sessions, emulator, 1, start=11, language="pl")
    (somali,) = await add_champions(sessions, emulator, 1, start=12, language="so")
    texts = {"en": "Flu jabs this Saturday", "pl": "Szczepienia przeciw grypie w sobotę"}
    broadcast_id = await broadcast(sessions, clock, texts=texts)
    assert await worker(bare_bot, sessions, clock).run_once() == 3
    assert emulator.history(english)[-1]["text"] == "Flu jabs this Saturday"
    assert emulator.history(polish)[-1]["text"] == "Szczepienia przeciw grypie w sobotę"
    assert emulator.history(somali)[-1]["text"] == "Flu jabs this Saturday"  # no Somali version: English
    labels = [b["text"] for b in emulator.history(somali)[-1]["reply_markup"]["inline_keyboard"][0]]
    assert labels == [
        translator("so").gettext(label) for label in ("Shared it", "A question", "Concern heard")
    ]
    result = await the_report(sessions, broadcast_id)
    assert result.counts == {"sent": 3} and result.finished and result.status == "done"


async def test_faults_for_some_chats_do_not_hold_up_the_rest(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, bare_bot: Bot
) -> None:
    clock = Clock()
    ids = await add_champions(sessions, emulator, 10, start=20)
    emulator.fail(ids[0], 429, times=1, retry_after=5)
    emulator.fail(ids[1], 403, times=None)
    emulator.fail(ids[2], 400, times=None)
    emulator.fail(ids[3], 502, times=None)
    broadcast_id = await broadcast(sessions, clock)
    delivering = worker(bare_bot, sessions, clock, max_attempts=2)
    assert await delivering.run_once() == 10
    result = await the_report(sessions, broadcast_id)
    assert result.counts == {"sent": 6, "pending": 2, "blocked": 1, "failed": 1}
    clock.now += timedelta(seconds=3)  # the gateway error is retried after its backoff...
    assert await delivering.run_once() == 1
    clock.now += timedelta(seconds=3)  # ...and the rate-limited one after its retry_after
    assert await delivering.run_once() == 1
    result = await the_report(sessions, broadcast_id)
    assert result.counts == {"sent": 7, "blocked": 1, "failed": 2} and result.finished
    async with sessions() as session:
        rows = {d.champion_id: d for d in await session.scalars(select(Delivery))}
        blocked = await session.scalar(select(Champion).where(Champion.telegram_id == ids[1]))
        assert blocked and blocked.status == Status.ACTIVE and blocked.unreachable_at is not None
        errors = sorted(d.error or "" for d in rows.values() if d.state == "failed")
        assert errors == ["Bad Gateway", "Chat not found"]


async def test_quiet_hours_wait_unless_urgent(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, bare_bot: Bot
) -> None:
    clock = Clock()
    clock.now = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 22:30 in London
    (sleeper,) = await add_champions(sessions, emulator, 1, start=40, quiet_start=22, quiet_end=7)
    normal = await broadcast(sessions, clock)
    delivering = worker(bare_bot, sessions, clock)
    await delivering.run_once()
    assert (await the_report(sessions, normal)).counts == {"pending": 1}
    urgent = await broadcast(sessions, clock, texts={"en": "Urgent: clinic closed"}, urgent=True)
    await delivering.run_once()
    assert (await the_report(sessions, urgent)).counts == {"sent": 1}
    clock.now = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    await delivering.run_once()
    assert (await the_report(sessions, normal)).counts == {"sent": 1}
    assert [m["text"] for m in emulator.history(sleeper)] == [
        "Urgent: clinic closed",
        "Flu jabs this Saturday",
    ]


async def test_a_dead_workers_claims_are_sent_again_and_named(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, bare_bot: Bot
) -> None:
    clock = Clock()
    await add_champions(sessions, emulator, 5, start=50)
    broadcast_id = await broadcast(sessions, clock)
    async with sessions.begin() as session:  # a worker claims two, then dies before recording
        dead = await outbox.claim(session, "dead", 2, clock.now)
    clock.now += timedelta(minutes=5)
    await worker(bare_bot, sessions, clock).run(asyncio.Event(), until_idle=True)
    result = await the_report(sessions, broadcast_id)
    assert result.counts == {"sent": 5}
    async with sessions() as session:
        named = {
            c.telegram_id
            for c in await session.scalars(select(Champion).where(Champion.id.in_(result.possibly_twice)))
        }
    assert named == {item.telegram_id for item in dead}


async def test_scheduled_broadcasts_are_queued_when_due_or_marked_missed(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator
) -> None:
    clock = Clock()
    await add_champions(sessions, emulator, 3, start=60)
    async with sessions.begin() as session:
        later = await broadcasts.create_broadcast(
            session, texts={"en": "later"}, audience=Audience(), send_at=clock.now + timedelta(hours=2)
        )
        long_ago = await broadcasts.create_broadcast(
            session, texts={"en": "old"}, audience=Audience(), send_at=clock.now - timedelta(days=2)
        )
        assert await broadcasts.queue_due(session, clock.now, timedelta(hours=1)) == ([], [long_ago.id])
        assert await broadcasts.queue_due(session, clock.now + timedelta(hours=2), timedelta(hours=1)) == (
            [later.id],
            [],
        )
        later = clock.now + timedelta(hours=3)
        assert await broadcasts.queue_due(session, later, timedelta(hours=1)) == ([], [])
    async with sessions() as session:
        statuses = {b.texts["en"]: b.status for b in await session.scalars(select(Broadcast))}
        assert statuses == {"later": "sending", "old": "missed"}
        assert len(list(await session.scalars(select(Delivery)))) == 3


async def test_an_empty_audience_and_a_missing_english_text_are_explained(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator
) -> None:
    clock = Clock()
    broadcast_id = await broadcast(sessions, clock, audience=Audience(languages=["ro"]))
    result = await the_report(sessions, broadcast_id)
    assert result.total == 0 and result.finished
    async with sessions.begin() as session:
        with pytest.raises(ValueError, match="needs an English text"):
            await broadcasts.create_broadcast(session, texts={"pl": "tylko po polsku"}, audience=Audience())


async def test_two_workers_share_a_broadcast_without_sending_twice(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, bare_bot: Bot
) -> None:
    clock = Clock()
    ids = await add_champions(sessions, emulator, 120, start=1000)
    broadcast_id = await broadcast(sessions, clock)
    workers = [
        DeliveryWorker(
            bare_bot, sessions, Budget(None), WorkerOptions(batch=10), name=f"w{i}", clock=clock
        )
        for i in range(2)
    ]
    await asyncio.gather(*(w.run(asyncio.Event(), until_idle=True) for w in workers))
    assert all(len(emulator.history(i)) == 1 for i in ids)
    assert (await the_report(sessions, broadcast_id)).counts == {"sent": 120}
    async with sessions() as session:
        claimed_by = {d.claimed_by for d in await session.scalars(select(Delivery))}
    assert claimed_by == {"w0", "w1"}


async def test_rate_limiter_spaces_sends_overall_and_per_chat() -> None:
    limiter = Budget(per_second=100, per_chat=0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(limiter.take(chat) for chat in range(20)))
    overall = loop.time() - start
    start = loop.time()
    for _ in range(3):
        await limiter.take(7)
    per_chat = loop.time() - start
    assert overall >= 0.18  # 20 sends at 100/s
    assert per_chat >= 0.09  # 3 sends to one chat, 0.05 s apart


async def test_a_photo_goes_with_each_language_as_its_caption(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, bare_bot: Bot
) -> None:
    clock = Clock()
    (polish,) = await add_champions(sessions, emulator, 1, start=70, language="pl")
    texts = {"en": "New clinic times", "pl": "Nowe godziny przychodni"}
    await broadcast(sessions, clock, texts=texts, media=("photo", "AgACAgQAAxkBAAI"))
    await worker(bare_bot, sessions, clock).run_once()
    message = emulator.history(polish)[-1]
    assert (
        message["caption"] == "Nowe godziny przychodni"
        and message["photo"][0]["file_id"] == "AgACAgQAAxkBAAI"
    )
    async with sessions.begin() as session:
        with pytest.raises(ValueError, match="at most 1024 characters"):
            await broadcasts.create_broadcast(
                session, texts={"en": "x" * 1025}, audience=Audience(), media=("photo", "f")
            )


async def test_a_champion_who_changes_language_mid_campaign_gets_the_new_language(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, bare_bot: Bot
) -> None:
    clock = Clock()
    (kasia,) = await add_champions(sessions, emulator, 1, start=80)
    texts = {"en": "Flu jabs this Saturday", "pl": "Szczepienia przeciw grypie w sobotę"}
    await broadcast(sessions, clock, texts=texts)  # queued while she reads English
    async with sessions.begin() as session:
        champion = await session.scalar(select(Champion).where(Champion.telegram_id == kasia))
        assert champion
        champion.language = "pl"
    await worker(bare_bot, sessions, clock).run_once()
    assert emulator.history(kasia)[-1]["text"] == "Szczepienia przeciw grypie w sobotę"


async def test_rate_limiter_forgets_chats_once_their_second_is_over() -> None:
    limiter = Budget(per_second=1000, per_chat=0.01)
    for chat in range(50):
        await limiter.take(chat)
    await asyncio.sleep(0.02)  # the per-chat window itself is what is being tested here
    await limiter.take(999)
    assert set(limiter._last_chat) == {999}
