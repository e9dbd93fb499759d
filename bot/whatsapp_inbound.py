"""WhatsApp's webhook: Meta's verification, then every signed POST turned into the updates the
handlers already know.

The signature is checked on the raw body before anything else is read. Each message is claimed by
its id (`storage.inbound`), so a repeat is dropped, and handled before the 200 goes back, so one
Meta was told we have is never lost. The person's identity gives the chat key the handlers see as
their chat and user id; the message becomes a Telegram-shaped update (a typed command as a
command, "JOIN CODE" as /start CODE, a button or list reply as a button press, a photo or voice note
as one, downloaded first: WhatsApp's media ids expire after 7 days) and goes through the same
Application, whose replies to a WhatsApp chat go out through `bot.whatsapp_replies`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from telegram import Update

from bot import whatsapp_media
from bot.budget import Priority
from bot.context import App
from bot.i18n import N_, Translator, translator
from bot.replies import Outgoing
from bot.whatsapp_api import WhatsAppError, WhatsAppUnavailable
from bot.whatsapp_replies import WhatsAppOut
from storage import champions, identities, inbound, whatsapp_statuses
from storage.models import utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY = 3 * 1024 * 1024  # Meta batches up to a few hundred changes; each is small
JOIN = re.compile(r"^\s*join\s+(\S+)\s*$", re.IGNORECASE)
MEDIA_GONE = N_("Sorry, I couldn't receive that file. Please send it again.")
_ids = itertools.count(int(time.time() * 1000))  # update and message ids, unique in this process


def signed(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is Meta's signature of this raw body with the app secret."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.encode(), expected.encode())


def whatsapp_routes(application: App, path: str = "/whatsapp") -> list[web.RouteDef]:
    """The webhook's GET (verification) and POST (messages and statuses) at `path`."""
    settings = application.bot_data.settings
    assert settings is not None and settings.whatsapp_app_secret is not None
    secret = settings.whatsapp_app_secret.get_secret_value()
    verify_token = (
        settings.whatsapp_verify_token.get_secret_value() if settings.whatsapp_verify_token else None
    )

    async def verify(request: web.Request) -> web.Response:
        query = request.query
        token = query.get("hub.verify_token", "")
        if (
            verify_token is not None
            and query.get("hub.mode") == "subscribe"
            and hmac.compare_digest(token.encode(), verify_token.encode())
        ):
            return web.Response(text=query.get("hub.challenge", ""))
        return web.Response(status=403, text="verification failed")

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get(SIGNATURE_HEADER)
        if header is None:
            return web.Response(status=401, text="no signature")
        if not signed(secret, body, header):
            return web.Response(status=403, text="bad signature")
        try:
            await Inbound(application).handle(_json(body))
        except WhatsAppUnavailable:
            return web.Response(status=503, text="try again")  # Meta repeats the delivery
        except ValueError:
            log.info("Refused a signed WhatsApp webhook that is not Meta's shape")
            return web.Response(status=400, text="not a WhatsApp webhook")
        return web.Response(text="ok")

    return [web.get(path, verify), web.post(path, receive)]


def _json(body: bytes) -> dict[str, Any]:
    payload = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise ValueError("no entry")
    return payload


def _changes(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in payload["entry"]:
        for change in entry.get("changes", []) if isinstance(entry, dict) else []:
            if isinstance(change, dict) and change.get("field") == "messages":
                value = change.get("value")
                if isinstance(value, dict):
                    yield value


def _when(timestamp: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(timestamp)), UTC)
    except ValueError:
        return utcnow()


class Inbound:
    """One webhook delivery, handled message by message."""

    def __init__(self, application: App) -> None:
        out = application.bot_data.whatsapp
        assert out is not None and application.bot_data.sessions is not None
        self.application = application
        self.out: WhatsAppOut = out
        self.sessions = application.bot_data.sessions

    async def handle(self, payload: dict[str, Any]) -> None:
        for value in _changes(payload):
            statuses = [
                whatsapp_statuses.Status(
                    str(s["id"]), str(s["status"]), _when(s.get("timestamp")), _error_code(s)
                )
                for s in value.get("statuses", [])
                if isinstance(s, dict) and "id" in s and s.get("status") in whatsapp_statuses.KEPT
            ]
            if statuses:
                async with self.sessions.begin() as session:
                    await whatsapp_statuses.keep(session, statuses)
            contacts = {
                key: contact
                for contact in value.get("contacts", [])
                if isinstance(contact, dict)
                for key in (contact.get("user_id"), contact.get("wa_id"))
                if key
            }
            for message in value.get("messages", []):
                if isinstance(message, dict) and "id" in message:
                    sender = message.get("from_user_id") or message.get("from")
                    await self.message(message, contacts.get(sender, {}) if sender else {})

    async def message(self, message: dict[str, Any], contact: dict[str, Any]) -> None:
        """Handle one message once: claim it, renew the person's window, hand it to the bot."""
        wamid = str(message["id"])
        phone = message.get("from") or contact.get("wa_id")
        address = contact.get("user_id") or message.get("from_user_id") or phone
        if not address:
            return
        now = utcnow()
        try:
            chat_id = await self._claim(wamid, str(address), phone and str(phone), now)
        except IntegrityError:  # their first two messages at once: the other made the identity
            chat_id = await self._claim(wamid, str(address), phone and str(phone), now)
        if chat_id is None:
            log.info("Dropped a repeated WhatsApp message")
            return
        self.out.addresses[chat_id] = str(phone or address)
        name = str((contact.get("profile") or {}).get("name") or "WhatsApp")[:64]
        try:
            for update in await self.updates(chat_id, name, message):
                processor = self.application.update_processor
                await processor.process_update(update, self.application.process_update(update))
        except WhatsAppUnavailable:
            async with self.sessions.begin() as session:
                await inbound.release(session, wamid)
            raise
        async with self.sessions.begin() as session:
            await inbound.handled(session, wamid, utcnow())

    async def _claim(self, wamid: str, address: str, phone: str | None, now: datetime) -> int | None:
        """Claim the message and renew its sender's window; their chat key (None: a repeat)."""
        async with self.sessions.begin() as session:
            if not await inbound.claim(session, wamid, now):
                return None
            identity = await identities.whatsapp_wrote(session, address, phone, now)
            assert identity.chat_id is not None
            return identity.chat_id

    async def updates(self, chat_id: int, name: str, message: dict[str, Any]) -> list[Update]:
        """The Telegram-shaped updates a message means (none: nothing for the handlers)."""
        kind = message.get("type")
        person = {"id": chat_id, "is_bot": False, "first_name": name}
        base = {"message_id": next(_ids), "date": int(time.time()), "chat": {**person, "type": "private"}}
        base["from"] = person
        if kind == "text":
            body = str((message.get("text") or {}).get("body") or "")
            return [self._update(message=base | _typed(body))]  # whole: WhatsApp doesn't split it
        if kind in ("interactive", "button"):
            picked = _picked(message)
            if picked is None:
                return []
            if picked.startswith("more:") and picked.removeprefix("more:").isdigit():
                await self._page(chat_id, int(picked.removeprefix("more:")))
                return []
            query = {"id": str(next(_ids)), "from": person, "chat_instance": "whatsapp", "data": picked}
            pressed = (message.get("context") or {}).get("id")  # the message whose button it was
            return [
                self._update(
                    callback_query=query | {"message": base | {"text": ""}}, whatsapp_pressed=pressed
                )
            ]
        if kind in ("image", "audio", "document"):
            return await self._media(chat_id, base, message, kind)
        if kind == "reaction":
            return []  # an emoji on a message: nothing to answer
        if kind == "sticker":
            sticker = {"file_id": "sticker", "file_unique_id": "sticker", "width": 512, "height": 512}
            sticker |= {"is_animated": False, "is_video": False, "type": "regular"}
            return [self._update(message=base | {"sticker": sticker})]
        if kind == "location":
            where = message.get("location") or {}
            location = {"latitude": where.get("latitude", 0), "longitude": where.get("longitude", 0)}
            return [self._update(message=base | {"location": location})]
        return [self._update(message=base)]  # a type the bot can't read: answered as such

    async def _media(
        self, chat_id: int, base: dict[str, Any], message: dict[str, Any], kind: str
    ) -> list[Update]:
        """A photo, voice note or document, downloaded and kept before its media id expires."""
        media = message.get(kind) or {}
        try:
            data, mime = await self.out.client.media(str(media.get("id", "")))
        except WhatsAppError:
            log.info("A WhatsApp %s could not be downloaded", kind)
            await self._say(chat_id, MEDIA_GONE)
            return []
        settings = self.application.bot_data.settings
        assert settings is not None
        file_id = whatsapp_media.keep(settings.data_dir, data, mime)
        caption = {"caption": str(media["caption"])} if media.get("caption") else {}
        held = {"file_id": file_id, "file_unique_id": file_id}
        if kind == "image":
            return [self._update(message=base | caption | {"photo": [held | {"width": 0, "height": 0}]})]
        if kind == "audio":
            return [self._update(message=base | {"voice": held | {"duration": 0, "mime_type": mime}})]
        document = held | {"mime_type": mime, "file_name": str(media.get("filename") or "file")}
        return [self._update(message=base | caption | {"document": document})]

    async def _page(self, chat_id: int, page: int) -> None:
        """The next page of the chat's last long list ("More…")."""
        menu = await self.out.menu(chat_id)
        if menu is not None:
            await self.out.say(chat_id, menu[0], await self._translator(chat_id), Priority.REPLY, page=page)

    async def _say(self, chat_id: int, text: str) -> None:
        tr = await self._translator(chat_id)
        await self.out.say(chat_id, Outgoing(tr.gettext(text)), tr, Priority.REPLY)

    async def _translator(self, chat_id: int) -> Translator:
        async with self.sessions() as session:
            champion = await champions.by_telegram_id(session, chat_id)
        settings = self.application.bot_data.settings
        return translator(
            champion.language if champion else (settings.default_language if settings else "en")
        )

    def _update(self, **content: Any) -> Update:
        update = Update.de_json({"update_id": next(_ids), **content}, self.application.bot)
        assert update is not None
        return update


def _typed(text: str) -> dict[str, Any]:
    """A message's text as Telegram would give it: "/help", "help" and "JOIN CODE" as commands."""
    joining = JOIN.match(text)
    if joining:
        text = f"/start {joining.group(1)}"
    elif text.strip().lower() in COMMAND_WORDS:
        text = "/" + COMMAND_WORDS[text.strip().lower()]
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0])
        return {"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": length}]}
    return {"text": text}


def _picked(message: dict[str, Any]) -> str | None:
    """The id of the reply button or list row pressed (a template's button: its payload)."""
    if message.get("type") == "button":
        payload = (message.get("button") or {}).get("payload")
        return str(payload) if payload else None
    reply = message.get("interactive") or {}
    picked = reply.get("button_reply") or reply.get("list_reply") or {}
    return str(picked["id"]) if picked.get("id") else None


def _error_code(status: dict[str, Any]) -> int | None:
    errors = status.get("errors") or []
    try:
        return int(errors[0]["code"]) if errors else None
    except (KeyError, TypeError, ValueError):
        return None


# Words people type for the commands Telegram offers in its menu (WhatsApp has no such menu).
COMMAND_WORDS = {word: word for word in ("start", "help", "cancel", "language", "report", "myreports")}
COMMAND_WORDS |= {word: word for word in ("learn", "progress", "weekly", "quiet", "privacy", "pause")}
COMMAND_WORDS |= {word: word for word in ("resume", "stop", "mydata", "deleteme")}
COMMAND_WORDS |= {"menu": "help"}
