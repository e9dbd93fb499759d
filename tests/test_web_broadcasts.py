"""The broadcasts pages: composing in steps (message and audience → versions → preview → confirm)
sends through the chat composer's own function, once per confirm form however often it is
posted; scheduling refuses past times; the list and each broadcast's page show delivery by channel
and reach; and people's words are escaped everywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.wake import Wake
from storage import broadcasts, outbox
from storage.models import Area, AuditEvent, Broadcast, Champion, Delivery, Identity, utcnow
from tests.web_harness import (
    ESCAPED,
    SCRIPT,
    audit_log,
    champion,
    coordinator,
    csrf_of,
    dashboard,
    field_of,
    link,
    member,
    sign_in,
)

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[Any, Any]


async def signed_in(sessions: Sessions, client: Client) -> int:
    sam = await coordinator(sessions)
    assert (await sign_in(client, await link(sessions, sam))).status == 303
    return sam


async def area(sessions: Sessions, name: str = "North") -> int:
    async with sessions.begin() as session:
        made = Area(name=name)
        session.add(made)
        await session.flush()
        return made.id


async def start(client: Client) -> dict[str, str]:
    """Open Compose: the fields every step's POST carries from the start."""
    html = await (await client.get("/compose")).text()
    return {"csrf": csrf_of(html), "token": field_of(html, "token")}


async def post(client: Client, fields: dict[str, str]) -> tuple[int, str]:
    answer = await client.post("/compose", data=fields, allow_redirects=False)
    return answer.status, await answer.text()


async def deliveries(sessions: Sessions) -> list[tuple[int, int]]:
    """(broadcast id, champion id) of every outbox row."""
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.broadcast_id, Delivery.champion_id).order_by(Delivery.id)
        )
        return [(b, c) for b, c in rows.all() if b is not None]


async def made(sessions: Sessions) -> list[Broadcast]:
    async with sessions() as session:
        return list(await session.scalars(select(Broadcast).order_by(Broadcast.id)))


async def test_compose_preview_and_send_now_queues_one_row_per_member_in_their_language(
    sessions: Sessions,
) -> None:
    north = await area(sessions)
    ana = await member(sessions, 601, "Ana", "en", north)
    ola = await member(sessions, 602, "Ola", "pl", north)
    ben = await member(sessions, 603, "Ben", "ar", north)
    await member(sessions, 604, "Elsewhere", "en")  # not in North
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        fields = await start(client)
        fields |= {"text": "Jab day on Friday", "audience": f"area:{north}"}
        status, versions = await post(client, fields | {"step": "audience"})
        assert status == 200
        assert "Version in Polski (read by 1 champion)" in versions
        assert "Version in العربية (read by 1 champion)" in versions
        fields["v_pl"] = "Dzień szczepień w piątek"
        status, preview = await post(client, fields | {"step": "versions"})
        assert status == 200
        assert "That is 3 champions." in preview
        assert "Preview for English (1 person):" in preview
        assert "Preview for Polski (1 person):" in preview
        assert "Preview for العربية (1 person), who will get the English text:" in preview
        assert "Dzień szczepień w piątek" in preview
        assert await made(sessions) == []  # nothing is made before the confirm
        fields |= {"options": "1", "when": "now", "answers": "1"}
        status, confirm = await post(client, fields | {"step": "preview"})
        assert status == 200 and "Send to 3 champions now?" in confirm
        assert await made(sessions) == []
        sent = await client.post("/compose", data=fields | {"step": "send"}, allow_redirects=False)
        assert sent.status == 303
        location = sent.headers["Location"]
        assert location.startswith("broadcast?id=") and location.endswith("&done=sent")
        page = await (await client.get(f"/{location}")).text()
    [broadcast] = await made(sessions)
    assert broadcast.texts == {"en": "Jab day on Friday", "pl": "Dzień szczepień w piątek"}
    assert broadcast.status == broadcasts.SENDING and broadcast.created_by == sam
    assert broadcast.answer_back is True and broadcast.urgent is False
    assert sorted(await deliveries(sessions)) == sorted((broadcast.id, c) for c in (ana, ola, ben))
    assert "Your broadcast was sent to the outbox." in page
    assert "Sending to 3 champions: 0 sent, 3 pending" in page
    assert "Dzień szczepień w piątek" in page


async def test_a_double_submitted_confirm_sends_once(sessions: Sessions) -> None:
    await member(sessions, 601)
    await member(sessions, 602)
    wake = Wake()
    async with dashboard(sessions, wake) as client:
        await signed_in(sessions, client)
        fields = await start(client)
        fields |= {"text": "Once only", "audience": "all", "options": "1", "when": "now", "step": "send"}
        first = await client.post("/compose", data=fields, allow_redirects=False)
        assert await wake.wait(outbox.BULK, 0)  # the delivery workers in this process look at once
        again = await client.post("/compose", data=fields, allow_redirects=False)
        assert first.status == again.status == 303
        [broadcast] = await made(sessions)
        assert first.headers["Location"] == f"broadcast?id={broadcast.id}&done=sent"
        assert again.headers["Location"] == f"broadcast?id={broadcast.id}"  # the one already made
    assert len(await deliveries(sessions)) == 2


async def test_schedule_in_the_future_in_the_coordinators_zone(sessions: Sessions) -> None:
    await member(sessions, 601)
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        async with sessions.begin() as session:
            person = await session.get(Champion, sam)
            assert person is not None
            person.timezone = "America/New_York"
        zone = ZoneInfo("America/New_York")
        local = (
            (utcnow() + timedelta(days=2))
            .astimezone(zone)
            .replace(hour=10, minute=30, second=0, microsecond=0)
        )
        fields = await start(client)
        fields |= {"text": "Later", "audience": "all"}
        status, preview = await post(client, fields | {"step": "versions"})
        assert "Times are in your time zone, America/New_York." in preview
        fields |= {"options": "1", "when": "later", "at": f"{local:%Y-%m-%dT%H:%M}"}
        status, confirm = await post(client, fields | {"step": "preview"})
        assert status == 200
        assert "Send to 1 champion on" in confirm and "10:30" in confirm and "(America/New_York)" in confirm
        assert "Confirm and schedule" in confirm
        sent = await client.post("/compose", data=fields | {"step": "send"}, allow_redirects=False)
        assert sent.headers["Location"].endswith("&done=scheduled")
    [broadcast] = await made(sessions)
    assert broadcast.status == broadcasts.SCHEDULED
    assert broadcast.send_at == local.replace(tzinfo=None).replace(tzinfo=zone).astimezone(
        broadcast.send_at.tzinfo
    )
    assert await deliveries(sessions) == []  # the scheduler queues it at its time


async def test_a_past_time_is_refused_and_nothing_is_made(sessions: Sessions) -> None:
    await member(sessions, 601)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        fields = await start(client)
        past = (utcnow() - timedelta(hours=2)).astimezone(ZoneInfo("Europe/London"))
        fields |= {"text": "Too late", "audience": "all", "options": "1", "when": "later"}
        fields["at"] = f"{past:%Y-%m-%dT%H:%M}"
        for step in ("preview", "send"):
            status, html = await post(client, fields | {"step": step})
            assert status == 400
            assert "has already passed. Choose a time in the future." in html
            assert 'class="nhsuk-error-summary"' in html and 'href="#at"' in html
            assert 'aria-describedby="at-hint at-error"' in html
        status, html = await post(client, fields | {"at": "tomorrow", "step": "preview"})
        assert status == 400 and "Enter the date and time to send it." in html
    assert await made(sessions) == []


async def test_a_form_without_csrf_is_refused_and_nothing_is_made(sessions: Sessions) -> None:
    await member(sessions, 601)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        fields = await start(client)
        fields |= {"text": "No token", "audience": "all", "options": "1", "when": "now", "step": "send"}
        del fields["csrf"]
        status, html = await post(client, fields)
        assert status == 403 and "This form was not accepted" in html
        status, _html = await post(client, fields | {"csrf": "forged"})
        assert status == 403
    assert await made(sessions) == [] and await deliveries(sessions) == []


async def test_an_unknown_audience_is_a_bad_request(sessions: Sessions) -> None:
    await member(sessions, 601)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        fields = await start(client)
        for audience in ("area:999", "network:x", "segment:", "<b>all</b>"):
            status, html = await post(
                client, fields | {"text": "Hi", "audience": audience, "step": "audience"}
            )
            assert status == 400, audience
            assert "That audience is not known" in html and "<b>all" not in html
        status, html = await post(
            client, fields | {"token": "", "text": "Hi", "audience": "all", "step": "send"}
        )
        assert status == 400
    assert await made(sessions) == []


async def test_an_empty_message_and_an_empty_audience_are_refused_on_the_form(sessions: Sessions) -> None:
    north = await area(sessions)
    await member(sessions, 601)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        fields = await start(client)
        status, html = await post(
            client, fields | {"text": "  ", "audience": f"area:{north}", "step": "audience"}
        )
    assert status == 400
    assert "Enter the message." in html and 'href="#text"' in html
    assert "Nobody in that audience can get messages right now. Choose another." in html
    assert f'<option value="area:{north}" selected>' in html


async def test_the_preview_says_how_whatsapp_champions_get_it(sessions: Sessions) -> None:
    ana = await member(sessions, 601)
    await member(sessions, 602)
    async with sessions.begin() as session:
        person = await session.get(Champion, ana)
        assert person is not None
        session.add(
            Identity(
                chat_id=person.telegram_id,
                channel="whatsapp",
                address="447700900001",
                last_inbound_at=utcnow(),
            )
        )
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        fields = await start(client)
        status, preview = await post(
            client, fields | {"text": "Hello", "audience": "all", "step": "versions"}
        )
    assert status == 200
    assert "On WhatsApp, 1 person gets it as a message: they wrote to us in the last 24 hours." in preview


async def whatsapp_member(sessions: Sessions, telegram_id: int, wrote_hours_ago: int) -> int:
    """An active champion on WhatsApp who last wrote to us this many hours ago: their id."""
    champion_id = await member(sessions, telegram_id)
    async with sessions.begin() as session:
        session.add(
            Identity(
                chat_id=telegram_id,
                channel="whatsapp",
                address=f"4477009{telegram_id:05d}",
                last_inbound_at=utcnow() - timedelta(hours=wrote_hours_ago),
            )
        )
    return champion_id


async def test_past_the_daily_tier_the_templates_can_be_sent_over_days_as_in_the_chat(
    sessions: Sessions,
) -> None:
    closed = [await whatsapp_member(sessions, 700 + n, wrote_hours_ago=30) for n in range(5)]
    async with dashboard(sessions, whatsapp_daily_tier=2) as client:
        await signed_in(sessions, client)
        fields = await start(client) | {"text": "Flu jabs this Saturday", "audience": "all"}
        status, preview = await post(client, fields | {"step": "versions"})
        assert status == 200
        assert "Send over 3 days" in preview
        fields |= {"options": "1", "when": "now", "answers": "1", "spread": "1"}
        status, confirm = await post(client, fields | {"step": "preview"})
        assert status == 200
        assert "The WhatsApp templates go out over 3 days, a day&#39;s share at a time." in confirm
        sent = await client.post("/compose", data=fields | {"step": "send"}, allow_redirects=False)
        assert sent.status == 303
    async with sessions() as session:
        held = dict((await session.execute(select(Delivery.champion_id, Delivery.not_before))).all())
    days = sorted((when - min(held.values())).days for when in held.values())
    assert sorted(held) == sorted(closed) and days == [0, 0, 1, 1, 2]  # two a day, as the tier allows


async def test_within_the_tier_or_scheduled_nothing_is_held_for_later_days(sessions: Sessions) -> None:
    await whatsapp_member(sessions, 700, wrote_hours_ago=30)
    async with dashboard(sessions, whatsapp_daily_tier=2) as client:
        await signed_in(sessions, client)
        fields = await start(client) | {"text": "Flu jabs this Saturday", "audience": "all"}
        status, preview = await post(client, fields | {"step": "versions"})
        assert status == 200 and "Send over" not in preview
        fields |= {"options": "1", "when": "now", "answers": "1", "spread": "1"}  # a forged field
        sent = await client.post("/compose", data=fields | {"step": "send"}, allow_redirects=False)
        assert sent.status == 303
    async with sessions() as session:
        (when,) = (await session.scalars(select(Delivery.not_before))).all()
    assert when < utcnow() + timedelta(minutes=1)


async def test_script_in_the_text_is_escaped_in_the_preview_the_list_and_the_page(sessions: Sessions) -> None:
    await member(sessions, 601, f"Ana {SCRIPT}")
    north = await area(sessions, f"North {SCRIPT}")
    await member(sessions, 602, "Ben", "en", north)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        fields = await start(client)
        compose = await (await client.get("/compose")).text()
        assert f"North {ESCAPED}" in compose and "<script" not in compose.lower()
        fields |= {"text": f"Hi {SCRIPT}", "audience": f"area:{north}"}
        _status, preview = await post(client, fields | {"step": "versions"})
        fields |= {"options": "1", "when": "now", "answers": "1"}
        _status, confirm = await post(client, fields | {"step": "preview"})
        sent = await client.post("/compose", data=fields | {"step": "send"}, allow_redirects=False)
        one = await (await client.get(f"/{sent.headers['Location']}")).text()
        listed = await (await client.get("/broadcasts")).text()
    for html in (preview, confirm, one, listed):
        assert "<script" not in html.lower()
    for html in (preview, one, listed):
        assert f"Hi {ESCAPED}" in html
    assert f"North {ESCAPED}" in preview and f"North {ESCAPED}" in one


async def test_the_list_shows_delivery_by_channel_and_reach_newest_first_a_page_at_a_time(
    sessions: Sessions,
) -> None:
    ana = await member(sessions, 601)
    ben = await member(sessions, 602)
    now = utcnow()
    async with sessions.begin() as session:
        person = await session.get(Champion, ben)
        assert person is not None
        session.add(Identity(chat_id=person.telegram_id, channel="whatsapp", address="447700900002"))
        old = Broadcast(texts={"en": "Old news"}, status="done", queued_at=now - timedelta(days=3))
        old.created_at = now - timedelta(days=3)
        new = Broadcast(texts={"en": "Fresh news"}, status="sending", queued_at=now)
        session.add_all([old, new])
        await session.flush()
        session.add_all(
            [
                Delivery(broadcast_id=new.id, champion_id=ana, state="sent", sent_at=now),
                Delivery(
                    broadcast_id=new.id,
                    champion_id=ben,
                    state="sent",
                    sent_at=now,
                    wa_message_id="wamid.9",
                    delivered_at=now,
                    read_at=now,
                ),
                Delivery(broadcast_id=old.id, champion_id=ana, state="failed", error="blocked"),
            ]
        )
        for number in range(26):  # two pages of 25
            session.add(
                Broadcast(texts={"en": f"Filler {number}"}, status="done", created_at=now - timedelta(days=9))
            )
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        first = await (await client.get("/broadcasts")).text()
        second = await (await client.get("/broadcasts", params={"page": "2"})).text()
        bad = await client.get("/broadcasts", params={"page": "0"})
        too_far = await client.get("/broadcasts", params={"page": "3"})
        async with sessions() as session:
            newest = await session.scalar(
                select(Broadcast.id).where(Broadcast.texts["en"].as_string() == "Fresh news")
            )
        one = await (await client.get("/broadcast", params={"id": str(newest)})).text()
        missing = await client.get("/broadcast", params={"id": "99999"})
        junk = await client.get("/broadcast", params={"id": "<b>1</b>"})
        junk_html = await junk.text()
    assert "28 broadcasts" in first
    assert first.index("Fresh news") < first.index("Old news")
    assert "Telegram: 1 sent, 0 queued, 0 failed" in first
    assert "WhatsApp: 1 sent, 0 queued, 0 failed · 1 delivered, 1 read" in first
    assert "Telegram: 0 sent, 0 queued, 1 failed" in first
    assert "sent 2 · shared 0 · questions 0 · concerns 0 · read on WhatsApp 1/1" in first
    assert "Page 1 of 2" in first and 'href="broadcasts?page=2"' in first
    assert "Page 2 of 2" in second and 'href="broadcasts?page=1"' in second
    assert first.count('href="broadcast?id=') == 25 and second.count('href="broadcast?id=') == 3
    assert bad.status == too_far.status == 400
    assert "Finished sending to 2 champions: 2 sent, 0 failed, 0 blocked." in one
    assert missing.status == 404 and junk.status == 400
    assert "<b>1" not in junk_html
    assert ("viewed", sam, "broadcasts") in await audit_log(sessions)


async def test_not_signed_in_or_a_champion_sees_the_sign_in_page_and_nothing_else(sessions: Sessions) -> None:
    ana = await champion(sessions, 701)
    async with dashboard(sessions) as client:
        for path in ("/broadcasts", "/compose", "/broadcast?id=1"):
            html = await (await client.get(path)).text()
            assert "Sign in" in html and "Compose" not in html
        answer = await client.post("/compose", data={"text": "x", "audience": "all", "step": "send"})
        assert "Sign in" in await answer.text()
        opened = await client.get("/signin", params={"token": await link(sessions, ana)})
        assert opened.status == 403
    assert await made(sessions) == []


async def test_the_confirm_is_recorded_in_the_audit_log_with_no_words_of_the_message(
    sessions: Sessions,
) -> None:
    await member(sessions, 601)
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        fields = await start(client)
        fields |= {"text": "Secret words", "audience": "all", "options": "1", "when": "now", "step": "send"}
        await client.post("/compose", data=fields, allow_redirects=False)
    async with sessions() as session:
        count = await session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "broadcast_sent", AuditEvent.champion_id == sam
            )
        )
        details = list(await session.scalars(select(AuditEvent.detail)))
    assert count == 1
    assert not any(detail and "Secret" in detail for detail in details)
