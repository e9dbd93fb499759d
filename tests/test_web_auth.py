"""Signing in to the dashboard: a link works once, for ten minutes, for a coordinator only; the
session cookie is HttpOnly, SameSite and (behind HTTPS) Secure, ends when idle, and names nobody
else's session; every form carries a CSRF token; a coordinator demoted is out at once; every
sign-in, sign-out and refused link is audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from storage import champions, web_sessions
from storage.models import AuditEvent, Champion, Status, WebLogin, WebSession, utcnow
from tests.conftest import BotHarness, join, make_coordinator
from tests.web_harness import (
    WEB_URL,
    audit_log,
    champion,
    coordinator,
    csrf_of,
    dashboard,
    link,
    live_sessions,
    sign_in,
)

Sessions = async_sessionmaker[AsyncSession]
SIGN_IN_HINT = "Send /web to the bot in Telegram or WhatsApp."
REFUSED = "This sign-in link does not work"


async def test_without_a_session_the_sign_in_page_says_to_send_web(sessions: Sessions) -> None:
    async with dashboard(sessions) as client:
        page = await client.get("/")
        assert page.status == 200
        html = await page.text()
        assert SIGN_IN_HINT in html and "within 10 minutes" in html
        assert "Overview" not in html and 'name="csrf"' not in html
        client.session.cookie_jar.update_cookies({"champbot_session": "made-up"})
        assert SIGN_IN_HINT in await (await client.get("/")).text()


async def test_a_link_signs_its_coordinator_in_once(sessions: Sessions) -> None:
    sam = await coordinator(sessions, name="Sam")
    token = await link(sessions, sam)
    async with dashboard(sessions) as client:
        opened = await client.get("/signin", params={"token": token})
        assert "You are signing in" in await opened.text()
        assert await live_sessions(sessions, sam) == 0  # opening it uses nothing up (link previews)
        pressed = await client.post("/signin", data={"token": token}, allow_redirects=False)
        assert (pressed.status, pressed.headers["Location"]) == (303, "/")
        overview = await (await client.get("/")).text()
        assert "<h1>Overview</h1>" in overview and "Sam" in overview
        again = await client.get("/signin", params={"token": token})
        assert again.status == 403 and REFUSED in await again.text()
        replayed = await client.post("/signin", data={"token": token}, allow_redirects=False)
        assert replayed.status == 403 and REFUSED in await replayed.text()
    assert await live_sessions(sessions, sam) == 1
    assert await audit_log(sessions) == [
        ("signed_in", sam, None),
        ("viewed", sam, "overview"),
        ("link_refused", sam, "used"),
        ("link_refused", sam, "used"),
    ]
    async with sessions() as session:  # only the hash of the token is kept
        assert await session.get(WebLogin, token) is None
        assert await session.get(WebLogin, web_sessions.hashed(token)) is not None


async def test_an_expired_a_made_up_and_a_champions_link_are_refused(sessions: Sessions) -> None:
    sam = await coordinator(sessions)
    ana = await champion(sessions, language="pl")
    hers = await link(sessions, ana)
    old = await link(sessions, sam, utcnow() - timedelta(minutes=10, seconds=1))  # (a new link clears it)
    async with dashboard(sessions) as client:
        for token in (old, "made-up-token", "x" * 500, hers):
            opened = await client.get("/signin", params={"token": token})
            pressed = await client.post("/signin", data={"token": token}, allow_redirects=False)
            assert (opened.status, pressed.status) == (403, 403)
            assert "Set-Cookie" not in pressed.headers
        refused = await (await client.post("/signin", data={"token": hers})).text()
        assert translator("pl").gettext("Send /web to the bot for a new one.") in refused  # her language
        assert SIGN_IN_HINT in await (await client.get("/")).text()
    assert await live_sessions(sessions, sam) + await live_sessions(sessions, ana) == 0
    assert (await audit_log(sessions))[:8] == [
        ("link_refused", sam, "expired"),
        ("link_refused", sam, "expired"),
        ("link_refused", None, "unknown"),
        ("link_refused", None, "unknown"),
        ("link_refused", None, "unknown"),
        ("link_refused", None, "unknown"),
        ("link_refused", ana, "not_coordinator"),
        ("link_refused", ana, "not_coordinator"),
    ]


@pytest.mark.parametrize(("web_url", "secure"), [("https://champions.example.org", True), (WEB_URL, False)])
async def test_the_cookie_is_httponly_samesite_and_secure_behind_https(
    sessions: Sessions, web_url: str, secure: bool
) -> None:
    token = await link(sessions, await coordinator(sessions))
    async with dashboard(sessions, web_url=web_url) as client:
        pressed = await sign_in(client, token)
    cookie = pressed.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path"} <= attributes and "domain" not in attributes
    assert "SameSite=Lax" in cookie and "Path=/" in cookie
    assert ("secure" in attributes) is secure
    assert cookie.startswith("__Host-champbot_session=" if secure else "champbot_session=")
    value = cookie.split(";")[0].split("=", 1)[1]
    async with sessions() as session:  # the cookie's value is kept only as a hash
        assert await session.get(WebSession, value) is None
        assert await session.get(WebSession, web_sessions.hashed(value)) is not None


async def test_a_session_idle_too_long_ends(sessions: Sessions) -> None:
    sam = await coordinator(sessions)
    async with dashboard(sessions, web_idle_minutes=30) as client:
        await sign_in(client, await link(sessions, sam))
        assert "<h1>Overview</h1>" in await (await client.get("/")).text()
        async with sessions.begin() as session:
            await session.execute(
                update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=30, seconds=1))
            )
        assert SIGN_IN_HINT in await (await client.get("/")).text()
    assert await live_sessions(sessions, sam) == 0


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(sessions: Sessions) -> None:
    sam, kim = await coordinator(sessions, 501, "Sam"), await coordinator(sessions, 502, "Kim")
    async with dashboard(sessions) as sams, dashboard(sessions) as kims:
        await sign_in(sams, await link(sessions, sam))
        await sign_in(kims, await link(sessions, kim))
        kims_csrf = csrf_of(await (await kims.get("/")).text())
        before = await audit_log(sessions)
        for form in ({}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": kims_csrf}):
            refused = await sams.post("/signout", data=form, allow_redirects=False)
            assert refused.status == 403
            assert "Nothing was changed" in await refused.text()
            assert "Set-Cookie" not in refused.headers
        assert await audit_log(sessions) == before
        assert await live_sessions(sessions, sam) == 1
        assert "<h1>Overview</h1>" in await (await sams.get("/")).text()


async def test_signing_out_ends_the_session(sessions: Sessions) -> None:
    sam = await coordinator(sessions)
    async with dashboard(sessions) as client:
        await sign_in(client, await link(sessions, sam))
        csrf = csrf_of(await (await client.get("/")).text())
        out = await client.post("/signout", data={"csrf": csrf}, allow_redirects=False)
        assert (out.status, out.headers["Location"]) == (303, "/")
        assert re.match(r"champbot_session=\"?\"?;", out.headers["Set-Cookie"])  # emptied
        assert SIGN_IN_HINT in await (await client.get("/")).text()
    assert await live_sessions(sessions, sam) == 0
    assert [action for action, _who, _why in await audit_log(sessions)] == [
        "signed_in",
        "viewed",
        "signed_out",
    ]


async def test_another_coordinators_stored_session_id_signs_nobody_in(sessions: Sessions) -> None:
    sam, kim = await coordinator(sessions, 501, "Sam"), await coordinator(sessions, 502, "Kim")
    async with dashboard(sessions) as sams, dashboard(sessions) as kims:
        await sign_in(sams, await link(sessions, sam))
        await sign_in(kims, await link(sessions, kim))
        async with sessions() as session:
            kims_hash = await session.scalar(select(WebSession.id_hash).where(WebSession.champion_id == kim))
        assert kims_hash is not None
        sams.session.cookie_jar.clear()
        sams.session.cookie_jar.update_cookies({"champbot_session": kims_hash})  # what the database holds
        page = await (await sams.get("/")).text()
        assert SIGN_IN_HINT in page and "Kim" not in page


async def test_a_coordinator_demoted_is_out_at_once_with_every_session(sessions: Sessions) -> None:
    sam = await coordinator(sessions, 501)
    async with dashboard(sessions) as laptop, dashboard(sessions) as phone:
        await sign_in(laptop, await link(sessions, sam))
        await sign_in(phone, await link(sessions, sam))
        csrf = csrf_of(await (await laptop.get("/")).text())
        async with sessions.begin() as session:
            assert await champions.remove_coordinator(session, 501)
        assert await live_sessions(sessions, sam) == 0  # ended with the role, on every device
        assert SIGN_IN_HINT in await (await phone.get("/")).text()
        out = await laptop.post("/signout", data={"csrf": csrf}, allow_redirects=False)
        assert out.status == 303


async def test_a_coordinator_who_stopped_is_out_too(sessions: Sessions) -> None:
    sam = await coordinator(sessions, 501)
    async with dashboard(sessions) as client:
        await sign_in(client, await link(sessions, sam))
        async with sessions.begin() as session:
            assert await champions.change_status(session, sam, Status.STOPPED)
        assert SIGN_IN_HINT in await (await client.get("/")).text()  # checked on every request
    assert await live_sessions(sessions, sam) == 0
    assert ("access_ended", sam, None) in await audit_log(sessions)


async def test_erasing_a_person_deletes_their_links_and_sessions_and_empties_their_audit_rows(
    sessions: Sessions,
) -> None:
    sam = await coordinator(sessions, 501)
    async with dashboard(sessions) as client:
        await sign_in(client, await link(sessions, sam))
        await client.get("/")
    await link(sessions, sam)  # one not used yet
    async with sessions.begin() as session:
        person = await session.get(Champion, sam)
        assert person is not None
        await champions.erase(session, person)
    async with sessions() as session:
        assert list(await session.scalars(select(WebLogin))) == []
        assert list(await session.scalars(select(WebSession))) == []
        events = list(await session.scalars(select(AuditEvent)))
    assert [(e.action, e.champion_id) for e in events] == [("signed_in", None), ("viewed", None)]


# ------------------------------------------------------------------ /web in the chat


@pytest.mark.bot_settings(web_url=WEB_URL)
async def test_web_in_the_chat_gives_a_link_that_works_once(bot: BotHarness, sessions: Sessions) -> None:
    sam = bot.person(351, "Sam")
    await make_coordinator(bot, sam)
    (said,) = await sam.send("/web")
    assert said.startswith("Open this link within 10 minutes to sign in to the dashboard.")
    found = re.search(rf"{re.escape(WEB_URL)}/signin\?token=([A-Za-z0-9_-]+)$", said)
    assert found, said
    token = found.group(1)
    async with dashboard(sessions) as client:
        assert (await sign_in(client, token)).status == 303
        assert "<h1>Overview</h1>" in await (await client.get("/")).text()
        assert (await client.post("/signin", data={"token": token})).status == 403


@pytest.mark.bot_settings(web_url=WEB_URL)
async def test_a_champions_web_is_refused_in_their_language(bot: BotHarness, places: None) -> None:
    ola = bot.person(352, "Ola", "pl")
    await join(ola, "Polski")
    async with bot.sessions() as session:
        logins = list(await session.scalars(select(WebLogin)))
    assert await ola.send("/web") == [translator("pl").gettext("Sorry, only coordinators can do that.")]
    async with bot.sessions() as session:
        assert list(await session.scalars(select(WebLogin))) == logins == []


async def test_web_without_a_dashboard_address_says_it_is_not_set_up(bot: BotHarness) -> None:
    sam = bot.person(353, "Sam")
    await make_coordinator(bot, sam)
    assert await sam.send("/web") == [
        "The web dashboard is not set up. Ask whoever runs the bot to set its address."
    ]
