"""What the browser tests share: headless Chromium through Playwright, a page that notes its errors,
the dashboard served on a real port, and the checks every dashboard page passes (axe-core's WCAG 2.2
A and AA rules, no sideways scrolling).

Importing this module skips the importing test module when Chromium or Playwright is missing; a
module that runs axe-core calls `require_axe()` at import as well."""

from __future__ import annotations

import contextlib
import importlib
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

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "Chromium is not installed (no /usr/bin/chromium or chromium on PATH)", allow_module_level=True
    )
playwright = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
expect = playwright.expect

AXE = "axe_playwright_python.async_playwright"
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
TABS = 40  # more than a dashboard page has things to focus
Sessions = async_sessionmaker[AsyncSession]


def require_axe() -> None:
    """Skip the calling test module (call it at import) when axe-playwright-python is missing."""
    pytest.importorskip(AXE, reason="axe-playwright-python is not installed")


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


@pytest.fixture
async def base_url(sessions: Sessions) -> AsyncIterator[str]:
    """The dashboard served on a real port of this machine; its address."""
    server = TestServer(web_app(sessions, load_settings(web_url="http://127.0.0.1"), load_report_topics()))
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def no_violations(page: Any) -> None:
    """axe-core's WCAG 2.2 A and AA rules pass on the page as it is now."""
    axe = importlib.import_module(AXE)
    results = await axe.Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    assert results.violations_count == 0, results.generate_report()


async def fits(page: Any) -> None:
    """Nothing is wider than the window: no sideways scrolling."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]


async def tab_to(page: Any, name: str) -> None:
    """Press Tab until the focused element is the button or link called `name`."""
    for _ in range(TABS):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement && document.activeElement.textContent.trim()")
        if focused == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")
