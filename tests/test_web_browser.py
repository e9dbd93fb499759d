"""The dashboard in real headless Chromium, with its Content-Security-Policy in force: sign in from
the chat's link, see the overview, sign out, at a desktop's width and a phone's (390 px), with the
mouse and with the keyboard alone; axe-core finds no WCAG 2.2 A or AA violation on any page."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import load_report_topics
from bot.settings import load_settings
from bot.web import web_app
from tests.web_harness import coordinator, link, seed

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "Chromium is not installed (no /usr/bin/chromium or chromium on PATH)", allow_module_level=True
    )
playwright = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
axe_playwright = pytest.importorskip(
    "axe_playwright_python.async_playwright", reason="axe-playwright-python is not installed"
)
expect = playwright.expect

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
TABS = 40  # more than the page has things to focus
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def base_url(sessions: Sessions) -> AsyncIterator[str]:
    """The dashboard served on a real port of this machine; its address."""
    server = TestServer(web_app(sessions, load_settings(web_url="http://127.0.0.1"), load_report_topics()))
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@contextlib.asynccontextmanager
async def browser_page(viewport: dict[str, int], errors: list[str]) -> AsyncIterator[Any]:
    """A Chromium page at this size; page errors and console errors (a CSP violation is one) noted."""
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=viewport)
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on(
                "console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None
            )
            yield page
        finally:
            await browser.close()


async def no_violations(page: Any) -> None:
    """axe-core's WCAG 2.2 A and AA rules pass on the page as it is now."""
    results = await axe_playwright.Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    assert results.violations_count == 0, results.generate_report()


async def fits(page: Any) -> None:
    """Nothing is wider than the window: no sideways scrolling."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_sign_in_from_the_link_see_the_overview_and_sign_out(
    sessions: Sessions, base_url: str, viewport: dict[str, int]
) -> None:
    await seed(sessions)  # figures in every table, and `<script>` in every name
    token = await link(sessions, await coordinator(sessions, name="Sam Patel"))
    errors: list[str] = []
    async with browser_page(viewport, errors) as page:
        await page.goto(f"{base_url}/")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        await no_violations(page)
        await page.goto(f"{base_url}/signin?token={token}")
        await no_violations(page)
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        assert page.url == f"{base_url}/"
        await expect(page.get_by_test_id("signed-in-as")).to_contain_text("Sam Patel")
        await no_violations(page)
        await fits(page)
        await page.get_by_role("link", name="Last 30 days").click()
        await expect(page.get_by_test_id("reports-heading")).to_have_text(
            "Reports in the last 30 days: 3 (▲2)"
        )
        await expect(page.get_by_role("table", name="Reports by topic")).to_be_visible()
        await no_violations(page)
        await fits(page)
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        assert errors == []
        await page.goto(f"{base_url}/signin?token={token}")  # used: refused
        await expect(page.get_by_role("heading", level=1)).to_have_text("This sign-in link does not work")
        await no_violations(page)
        await fits(page)
    # The refused page's own status, which Chromium notes; nothing else went wrong.
    assert errors == [
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]


async def test_the_overview_in_arabic_is_laid_out_right_to_left_without_violations(
    sessions: Sessions, base_url: str
) -> None:
    token = await link(sessions, await coordinator(sessions, name="سارة", language="ar"))
    errors: list[str] = []
    async with browser_page(PHONE, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await page.locator("button[type=submit]").click()
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(page.get_by_test_id("signed-in-as")).to_contain_text("سارة")
        await no_violations(page)
        await fits(page)
    assert errors == []


async def tab_to(page: Any, name: str) -> None:
    """Press Tab until the focused element is the button or link called `name`."""
    for _ in range(TABS):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement && document.activeElement.textContent.trim()")
        if focused == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


async def test_signing_in_and_out_with_the_keyboard_alone(sessions: Sessions, base_url: str) -> None:
    token = await link(sessions, await coordinator(sessions))
    errors: list[str] = []
    async with browser_page(DESKTOP, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await tab_to(page, "Continue")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        await page.keyboard.press("Tab")  # the skip link comes first, and shows itself when focused
        skip = page.get_by_role("link", name="Skip to main content")
        await expect(skip).to_be_focused()
        await expect(skip).to_be_visible()
        await tab_to(page, "Sign out")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert errors == []
