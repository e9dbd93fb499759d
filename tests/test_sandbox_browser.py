"""The sandbox chat page in real headless Chromium: join as a champion, make an invite as the
coordinator, check each person keeps a chat of their own, and go round the loop from a champion's
report to the coordinator's response; on WhatsApp, join by pressing reply buttons and picking list
rows (with the mouse and with the keyboard alone), send a photo and a voice note, keep the chat
over a restart, fit a 375 px screen, and get the coordinator's broadcast beside a Telegram
champion; start in approval mode, or switch to invite-only on the page, and follow an invite link
as a newcomer."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox import run_sandbox
from bot.sandbox_history import HISTORY_FILE
from bot.settings import SignupMode
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, browser_page, expect, playwright

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
SAM, BILAL, ALEX = 9001, 1002, 1004
PRIYA, TOMASZ, CHEN = "GB.4470000001", "GB.4470000002", "GB.4470000003"  # on WhatsApp
PNG = base64.b64decode(  # a 1×1 picture
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
SMALL_PHONE = {"width": 375, "height": 667}
SHARE_QUESTION = "may we use what you report, without your name"


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
async def running_sandbox(tmp_path: Path, signup: SignupMode | None = None) -> AsyncIterator[str]:
    """`champbot sandbox` on this data folder (with this sign-up mode), running in this event loop;
    its page's URL."""
    port = free_port()
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_sandbox(tmp_path, port=port, stop=stop, ready=ready, signup=signup))
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
    async with browser_page(PHONE, errors) as page:
        await page.goto(url)
        yield page


async def join(
    page: playwright.Page, person: int, name: str, told: str = "Thank you for being a community champion"
) -> None:
    """This English-speaking champion joins in Riverside (and is `told` this at the end)."""
    await page.get_by_test_id(f"person-{person}").click()
    await send(page, "/start")
    await answer_joining(page, name, told)


async def answer_joining(page: playwright.Page, name: str, told: str) -> None:
    """The champion shown, asked their language, joins in English in Riverside."""
    await press(page, "English")
    await press(page, "Yes, I agree")
    await press(page, "No")
    await send(page, name)
    await press(page, "Riverside")
    await press(page, "Done")
    await expect(bot_message(page, told)).to_be_visible()


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
        line = page.locator(".msg.bot .bubble *", has_text="ڈیٹا کی کاپی").last  # "/mydata – a copy of…"
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
    async with browser_page({"width": 900, "height": 900}, errors) as page:
        await page.goto(sandbox_url)

        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Community Champions Bot — sandbox"
        )
        await expect(page.locator("body")).to_contain_text("Nothing leaves this machine")
        sam_button = page.get_by_test_id(f"person-{SAM}")
        await expect(sam_button).to_have_text("Sam (coordinator, en · Telegram)")
        alex_button = page.get_by_test_id(f"person-{ALEX}")
        await expect(alex_button).to_have_text("Alex (champion, en · Telegram)")

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
            await expect(page.locator(".person").last).to_have_text("Sam (coordinator, en · Telegram)")
            await expect(page.get_by_text("No messages yet")).to_be_visible()
        finally:
            await browser.close()


# ------------------------------------------------------------------------------------ WhatsApp


async def wa_press(page: playwright.Page, label: str) -> None:
    """Click the reply button with this label (or "✓ label") under the newest message that has it."""
    pattern = re.compile(rf"^\s*(✓\s*)?{re.escape(label)}\s*$")
    await page.locator(".msg.bot button.wa-reply").filter(has_text=pattern).last.click()


def list_sheet(page: playwright.Page) -> playwright.Locator:
    return page.get_by_role("dialog")


async def wa_choose(page: playwright.Page, question: str, title: str) -> None:
    """Pick `title` (or "✓ title") on the newest message saying `question`: its reply button, or its
    list's row (opening the list), by mouse."""
    message = bot_message(page, question)
    await expect(message).to_be_visible()
    pattern = re.compile(rf"^\s*(✓\s*)?{re.escape(title)}\s*$")
    if await message.locator("button.wa-reply").count():
        await message.locator("button.wa-reply").filter(has_text=pattern).click()
        return
    await message.locator("button.wa-list-open").click()
    sheet = list_sheet(page)
    await expect(sheet).to_be_visible()
    await sheet.locator("button.wa-row").filter(has=page.locator(".row-title", has_text=pattern)).click()
    await expect(sheet).to_be_hidden()


async def wa_join(page: playwright.Page, person: str, name: str) -> None:
    """This English-speaking WhatsApp champion joins in Riverside, all with the mouse."""
    await page.get_by_test_id(f"person-{person}").click()
    await send(page, "start")
    await wa_choose(page, "Please choose your language", "English")
    await wa_choose(page, "Do you agree to take part", "Yes, I agree")
    await wa_choose(page, SHARE_QUESTION, "No")
    await send(page, name)
    await wa_choose(page, "Which area do you mostly work in?", "Riverside")
    await wa_choose(page, "Which communities or networks", "Done")
    await expect(bot_message(page, "Thank you for being a community champion")).to_be_visible()


async def no_sideways_scroll(page: playwright.Page) -> None:
    """Nothing on the page is wider than the screen."""
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.body.scrollWidth]"
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[1], widths


async def test_a_whatsapp_champion_joins_with_buttons_and_lists_by_keyboard_on_a_small_phone(
    sandbox_url: str,
) -> None:
    errors: list[str] = []
    async with browser_page(SMALL_PHONE, errors) as page:
        await page.goto(sandbox_url)
        priya = page.get_by_test_id(f"person-{PRIYA}")
        await expect(priya).to_have_text("Priya (champion, en · WhatsApp)")  # the picker says the channel
        await expect(page.locator("#app")).to_have_attribute("data-channel", "telegram")
        await priya.click()
        await expect(page.locator("#app")).to_have_attribute("data-channel", "whatsapp")
        await expect(page.get_by_test_id("chatbar")).to_contain_text("WhatsApp · chatting as Priya")
        await expect(page.get_by_text("No messages yet. Send start to begin")).to_be_visible()
        await no_sideways_scroll(page)

        await send(page, "start")
        welcome = bot_message(page, "Welcome! Please choose your language.")
        await expect(welcome).to_be_visible()
        await expect(welcome.locator(".bubble")).to_have_css("background-color", "rgb(255, 255, 255)")
        mine = page.locator(".msg.user", has_text="start").last
        await expect(mine.locator(".bubble")).to_have_css("background-color", "rgb(217, 253, 211)")
        bubbles = await page.evaluate(
            "() => [...document.querySelectorAll('.msg')].map(m => m.getBoundingClientRect().left)"
        )
        assert bubbles[1] < bubbles[0]  # the business's messages on the left, the person's on the right

        # The language list, by keyboard alone: Enter opens it, focus goes to its first row,
        # Escape closes it and gives focus back to its button.
        opener = welcome.get_by_role("button", name="Choose")
        await expect(opener).to_have_attribute("aria-haspopup", "dialog")
        await opener.focus()
        await page.keyboard.press("Enter")
        sheet = list_sheet(page)
        await expect(sheet).to_be_visible()
        await expect(sheet.get_by_role("heading", level=2)).to_have_text("Choose")
        rows = sheet.locator("button.wa-row")
        await expect(rows).to_have_count(8)
        await expect(rows.first).to_be_focused()
        await no_sideways_scroll(page)
        for _ in range(12):  # Tab stays within the open list
            await page.keyboard.press("Tab")
            assert await sheet.evaluate("dialog => dialog.contains(document.activeElement)")
        await page.keyboard.press("Escape")
        await expect(sheet).to_be_hidden()
        await expect(opener).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(rows.first).to_be_focused()
        await expect(rows.first).to_have_text("✓ English")
        await page.keyboard.press("Enter")
        await expect(sheet).to_be_hidden()
        await expect(page.locator(".msg.user", has_text="English")).to_be_visible()  # the reply

        # Reply buttons: the mouse, then the keyboard.
        await expect(bot_message(page, "Privacy notice")).to_be_visible()
        consent = bot_message(page, "Do you agree to take part")
        await expect(consent.locator("button.wa-reply")).to_have_text(["Yes, I agree", "No, thanks"])
        await wa_press(page, "Yes, I agree")
        no = bot_message(page, SHARE_QUESTION).get_by_role("button", name="No", exact=True)
        await no.focus()
        await page.keyboard.press("Space")
        await expect(bot_message(page, "What should we call you?")).to_be_visible()
        await send(page, "Priya", enter=True)

        # The areas list: a row found with Tab, picked with Enter.
        await expect(bot_message(page, "Which area do you mostly work in?")).to_be_visible()
        await page.locator(".msg.bot button.wa-list-open").last.focus()
        await page.keyboard.press("Enter")
        await expect(sheet).to_be_visible()
        for _ in range(10):
            if (await page.evaluate("() => document.activeElement.textContent")).strip() == "Riverside":
                break
            await page.keyboard.press("Tab")
        await expect(sheet.locator("button.wa-row:focus")).to_have_text("Riverside")
        await page.keyboard.press("Enter")
        await expect(page.locator(".msg.user", has_text="Riverside")).to_be_visible()

        await expect(bot_message(page, "Which communities or networks")).to_be_visible()
        await page.locator(".msg.bot button.wa-list-open").last.click()
        titled = sheet.locator("button.wa-row", has_text="Faith groups")
        await expect(titled).to_be_visible()
        await wa_choose_open(page, "Done")
        await expect(bot_message(page, "Thank you for being a community champion")).to_be_visible()
        # The person's own messages show their ticks (grey: the bot does not mark them read),
        # and the page tells the bot (by WhatsApp's read statuses) that she read each of its.
        await expect(page.locator(".msg.user .ticks").first).to_have_attribute("aria-label", "Delivered")
        chat_url, version = f"{sandbox_url}sandbox/api/whatsapp/{PRIYA}", -1
        async with asyncio.timeout(15):
            while True:  # each answer comes when the chat changes (or after a long poll's wait)
                chat = await (await page.request.get(f"{chat_url}?since={version}")).json()
                version = chat["version"]
                if {m["status"] for m in chat["messages"] if m["from_bot"]} == {"read"}:
                    break
        await no_sideways_scroll(page)
    assert errors == []


async def wa_choose_open(page: playwright.Page, title: str) -> None:
    """Pick the row with this title in the list already open."""
    sheet = list_sheet(page)
    await sheet.locator("button.wa-row").filter(has=page.locator(".row-title", has_text=title)).click()
    await expect(sheet).to_be_hidden()


async def test_a_whatsapp_champion_sends_a_photo_and_a_voice_note_and_the_chat_outlives_a_restart(
    tmp_path: Path,
) -> None:
    errors: list[str] = []
    async with running_sandbox(tmp_path) as url, phone(url, errors) as page:
        await wa_join(page, TOMASZ, "Tomasz")
        await send(page, "/report")
        await wa_choose(page, "What is it about?", "Vaccinations")
        await wa_choose(page, "What kind of thing did you hear?", "Misinformation heard")
        await expect(bot_message(page, "send a voice note or a photo")).to_be_visible()
        chooser = page.get_by_label("Attach a photo or voice note")
        await page.get_by_test_id("message-input").fill("Leaflet at the bus stop")  # goes as the caption
        await chooser.set_input_files(files=[{"name": "leaflet.png", "mimeType": "image/png", "buffer": PNG}])
        sent = page.locator(".msg.user img").last
        await expect(sent).to_have_attribute("alt", "Leaflet at the bus stop")
        await expect(sent).to_have_js_property("complete", True)
        assert await sent.evaluate("img => img.naturalWidth") == 1
        await expect(bot_message(page, "How many people does it concern?")).to_be_visible()  # taken
        await wa_choose(page, "How many people does it concern?", "A few people")
        await wa_choose(page, "Which area is it about?", "Mine: Riverside")
        await wa_choose(page, "Share your name with the coordinators?", "Stay anonymous")
        await wa_choose(page, "Please check your report", "Confirm")
        await expect(bot_message(page, "Your report is saved as")).to_be_visible()
        box = page.get_by_test_id("message-input")
        await box.fill("kept for later")
        voice = {"name": "note.ogg", "mimeType": "audio/ogg", "buffer": b"OggS" + bytes(60)}
        await chooser.set_input_files(files=[voice])
        note = page.locator(".msg.user audio").last
        await expect(note).to_have_attribute("aria-label", "Voice note")
        served = await page.request.get(await note.evaluate("audio => audio.src"))
        assert served.headers["content-type"] == "audio/ogg" and (await served.body()).startswith(b"OggS")
        await expect(box).to_have_value("kept for later")  # a WhatsApp voice note has no caption
        await send(page, "/mydata")
        link = page.locator(".msg.bot a.doc").last
        await expect(link).to_be_visible()
        served = await page.request.get(await link.evaluate("a => a.href"))
        assert served.ok and b"Tomasz" in await served.body()
    saved = json.loads((tmp_path / HISTORY_FILE).read_text(encoding="utf-8"))
    assert saved["whatsapp"]["chats"][TOMASZ]
    async with running_sandbox(tmp_path) as url, phone(url, errors) as page:
        await page.get_by_test_id(f"person-{TOMASZ}").click()
        await expect(page.locator(".msg.user", has_text="start")).to_have_count(1)
        await expect(bot_message(page, "Your report is saved as")).to_be_visible()
        shown = page.locator(".msg.user img").last
        await expect(shown).to_have_js_property("complete", True)
        assert await shown.evaluate("img => img.naturalWidth") == 1  # its file, kept
        await send(page, "/help")  # the chat goes on: the bot takes the new message as new
        await expect(bot_message(page, "Here is what I can do")).to_be_visible()
        ids = await page.locator(".msg").evaluate_all("nodes => nodes.map(n => n.dataset.messageId)")
        assert len(ids) == len(set(ids))
    assert errors == []


async def test_a_broadcast_reaches_a_telegram_and_a_whatsapp_champion(sandbox_url: str) -> None:
    errors: list[str] = []
    text = "Free flu jabs at Riverside library this Saturday."
    async with phone(sandbox_url, errors) as page:
        await join(page, ALEX, "Alex")
        await wa_join(page, PRIYA, "Priya")
        await page.get_by_test_id(f"person-{SAM}").click()
        await send(page, "/broadcast")
        await expect(bot_message(page, "Send the message in English.")).to_be_visible()
        await send(page, text)
        await press(page, "Everyone · 3")  # Alex, Priya and Chen
        await press(page, "Continue")
        await expect(bot_message(page, "Send it now, or schedule it for later?")).to_be_visible()
        await press(page, "Send now")
        await press(page, "Urgent · ignores quiet hours")  # whatever the time the test runs at
        await press(page, "Confirm")
        await expect(bot_message(page, "Sending to 3 champions")).to_be_visible()

        await page.get_by_test_id(f"person-{ALEX}").click()
        await expect(bot_message(page, text)).to_be_visible(timeout=30_000)
        await page.get_by_test_id(f"person-{PRIYA}").click()
        got = bot_message(page, text)
        await expect(got).to_be_visible(timeout=30_000)  # she wrote just now: a session message
        await expect(got.locator(".tag")).to_have_count(0)
        await page.get_by_test_id(f"person-{CHEN}").click()
        got = bot_message(page, text)
        await expect(got).to_be_visible(timeout=30_000)  # silent for days: by template
        tag = re.compile(r"^Template · champbot_broadcast\w* · marketing")
        await expect(got.locator(".tag")).to_have_text(tag)
    assert errors == []


# ------------------------------------------------------------- sign-up modes and invite links

NEWCOMER, WA_NEWCOMER = 2001, "GB.4480000002"  # the first and second newcomers an invite link brings


def test_the_sandbox_command_takes_a_sign_up_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`champbot sandbox --signup approval` (what `make sandbox SIGNUP=approval` runs) starts the bot
    in that mode; --help says what each mode means."""
    from click.testing import CliRunner

    import bot.sandbox
    from bot.cli import main

    started: dict[str, object] = {}

    async def fake_sandbox(data_dir: Path, **options: object) -> None:
        started.update(options)

    monkeypatch.setattr(bot.sandbox, "run_sandbox", fake_sandbox)
    helped = CliRunner().invoke(main, ["sandbox", "--help"])
    assert re.search(r"--signup \[open\|invite\|approval\]\s+Who may join", helped.output), helped.output
    assert "/pending" in helped.output
    ran = CliRunner().invoke(main, ["sandbox", "--data-dir", str(tmp_path), "--signup", "approval"])
    assert ran.exit_code == 0, ran.output
    assert started["signup"] == "approval"
    refused = CliRunner().invoke(main, ["sandbox", "--signup", "everyone"])
    assert refused.exit_code != 0 and "'everyone' is not one of" in refused.output


def test_make_sandbox_passes_the_sign_up_mode_asked_for(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parent.parent
    fresh = f"VENV={tmp_path / 'venv'}"  # as in a fresh clone
    command = ["make", "-n", "--no-print-directory", "-C", str(root), "sandbox", fresh, "SIGNUP=approval"]
    dry = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    assert dry.stdout.splitlines()[-1].endswith("/champbot sandbox --port 8080 --signup approval")


async def test_in_approval_mode_a_newcomer_waits_until_sam_approves_them_in_pending(tmp_path: Path) -> None:
    errors: list[str] = []
    async with running_sandbox(tmp_path, signup="approval") as url, phone(url, errors) as page:
        await expect(page.get_by_label("Sign-up")).to_have_value("approval")
        await expect(page.get_by_test_id("signup-hint")).to_contain_text("/pending")
        await no_sideways_scroll(page)
        await join(page, ALEX, "Alex", told="A coordinator will look at your request soon.")
        await send(page, "/report")
        await expect(bot_message(page, "waiting for a coordinator's approval")).to_be_visible()

        await page.get_by_test_id(f"person-{SAM}").click()
        await send(page, "/pending")
        await expect(bot_message(page, "1 person is waiting")).to_be_visible()
        waiting = bot_message(page, "asks to join (area: Riverside)")
        await expect(waiting).to_contain_text("Alex")
        await waiting.get_by_role("button", name="Approve").click()
        await expect(bot_message(page, "can now take part")).to_contain_text("Alex")

        await page.get_by_test_id(f"person-{ALEX}").click()
        await expect(bot_message(page, "Good news: you have been approved!")).to_be_visible(timeout=30_000)
        await send(page, "/help")
        await expect(bot_message(page, "Here is what I can do")).to_be_visible()
    assert errors == []


async def test_an_invite_link_clicked_opens_a_newcomer_who_joins_with_it(sandbox_url: str) -> None:
    errors: list[str] = []
    async with browser_page({"width": 900, "height": 900}, errors) as page:
        await page.goto(sandbox_url)

        # The page switches the running bot to invite-only: Alex cannot join without a link.
        signup = page.get_by_label("Sign-up")
        await expect(signup).to_have_value("open")
        await signup.select_option("invite")
        await expect(page.get_by_test_id("signup-hint")).to_have_text(
            "Only people with a coordinator's invite link can join."
        )
        await send(page, "/start")
        await expect(bot_message(page, "Joining is by invitation only")).to_be_visible()

        # Sam's Telegram invite link, followed by keyboard, opens a newcomer's chat with /start CODE.
        await page.get_by_test_id(f"person-{SAM}").click()
        await send(page, "/invite")
        await press(page, "One person")
        link = bot_message(page, "?start=").get_by_role("link", name=re.compile(r"^https:\/\/t\.me\/"))
        found = re.search(r"\?start=([\w-]+)$", await link.get_attribute("href") or "")
        assert found is not None
        await link.focus()
        await page.keyboard.press("Enter")
        newcomer = page.get_by_test_id(f"person-{NEWCOMER}")
        await expect(newcomer).to_have_text("Newcomer 1 (champion, en · Telegram)")
        await expect(newcomer).to_have_attribute("aria-pressed", "true")
        await expect(page.locator(".msg.user .text")).to_have_text([f"/start {found[1]}"])
        assert page.url.startswith(sandbox_url)  # the page stayed
        await answer_joining(page, "Dana", "Thank you for being a community champion")

        # The WhatsApp link, clicked, opens a WhatsApp newcomer who sends JOIN CODE.
        await page.get_by_test_id(f"person-{SAM}").click()
        await send(page, "/invite")
        await press(page, "One person")
        await expect(page.locator(".msg.bot", has_text="?start=")).to_have_count(2)  # a new one
        link = bot_message(page, "?start=").get_by_role("link", name=re.compile(r"^https:\/\/wa\.me\/"))
        found = re.search(r"\?text=JOIN%20([\w-]+)$", await link.get_attribute("href") or "")
        assert found is not None
        await link.click()
        newcomer = page.get_by_test_id(f"person-{WA_NEWCOMER}")
        await expect(newcomer).to_have_text("Newcomer 2 (champion, en · WhatsApp)")
        await expect(page.locator("#app")).to_have_attribute("data-channel", "whatsapp")
        await expect(page.locator(".msg.user .text")).to_have_text([f"JOIN {found[1]}"])
        await wa_choose(page, "Please choose your language", "English")
        await wa_choose(page, "Do you agree to take part", "Yes, I agree")
        await wa_choose(page, SHARE_QUESTION, "No")
        await send(page, "Eli")
        await wa_choose(page, "Which area do you mostly work in?", "Riverside")
        await wa_choose(page, "Which communities or networks", "Done")
        await expect(bot_message(page, "Thank you for being a community champion")).to_be_visible()
        assert page.url.startswith(sandbox_url)
    assert errors == []


async def test_a_newcomer_is_still_on_the_page_after_a_restart(tmp_path: Path) -> None:
    errors: list[str] = []
    async with running_sandbox(tmp_path) as url, phone(url, errors) as page:
        added = await page.request.post(f"{url}sandbox/api/people", data={"channel": "telegram"})
        assert added.ok and (await added.json())["id"] == NEWCOMER
        await page.reload()
        await page.get_by_test_id(f"person-{NEWCOMER}").click()
        await send(page, "/help")
    async with running_sandbox(tmp_path) as url, phone(url, errors) as page:
        await page.get_by_test_id(f"person-{NEWCOMER}").click()
        await expect(bot_message(page, "Here is what I can do")).to_be_visible()
        await send(page, "/start")  # and they can go on
        await expect(bot_message(page, "Welcome! Please choose your language.")).to_be_visible()
    assert errors == []


async def test_sam_opens_the_dashboard_from_the_sign_in_link_web_sends(sandbox_url: str) -> None:
    """The sandbox serves the dashboard on its own port: Sam's /web link opens it in a new tab,
    Continue signs him in, and the overview shows; signing out leads back to the sign-in page."""
    errors: list[str] = []
    root = sandbox_url.rstrip("/")
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=PHONE)
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            await page.goto(sandbox_url)
            await page.get_by_test_id(f"person-{SAM}").click()
            await send(page, "/web")
            link = bot_message(page, "sign in to the dashboard").get_by_role("link")
            assert (await link.get_attribute("href") or "").startswith(f"{root}/dashboard/signin?token=")
            async with context.expect_page() as opened:
                await link.click()
            dashboard = await opened.value
            await dashboard.get_by_role("button", name="Continue").click()
            await expect(dashboard.get_by_role("heading", name="Overview")).to_be_visible()
            assert dashboard.url == f"{root}/dashboard/"
            await expect(dashboard.get_by_text("Signed in as Sam")).to_be_visible()
            await dashboard.get_by_role("button", name="Sign out").click()
            await expect(dashboard.get_by_role("button", name="Continue")).to_have_count(0)
            assert dashboard.url == f"{root}/dashboard/"
            await expect(dashboard.get_by_text("Send /web to the bot")).to_be_visible()
            # The dashboard's strict headers stay on its pages: the chat page keeps working.
            await send(page, "/help")
            await expect(bot_message(page, "Your coordinator tools are below").last).to_be_visible()
        finally:
            await browser.close()
    assert errors == []
