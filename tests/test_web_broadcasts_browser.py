"""Composing and sending a broadcast, and the campaigns page, in real headless Chromium with the
Content-Security-Policy in force, at a desktop's width and a phone's (390 px), and with the
keyboard alone: axe-core finds no WCAG 2.2 A or AA violation on any step, nothing scrolls
sideways, and the outbox gets its rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Area, Delivery
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
from tests.web_harness import SCRIPT, coordinator, link, member, seed

require_axe()
__all__ = ["base_url"]  # the fixture, used by name
REFUSED = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"


async def people(sessions: Sessions) -> int:
    """Three champions in North (one reads Polish), one elsewhere; the area's id."""
    async with sessions.begin() as session:
        north = Area(name=f"North {SCRIPT}")
        session.add(north)
        await session.flush()
        north_id = north.id
    for telegram_id, language in ((601, "en"), (602, "pl"), (603, "en")):
        await member(sessions, telegram_id, f"Person {telegram_id}", language, north_id)
    await member(sessions, 604, "Elsewhere")
    return north_id


async def queued(sessions: Sessions) -> int:
    async with sessions() as session:
        return len(list(await session.scalars(select(Delivery.id))))


async def checked(page: Any) -> None:
    await no_violations(page)
    await fits(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_compose_and_send_a_broadcast(
    sessions: Sessions, base_url: str, viewport: dict[str, int]
) -> None:
    north = await people(sessions)
    token = await link(sessions, await coordinator(sessions, name="Sam Patel"))
    errors: list[str] = []
    async with browser_page(viewport, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("link", name="Broadcasts").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Broadcasts")
        await checked(page)
        await page.get_by_role("button", name="Compose a broadcast").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Compose a broadcast")
        await checked(page)
        await page.get_by_role("button", name="Continue").click()  # nothing typed: refused
        await expect(page.get_by_role("alert")).to_contain_text("Enter the message.")
        await checked(page)
        await page.get_by_label("Message in English").fill(f"Jab day {SCRIPT}")
        await page.get_by_label("Who should get it?").select_option(f"area:{north}")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("Version in Polski (read by 1 champion)").fill("Dzień szczepień")
        await checked(page)
        await page.get_by_role("button", name="Preview").click()
        await expect(page.get_by_test_id("size")).to_have_text("That is 3 champions.")
        await expect(page.get_by_test_id("preview-pl")).to_have_text("Dzień szczepień")
        await expect(page.get_by_test_id("preview-en")).to_have_text(f"Jab day {SCRIPT}")
        await checked(page)
        await page.get_by_label("Schedule for later").check()
        await page.get_by_label("Date and time").fill("2020-01-01T10:00")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("alert")).to_contain_text("has already passed")
        await checked(page)
        await page.get_by_label("Send now").check()
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_test_id("question")).to_have_text("Send to 3 champions now?")
        await checked(page)
        assert await queued(sessions) == 0
        await page.get_by_role("button", name="Confirm and send").click()
        await expect(page.get_by_test_id("done")).to_have_text("Your broadcast was sent to the outbox.")
        await checked(page)
        assert await queued(sessions) == 3
        await page.reload()  # a GET: nothing is sent again
        assert await queued(sessions) == 3
        await page.goto(f"{base_url}/broadcasts")
        await expect(page.get_by_test_id("broadcasts")).to_contain_text("Jab day")
        await checked(page)
    # The two refused forms' own status, which Chromium notes; nothing else (no CSP violation).
    assert errors == [REFUSED, REFUSED]


async def test_the_compose_journey_with_the_keyboard_alone(sessions: Sessions, base_url: str) -> None:
    await people(sessions)
    token = await link(sessions, await coordinator(sessions))
    errors: list[str] = []
    async with browser_page(DESKTOP, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await tab_to(page, "Continue")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        await tab_to(page, "Broadcasts")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Broadcasts")
        await tab_to(page, "Compose a broadcast")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Compose a broadcast")
        await page.keyboard.press("Tab")  # the skip link
        await page.keyboard.press("Enter")  # to the main content
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("Message in English")).to_be_focused()
        await page.keyboard.type("By keyboard")
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("Who should get it?")).to_be_focused()  # Everyone, as it starts
        await tab_to(page, "Continue")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Versions in other languages")).to_be_visible()
        await tab_to(page, "Preview")
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("size")).to_have_text("That is 4 champions.")
        await tab_to(page, "Continue")
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("question")).to_have_text("Send to 4 champions now?")
        await tab_to(page, "Confirm and send")
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("done")).to_be_visible()
    assert await queued(sessions) == 4
    assert errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_the_campaigns_page_pause_and_a_refused_file(
    sessions: Sessions, base_url: str, viewport: dict[str, int], tmp_path: Path
) -> None:
    await seed(sessions)  # a campaign, "Flu <script>…", with a message sent
    token = await link(sessions, await coordinator(sessions))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Spring\ncolour: blue\n")
    errors: list[str] = []
    async with browser_page(viewport, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("link", name="Campaigns").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
        await expect(page.get_by_test_id("reach-chart")).to_be_visible()
        await checked(page)
        await page.get_by_role("button", name="Pause").click()
        await expect(page.get_by_test_id("done")).to_contain_text("Paused Flu")
        await checked(page)
        await page.get_by_label("Campaign file (YAML)").set_input_files(bad)
        await page.get_by_role("button", name="Load the file").click()
        await expect(page.get_by_role("alert")).to_contain_text("Line 2:")
        await checked(page)
    assert errors == [REFUSED]
