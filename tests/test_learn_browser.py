"""Snippets on a phone, in real headless Chromium: the sandbox chat page at 390×844 shows a snippet's
whole bubble in the visible chat area, for the one a champion opens and for every shipped snippet in
every language, each screen of it at its longest (the snippet of the week, with the medical
disclaimer or without)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from bot.i18n import LANGUAGES, translator
from bot.sandbox import run_sandbox
from handlers.learn import screens
from storage.content import load_library
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, expect, playwright

ALEX = 1004  # the sandbox's champion who has not joined yet
TIMEOUT = 30.0

# The height a bubble with these lines would have in the chat: a copy of a real bubble, its text
# replaced line by line as the page renders text (one block per line).
MEASURE = """([bubble, lines]) => {
  const copy = bubble.cloneNode(true);
  const text = copy.querySelector(".text");
  text.replaceChildren(...lines.map((line) => {
    const node = document.createElement("div");
    node.className = "line";
    node.dir = "auto";
    node.textContent = line;
    return node;
  }));
  bubble.parentElement.after(copy);
  const height = copy.getBoundingClientRect().height;
  copy.remove();
  return height;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def sandbox(tmp_path: Path) -> AsyncIterator[str]:
    """`champbot sandbox` on this data folder in this event loop; its page's URL."""
    port = free_port()
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_sandbox(tmp_path, port=port, stop=stop, ready=ready))
    try:
        async with asyncio.timeout(TIMEOUT):
            await asyncio.wait({task, asyncio.create_task(ready.wait())}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
            raise AssertionError("the sandbox stopped before serving its page")
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop.set()
        async with asyncio.timeout(TIMEOUT):
            await task


def bot_message(page: playwright.Page, text: str) -> playwright.Locator:
    return page.locator(".msg.bot", has_text=text).last


async def press(page: playwright.Page, label: str) -> None:
    pattern = re.compile(rf"^\s*(✓\s*)?{re.escape(label)}\s*$")
    await page.locator(".msg.bot button.kb").filter(has_text=pattern).last.click()


async def send(page: playwright.Page, text: str) -> None:
    box = page.get_by_test_id("message-input")
    await box.fill(text)
    await page.get_by_test_id("send").click()
    await expect(page.locator(".msg.user", has_text=text).last).to_be_visible()


async def chat_height(page: playwright.Page) -> float:
    """The visible chat area's height, inside its padding: what one screen of messages shows."""
    height = await page.locator(".chat").evaluate(
        "chat => { const s = getComputedStyle(chat);"
        " return chat.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom); }"
    )
    return float(height)


async def test_every_snippet_fits_the_chat_area_of_a_phone(tmp_path: Path) -> None:
    errors: list[str] = []
    async with sandbox(tmp_path) as url, playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context(viewport=PHONE)).new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(url)
            await page.get_by_test_id(f"person-{ALEX}").click()
            await send(page, "/start")
            for label in ("English", "Yes, I agree", "No"):
                await press(page, label)
            await send(page, "Alex")
            await press(page, "Riverside")
            await press(page, "Done")
            await expect(bot_message(page, "Thank you for being a community champion")).to_be_visible()
            await send(page, "/learn")
            await press(page, "Core20PLUS5 · 0/2")
            opened = bot_message(page, "Core20PLUS5 for adults").locator(".bubble")
            await expect(opened).to_be_visible()
            room = await chat_height(page)
            box = await opened.bounding_box()
            assert box is not None
            assert box["height"] <= room, f"the opened snippet is {box['height']:.0f} px, the chat {room:.0f}"

            library, problems = load_library(languages=tuple(LANGUAGES))
            assert problems == []
            handle = await opened.element_handle()
            too_tall = []
            for (snippet_id, language), snippet in sorted(library.snippets.items()):
                t = translator(language)
                heading = t.gettext("Your snippet of the week:")
                for disclaimer in (True, False):
                    for n, text in enumerate(screens(t, snippet, heading, disclaimer), start=1):
                        height = await page.evaluate(MEASURE, [handle, text.split("\n")])
                        if height > room:
                            too_tall.append(f"{language}/{snippet_id} screen {n}: {height:.0f} px")
            assert too_tall == [], f"taller than the chat area's {room:.0f} px: {too_tall}"
        finally:
            await browser.close()
    assert errors == []
