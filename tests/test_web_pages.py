"""The dashboard's pages: the overview's figures (the same as /stats), HTML escaped wherever people's
words appear, the reader's language and direction, security headers on every response, serving
alone (`champbot web`) or beside the webhooks, and the audit log on the command line."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_application, load_report_topics
from bot.channels import serve_webhook
from bot.emulator import Emulator
from bot.settings import load_settings
from bot.web import Dashboard, mount
from tests.conftest import WEBHOOK_SECRET, post
from tests.web_harness import ESCAPED, SCRIPT, WEB_URL, audit_log, coordinator, dashboard, link, seed, sign_in

Sessions = async_sessionmaker[AsyncSession]


async def signed_in_client(
    sessions: Sessions, client: TestClient[Any, Any], name: str = "Sam", language: str = "en"
) -> int:
    sam = await coordinator(sessions, name=name, language=language)
    assert (await sign_in(client, await link(sessions, sam))).status == 303
    return sam


async def test_the_overview_shows_the_figures_of_stats(sessions: Sessions) -> None:
    await seed(sessions)
    async with dashboard(sessions) as client:
        sam = await signed_in_client(sessions, client)
        html = await (await client.get("/", params={"period": "30d"})).text()
    assert "Active champions: 2" in html
    assert "Reports in the last 30 days: 3 (▲2)" in html
    assert "Changes (▲▼) compare" in html
    vaccinations = html.index("Vaccinations")
    assert [cell in html[vaccinations : vaccinations + 400] for cell in (">2<", ">1<", ">▲1<")] == [True] * 3
    assert "sent 1 · shared 1 · questions 0 · concerns 0 · read on WhatsApp 1/1" in html
    assert "People reached: champions shared 1 message." in html
    assert ("viewed", sam, "overview") in await audit_log(sessions)


async def test_the_overview_defaults_to_this_month_and_refuses_a_made_up_period(sessions: Sessions) -> None:
    async with dashboard(sessions) as client:
        await signed_in_client(sessions, client)
        month = await (await client.get("/")).text()
        assert (
            "Reports this month: 0 (=)" in month and "No reports in this period or the one before." in month
        )
        assert 'href="./?period=month" aria-current="page"' in month
        assert "No messages have been sent yet." in month
        bad = await client.get("/", params={"period": "<b>decade</b>"})
        assert bad.status == 400
        text = await bad.text()
        assert "That period is not known" in text and "<b>decade" not in text


async def test_script_in_names_areas_messages_and_reports_is_escaped(sessions: Sessions) -> None:
    await seed(sessions)
    async with dashboard(sessions) as client:
        await signed_in_client(sessions, client, name=f"Sam {SCRIPT}")
        html = await (await client.get("/", params={"period": "30d"})).text()
    assert "<script" not in html.lower()
    for escaped in (f"Sam {ESCAPED}", f"North {ESCAPED}", f"Flu {ESCAPED}", f"Jab day {ESCAPED}"):
        assert escaped in html
    assert "heard" not in html  # no report's text is on the overview at all


@pytest.mark.parametrize(
    ("language", "direction"), [("ar", "rtl"), ("ur", "rtl"), ("pl", "ltr"), ("en", "ltr")]
)
async def test_pages_are_in_the_coordinators_language_and_direction(
    sessions: Sessions, language: str, direction: str
) -> None:
    async with dashboard(sessions) as client:
        await signed_in_client(sessions, client, language=language)
        html = await (await client.get("/")).text()
    assert f'<html lang="{language}" dir="{direction}">' in html


@pytest.mark.parametrize(
    ("accept", "language", "direction"),
    [
        ("ur-PK,ur;q=0.9,en;q=0.8", "ur", "rtl"),
        ("de-DE,pl;q=0.5", "pl", "ltr"),
        ("de", "en", "ltr"),
        ("", "en", "ltr"),
    ],
)
async def test_the_sign_in_page_speaks_the_browsers_language(
    sessions: Sessions, accept: str, language: str, direction: str
) -> None:
    async with dashboard(sessions) as client:
        html = await (await client.get("/", headers={"Accept-Language": accept})).text()
    assert f'<html lang="{language}" dir="{direction}">' in html


def assert_secure(response: Any, *, page: bool = True) -> None:
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    for part in ("default-src 'self'", "script-src 'none'", "style-src 'self'", "frame-ancestors 'none'"):
        assert part in policy, (response.url, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    if page:
        assert headers["Cache-Control"] == "no-store", response.url


async def test_every_response_carries_the_security_headers(sessions: Sessions) -> None:
    async with dashboard(sessions) as client:
        for response in (
            await client.get("/"),
            await client.get("/signin", params={"token": "nope"}),
            await client.post("/signin", data={"token": "nope"}),
            await client.post("/signout", allow_redirects=False),
            await client.get("/no-such-page"),
            await client.put("/"),
        ):
            assert_secure(response)
        await signed_in_client(sessions, client)
        for response in (
            await client.get("/"),
            await client.get("/", params={"period": "bogus"}),
            await client.post("/signout", data={}),
        ):
            assert_secure(response)
        css = await client.get("/static/nhsuk/nhsuk-frontend.min.css")
        assert css.status == 200 and css.content_type == "text/css"
        assert_secure(css, page=False)
        assert '--nhsuk-frontend-version:"10.6.1"' in await css.text()
        assert "@font-face" not in await css.text()  # nothing loaded from elsewhere
        for path in ("/static/dashboard.css", "/static/nhsuk/assets/images/favicon.ico"):
            assert (await client.get(path)).status == 200
        assert (await client.get("/static/../pages.py")).status == 404


async def test_hsts_is_sent_behind_https_only(sessions: Sessions) -> None:
    async with dashboard(sessions, web_url="https://champions.example.org") as client:
        assert (await client.get("/")).headers["Strict-Transport-Security"] == "max-age=31536000"
    async with dashboard(sessions) as client:
        assert "Strict-Transport-Security" not in (await client.get("/")).headers


async def test_the_dashboard_mounts_beside_the_webhooks(sessions: Sessions) -> None:
    async def telegram(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/telegram", telegram)
    mount(app, Dashboard(sessions, load_settings(web_url=WEB_URL), load_report_topics()))
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    async with client:
        assert await (await client.post("/telegram", data=b"{}")).text() == "ok"
        assert "Send /web to the bot" in await (await client.get("/")).text()
        sam = await coordinator(sessions)
        assert (await sign_in(client, await link(sessions, sam))).status == 303
        assert "<h1>Overview</h1>" in await (await client.get("/")).text()


# ------------------------------------------------------------------ the command line

CHAMPBOT = str(Path(sys.executable).parent / "champbot")


async def champbot(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CHAMPBOT, *args, env={"PATH": "/usr/bin:/bin", **env}, stdout=-1, stderr=-1
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_champbot_audit_prints_the_newest_events_by_champion_id(
    sessions: Sessions, database_url: str
) -> None:
    async with dashboard(sessions) as client:
        sam = await signed_in_client(sessions, client, name="Sam Secret")
        await client.get("/")
        await client.get("/signin", params={"token": "made-up"})
    code, out, err = await champbot("audit", "--limit", "2", env={"CHAMPBOT_DATABASE_URL": database_url})
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["when", "(UTC)", "champion", "action", "detail"]
    assert [line.split()[2:] for line in lines[1:]] == [
        ["-", "link_refused", "unknown"],
        [str(sam), "viewed", "overview"],
    ]
    assert "Sam" not in out
    code, out, err = await champbot("audit", env={"CHAMPBOT_DATABASE_URL": database_url})
    assert len(out.splitlines()) == 1 + 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_champbot_web_serves_the_dashboard_and_needs_its_address(
    sessions: Sessions, database_url: str, tmp_path: Path
) -> None:
    env = {"CHAMPBOT_DATABASE_URL": database_url, "CHAMPBOT_DATA_DIR": str(tmp_path)}
    code, _out, err = await champbot("web", env=env)
    assert code != 0 and "CHAMPBOT_WEB_URL: required to serve the dashboard" in err
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        CHAMPBOT,
        "web",
        "--port",
        str(port),
        env={"PATH": "/usr/bin:/bin", **env, "CHAMPBOT_WEB_URL": f"http://127.0.0.1:{port}"},
        stderr=-1,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(60):
            while b"Dashboard listening" not in await process.stderr.readline():
                assert process.returncode is None
        async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/") as page:
            assert page.status == 200 and "Send /web to the bot" in await page.text()
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 60) == 0


@pytest.mark.parametrize("web_url", [None, "http://127.0.0.1"], ids=["without", "with"])
async def test_champbot_webhook_serves_the_dashboard_on_its_port_when_it_has_an_address(
    emulator: Emulator, sessions: Sessions, database_url: str, web_url: str | None
) -> None:
    port = free_port()
    settings = load_settings(
        api_base_url=emulator.base_url,
        database_url=database_url,
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_port=port,
        webhook_secret=WEBHOOK_SECRET,
        web_url=web_url,
        delivery_workers=0,
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(serve_webhook(build_application(settings, sessions), settings, stop, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        assert await post(f"http://127.0.0.1:{port}/telegram", "{}", secret="wrong") == 403
        async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/") as page:
            if web_url is None:
                assert page.status == 404
            else:
                assert page.status == 200 and "Send /web to the bot" in await page.text()
                assert_secure(page)
    finally:
        stop.set()
        await asyncio.wait_for(serving, 10)


async def test_the_dashboard_serves_under_the_path_of_its_address(sessions: Sessions) -> None:
    """With CHAMPBOT_WEB_URL ending in a path (the sandbox's /dashboard), the pages, their links
    and the redirects stay under it; what the app served before keeps its own headers."""

    async def another(_request: web.Request) -> web.Response:
        return web.Response(text="another page")

    app = web.Application()
    app.router.add_get("/", another)
    mount(app, Dashboard(sessions, load_settings(web_url=f"{WEB_URL}/dashboard"), load_report_topics()))
    async with TestClient(TestServer(app)) as client:
        other = await client.get("/")
        assert await other.text() == "another page" and "Content-Security-Policy" not in other.headers
        page = await client.get("/dashboard/")
        assert page.status == 200 and "Content-Security-Policy" in page.headers
        html = await page.text()
        assert 'href="static/dashboard.css"' in html and 'href="/' not in html and 'action="/' not in html
        css = await client.get("/dashboard/static/dashboard.css")
        assert css.status == 200 and "Cache-Control" not in css.headers
        out = await client.post("/dashboard/signout", allow_redirects=False)
        assert (out.status, out.headers["Location"]) == (303, "/dashboard/")
