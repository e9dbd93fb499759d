"""The champions and learning pages in real headless Chromium, with the Content-Security-Policy in
force: find a pending champion, approve them and see the banner, then the learning figures for
an area, at a desktop's width and a phone's (390 px), and the approval with the keyboard alone;
axe-core finds no WCAG 2.2 A or AA violation on any state shown."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Area, Champion, Network, Role, SnippetProgress, Status
from tests.browser import (
    DESKTOP,
    PHONE,
    TABS,
    Sessions,
    base_url,
    browser_page,
    expect,
    fits,
    no_violations,
    require_axe,
)
from tests.web_harness import coordinator, link

require_axe()
__all__ = ["base_url"]  # the fixture, used by name


async def seed(sessions: Sessions) -> None:
    """Two areas and networks, three champions (one waiting for approval, one paused) and some
    reading, so every column and action shows."""
    async with sessions.begin() as session:
        north, south = Area(name="North"), Area(name="South")
        faith = Network(name="Faith groups")
        session.add_all([north, south, faith, Network(name="Youth clubs")])
        await session.flush()
        for telegram_id, name, status, area, language in (
            (601, "Ana Active", Status.ACTIVE, north, "en"),
            (602, "Ben Paused", Status.PAUSED, south, "ur"),
            (603, "Bea Pending", Status.PENDING, north, "pl"),
        ):
            session.add(
                Champion(
                    telegram_id=telegram_id,
                    display_name=name,
                    language=language,
                    role=Role.CHAMPION,
                    status=status,
                    area_id=area.id,
                    networks=[faith],
                )
            )
        await session.flush()
        ana = await session.scalar(select(Champion.id).where(Champion.telegram_id == 601))
        assert ana is not None
        session.add(SnippetProgress(champion_id=ana, snippet_id="core20plus5-adults", quiz_correct=True))


async def signed_in(page: Any, base_url: str, sessions: Sessions) -> None:
    token = await link(sessions, await coordinator(sessions, name="Sam Patel"))
    await page.goto(f"{base_url}/signin?token={token}")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")


async def checked(page: Any) -> None:
    await no_violations(page)
    await fits(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_approve_a_pending_champion_then_see_learning(
    sessions: Sessions, base_url: str, viewport: dict[str, int]
) -> None:
    await seed(sessions)
    errors: list[str] = []
    async with browser_page(viewport, errors) as page:
        await signed_in(page, base_url, sessions)
        await page.get_by_role("link", name="Champions", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Champions")
        await expect(page.get_by_test_id("found")).to_have_text("4 champions match.")
        await checked(page)
        await page.get_by_label("Status").select_option(label="Waiting for approval")
        await page.get_by_role("button", name="Show").click()
        await expect(page.get_by_test_id("found")).to_have_text("1 champion matches.")
        assert page.url.endswith("/champions?area=&network=&status=pending")
        await checked(page)
        await page.get_by_role("button", name="Approve (Bea Pending)").click()
        await expect(page.get_by_test_id("done")).to_contain_text("Bea Pending can now take part.")
        await expect(page.get_by_label("Status")).to_have_value("pending")  # the same list state
        await expect(page.get_by_test_id("found")).to_have_text("0 champions match.")
        await checked(page)
        await page.get_by_role("link", name="Learning", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Learning")
        await checked(page)
        await page.get_by_label("Area").select_option(label="North")
        await page.get_by_role("button", name="Show").click()
        await expect(page.get_by_role("table", name="Learning by topic in North")).to_be_visible()
        await checked(page)
    assert errors == []
    async with sessions() as session:
        bea = await session.scalar(select(Champion).where(Champion.telegram_id == 603))
    assert bea is not None and bea.status == Status.ACTIVE


async def tab_to(page: Any, name: str) -> None:
    """Press Tab until the focused element's accessible text starts with `name`."""
    for _ in range(TABS * 3):  # the filters and every row's buttons come first
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement && document.activeElement.textContent.trim()")
        if focused and focused.startswith(name):
            return
    raise AssertionError(f"Tab never reached {name!r}")


async def test_approving_with_the_keyboard_alone(sessions: Sessions, base_url: str) -> None:
    await seed(sessions)
    token = await link(sessions, await coordinator(sessions, name="Sam Patel"))
    errors: list[str] = []
    async with browser_page(DESKTOP, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await tab_to(page, "Continue")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        await tab_to(page, "Champions")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Champions")
        await tab_to(page, "Approve (Bea Pending)")
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("done")).to_contain_text("Bea Pending can now take part.")
        await no_violations(page)
    assert errors == []
