"""The bot with WhatsApp switched on: the Telegram emulator as in every test, the WhatsApp Cloud API
emulator beside it, and the bot's WhatsApp webhook served on loopback for the emulator to post to.

Import the fixture into a test module (`from tests.whatsapp_harness import whatsapp_fixture`) and
ask for `whatsapp`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import Emulator, serve
from bot.sandbox import register_templates
from bot.settings import load_settings
from bot.whatsapp_emulator import APP_SECRET, PHONE_NUMBER_ID, TOKEN, WhatsAppEmulator
from bot.whatsapp_inbound import whatsapp_routes
from tests.conftest import BotHarness
from tests.whatsapp_openapi import spec_path, validate

VERIFY_TOKEN = "verify-me"
SETTLE = 10.0  # seconds a webhook and what it sets off may take in a test


class WhatsAppPerson:
    """Someone chatting with the bot on WhatsApp, through the emulator."""

    def __init__(self, harness: WhatsAppHarness, address: str, phone: str | None, name: str) -> None:
        self.harness = harness
        self.emulator = harness.emulator
        self.address = address
        self.phone = phone
        self.name = name
        self.emulator.add_user(address, phone, name)

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.emulator.history(self.address)

    async def _after(self, act: str) -> list[str]:
        """What the bot said after the person's message `act` (a wamid) was handled."""
        before = next(n for n, m in enumerate(self.history) if m.get("wamid") == act)
        await self.harness.settle()
        return [said(m) for m in self.history[before + 1 :] if m.get("from_bot")]

    async def send(self, text: str) -> list[str]:
        """Send text; the texts (bodies, captions, template texts) the bot answered with."""
        return await self._after(self.emulator.send_text(self.address, text))

    async def press(self, label: str) -> list[str]:
        """Press the reply button, or pick the list row, with this title (or a row's description) on
        the newest message that has it (a "✓ " before the title counts)."""
        kind, choice_id = self.find(label)
        if kind == "button":
            return await self._after(self.emulator.press(self.address, choice_id))
        return await self._after(self.emulator.choose(self.address, choice_id))

    async def send_voice(self, data: bytes = b"OggS voice") -> list[str]:
        return await self._after(self.emulator.send_voice(self.address, data))

    async def send_image(self, data: bytes = b"\xff\xd8\xff jpeg", caption: str | None = None) -> list[str]:
        return await self._after(self.emulator.send_image(self.address, data, caption))

    def find(self, label: str) -> tuple[str, str]:
        for message in reversed(self.history):
            if not message.get("from_bot"):
                continue
            for kind, key in (("button", "buttons"), ("row", "rows")):
                for choice in message.get(key) or []:
                    titles = (choice["title"], choice.get("description"), choice["title"].removeprefix("✓ "))
                    if label in titles:
                        return kind, choice["id"]
        raise AssertionError(f"No choice {label!r}; last messages: {[said(m) for m in self.history[-3:]]}")

    def choices(self) -> list[str]:
        """Titles on the newest bot message with buttons or a list."""
        for message in reversed(self.history):
            if message.get("from_bot") and (message.get("buttons") or message.get("rows")):
                return [c["title"] for c in message.get("buttons") or message.get("rows") or []]
        return []


def said(message: dict[str, Any]) -> str:
    """What a message in the emulator's history says."""
    return str(message.get("text") or message.get("caption") or message.get("body") or "")


class WhatsAppHarness:
    def __init__(self, bot: BotHarness, emulator: WhatsAppEmulator) -> None:
        self.bot = bot
        self.emulator = emulator

    async def settle(self) -> None:
        """Wait until the emulator's webhooks are posted and the bot has handled what they brought
        (the webhook answers before the handling, which goes on in the background)."""
        inbox = self.bot.application.bot_data.whatsapp_inbox
        assert inbox is not None
        async with asyncio.timeout(SETTLE):
            await self.emulator.drain(SETTLE)
            await inbox.settle()
            await self.emulator.drain(SETTLE)  # the statuses of what the bot sent meanwhile

    def person(self, address: str, phone: str | None = None, name: str = "Amina") -> WhatsAppPerson:
        return WhatsAppPerson(self, address, phone, name)


@pytest.fixture(name="whatsapp")
async def whatsapp_fixture(
    emulator: Emulator, sessions: async_sessionmaker[AsyncSession], bot_settings: dict[str, Any]
) -> AsyncIterator[WhatsAppHarness]:
    """The bot on both channels, with the WhatsApp emulator posting to its webhook."""
    wa = WhatsAppEmulator()
    await wa.start()
    settings = load_settings(
        **bot_settings,
        whatsapp_token=TOKEN,
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token=VERIFY_TOKEN,
        whatsapp_api_url=wa.base_url,
        whatsapp_number="447700900000",
        whatsapp_rate=0,
        whatsapp_pair_seconds=0,
    )
    harness = BotHarness(emulator, sessions, settings)
    await harness.start()
    runner, root = await serve(web.Application(), whatsapp_routes(harness.application), "127.0.0.1", 0)
    wa.webhook_url = f"{root}/whatsapp"
    register_templates(wa)
    yield (done := WhatsAppHarness(harness, wa))
    await done.settle()
    if spec_path() is not None:  # every call the bot made, as Meta's OpenAPI description allows
        for request in wa.requests:
            if request.status is not None and request.status < 300:
                validate(request.method, request.path, request.body, request.content_type)
    await runner.cleanup()
    await harness.stop()
    await wa.stop()
    await asyncio.sleep(0)
