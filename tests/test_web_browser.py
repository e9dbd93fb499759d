"""The dashboard in real headless Chromium, with its Content-Security-Policy in force: sign in from
the chat's link, see the overview, sign out, at a desktop's width and a phone's (390 px), with the
mouse and with the keyboard alone; axe-core finds no WCAG 2.2 A or AA violation on any page."""

from __future__ import annotations

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
    tab_to,
)
from tests.web_harness import coordinator, link, seed

require_axe()
__all__ = ["base_url"]  # the fixture, used by name


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
