"""Helpers for the dashboard's tests: the app behind aiohttp's test client, coordinators and
champions made in storage, sign-in links, signing in, and the audit log as tuples."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import load_report_topics
from bot.settings import load_settings
from bot.wake import Wake
from bot.web import web_app
from storage import champions, reports, web_sessions
from storage.models import (
    Area,
    AuditEvent,
    Broadcast,
    Campaign,
    Champion,
    Delivery,
    Response,
    Role,
    Status,
    WebSession,
    utcnow,
)
from storage.reports import Draft

WEB_URL = "http://dashboard.test"
Sessions = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def dashboard(
    sessions: Sessions, wake: Wake | None = None, **overrides: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    """The dashboard alone, as `champbot web` serves it, behind a test client with a cookie jar;
    `wake` is the delivery workers' wake it rings, as in the bot's own process."""
    settings = load_settings(**{"web_url": WEB_URL, **overrides})
    app = web_app(sessions, settings, load_report_topics(), wake=wake)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    async with client:
        yield client


async def coordinator(
    sessions: Sessions, telegram_id: int = 501, name: str = "Sam", language: str = "en"
) -> int:
    """A coordinator's champion id."""
    async with sessions.begin() as session:
        return (await champions.make_coordinator(session, telegram_id, name, language)).id


async def champion(
    sessions: Sessions, telegram_id: int = 601, name: str = "Ana", language: str = "en"
) -> int:
    """An active champion's id."""
    async with sessions.begin() as session:
        person = Champion(
            telegram_id=telegram_id,
            display_name=name,
            language=language,
            role=Role.CHAMPION,
            status=Status.ACTIVE,
        )
        session.add(person)
        await session.flush()
        return person.id


async def link(sessions: Sessions, champion_id: int, now: datetime | None = None) -> str:
    """A sign-in link's token, made at `now` (default: now)."""
    async with sessions.begin() as session:
        return await web_sessions.create_login(session, champion_id, now or utcnow())


async def sign_in(client: TestClient[Any, Any], token: str) -> ClientResponse:
    """Open the link and press its button, as a browser would; the answer to the press."""
    opened = await client.get("/signin", params={"token": token})
    assert opened.status == 200, await opened.text()
    return await client.post("/signin", data={"token": token}, allow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def audit_log(sessions: Sessions) -> list[tuple[str, int | None, str | None]]:
    """(action, champion id, detail) of every audit event, oldest first."""
    async with sessions() as session:
        events = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.champion_id, e.detail) for e in events]


async def live_sessions(sessions: Sessions, champion_id: int) -> int:
    async with sessions() as session:
        rows = await session.scalars(select(WebSession).where(WebSession.champion_id == champion_id))
        return len(list(rows))


SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def seed(sessions: Sessions) -> None:
    """Two champions in an area, three reports this 30 days and one in the 30 before, a one-off
    message read on WhatsApp and shared, and a campaign's message: `<script>` in every name and
    text a person typed."""
    now = utcnow()
    async with sessions.begin() as session:
        area = Area(name=f"North {SCRIPT}")
        session.add(area)
        await session.flush()
        ana, ben = (
            Champion(
                telegram_id=telegram_id,
                display_name=f"{name} {SCRIPT}",
                language="en",
                role=Role.CHAMPION,
                status=Status.ACTIVE,
                area_id=area.id,
            )
            for telegram_id, name in ((601, "Ana"), (602, "Ben"))
        )
        session.add_all([ana, ben])
        await session.flush()
        for champion, topic, ago in (
            (ana, "vaccinations", timedelta(hours=1)),
            (ana, "vaccinations", timedelta(days=2)),
            (ben, "housing", timedelta(days=3)),
            (ben, "vaccinations", timedelta(days=31)),
        ):
            draft = Draft(topic=topic, kind="barrier", people="few", text=f"heard {SCRIPT}", area_id=area.id)
            made = await reports.create(session, champion, draft)
            made.created_at = now - ago
        campaign = Campaign(name=f"Flu {SCRIPT}")
        session.add(campaign)
        await session.flush()
        one_off = Broadcast(
            texts={"en": f"Jab day {SCRIPT}"}, status="done", queued_at=now - timedelta(days=1)
        )
        series = Broadcast(
            texts={"en": "Week one"},
            campaign_id=campaign.id,
            status="done",
            queued_at=now - timedelta(days=2),
        )
        session.add_all([one_off, series])
        await session.flush()
        read = Delivery(
            broadcast_id=one_off.id,
            champion_id=ana.id,
            state="sent",
            sent_at=now,
            wa_message_id="wamid.1",
            read_at=now,
        )
        session.add_all(
            [
                read,
                Delivery(
                    kind="campaign", broadcast_id=series.id, champion_id=ben.id, state="sent", sent_at=now
                ),
            ]
        )
        await session.flush()
        session.add(Response(delivery_id=read.id, kind="shared"))


async def member(
    sessions: Sessions,
    telegram_id: int,
    name: str = "Ana",
    language: str = "en",
    area_id: int | None = None,
) -> int:
    """An active champion who agreed to take part, so is in audiences: their id."""
    async with sessions.begin() as session:
        person = Champion(
            telegram_id=telegram_id,
            display_name=name,
            language=language,
            role=Role.CHAMPION,
            status=Status.ACTIVE,
            consent_at=utcnow(),
            area_id=area_id,
        )
        session.add(person)
        await session.flush()
        return person.id


def field_of(html: str, name: str) -> str:
    """The value of a form's hidden field."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html
    return found.group(1)
