"""The one outbox: what is queued is checked again when it is sent, so a champion who stops,
pauses or leaves, or a campaign cancelled or paused, gets nothing it should not; a failure keeps
its reason and is retried or given up for good, never silently lost."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.i18n import translator
from handlers.live_report import report_text
from storage import broadcasts, campaigns, outbox, reports, responses
from storage.audience import Audience
from storage.models import Broadcast, Campaign, Champion, Delivery, utcnow
from storage.reports import Draft
from tests.conftest import BotHarness, Person, join, make_coordinator, texts


async def champion_id(bot: BotHarness, person: Person) -> int:
    async with bot.sessions() as session:
        found = await session.scalar(select(Champion.id).where(Champion.telegram_id == person.id))
    assert found is not None
    return found


async def rows(bot: BotHarness, kind: str) -> list[tuple[str, str | None]]:
    async with bot.sessions() as session:
        found = await session.execute(
            select(Delivery.state, Delivery.error).where(Delivery.kind == kind).order_by(Delivery.id)
        )
    return [(state, error) for state, error in found]


async def queue_reply(bot: BotHarness, person: Person, text: str = "We asked the GP.") -> None:
    async with bot.sessions.begin() as session:
        champion = await session.get(Champion, await champion_id(bot, person))
        assert champion
        report = await reports.create(
            session, champion, Draft(topic="other", kind="idea", people="one", text="Evening clinics")
        )
        (replied,) = await reports.reply(session, [report.id], text, None, theme=False)
        await outbox.queue(session, outbox.REPLY, [replied.champion_id], {"reply": replied.reply_id})


async def queue_broadcast(bot: BotHarness, text: str, campaign: Campaign | None = None) -> int:
    async with bot.sessions.begin() as session:
        if campaign is not None:
            session.add(campaign)
            await session.flush()
        made = await broadcasts.create_broadcast(
            session, texts={"en": text}, audience=Audience(), campaign_id=campaign.id if campaign else None
        )
        await broadcasts.enqueue(session, made)
        return made.id


def got(person: Person, text: str) -> bool:
    return any(text in said for said in texts(person.history))


async def test_stop_pause_and_deletion_between_queueing_and_sending_send_nothing(
    bot: BotHarness, places: None
) -> None:
    stopping, pausing, leaving = (bot.person(9001 + i, name) for i, name in enumerate(["Sol", "Pat", "Lee"]))
    for person in (stopping, pausing, leaving):
        await join(person)
    await queue_broadcast(bot, "Flu jabs this Saturday")
    for person in (stopping, pausing, leaving):
        await queue_reply(bot, person)
    await stopping.send("/stop")
    await pausing.send("/pause")
    await leaving.send("/deleteme")
    await leaving.press("Yes, delete it all")
    await bot.deliver()
    assert not any(got(person, "Flu jabs") for person in (stopping, pausing, leaving))
    assert not got(stopping, "We asked the GP.") and not got(leaving, "We asked the GP.")
    assert got(pausing, "We asked the GP.")  # pausing holds campaign messages, not answers
    assert sorted(await rows(bot, outbox.BROADCAST)) == [
        ("skipped", "recipient paused"),
        ("skipped", "recipient stopped"),
    ]  # the deleted champion's rows went with them
    assert sorted(await rows(bot, outbox.REPLY)) == [("sent", None), ("skipped", "recipient stopped")]


async def test_a_campaign_cancelled_mid_delivery_sends_no_more_and_a_paused_one_waits(
    bot: BotHarness, places: None
) -> None:
    people = [bot.person(9101 + i, f"P{i}") for i in range(4)]
    for person in people:
        await join(person)
    cancelled = Campaign(name="Winter", status="active", audience={})
    await queue_broadcast(bot, "Winter message", cancelled)
    async with bot.sessions.begin() as session:
        first = await outbox.claim(session, "w", 1, utcnow(), outbox.BULK)
        await outbox.record(session, first, [outbox.Outcome(first[0].id, outbox.SENT)], utcnow())
        assert (await campaigns.change_campaign(session, cancelled.id, "cancel")).changed
    await bot.deliver()
    assert sum(got(person, "Winter message") for person in people) == 0  # the first was only recorded
    assert [state for state, _error in await rows(bot, outbox.CAMPAIGN)].count("skipped") == 3

    paused = Campaign(name="Spring", status="paused", audience={})
    await queue_broadcast(bot, "Spring message", paused)
    await bot.deliver()  # returns: a paused campaign's rows wait where they are
    assert not any(got(person, "Spring message") for person in people)
    async with bot.sessions.begin() as session:
        found = await session.get(Campaign, paused.id)
        assert found
        found.status = "active"
    await bot.deliver()
    assert all(got(person, "Spring message") for person in people)


async def test_an_expired_row_is_skipped_and_a_failure_keeps_its_reason(
    bot: BotHarness, places: None
) -> None:
    ana, ben = bot.person(9201, "Ana"), bot.person(9202, "Ben")
    sam = bot.person(9203, "Sam")
    for person in (ana, ben):
        await join(person)
    await make_coordinator(bot, sam)
    await sam.send("/help")
    async with bot.sessions.begin() as session:
        await outbox.queue(
            session,
            outbox.DIGEST,
            [await champion_id(bot, sam)],
            {"slot": utcnow().isoformat()},
            expires_at=utcnow() - timedelta(minutes=1),
        )
    await queue_reply(bot, ana)
    await queue_reply(bot, ben)
    bot.emulator.fail(ana.id, 400)
    bot.emulator.fail(ben.id, 502, times=1)  # a gateway error is tried again after its backoff
    await bot.deliver()
    assert await rows(bot, outbox.DIGEST) == [("skipped", "expired")]
    assert not any("Weekly digest" in said for said in texts(sam.history))
    (ana_row, ben_row) = await rows(bot, outbox.REPLY)
    assert ana_row[0] == "failed" and ana_row[1]
    assert ben_row == ("sent", "Bad Gateway") and got(ben, "We asked the GP.")


async def test_a_broadcast_to_a_champion_marked_unreachable_since_is_skipped(
    bot: BotHarness, places: None
) -> None:
    ana, ben = bot.person(9301, "Ana"), bot.person(9302, "Ben")
    for person in (ana, ben):
        await join(person)
    await queue_broadcast(bot, "Screening week")
    bot.emulator.block(ana.id)
    await queue_reply(bot, ana)  # its 403 marks Ana unreachable before the broadcast's turn
    await bot.deliver()
    assert got(ben, "Screening week")
    states = await rows(bot, outbox.BROADCAST) + await rows(bot, outbox.REPLY)
    assert ("skipped", "recipient unreachable") in states and ("blocked", states[-1][1]) == states[-1]
    async with bot.sessions() as session:
        broadcast = await session.scalar(select(Broadcast))
    assert broadcast is not None


def test_no_handler_or_job_sends_to_anyone_but_the_person_who_wrote() -> None:
    """Replies go to `update.effective_chat`; any other send (`bot.send_*`, `context.bot.send_*`) is
    the outbox worker's alone."""
    root = Path(__file__).parent.parent
    direct = []
    for path in [*root.glob("handlers/*.py"), *root.glob("bot/*.py")]:
        if path.name in ("delivery.py", "emulator.py", "telegram_replies.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = node.func.value
            is_bot = (isinstance(receiver, ast.Name) and receiver.id == "bot") or (
                isinstance(receiver, ast.Attribute) and receiver.attr == "bot"
            )
            if is_bot and node.func.attr.startswith(("send_", "copy_message", "forward_message")):
                direct.append(f"{path.name}:{node.lineno} {node.func.attr}")
    assert direct == []


def test_the_final_report_counts_the_copies_not_sent_since_they_were_queued() -> None:
    figures = responses.Progress("done", total=5, sent=3, skipped=2, finished=True)
    assert report_text(translator("en"), figures).splitlines() == [
        "Finished sending to 5 champions: 3 sent, 0 failed, 0 blocked.",
        "2 were not sent: those champions stopped or paused messages, or the campaign was cancelled, "
        "after it was queued.",
    ]
