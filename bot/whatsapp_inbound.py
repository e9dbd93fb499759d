"""WhatsApp's webhook: Meta's verification, then every signed POST turned into the updates the
handlers already know.

The signature is checked on the raw body before anything else is read. Each message is claimed by
its id and kept (`storage.inbound`) before the 200 goes back, so a repeat is dropped and one Meta
was told we have is never lost; it is handled after, in the background (`Inbox`), so Meta's
webhook is answered in milliseconds whatever the journey costs. The person's identity gives the
chat key the handlers see as their chat and user id; the message becomes a Telegram-shaped update
(a typed command as a command, "JOIN CODE" as /start CODE, a button or list reply as a button
press, a photo or voice note as one, downloaded first: WhatsApp's media ids expire after 7 days)
and goes through the same Application, whose replies to a WhatsApp chat go out through
`bot.whatsapp_replies`.
"""

from __future__ import annotations

import asyncio
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
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
# Messages handled at once. One keeps the webhook quick: its claims wait behind at most one journey's
# step (bench figure 14: p99 33 ms at 100/s on PostgreSQL with 1, 99 ms with 4); more processes
# handle more (claims already share the work between them).
CONCURRENCY = 1
JOIN = re.compile(r"^\s*join\s+(\S+)\s*$", re.IGNORECASE)
MEDIA_GONE = N_("Sorry, I couldn't receive that file. Please send it again.")
_ids = itertools.count(int(time.time() * 1000))  # update and message ids, unique in this process


def signed(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is Meta's signature of this raw body with the app secret."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.encode(), expected.encode())


def whatsapp_routes(application: App, path: str = "/whatsapp") -> list[web.RouteDef]:
    """The webhook's GET (verification) and POST (messages and statuses) at `path`."""
    settings, inbox = application.bot_data.settings, application.bot_data.whatsapp_inbox
    assert settings is not None and settings.whatsapp_app_secret is not None and inbox is not None
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
            await inbox.receive(_json(body))
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


class Inbox:
    """The process's WhatsApp inbox: a webhook's messages are claimed (and kept) in one transaction
    before Meta gets its 200, then handled in the background, one person's messages in the order
    they came, a few people at a time. A message whose handling was cut short (a crash, WhatsApp
    unreachable for its media) stays unhandled and is taken up again by `recover`."""

    def __init__(self, application: App, concurrency: int = CONCURRENCY) -> None:
        self.application = application
        self._slots = asyncio.Semaphore(concurrency)
        self._last: dict[str, asyncio.Task[None]] = {}  # the newest handling of each person's messages
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def out(self) -> WhatsAppOut:
        out = self.application.bot_data.whatsapp
        assert out is not None
        return out

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        assert self.application.bot_data.sessions is not None
        return self.application.bot_data.sessions

    async def receive(self, payload: dict[str, Any]) -> None:
        """Keep a webhook's statuses and claim its messages; their handling starts in the background."""
        statuses, messages = [], []
        for value in _changes(payload):
            statuses += [
                whatsapp_statuses.Status(
                    str(s["id"]), str(s["status"]), _when(s.get("timestamp")), _error_code(s)
                )
                for s in value.get("statuses", [])
                if isinstance(s, dict) and "id" in s and s.get("status") in whatsapp_statuses.KEPT
            ]
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
                    messages.append(
                        {"message": message, "contact": contacts.get(sender, {}) if sender else {}}
                    )
        if not statuses and not messages:
            return
        now = utcnow()
        async with self.sessions.begin() as session:
            await whatsapp_statuses.keep(session, statuses)
            claimed = [
                kept
                for kept in messages
                if await inbound.claim(session, str(kept["message"]["id"]), now, kept)
            ]
        if len(claimed) < len(messages):
            log.info("Dropped %s repeated WhatsApp messages", len(messages) - len(claimed))
        for kept in claimed:
            self._start(kept)

    async def recover(self) -> int:
        """Take up messages claimed but not handled for a while (their worker died); how many."""
        async with self.sessions.begin() as session:
            stale = await inbound.retake_stale(session, utcnow())
        for kept in stale:
            self._start(kept)
        return len(stale)

    async def settle(self) -> None:
        """Wait until every message taken in has been handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start(self, kept: dict[str, Any]) -> None:
        """Handle a message after the same person's earlier ones."""
        address = _address(kept["message"], kept["contact"]) or ""
        task = asyncio.get_running_loop().create_task(self._after(self._last.get(address), kept))
        self._last[address] = task
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._last.get(address) is finished:
                del self._last[address]

        task.add_done_callback(done)

    async def _after(self, earlier: asyncio.Task[None] | None, kept: dict[str, Any]) -> None:
        if earlier is not None:
            await asyncio.gather(earlier, return_exceptions=True)
        async with self._slots:
            try:
                await self.message(kept["message"], kept["contact"])
            except WhatsAppUnavailable:
                log.warning("A WhatsApp message waits for WhatsApp to be reachable again")
            except Exception:  # kept unhandled: `recover` takes it up again
                log.exception("A WhatsApp message could not be handled")

    async def message(self, message: dict[str, Any], contact: dict[str, Any]) -> None:
        """Handle one claimed message: renew the person's window, hand it to the bot, mark it handled."""
        wamid = str(message["id"])
        phone = message.get("from") or contact.get("wa_id")
        address = _address(message, contact)
        if address is not None:
            now = utcnow()
            try:
                chat_id = await self._wrote(address, phone and str(phone), now)
            except IntegrityError:  # their first two messages at once: the other made the identity
                chat_id = await self._wrote(address, phone and str(phone), now)
            self.out.addresses[chat_id] = str(phone or address)
            name = str((contact.get("profile") or {}).get("name") or "WhatsApp")[:64]
            for update in await self.updates(chat_id, name, message):
                processor = self.application.update_processor
                await processor.process_update(update, self.application.process_update(update))
        async with self.sessions.begin() as session:
            await inbound.handled(session, wamid, utcnow())

    async def _wrote(self, address: str, phone: str | None, now: datetime) -> int:
        """Renew the sender's window; their chat key."""
        async with self.sessions.begin() as session:
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


def _address(message: dict[str, Any], contact: dict[str, Any]) -> str | None:
    """Who sent a message: their BSUID, else their phone number's digits."""
    address = (
        contact.get("user_id") or message.get("from_user_id") or message.get("from") or contact.get("wa_id")
    )
    return str(address) if address else None


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
COMMAND_WORDS |= {word: word for word in ("resume", "stop", "mydata", "deleteme", "timezone", "log")}
COMMAND_WORDS |= {"menu": "help"}
