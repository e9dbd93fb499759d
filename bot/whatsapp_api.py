"""A thin client for the WhatsApp Cloud API (Graph API) calls the bot makes: send, upload, media.

Thin on purpose, on the aiohttp the bot already serves webhooks with: the bot needs four calls, and
the payloads it sends are built in `bot.whatsapp_render` and `bot.whatsapp_templates`, where the
tests check them against Meta's OpenAPI description.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=30)


class WhatsAppError(Exception):
    """Graph API refused a request (its error code, title and the HTTP status)."""

    def __init__(self, code: int, title: str, status: int) -> None:
        super().__init__(f"WhatsApp error {code}: {title}")
        self.code = code
        self.title = title
        self.status = status


class WhatsAppUnavailable(Exception):
    """The Graph API could not be reached, or answered with a server error: try again later."""


class WhatsAppClient:
    """The Cloud API as one business number uses it."""

    def __init__(self, base_url: str, phone_number_id: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WhatsAppClient:
        self._http = aiohttp.ClientSession(timeout=TIMEOUT, headers=self._headers)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:  # opened on first use when not used as a context manager
            self._http = aiohttp.ClientSession(timeout=TIMEOUT, headers=self._headers)
        return self._http

    async def send(self, payload: dict[str, Any]) -> str:
        """Send one message; its WhatsApp message id (wamid)."""
        answer = await self._call("POST", f"{self.base_url}/{self.phone_number_id}/messages", json=payload)
        return str(answer["messages"][0]["id"])

    async def mark_read(self, message_id: str) -> None:
        """Mark a person's message read (their blue ticks): it tells them the bot has it."""
        payload = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        await self._call("POST", f"{self.base_url}/{self.phone_number_id}/messages", json=payload)

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        """Upload a file for sending; its media id (valid 30 days)."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime)
        form.add_field("file", data, filename=filename, content_type=mime)
        answer = await self._call("POST", f"{self.base_url}/{self.phone_number_id}/media", data=form)
        return str(answer["id"])

    async def media(self, media_id: str) -> tuple[bytes, str]:
        """A file someone sent (its bytes and MIME type); media ids expire after 7 days."""
        info = await self._call("GET", f"{self.base_url}/{media_id}")
        try:
            async with self.http.get(info["url"]) as response:
                if response.status >= 500:
                    raise WhatsAppUnavailable(f"media download answered {response.status}")
                if response.status >= 400:
                    raise WhatsAppError(response.status, "media download refused", response.status)
                return await response.read(), str(info.get("mime_type", "application/octet-stream"))
        except aiohttp.ClientError as exc:
            raise WhatsAppUnavailable(type(exc).__name__) from exc

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.http.request(method, url, **kwargs) as response:
                if response.status >= 500:
                    raise WhatsAppUnavailable(f"Graph API answered {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise WhatsAppUnavailable(type(exc).__name__) from exc
        if response.status >= 400 or not isinstance(body, dict) or "error" in body:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
            raise WhatsAppError(int(error.get("code", response.status)), str(details)[:200], response.status)
        return body
