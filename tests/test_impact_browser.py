"""The impact report in real headless Chromium, opened from its file as a partner would: a
quarter of typical data fits one A4 page when printed, its screenshot is an A4-shaped PNG,
it reads on a phone without sideways scrolling, and axe-core finds no WCAG 2.2 A or AA
violation, in English and in Arabic (right to left). And a story written, saved and deleted on a
report's dashboard page."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from bot.app import load_report_topics
from bot.i18n import translator
from bot.impact_report import render, write
from storage import impact
from storage.periods import parse_period
from tests.browser import PHONE, base_url, browser_page, expect, fits, no_violations, require_axe
from tests.impact_seed import SCRIPT, Sessions, at, logged, person, reported, story, theme
from tests.web_harness import coordinator, link

require_axe()
__all__ = ["base_url"]  # the fixture, used by name
A4 = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 dpi
TOPICS = (
    "vaccinations",
    "gp-access",
    "cancer-screening",
    "mental-health",
    "cost-of-living",
    "housing",
    "other",
)
STORY = (
    "Older women at the mosque had not booked cervical screening: the letters were in English only. "
    "The practice now sends them in Bengali and Urdu; {n} women booked in a month."
)


async def typical_quarter(sessions: Sessions) -> None:
    """Seven topics over three months, three themes with actions and outcomes, three stories."""
    async with sessions.begin() as session:
        champions = [await person(session, 100 + n, share=n != 0) for n in range(6)]
        ids = []
        for number, champion in enumerate(champions):
            for month in (1, 2, 3):
                for topic in TOPICS[: 3 + number % 5]:
                    ids.append(await reported(session, champion, at(2027, month, 3 + number), topic))
            await logged(session, champion, at(2027, 2), 8 + number)
        for number, title in enumerate(
            (
                "8am GP phone queues, Northfield",
                "Screening letters in English only",
                "Food bank opening hours",
            )
        ):
            await theme(
                session,
                title,
                ids[number * 20 : number * 20 + 12 - number * 4],
                outcome=f"The partners changed how they work; {number + 2} follow-up checks are booked.",
                shared=True,
                done=("Call-back line opened at two practices", "Leaflets translated into four languages"),
                open_actions=("Review in June",),
            )
        for number in range(3):
            await story(session, ids[number * 7 + 20], STORY.format(n=12 + number))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("language", ["en", "ar"])
async def test_the_report_fits_one_a4_page_and_passes_axe(
    sessions: Sessions, tmp_path: Path, language: str
) -> None:
    await typical_quarter(sessions)
    async with sessions() as session:
        figures = await impact.impact(session, parse_period("2027-Q1"))
    assert len(figures.themes) == 3 and len(figures.stories) == 3
    report = tmp_path / "impact.html"
    write(report, render(translator(language), load_report_topics(), figures))
    errors: list[str] = []
    async with browser_page(A4, errors) as page:
        await page.goto(report.as_uri())
        assert await page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
        await page.emulate_media(media="print")
        shot = tmp_path / "impact.png"
        await page.screenshot(path=str(shot), full_page=True)
        width, height = png_size(shot.read_bytes())
        assert width == A4["width"] and 1.3 < height / width < 1.5, (width, height)  # A4 is 1.414
        pdf = await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
        assert pages == 1, f"{pages} printed pages; the screenshot: {shot}"
        await page.emulate_media(media="screen")
        await no_violations(page)
    async with browser_page(PHONE, errors) as page:
        await page.goto(report.as_uri())
        await fits(page)
        await no_violations(page)
    assert errors == []


async def test_a_story_is_written_on_a_reports_page(sessions: Sessions, base_url: str) -> None:
    async with sessions.begin() as session:
        report = await reported(session, await person(session, 1, share=False), at(2027, 2))
    token = await link(sessions, await coordinator(sessions))
    errors: list[str] = []
    async with browser_page(PHONE, errors) as page:
        await page.goto(f"{base_url}/signin?token={token}")
        await page.get_by_role("button", name="Continue").click()
        await page.goto(f"{base_url}/report?id={report}")
        await expect(page.get_by_test_id("story-withheld")).to_be_visible()
        await page.get_by_role("textbox", name="Story").fill(f"A dad booked {SCRIPT}")
        await page.get_by_role("button", name="Save story").click()
        await expect(page.get_by_test_id("story-note")).to_have_text("Story saved.")
        await expect(page.get_by_role("textbox", name="Story")).to_have_value(f"A dad booked {SCRIPT}")
        await fits(page)
        await no_violations(page)
        await page.get_by_role("button", name="Delete story").click()
        await expect(page.get_by_test_id("story-note")).to_have_text("Story deleted.")
        await expect(page.get_by_role("textbox", name="Story")).to_have_value("")
    assert errors == []
