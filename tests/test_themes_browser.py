"""The themes pages in real headless Chromium, its Content-Security-Policy in force, at a desktop's
width and a phone's: reached from the navigation, a theme opened, a refused move's error summary
linked to its field, the move made; axe-core finds no WCAG 2.2 A or AA violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import (
    DESKTOP,
    PHONE,
    Sessions,
    base_url,
    browser_page,
    expect,
    fits,
    no_violations,
    require_axe,
)
from tests.test_themes_web import a_theme
from tests.web_harness import SCRIPT, coordinator, link

require_axe()
__all__ = ["base_url"]  # the fixture, used by name
STATUS_400 = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_open_a_theme_and_move_it_on(
    sessions: Sessions, base_url: str, viewport: dict[str, int]
) -> None:
    await a_theme(sessions, f"Queues {SCRIPT}")
    token = await link(sessions, await coordinator(sessions))
    errors: list[str] = []
    page: Any
    async with browser_page(viewport, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await page.get_by_role("button", name="Continue").click()
        await page.goto(f"{base_url}/themes")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Themes")
        await no_violations(page)
        await fits(page)
        await page.get_by_role("link", name=f"Queues {SCRIPT}").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Queues {SCRIPT}")
        await no_violations(page)
        await fits(page)
        await page.get_by_role("button", name="Next step", exact=True).click()  # no note: refused
        await expect(page.get_by_role("alert")).to_contain_text("That is empty. Please type a few words.")
        await expect(
            page.get_by_label("Note for the move: what was found or decided")
        ).to_have_accessible_description("Error: That is empty. Please type a few words.")
        await no_violations(page)
        await page.get_by_label("Note for the move: what was found or decided").fill("Asked three practices")
        await page.get_by_role("button", name="Next step", exact=True).click()
        await expect(page.get_by_test_id("step")).to_contain_text("Step 2 of 5: Research and diagnose")
        await no_violations(page)
    assert errors == [STATUS_400]  # the refused move's own status; nothing else went wrong


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_group_the_reports_shown_and_add_one_to_a_theme(
    sessions: Sessions, base_url: str, viewport: dict[str, int]
) -> None:
    await a_theme(sessions, f"Queues {SCRIPT}")
    token = await link(sessions, await coordinator(sessions))
    errors: list[str] = []
    page: Any
    async with browser_page(viewport, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await page.get_by_role("button", name="Continue").click()
        await page.goto(f"{base_url}/insights")
        await page.get_by_role("link", name="Group into a theme").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Group into a theme")
        await no_violations(page)
        await fits(page)
        await page.get_by_label("Title").fill("Long waits")
        await page.get_by_role("button", name="Group into a theme").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Long waits")
        await page.goto(f"{base_url}/insights")
        await page.get_by_role("link", name="R-").first.click()
        await no_violations(page)
        await fits(page)
        await page.get_by_label("Theme", exact=True).select_option(
            label=f"Queues {SCRIPT} · Select a concern"
        )
        await page.get_by_role("button", name="Add to a theme").click()
        await expect(page.get_by_test_id("theme-added")).to_contain_text(f"is in “Queues {SCRIPT}” already.")
        await no_violations(page)
    assert errors == []
