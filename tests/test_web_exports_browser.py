"""The Exports page in real headless Chromium, its Content-Security-Policy in force: choose an
export and download it at a desktop's width and a phone's (390 px), see a refused choice's error
summary, and download with the keyboard alone; axe-core finds no WCAG 2.2 A or AA violation."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from handlers.common import champion_zone
from storage.models import utcnow
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
from tests.web_harness import SCRIPT, coordinator, link, seed

require_axe()
__all__ = ["base_url"]  # the fixture, used by name
STATUS_400 = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"


async def signed_in(page: Any, base_url: str, token: str) -> None:
    await page.goto(f"{base_url}/signin?token={token}")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")


def csv_text_cells(data: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return [row[rows[1].index("text")] for row in rows[2:]]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_choose_an_export_and_download_it(
    sessions: Sessions, base_url: str, viewport: dict[str, int]
) -> None:
    await seed(sessions)  # three reports in the last 30 days, one before; `<script>` in each
    token = await link(sessions, await coordinator(sessions))
    today = utcnow().astimezone(champion_zone(None)).date()
    errors: list[str] = []
    async with browser_page(viewport, errors) as page:
        await signed_in(page, base_url, token)
        await page.get_by_role("link", name="Exports").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Exports")
        assert page.url == f"{base_url}/exports"
        await no_violations(page)
        await fits(page)

        await page.get_by_label("Between two dates", exact=True).check()
        await page.get_by_label("First day").fill(today.isoformat())
        await page.get_by_label("Last day").fill((today - timedelta(days=1)).isoformat())
        await page.get_by_role("button", name="Download").click()
        summary = page.get_by_role("alert")
        await expect(summary).to_contain_text("The last day must be the same as the first day or after it.")
        await expect(page.get_by_label("Last day")).to_have_accessible_description(
            "Error: The last day must be the same as the first day or after it."
        )
        await no_violations(page)
        await fits(page)

        await page.get_by_label("First day").fill((today - timedelta(days=40)).isoformat())
        await page.get_by_label("Last day").fill(today.isoformat())
        await page.get_by_label("Excel").check()
        async with page.expect_download() as started:
            await page.get_by_role("button", name="Download").click()
        download = await started.value
        assert download.suggested_filename == f"reports-{utcnow():%Y-%m-%d}.xlsx"
        sheet = openpyxl.load_workbook(io.BytesIO((await download.path()).read_bytes())).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 2 + 4
        assert rows[2][rows[1].index("text")] == f"heard {SCRIPT}"  # as text
        await expect(page.get_by_role("heading", level=1)).to_have_text("Exports")  # still here
        await no_violations(page)
    assert errors == [STATUS_400]  # the refused choice's own status; nothing else went wrong


async def test_an_export_chosen_and_downloaded_with_the_keyboard_alone(
    sessions: Sessions, base_url: str, tmp_path: Path
) -> None:
    await seed(sessions)
    token = await link(sessions, await coordinator(sessions))
    errors: list[str] = []
    async with browser_page(DESKTOP, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await tab_to(page, "Continue")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        await tab_to(page, "Exports")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Exports")
        await page.keyboard.press("Tab")  # the skip link
        await page.keyboard.press("Enter")
        await page.keyboard.press("Tab")  # into the first question: its chosen answer
        await expect(page.get_by_label("Our organisation")).to_be_focused()
        await page.keyboard.press("Tab")  # the next question: CSV, chosen
        await expect(page.get_by_label("CSV")).to_be_focused()
        await page.keyboard.press("Tab")  # which reports: this month, chosen
        await expect(page.get_by_label("This month")).to_be_focused()
        await page.keyboard.press("ArrowDown")  # the last 30 days
        await expect(page.get_by_label("Last 30 days")).to_be_checked()
        await tab_to(page, "Download")
        async with page.expect_download() as started:
            await page.keyboard.press("Enter")
        download = await started.value
        assert download.suggested_filename == f"reports-{utcnow():%Y-%m-%d}.csv"
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        assert csv_text_cells(saved.read_bytes()) == [f"heard {SCRIPT}"] * 3  # the last 30 days' three
    assert errors == []
