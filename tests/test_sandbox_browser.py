"""The sandbox chat page in real headless Chromium: join as a champion, make an invite as the
coordinator, check each person keeps a chat of their own, and go round the loop from a champion's
report to the coordinator's response."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox import run_sandbox

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "Chromium is not installed (no /usr/bin/chromium or chromium on PATH)", allow_module_level=True
    )
playwright = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
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
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
SAM, BILAL, ALEX = 9001, 1002, 1004
PNG = base64.b64decode(  # a 1×1 picture
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def sandbox_url(tmp_path: Path) -> AsyncIterator[str]:
    """`champbot sandbox` running in this event loop; its page's URL."""
    async with running_sandbox(tmp_path) as url:
        yield url


@contextlib.asynccontextmanager
async def running_sandbox(tmp_path: Path) -> AsyncIterator[str]:
    """`champbot sandbox` on this data folder, running in this event loop; its page's URL."""
    port = free_port()
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_sandbox(tmp_path, port=port, stop=stop, ready=ready))
    try:
        async with asyncio.timeout(START_TIMEOUT):
            await asyncio.wait({task, asyncio.create_task(ready.wait())}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # raises whatever stopped the sandbox early
            raise AssertionError("the sandbox stopped before serving its page")
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop.set()
        async with asyncio.timeout(STOP_TIMEOUT):
            await task


def bot_message(page: playwright.Page, text: str) -> playwright.Locator:
    """The newest bot message containing `text`."""
    return page.locator(".msg.bot", has_text=text).last


async def press(page: playwright.Page, label: str) -> None:
    """Click the inline button with this label (or "✓ label") on the newest message that has it."""
    pattern = re.compile(rf"^\s*(✓\s*)?{re.escape(label)}\s*$")
    await page.locator(".msg.bot button.kb").filter(has_text=pattern).last.click()


async def send(page: playwright.Page, text: str, *, enter: bool = False) -> None:
    box = page.get_by_test_id("message-input")
    await box.fill(text)
    if enter:
        await box.press("Enter")
    else:
        await page.get_by_test_id("send").click()
    await expect(page.locator(".msg.user", has_text=text).last).to_be_visible()
    await expect(box).to_have_value("")


@contextlib.asynccontextmanager
async def phone(url: str, errors: list[str]) -> AsyncIterator[playwright.Page]:
    """The sandbox page in Chromium at a phone's width (390 px), page errors noted in `errors`."""
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=PHONE)
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on(
                "console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None
            )
            await page.goto(url)
            yield page
            await context.close()
        finally:
            await browser.close()


async def join(page: playwright.Page, person: int, name: str) -> None:
    """This English-speaking champion joins in Riverside."""
    await page.get_by_test_id(f"person-{person}").click()
    await send(page, "/start")
    await press(page, "English")
    await press(page, "Yes, I agree")
    await press(page, "No")
    await send(page, name)
    await press(page, "Riverside")
    await press(page, "Done")
    await expect(bot_message(page, "Thank you for being a community champion")).to_be_visible()


async def report(page: playwright.Page, heard: str) -> None:
    """The champion shown reports, anonymously, a piece of misinformation about vaccinations."""
    await send(page, "/report")
    await press(page, "Vaccinations")
    await press(page, "Misinformation heard")
    await send(page, heard)
    await press(page, "A few people")
    await press(page, "Mine: Riverside")
    await press(page, "Stay anonymous")
    await press(page, "Confirm")
    await expect(bot_message(page, "Your report is saved as")).to_be_visible()


async def test_the_stats_chart_shows_and_files_keep_their_type_and_name(sandbox_url: str) -> None:
    errors: list[str] = []
    async with phone(sandbox_url, errors) as page:
        await join(page, ALEX, "Alex")
        await report(page, "People at the market say the flu jab gives you flu")

        await page.get_by_test_id(f"person-{SAM}").click()
        await send(page, "/stats")
        chart = page.locator(".msg.bot img").last
        await expect(chart).to_have_attribute("alt", re.compile("Reports by topic"))
        await expect(chart).to_have_js_property("complete", True)
        assert await chart.evaluate("img => img.naturalWidth") > 0  # drawn, not a broken image
        served = await page.request.get(await chart.evaluate("img => img.src"))
        assert served.headers["content-type"] == "image/png"
        assert re.search(r'filename="[^"]+\.png"', served.headers["content-disposition"])

        await page.get_by_test_id(f"person-{ALEX}").click()
        await send(page, "/mydata")
        link = page.locator(".msg.bot a.doc").last
        await expect(link).to_contain_text("my-data.json")
        served = await page.request.get(await link.evaluate("a => a.href"))
        assert served.headers["content-type"].startswith("application/json")
        assert 'filename="my-data.json"' in served.headers["content-disposition"]
    assert errors == []


async def test_commands_read_left_to_right_in_a_right_to_left_bubble(sandbox_url: str) -> None:
    errors: list[str] = []
    async with phone(sandbox_url, errors) as page:
        await page.get_by_test_id(f"person-{BILAL}").click()  # Bilal reads Urdu
        await send(page, "/help")
        line = page.locator(".msg.bot .bubble *", has_text="اپنے ڈیٹا").last  # "/mydata – a copy of…"
        await expect(line).to_have_css("direction", "rtl")
        command = line.locator("*", has_text="/mydata").last  # what holds the command itself
        await expect(command).to_have_text("/mydata")
        await expect(command).to_have_css("direction", "ltr")
    assert errors == []


async def test_a_photo_sent_from_the_page_answers_the_reports_media_step(sandbox_url: str) -> None:
    errors: list[str] = []
    async with phone(sandbox_url, errors) as page:
        await join(page, ALEX, "Alex")
        await send(page, "/report")
        await press(page, "Vaccinations")
        await press(page, "Misinformation heard")
        await expect(bot_message(page, "send a voice note or a photo")).to_be_visible()
        chooser = page.get_by_label("Attach a photo or voice note")
        await chooser.focus()  # reachable from the keyboard
        await page.get_by_test_id("message-input").fill("Leaflet at the bus stop")  # goes as the caption
        await chooser.set_input_files(files=[{"name": "leaflet.png", "mimeType": "image/png", "buffer": PNG}])
        sent = page.locator(".msg.user img").last
        await expect(sent).to_have_attribute("alt", "Leaflet at the bus stop")
        await expect(sent).to_have_js_property("complete", True)
        assert await sent.evaluate("img => img.naturalWidth") == 1
        await expect(bot_message(page, "How many people does it concern?")).to_be_visible()  # taken
        await press(page, "A few people")
        await press(page, "Mine: Riverside")
        await press(page, "Stay anonymous")
        await press(page, "Confirm")
        await expect(bot_message(page, "Your report is saved as")).to_be_visible()
        voice = {"name": "note.ogg", "mimeType": "audio/ogg", "buffer": b"OggS" + bytes(60)}
        await chooser.set_input_files(files=[voice])  # a voice note goes as one
        note = page.locator(".msg.user audio").last
        await expect(note).to_have_attribute("aria-label", "Voice note")
        served = await page.request.get(await note.evaluate("audio => audio.src"))
        assert served.headers["content-type"] == "audio/ogg"

        await page.get_by_test_id(f"person-{SAM}").click()  # and the coordinator sees the photo
        await send(page, "/insights")
        await press(page, "R-1001")
        shown = page.locator(".msg.bot img").last
        await expect(shown).to_have_js_property("complete", True)
        assert await shown.evaluate("img => img.naturalWidth") == 1
    assert errors == []


async def test_the_chat_history_is_still_there_after_a_restart(tmp_path: Path) -> None:
    errors: list[str] = []
    async with running_sandbox(tmp_path) as url, phone(url, errors) as page:
        await join(page, ALEX, "Alex")
        await send(page, "/mydata")
        await expect(page.locator(".msg.bot a.doc").last).to_contain_text("my-data.json")
    async with running_sandbox(tmp_path) as url, phone(url, errors) as page:
        await page.get_by_test_id(f"person-{ALEX}").click()
        await expect(page.locator(".msg.user", has_text="/start")).to_have_count(1)
        await expect(bot_message(page, "Welcome! Please choose your language.")).to_be_visible()
        await expect(bot_message(page, "Privacy notice")).to_be_visible()
        link = page.locator(".msg.bot a.doc").last
        served = await page.request.get(await link.evaluate("a => a.href"))  # and its file
        assert served.ok and b'"Alex"' in await served.body()
        await send(page, "/help")  # the chat goes on, each message with an id of its own
        await expect(bot_message(page, "Here is what I can do")).to_be_visible()
        ids = await page.locator(".msg").evaluate_all("nodes => nodes.map(n => n.dataset.messageId)")
        assert len(ids) == len(set(ids))
    assert errors == []


async def test_chat_as_a_champion_and_the_coordinator(sandbox_url: str, tmp_path: Path) -> None:
    errors: list[str] = []
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 900, "height": 900})
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on(
                "console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None
            )
            await page.goto(sandbox_url)

            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Community Champions Bot — sandbox"
            )
            await expect(page.locator("body")).to_contain_text("Nothing leaves this machine")
            await expect(page.get_by_test_id(f"person-{SAM}")).to_have_text("Sam (coordinator, en)")
            alex_button = page.get_by_test_id(f"person-{ALEX}")
            await expect(alex_button).to_have_text("Alex (champion, en)")

            # Alex joins.
            await alex_button.click()
            await expect(alex_button).to_have_attribute("aria-pressed", "true")
            await send(page, "/start")
            await expect(bot_message(page, "Welcome! Please choose your language.")).to_be_visible()
            await expect(page.locator(".msg").first).to_have_attribute("dir", "auto")
            await press(page, "English")
            await expect(bot_message(page, "Privacy notice")).to_be_visible()
            await press(page, "Yes, I agree")
            await press(page, "No")
            await expect(bot_message(page, "What should we call you?")).to_be_visible()
            await send(page, "Alex", enter=True)
            await expect(bot_message(page, "Which area do you mostly work in?")).to_be_visible()
            await press(page, "Riverside")
            await expect(bot_message(page, "Which communities or networks")).to_be_visible()
            await press(page, "Done")
            await expect(bot_message(page, "Thank you for being a community champion")).to_be_visible()

            # Sam, the coordinator, has a chat of his own and makes an invite link.
            await page.get_by_test_id(f"person-{SAM}").click()
            await expect(alex_button).to_have_attribute("aria-pressed", "false")
            await expect(page.get_by_text("No messages yet")).to_be_visible()  # Sam's (empty) chat arrived
            await expect(page.locator(".msg")).to_have_count(0)
            await send(page, "/invite")
            await expect(bot_message(page, "Who is this invite link for?")).to_be_visible()
            await press(page, "One person")
            await expect(bot_message(page, "?start=")).to_be_visible()

            # Back to Alex: his conversation is still there, and none of Sam's.
            await alex_button.click()
            await expect(bot_message(page, "Thank you for being a community champion")).to_be_visible()
            await expect(page.locator(".msg.user", has_text="/start")).to_have_count(1)
            await expect(page.locator(".msg.user", has_text="Alex")).to_have_count(1)
            await expect(page.locator(".msg", has_text="?start=")).to_have_count(0)
            await expect(page.locator(".msg", has_text="/invite")).to_have_count(0)

            # A document the bot sends is a download link that serves the file.
            await send(page, "/mydata")
            link = page.locator(".msg.bot a.doc").last
            await expect(link).to_contain_text("my-data.json")
            async with page.expect_download() as download_info:
                await link.click()
            download = await download_info.value
            assert download.suggested_filename == "my-data.json"
            assert "Alex" in Path(await download.path()).read_text(encoding="utf-8")

            # The whole loop: Alex reports what he heard, Sam answers, Alex is told.
            await send(page, "/report")
            await press(page, "Vaccinations")
            await press(page, "Misinformation heard")
            await send(page, "People at the market say the flu jab gives you flu")
            await press(page, "A few people")
            await press(page, "Mine: Riverside")
            await press(page, "Stay anonymous")
            await press(page, "Confirm")
            await expect(bot_message(page, "Your report is saved as")).to_contain_text("R-1001")
            await page.get_by_test_id(f"person-{SAM}").click()
            await send(page, "/insights")
            await press(page, "R-1001")
            await expect(bot_message(page, "the flu jab gives you flu")).to_be_visible()
            await expect(page.locator(".msg.bot", has_text="Alex")).to_have_count(0)  # anonymous
            await press(page, "Respond")
            await send(page, "A nurse will answer questions at the market on Saturday.")
            await press(page, "Confirm")
            await alex_button.click()
            await expect(bot_message(page, "A nurse will answer questions")).to_contain_text("We did:")
            await send(page, "/myreports")
            await expect(bot_message(page, "R-1001")).to_contain_text("acted on")

            await page.screenshot(path=tmp_path / "sandbox.png")
            await context.close()
        finally:
            await browser.close()
    assert errors == []


async def test_the_page_opens_as_a_champion_who_has_not_joined_yet(sandbox_url: str) -> None:
    """The README says to start as a champion, so the page opens as Alex, with Sam, the coordinator, last."""
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(sandbox_url)
            alex = page.get_by_test_id(f"person-{ALEX}")
            await expect(alex).to_have_attribute("aria-pressed", "true")
            await expect(page.get_by_test_id("message-input")).to_have_attribute(
                "placeholder", "Message as Alex (champion, en)"
            )
            await expect(page.locator(".person").last).to_have_text("Sam (coordinator, en)")
            await expect(page.get_by_text("No messages yet")).to_be_visible()
        finally:
            await browser.close()
