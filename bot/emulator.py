"""A local Telegram Bot API emulator on loopback, for the sandbox and the tests.

It speaks the subset of the Bot API the bot uses (getMe, getUpdates with offset and long-poll
timeout, setWebhook/deleteWebhook, sendMessage, sendDocument, sendPhoto (a file id, or an upload
kept in `files` like a document's, with its real type and name), sendVoice, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, setMyCommands) and plays the users' side: people send
text, photos and voice notes, press buttons, edit messages, write in groups. It can be told to fail
for a chat (429 with retry_after, 403, 400, 5xx) or to hang, and to enforce Telegram's rate limits
with 429s; it keeps the most sends it saw in any one second (`send_peak`) for the benchmarks. It
can also play a network: each Bot API call (and each webhook post) waits a jittered round trip (`rtt`),
half before it is handled and half before its answer, as a bot far from Telegram's servers sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mimetypes
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from aiohttp import ClientSession, web

BOT_ID = 1000001
OVERALL_PER_SECOND = 30  # Telegram: about 30 messages a second overall
PER_CHAT_INTERVAL = 1.0  # Telegram: about one message a second per chat
LONG_POLL_CAP = 1.0  # answer long polls within a second so a stopping bot never waits long
TEXT_MAX = 4096  # Telegram: characters in a message's text, after entity parsing
CAPTION_MAX = 1024  # and in a photo's, document's or voice note's caption
CALLBACK_DATA_MAX = 64  # bytes of callback data on a button
QUERY_ANSWER_SECONDS = 15.0  # how long a button press can be answered (Telegram gives about this)
CLIENT_SPLIT = 4096  # clients send a longer text as several messages of at most this many UTF-16 units
JITTER = 0.2  # a round trip varies uniformly by this share either way

_JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "entities", "link_preview_options"}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id"}
_SEND_METHODS = {
    "sendphoto",
    "sendvoice",
    "sendmessage",
    "senddocument",
    "editmessagetext",
    "editmessagereplymarkup",
    "setmycommands",
}


class StoredFile(NamedTuple):
    """A file the bot uploaded or a person sent: its name, content type and bytes."""

    name: str
    content_type: str
    content: bytes


UNKNOWN_TYPE = "application/octet-stream"  # also what python-telegram-bot sends for bytes with no name
_SIGNATURES = [  # leading bytes of the kinds Telegram reads a photo or voice note from
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"OggS", "audio/ogg"),
    (b"%PDF-", "application/pdf"),
]


def stored_file(file_id: str, name: str | None, content_type: str | None, content: bytes) -> StoredFile:
    """What an upload is, as Telegram works it out: the content type it was sent with, else the one its
    bytes (or its name) show; its name, else (PTB names nameless bytes after their type, as
    "application.octet-stream") the file id with the type's extension."""
    kind = content_type if content_type and content_type != UNKNOWN_TYPE else None
    kind = kind or next((t for sign, t in _SIGNATURES if content.startswith(sign)), None)
    if kind is None and name:
        kind = mimetypes.guess_type(name, strict=False)[0]
    kind = kind or UNKNOWN_TYPE
    if not name or name == UNKNOWN_TYPE.replace("/", "."):
        name = file_id + (mimetypes.guess_extension(kind, strict=False) or "")
    return StoredFile(name, kind, content)


Event = Literal["push", "message", "edit", "answer"]
Listener = Callable[[Event, int], None]  # told of each update pushed and each reply, with the chat id


class ApiError(Exception):
    """An error answer from the emulated Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


NOT_STARTED = "Forbidden: bot can't initiate conversation with a user"
TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_FAULTS = {
    429: "Too Many Requests: retry after {retry_after}",
    403: "Forbidden: bot was blocked by the user",
    400: "Bad Request: chat not found",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Fault:
    """Answer `code` to the next `times` sends to a chat (None: until cleared)."""

    code: int
    times: int | None = 1
    retry_after: int = 1


@dataclass
class User:
    """A person; like Telegram, the bot can message them only once they have written to it (pressed
    Start) and until they block it."""

    id: int
    first_name: str
    language_code: str | None = None
    started: bool = False
    blocked: bool = False

    def as_api(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class Chat:
    """One chat's history as both sides see it."""

    id: int
    type: str = "private"
    title: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0  # goes up whenever anything in the chat changes
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def as_api(self, user: User | None = None) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            chat["title"] = self.title
        elif user:
            chat["first_name"] = user.first_name
        return chat

    def touch(self) -> None:
        self.version += 1
        self.changed.set()
        self.changed = asyncio.Event()


class Emulator:
    """In-memory Bot API server plus the users' side of every chat."""

    def __init__(
        self,
        *,
        bot_username: str = "champbot_sandbox_bot",
        enforce_limits: bool = False,
        rtt: float = 0.0,
        jitter: float = JITTER,
        seed: int | None = None,
    ) -> None:
        """`rtt`: seconds of network round trip each Bot API call waits (0: none), varied uniformly by
        `jitter` of it either way, from a random stream seeded with `seed` so benchmarks repeat."""
        self.bot_username = bot_username
        self.enforce_limits = enforce_limits
        self.rtt = rtt
        self.jitter = jitter
        self._network = random.Random(seed)
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # the network's wait (tests record it)
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.files: dict[str, StoredFile] = {}
        self.faults: dict[int, Fault] = {}
        self.holds: dict[int, tuple[asyncio.Event, asyncio.Event]] = {}  # chat → (arrived, released)
        self.calls: dict[str, int] = {}
        self.rate_limited = 0
        self.webhook: tuple[str, str | None] | None = None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._open_queries: dict[str, float] = {}  # presses not yet answered → when they were made
        self.clock: Callable[[], float] = time.time  # when people send and press (tests may fix it)
        self._new_update = asyncio.Event()
        self.messages_sent = 0  # by the bot, to any chat
        self._sent_event = asyncio.Event()
        self._recent_sends: deque[float] = deque()
        self._last_send_to: dict[int, float] = {}
        self.send_clock: Callable[[], float] = time.monotonic  # when sends arrive (tests may fix it)
        # The most send requests (refused ones too) within any one second: what a benchmark reads to
        # check the bot kept Telegram's limit. Set it to 0 to measure afresh.
        self.send_peak = 0
        self._last_second: deque[float] = deque()  # send requests within the last second
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.base_url = ""
        self.listener: Listener | None = None  # benchmarks time updates and replies per chat with it
        self._webhook_session: ClientSession | None = None  # one connection pool for webhook posts
        self._posting: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ server

    def routes(self) -> list[web.RouteDef]:
        """The Bot API routes, to add to an aiohttp application."""
        return [web.route("*", "/bot{token}/{method}", self._handle_api)]

    async def start(self, host: str = "127.0.0.1", port: int = 0, app: web.Application | None = None) -> str:
        """Serve on loopback (a free port by default); return the base URL for the bot."""
        self._runner, self.base_url = await serve(app or web.Application(), self.routes(), host, port)
        return self.base_url

    async def stop(self) -> None:
        """Stop serving, first waking anyone waiting on a chat so shutdown is prompt."""
        self._closing = True
        for chat in self.chats.values():
            chat.changed.set()
        for chat_id in list(self.holds):
            self.release(chat_id)
        self.release_polls()
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    def round_trip(self) -> float:
        """The next call's round trip, in seconds: `rtt` varied by up to `jitter` of it either way."""
        if not self.rtt:
            return 0.0
        return self.rtt * self._network.uniform(1 - self.jitter, 1 + self.jitter)

    async def _travel(self, seconds: float) -> None:
        if seconds > 0:
            await self.sleep(seconds)

    async def _handle_api(self, request: web.Request) -> web.Response:
        """A Bot API call, half its round trip on the way in and half on the way back."""
        trip = self.round_trip()
        await self._travel(trip / 2)
        response = await self._answer_api(request)
        await self._travel(trip / 2)
        return response

    async def _answer_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        self.calls[method] = self.calls.get(method, 0) + 1
        try:
            params = await _read_params(request)
        except ConnectionResetError:  # the bot went away (stopped) while its call was on the way
            return web.Response(status=499)
        try:
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if method in _SEND_METHODS:
                message = method != "setmycommands"  # the menu is not a message to a chat
                if message:
                    self._count_send()
                await self._wait_if_held(int(params.get("chat_id", 0)))
                self._check_send(int(params.get("chat_id", 0)), limited=message)
                self._check_reachable(int(params.get("chat_id", 0)))
            result = await handler(params)
        except ApiError as exc:
            return web.json_response(exc.body(), status=exc.code)
        return web.json_response({"ok": True, "result": result})

    # ------------------------------------------------------------- faults

    def fail(self, chat_id: int, code: int, *, times: int | None = 1, retry_after: int = 1) -> None:
        """Make the next `times` sends to `chat_id` answer `code` (None: until `clear_fault`)."""
        self.faults[chat_id] = Fault(code, times, retry_after)

    def clear_fault(self, chat_id: int) -> None:
        """Stop failing sends to a chat."""
        self.faults.pop(chat_id, None)

    def hold(self, chat_id: int) -> asyncio.Event:
        """Leave sends to `chat_id` hanging, like a dead connection, until `release` fails them (502):
        they are never delivered. The event returned is set when one arrives, so a test can act (kill
        the bot) while it is stuck mid-update."""
        arrived, released = asyncio.Event(), asyncio.Event()
        self.holds[chat_id] = (arrived, released)
        return arrived

    def release(self, chat_id: int) -> None:
        """Fail the held sends to a chat, and stop holding them."""
        if chat_id in self.holds:
            self.holds.pop(chat_id)[1].set()

    async def _wait_if_held(self, chat_id: int) -> None:
        if chat_id in self.holds:
            arrived, released = self.holds[chat_id]
            arrived.set()
            await released.wait()
            raise ApiError(502, _FAULTS[502])

    def _check_reachable(self, chat_id: int) -> None:
        """Telegram's 403s: a user who never wrote to the bot, or who blocked it."""
        user = self.users.get(chat_id)
        if user is not None and user.blocked:
            raise ApiError(403, _FAULTS[403])
        if user is not None and not user.started:
            raise ApiError(403, NOT_STARTED)

    def _count_send(self) -> None:
        """Keep `send_peak` up to date; only the last second's requests are kept."""
        now = self.send_clock()
        self._last_second.append(now)
        while now - self._last_second[0] >= 1.0:
            self._last_second.popleft()
        self.send_peak = max(self.send_peak, len(self._last_second))

    def _check_send(self, chat_id: int, *, limited: bool = True) -> None:
        """A fault set for the chat; then, unless not `limited`, Telegram's limits on messages."""
        fault = self.faults.get(chat_id)
        if fault is not None:
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[chat_id]
            description = _FAULTS.get(fault.code, "Error").format(retry_after=fault.retry_after)
            raise ApiError(fault.code, description, fault.retry_after if fault.code == 429 else None)
        if not self.enforce_limits or not limited:
            return
        now = self.send_clock()
        while self._recent_sends and now - self._recent_sends[0] >= 1.0:
            self._recent_sends.popleft()
        last = self._last_send_to.get(chat_id)
        if len(self._recent_sends) >= OVERALL_PER_SECOND or (
            last is not None and now - last < PER_CHAT_INTERVAL
        ):
            self.rate_limited += 1
            raise ApiError(429, _FAULTS[429].format(retry_after=1), 1)
        self._recent_sends.append(now)
        self._last_send_to[chat_id] = now

    # ------------------------------------------------------------ Bot API

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Champions Bot",
            "username": self.bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), min(timeout, LONG_POLL_CAP))
        return self._updates[:limit]

    def release_polls(self) -> None:
        """Answer any waiting getUpdates now (as Telegram does when a poller goes away)."""
        self._new_update.set()
        self._new_update = asyncio.Event()

    async def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = (str(params["url"]), params.get("secret_token"))
        return True

    async def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        scope = (params.get("scope") or {}).get("type", "default")
        self.commands[(scope, str(params.get("language_code") or ""))] = list(params["commands"])
        return True

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_MAX:
            raise ApiError(400, TOO_LONG)
        return self._bot_says(int(params["chat_id"]), {"text": text}, params.get("reply_markup"))

    def keep(self, upload: web.FileField | StoredFile) -> str:
        """Keep an upload (the bot's, or a person's) under a new file id, with its real type and name."""
        file_id = f"file-{len(self.files) + 1}"
        if isinstance(upload, web.FileField):
            upload = stored_file(file_id, upload.filename, upload.content_type, upload.file.read())
        self.files[file_id] = upload
        return file_id

    async def _api_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        if isinstance(document, str) and document in self.files:  # re-sent by file id
            file_id = document
        elif isinstance(document, web.FileField):
            file_id = self.keep(document)
        else:
            raise ApiError(400, "Bad Request: there is no document in the request")
        stored = self.files[file_id]
        content: dict[str, Any] = {
            "document": {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": stored.name,
                "mime_type": stored.content_type,
            }
        }
        if params.get("caption"):
            content["caption"] = str(params["caption"])
        return self._bot_says(int(params["chat_id"]), content, params.get("reply_markup"))

    async def _api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if isinstance(photo, web.FileField):  # uploaded: kept, like a document, under a new file id
            photo = self.keep(photo)
        if not isinstance(photo, str) or not photo:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        content: dict[str, Any] = {
            "photo": [{"file_id": photo, "file_unique_id": photo, "width": 90, "height": 90}]
        }
        if params.get("caption"):
            content["caption"] = str(params["caption"])
        return self._bot_says(int(params["chat_id"]), content, params.get("reply_markup"))

    async def _api_sendvoice(self, params: dict[str, Any]) -> dict[str, Any]:
        voice = params.get("voice")
        if not isinstance(voice, str) or not voice:
            raise ApiError(400, "Bad Request: there is no voice in the request")
        content: dict[str, Any] = {"voice": {"file_id": voice, "file_unique_id": voice, "duration": 1}}
        if params.get("caption"):
            content["caption"] = str(params["caption"])
        return self._bot_says(int(params["chat_id"]), content, params.get("reply_markup"))

    async def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message(int(params["chat_id"]), int(params["message_id"]))
        text = str(params.get("text", ""))
        markup = params.get("reply_markup")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_MAX:
            raise ApiError(400, TOO_LONG)
        _check_markup(markup)
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = text
        self._set_markup(message, markup)
        return self._edited(int(params["chat_id"]), message)

    async def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message(int(params["chat_id"]), int(params["message_id"]))
        markup = params.get("reply_markup")
        _check_markup(markup)
        if message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        self._set_markup(message, markup)
        return self._edited(int(params["chat_id"]), message)

    async def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params["callback_query_id"])
        pressed = self._open_queries.pop(query_id, None)  # like Telegram, a press is answered once
        if pressed is None or self.clock() - pressed > QUERY_ANSWER_SECONDS:
            raise ApiError(400, QUERY_TOO_OLD)
        chat_id = int(query_id.split(":", 1)[0])
        if params.get("text"):
            self._record(chat_id, {"from_bot": True, "notice": str(params["text"])})
        self._tell("answer", chat_id)
        return True

    def _bot_says(self, chat_id: int, content: dict[str, Any], markup: Any) -> dict[str, Any]:
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if len(content.get("caption", "")) > CAPTION_MAX:
            raise ApiError(400, CAPTION_TOO_LONG)
        _check_markup(markup)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "from_bot": True,
            **content,
        }
        self._set_markup(message, markup)
        self._record(chat_id, message)
        self._tell("message", chat_id)
        self.messages_sent += 1
        self._sent_event.set()
        self._sent_event = asyncio.Event()
        return self._as_api(chat_id, message)

    async def wait_for_sent(self, count: int, timeout: float) -> None:
        """Wait until the bot has sent at least `count` messages in all."""
        async with asyncio.timeout(timeout):
            while self.messages_sent < count:
                await self._sent_event.wait()

    def _bot_message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        chat = self.chats.get(chat_id)
        for message in chat.messages if chat else []:
            if message.get("message_id") == message_id and message.get("from_bot"):
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    def _edited(self, chat_id: int, message: dict[str, Any]) -> dict[str, Any]:
        message["edited"] = True
        self.chats[chat_id].touch()
        self._tell("edit", chat_id)
        return self._as_api(chat_id, message)

    @staticmethod
    def _set_markup(message: dict[str, Any], markup: Any) -> None:
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _as_api(self, chat_id: int, message: dict[str, Any]) -> dict[str, Any]:
        api = {k: v for k, v in message.items() if k not in {"from_bot", "edited"}}
        api["chat"] = self.chats[chat_id].as_api(self.users.get(chat_id))
        api["from"] = self._bot_user()
        if message.get("edited"):
            api["edit_date"] = int(time.time())
        return api

    def _tell(self, event: Event, chat_id: int) -> None:
        if self.listener is not None:
            self.listener(event, chat_id)

    def _record(self, chat_id: int, message: dict[str, Any]) -> None:
        chat = self.chats[chat_id]
        chat.messages.append(message)
        chat.touch()

    # --------------------------------------------------------- users' side

    def add_user(
        self, user_id: int, first_name: str, language_code: str | None = "en", *, started: bool = False
    ) -> User:
        """A person with a private chat with the bot; `started` as if they had already written to it."""
        user = User(user_id, first_name, language_code, started=started)
        self.users[user_id] = user
        self.chats.setdefault(user_id, Chat(user_id))
        return user

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to them answer 403 until they write to it again."""
        self.users[user_id].blocked = True

    def _writes(self, user_id: int) -> User:
        """The user writes to the bot (a message or a press), which starts or unblocks the chat."""
        user = self.users[user_id]
        user.started, user.blocked = True, False
        return user

    def add_group(self, chat_id: int, title: str, kind: str = "group") -> Chat:
        """A group or channel the bot is in."""
        chat = Chat(chat_id, type=kind, title=title)
        self.chats[chat_id] = chat
        return chat

    def send(self, user_id: int, text: str, *, chat_id: int | None = None) -> int:
        """The user sends text (or a /command) in their private chat or a group; returns the update id
        (the last part's, when a long text is split)."""
        return self.send_parts(user_id, text, chat_id=chat_id)[-1]

    def send_parts(self, user_id: int, text: str, *, chat_id: int | None = None) -> list[int]:
        """The user sends text as their client would: over 4096 characters, as several messages sent
        together, each its own update; returns the update ids in order."""
        return [self._send_one(user_id, part, chat_id) for part in split_like_clients(text)]

    def _send_one(self, user_id: int, text: str, chat_id: int | None) -> int:
        user = self._writes(user_id)
        chat = self.chats[chat_id if chat_id is not None else user_id]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(self.clock()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self._record(chat.id, {**message, "from_bot": False})
        if chat.type == "channel":
            return self._push(chat.id, {"channel_post": {**message, "chat": chat.as_api()}})
        return self._push(chat.id, {"message": {**message, "chat": chat.as_api(user), "from": user.as_api()}})

    def send_photo(self, user_id: int, caption: str | None = None, photo: StoredFile | None = None) -> int:
        """The user sends a photo in their private chat: `photo`, kept in `files`, or one not kept."""
        user = self._writes(user_id)
        file_id = self.keep(photo) if photo else "photo-1"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "photo": [{"file_id": file_id, "file_unique_id": file_id, "width": 90, "height": 90}],
        }
        if caption:
            message["caption"] = caption
        self._record(user_id, {**message, "from_bot": False})
        return self._push(
            user_id, {"message": {**message, "chat": self.chats[user_id].as_api(user), "from": user.as_api()}}
        )

    def send_voice(
        self,
        user_id: int,
        chat_id: int | None = None,
        *,
        caption: str | None = None,
        voice: StoredFile | None = None,
    ) -> int:
        """The user sends a voice note in their private chat or a group: `voice`, kept in `files`, or one
        not kept."""
        user = self._writes(user_id)
        chat = self.chats[chat_id if chat_id is not None else user_id]
        file_id = self.keep(voice) if voice else "voice-1"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "voice": {"file_id": file_id, "file_unique_id": file_id, "duration": 5},
        }
        if caption:
            message["caption"] = caption
        self._record(chat.id, {**message, "from_bot": False})
        return self._push(chat.id, {"message": {**message, "chat": chat.as_api(user), "from": user.as_api()}})

    def edit(self, user_id: int, message_id: int, text: str) -> int:
        """The user edits a message they sent earlier."""
        user = self._writes(user_id)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "text": text,
        }
        return self._push(
            user_id,
            {"edited_message": {**message, "chat": self.chats[user_id].as_api(user), "from": user.as_api()}},
        )

    def press(self, user_id: int, message_id: int, data: str) -> int:
        """The user presses an inline button (or sends any callback data) on a bot message."""
        user = self._writes(user_id)
        chat = self.chats[user_id]
        message = next((m for m in chat.messages if m.get("message_id") == message_id), None)
        query: dict[str, Any] = {
            "id": f"{user_id}:{next(self._query_ids)}",
            "from": user.as_api(),
            "chat_instance": str(user_id),
            "data": data,
        }
        if message is not None:
            query["message"] = self._as_api(user_id, message)
        self._open_queries[query["id"]] = self.clock()
        return self._push(user_id, {"callback_query": query})

    def push_raw(self, update: dict[str, Any]) -> int:
        """Queue an update exactly as given (it may be malformed, as a Bot API server of another make
        or a newer field type could send), with the next update id; returns that id."""
        return self._push(0, update)

    def age_queries(self, seconds: float) -> None:
        """Make every press not yet answered `seconds` older, as if the bot had been slow to answer."""
        for query_id in self._open_queries:
            self._open_queries[query_id] -= seconds

    def _push(self, chat_id: int, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **update}
        self._tell("push", chat_id)
        if self.webhook:
            task = asyncio.get_running_loop().create_task(self._post_webhook(update))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        else:
            self._updates.append(update)
            self.release_polls()
        return update_id

    async def _post_webhook(self, update: dict[str, Any]) -> None:
        assert self.webhook
        url, secret = self.webhook
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        await self._travel(self.round_trip() / 2)  # the update's way to the bot
        if self._webhook_session is None:
            self._webhook_session = ClientSession()
        async with self._webhook_session.post(url, json=update, headers=headers):
            pass

    async def wait_for_change(self, chat_id: int, timeout: float) -> bool:
        """Wait until something happens in a chat; False on timeout or when the emulator is stopping."""
        if self._closing:
            return False
        try:
            await asyncio.wait_for(self.chats[chat_id].changed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def restore(self, chats: dict[int, list[dict[str, Any]]], files: dict[str, StoredFile]) -> None:
        """Chats' messages and the files they show, from an earlier run; new message ids go on from the
        highest, so none is used twice."""
        for chat_id, messages in chats.items():
            self.chats.setdefault(chat_id, Chat(chat_id)).messages = messages
        self.files.update(files)
        highest = max((m.get("message_id", 0) for ms in chats.values() for m in ms), default=0)
        self._message_ids = itertools.count(highest + 1)

    def history(self, chat_id: int) -> list[dict[str, Any]]:
        """Everything in a chat, oldest first."""
        return self.chats[chat_id].messages


async def serve(
    app: web.Application, routes: list[web.RouteDef], host: str, port: int
) -> tuple[web.AppRunner, str]:
    """Serve `routes` on `app` at host:port (0: a free port); the runner and the root URL."""
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, f"http://{host}:{runner.addresses[0][1]}"


def parse_rtt(text: str) -> float:
    """A round trip as written on a command line, in seconds: "60ms", "0.06s", or "60" (milliseconds)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?\s*", text)
    if found is None:
        raise ValueError(f"not a round trip: {text!r} (e.g. 60ms or 0.06s)")
    value = float(found[1])
    return value if found[2] == "s" else value / 1000


def utf16_length(text: str) -> int:
    """Length as Telegram clients count it: in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def split_like_clients(text: str, limit: int = CLIENT_SPLIT) -> list[str]:
    """Split a long text the way Telegram Desktop does before sending: each part at most `limit`
    UTF-16 units, cut after the last line break (else space) in the part's second half, or at the
    limit if there is none (Android always cuts at the limit); the whitespace at a cut is dropped,
    as Telegram trims every message."""
    if utf16_length(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        end = units = 0
        for char in rest:
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                break
            end += 1
        window = rest[:end]
        half = len(window) // 2
        cut = next(
            (i + 1 for sep in ("\n", " ") if (i := window.rfind(sep, half)) >= 0),
            end,
        )
        parts.append(window[:cut].strip())
        rest = rest[cut:].lstrip()
    return [part for part in [*parts, rest] if part]


def _check_markup(markup: Any) -> None:
    """Refuse callback data Telegram refuses: 1-64 bytes."""
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_MAX:
                raise ApiError(400, BUTTON_DATA_INVALID)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Bot API parameters from a query string, JSON body, form or multipart upload."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
        return params
    if request.body_exists:
        form = await request.post()
        params.update(form)  # an upload stays a FileField, for `Emulator.keep`
    for key in _JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            params[key] = json.loads(params[key])
    for key in _INT_FIELDS & params.keys():
        params[key] = int(params[key])
    return params
