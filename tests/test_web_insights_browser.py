"""The Insights pages in real headless Chromium, with the Content-Security-Policy in force: filter
the list, open a report, respond with a version in the champion's language, confirm, at a desktop's
width and a phone's (390 px), and once with the keyboard alone; axe-core finds no WCAG 2.2 A or AA
violation on the list, the report or the confirm page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from storage import reports
from storage.models import Champion, Delivery
from storage.reports import Draft
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
from tests.web_harness import SCRIPT, champion, coordinator, link

require_axe()
__all__ = ["base_url"]  # the fixture, used by name
TABS = 80  # more than a page has things to focus


async def seeded(sessions: Sessions) -> tuple[str, int]:
    """A coordinator's sign-in link, and the id of the report the journey answers: a Polish
    champion's housing report, who shared their name, among others."""
    zofia = await champion(sessions, 601, f"Zofia {SCRIPT}", "pl")
    ana = await champion(sessions, 602, "Ana")
    async with sessions.begin() as session:
        people = {person.id: person for person in await session.scalars(select(Champion))}
        found = None
        for who, topic, text, anonymous in (
            (ana, "vaccinations", f"jab worries {SCRIPT}", True),
            (ana, "housing", "damp flats", True),
            (zofia, "housing", "rent is too high for families " * 4, False),
        ):
            draft = Draft(topic=topic, kind="barrier", people="few", text=text, anonymous=anonymous)
            found = await reports.create(session, people[who], draft)
        assert found is not None
        answered = found.id
    return await link(sessions, await coordinator(sessions, name="Sam Patel")), answered


async def queued(sessions: Sessions) -> list[Delivery]:
    async with sessions() as session:
        return list(await session.scalars(select(Delivery)))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_filter_open_respond_with_a_version_and_confirm(
    sessions: Sessions, base_url: str, viewport: dict[str, int]
) -> None:
    token, answered = await seeded(sessions)
    errors: list[str] = []
    async with browser_page(viewport, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("link", name="Insights").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Insights")
        await expect(page.get_by_test_id("count")).to_have_text("3 reports")
        await no_violations(page)
        await fits(page)
        await page.get_by_label("Topic").select_option("housing")
        await page.get_by_label("Search the reports' text").fill("RENT")
        await page.get_by_role("button", name="Apply").click()
        await expect(page.get_by_test_id("count")).to_have_text("1 report")
        await no_violations(page)
        await fits(page)
        await page.get_by_role("link", name=reports.reference(answered)).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Report {reports.reference(answered)}"
        )
        await expect(page.get_by_text(f"Zofia {SCRIPT}")).to_be_visible()
        await no_violations(page)
        await fits(page)
        await page.get_by_role("link", name="Respond").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Respond")
        await no_violations(page)
        await page.get_by_label("Your response").fill("We asked the council to review rents.")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Check your response")
        await expect(page.get_by_text("Its champion reads Polski.")).to_be_visible()
        await page.get_by_label("Version in Polski").fill("Poprosiliśmy radę o przegląd czynszów.")
        await page.get_by_role("button", name="Update the previews").click()
        await expect(page.locator("div[lang=pl]")).to_contain_text("Poprosiliśmy radę")
        await no_violations(page)
        await fits(page)
        await page.get_by_role("button", name="Send").click()
        await expect(page.get_by_test_id("sent")).to_contain_text("is marked acted on")
        await fits(page)
    assert errors == []
    (row,) = await queued(sessions)
    assert row.payload is not None
    assert row.payload["versions"] == {"pl": "Poprosiliśmy radę o przegląd czynszów."}


async def tab_to(page: Any, name: str) -> None:
    """Press Tab until the focused element's label or text is `name`."""
    for _ in range(TABS):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "(() => { const e = document.activeElement; if (!e) return '';"
            " const l = e.labels && e.labels[0]; return (l ? l.textContent : e.textContent).trim(); })()"
        )
        if focused == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


async def test_the_journey_by_keyboard_alone(sessions: Sessions, base_url: str) -> None:
    token, answered = await seeded(sessions)
    errors: list[str] = []
    async with browser_page(DESKTOP, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await tab_to(page, "Continue")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        await tab_to(page, "Insights")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Insights")
        await tab_to(page, "Search the reports' text")
        await page.keyboard.type("families")
        await page.keyboard.press("Enter")  # submits the filters
        await expect(page.get_by_test_id("count")).to_have_text("1 report")
        await tab_to(page, reports.reference(answered))
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Report {reports.reference(answered)}"
        )
        await tab_to(page, "Respond")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Respond")
        await tab_to(page, "Your response")
        await page.keyboard.type("Thank you, we are on it.")
        await tab_to(page, "Continue")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Check your response")
        await tab_to(page, "Version in Polski")
        await page.keyboard.type("Dziękujemy, zajmujemy się tym.")
        await tab_to(page, "Send")
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("sent")).to_contain_text("is marked acted on")
    assert errors == []
    (row,) = await queued(sessions)
    assert row.payload is not None and row.payload["versions"] == {"pl": "Dziękujemy, zajmujemy się tym."}
