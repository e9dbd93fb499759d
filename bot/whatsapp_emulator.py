"""A local WhatsApp Cloud API emulator on loopback, for the sandbox and the tests.

It serves the Graph API calls the bot makes, under `http://127.0.0.1:<port>/v23.0`: `POST
/{phone_number_id}/messages` (text, interactive reply buttons and lists, image/audio/document/video/
sticker by media id or link, templates, and a read receipt), `POST /{phone_number_id}/media` (a
multipart upload), `GET`/`DELETE /{media_id}`, and the media URL that `GET /{media_id}` returns (a
bearer token needed there too). It answers as Graph does: `{"messaging_product", "contacts": [{"input",
"wa_id" | "user_id"}], "messages": [{"id": "wamid..."}]}`, or an error body `{"error": {"message",
"type", "code", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}` with the HTTP status
Meta gives that code. Every request is kept in `requests` (method, path, body) for tests to check
against Meta's OpenAPI description.

It enforces what the Cloud API enforces: the limits on text and interactive messages, the 24-hour
customer service window (error 131047), registered templates with their parameter count (132001,
132000), per-number throughput (130429), the pair limit per recipient (131056), unreachable people
(131026) and the marketing cap per person (131049). As on Meta's servers, 131047, 131026 and 131049
come back asynchronously by default: the send is accepted with a wamid and a `failed` status webhook
follows (`async_errors=False` answers them synchronously instead). Faults can be injected per person:
a Graph error for the next sends (`fail`), an asynchronous failure (`fail_async`), a send left
hanging until released (`hold`), and a network round trip for every call (`rtt`).

It plays the people's side: each person's message is posted to the bot's `webhook_url` as Meta posts
it (`object: whatsapp_business_account`, signed `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw
body with the app secret>`, JSON with non-ASCII and `/` escaped as Meta's encoder does), retried with
backoff when the bot answers other than 2xx; statuses `sent` and `delivered` follow each accepted send
(optionally out of order), `read` when the person reads. People are known by their business-scoped user
id (BSUID, e.g. "GB.1234567890"), with a phone number only where they share one: the webhook's contact
then carries `wa_id` beside `user_id`, and the message `from` beside `from_user_id`. The bot sends to a
phone number in `to`, or to a BSUID in `recipient` (Meta's field for it; `to` wins when both are given).

Times: `clock` (wall time, moved forward by `age`) decides the window and media expiry (7 days for media
people send, 30 for uploads, 5 minutes for a media URL); `send_clock` (monotonic) decides the rate limits.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple
from urllib.parse import urlencode

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.emulator import serve

VERSION = "v23.0"
TOKEN = "emulator-access-token"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "15550783881"
WABA_ID = "102290129340398"
APP_SECRET = "emulator-app-secret"

WINDOW_SECONDS = 24 * 3600  # the customer service window each message from a person opens
THROUGHPUT = 80.0  # messages a second per business number, by default
PAIR_INTERVAL = 6.0  # one message every 6 s to the same person ...
PAIR_BURST = 45  # ... after a burst of up to 45, borrowed against that rate
DAY = 24 * 3600.0
INBOUND_MEDIA_TTL = 7 * DAY  # a media id in a webhook
UPLOAD_MEDIA_TTL = 30 * DAY  # a media id from an upload
MEDIA_URL_TTL = 300.0  # the URL GET /{media_id} gives
JITTER = 0.2

TEXT_MAX = 4096
CAPTION_MAX = 1024
INTERACTIVE_BODY_MAX = 1024
HEADER_MAX = 60
FOOTER_MAX = 60
BUTTONS_MIN, BUTTONS_MAX = 1, 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
SECTIONS_MAX = 10
SECTION_TITLE_MAX = 24
ROWS_MAX = 10  # in all sections together
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200

BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
PHONE = re.compile(r"\+?[1-9]\d{6,14}")
DOWNLOAD_PATH = "/whatsapp_business/attachments/"
MEDIA_KINDS = ("image", "audio", "document", "video", "sticker")
# What the Cloud API takes, by kind: the types and the largest file.
MEDIA_TYPES: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * 2**20),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * 2**20,
    ),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * 2**20),
    "sticker": (frozenset({"image/webp"}), 500 * 2**10),
    "document": (
        frozenset(
            {
                "text/plain",
                "text/csv",
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * 2**20,
    ),
}

# Meta's error codes the emulator gives: title (Meta puts it in `message` as "(#code) title"), HTTP
# status, and the `details` Meta gives when the request does not say more.
ERRORS: dict[int, tuple[str, int, str]] = {
    1: ("API Unknown", 400, "Invalid request or possible server error."),
    2: ("API Service", 503, "Temporary due to downtime or due to being overloaded."),
    100: ("Invalid parameter", 400, "The request included one or more unsupported or misspelled parameters."),
    130429: ("Rate limit hit", 400, "Cloud API message throughput has been reached."),
    131000: ("Something went wrong", 500, "Message failed to send due to an unknown error."),
    131008: ("Required parameter is missing", 400, "The request is missing a required parameter."),
    131009: ("Parameter value is not valid", 400, "One or more parameter values are invalid."),
    131016: ("Service unavailable", 503, "A service is temporarily unavailable."),
    131021: ("Recipient cannot be sender", 400, "Sender and recipient phone number is the same."),
    131026: (
        "Message Undeliverable",
        400,
        "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp "
        "phone number; the recipient has not accepted our new Terms of Service and Privacy Policy; "
        "the recipient is using an old WhatsApp version.",
    ),
    131047: (
        "Re-engagement message",
        400,
        "Message failed to send because more than 24 hours have passed since the customer last "
        "replied to this number.",
    ),
    131048: (
        "Spam rate limit hit",
        400,
        "Message failed to send because there are restrictions on how many messages can be sent from "
        "this phone number.",
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        400,
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131051: ("Unsupported message type", 400, "Message type is not currently supported."),
    131053: ("Media upload error", 400, "Unable to upload the media used in the message."),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        400,
        "Too many messages sent from the sender phone number to the same recipient phone number in a "
        "short period of time.",
    ),
    132000: (
        "Number of parameters does not match the expected number of params",
        400,
        "The number of variable parameter values included in the request did not match the number "
        "of variable parameters defined in the template.",
    ),
    132001: ("Template name does not exist in the translation", 404, "The template does not exist."),
}
ASYNC_CODES = frozenset({131026, 131047, 131049})  # reported by a failed status webhook on Meta's side
THROTTLING_SUBCODE = 2494055  # Graph's error_subcode on 130429 and 131056
HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

StatusName = Literal["sent", "delivered", "read", "failed"]
_STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3}
Event = Literal["push", "message", "status"]
Listener = Callable[[Event, str], None]  # told of each person's message, bot message and status


def _fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)


class GraphError(Exception):
    """An error answer from the emulated Graph API."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        kind: str = "OAuthException",
        subcode: int | None = None,
        error_data: bool = True,
    ) -> None:
        known_title, known_status, known_details = ERRORS.get(code, ("Unknown error", 400, ""))
        self.code = code
        self.title = title or known_title
        self.status = status or known_status
        self.details = details if details is not None else known_details
        self.kind = kind
        self.subcode = (
            subcode if subcode is not None else (THROTTLING_SUBCODE if code in {130429, 131056} else None)
        )
        self.error_data = error_data
        super().__init__(f"({code}) {self.title}: {self.details}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": f"(#{self.code}) {self.title}" if self.error_data else self.title,
            "type": self.kind,
            "code": self.code,
        }
        if self.error_data:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = _fbtrace_id()
        return {"error": error}

    def as_status_error(self) -> dict[str, Any]:
        """The error as a failed status webhook gives it."""
        return {
            "code": self.code,
            "title": self.title,
            "message": self.title,
            "error_data": {"details": self.details},
            "href": HREF,
        }


def bad_token() -> GraphError:
    """Graph's answer to a missing or wrong access token."""
    return GraphError(
        190, status=401, title="Invalid OAuth access token - Cannot parse access token", error_data=False
    )


def no_object(object_id: str, method: str = "get") -> GraphError:
    """Graph's answer for an id that does not exist (or no longer does, like an expired media id)."""
    return GraphError(
        100,
        status=400,
        title=(
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please read the "
            "Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
        kind="GraphMethodException",
        subcode=33,
        error_data=False,
    )


def _too_long(param: str, limit: int) -> GraphError:
    return GraphError(100, f"Param {param} must be at most {limit} characters long.")


def _missing(param: str) -> GraphError:
    return GraphError(131008, f"The parameter {param} is required.")


def _invalid(details: str) -> GraphError:
    return GraphError(131009, details)


@dataclass
class Recorded:
    """A request the emulator received: method, path, query, content type, body (JSON, or the form's
    fields with an upload's bytes) and the HTTP status it was answered with."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any
    status: int | None = None


class WebhookPost(NamedTuple):
    """One attempt to post a webhook: the raw body, and the bot's HTTP status (None: no answer)."""

    raw: bytes
    status: int | None
    attempt: int


@dataclass
class Template:
    """A message template as approved in WhatsApp Manager, for one language."""

    name: str
    language: str
    category: Literal["marketing", "utility", "authentication"]
    body_params: int
    text: str | None = None  # the body with {{1}}, {{2}}, ... for the history to show it filled in
    buttons: tuple[str, ...] = ()  # its quick-reply buttons' titles, in order


@dataclass
class Media:
    """A file the bot uploaded or a person sent."""

    id: str
    data: bytes
    mime: str
    created: float
    ttl: float
    filename: str | None = None
    expired: bool = False

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.data).digest()


@dataclass
class Fault:
    """Answer `code` to the next `times` sends to a person (None: until cleared)."""

    code: int
    times: int | None = 1


@dataclass
class Person:
    """A WhatsApp user the business can message, and their chat with it as both sides see it."""

    address: str  # the business-scoped user id
    phone: str | None
    name: str
    last_inbound: float | None = None  # by the emulator's clock
    reachable: bool = True
    marketing_capped: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.version += 1
        self.changed.set()
        self.changed = asyncio.Event()

    def contact(self) -> dict[str, Any]:
        contact: dict[str, Any] = {"profile": {"name": self.name}}
        if self.phone:
            contact["wa_id"] = self.phone
        contact["user_id"] = self.address
        return contact


class WhatsAppEmulator:
    """In-memory WhatsApp Cloud API (Graph API) server plus the people's side of every chat."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        phone_number_id: str = PHONE_NUMBER_ID,
        display_phone_number: str = DISPLAY_PHONE_NUMBER,
        waba_id: str = WABA_ID,
        app_secret: str = APP_SECRET,
        webhook_url: str | None = None,
        version: str = VERSION,
        throughput: float | None = THROUGHPUT,
        pair_interval: float | None = PAIR_INTERVAL,
        pair_burst: int = PAIR_BURST,
        statuses: bool = True,
        statuses_out_of_order: bool = False,
        async_errors: bool = True,
        webhook_retries: int = 3,
        webhook_backoff: float = 0.05,
        rtt: float = 0.0,
        jitter: float = JITTER,
        seed: int | None = None,
    ) -> None:
        """`throughput`: messages a second the number may send (None: no limit); `pair_interval` and
        `pair_burst`: the pair limit (None: off); `statuses`: post sent and delivered after each
        accepted send; `async_errors`: report 131047, 131026 and 131049 by a failed status webhook (as
        Meta does) rather than as the send's answer; `webhook_retries` more tries, `webhook_backoff`
        seconds before the first (doubling), for a webhook the bot answers other than 2xx; `rtt`: the
        network round trip of every call and webhook, varied by `jitter` of it from a stream seeded
        with `seed`."""
        self.token = token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self.version = version
        self.throughput = throughput
        self.pair_interval = pair_interval
        self.pair_burst = pair_burst
        self.statuses = statuses
        self.statuses_out_of_order = statuses_out_of_order
        self.async_errors = async_errors
        self.webhook_retries = webhook_retries
        self.webhook_backoff = webhook_backoff
        self.rtt = rtt
        self.jitter = jitter
        self._network = random.Random(seed)
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # the network's and backoff's wait
        self.clock: Callable[[], float] = time.time  # wall time: window, media expiry, timestamps
        self.send_clock: Callable[[], float] = time.monotonic  # rate limits (tests may fix it)
        self._skew = 0.0  # how far `age` has moved the clock
        self.people: dict[str, Person] = {}
        self._by_phone: dict[str, str] = {}
        self.templates: dict[tuple[str, str], Template] = {}
        self.media: dict[str, Media] = {}
        self.faults: dict[str, Fault] = {}
        self.async_faults: dict[str, Fault] = {}
        self.holds: dict[str, tuple[asyncio.Event, asyncio.Event]] = {}  # address → (arrived, released)
        self.requests: list[Recorded] = []
        self.webhook_log: list[WebhookPost] = []
        self.webhooks_dropped = 0  # posts that failed every try
        self.refused: dict[int, int] = {}  # error code → sends answered with it
        self.messages_sent = 0  # accepted sends (each got a wamid)
        self.send_peak = 0  # most message sends (refused ones too) within any one second
        self.listener: Listener | None = None
        self._last_second: deque[float] = deque()
        self._accepted: deque[float] = deque()
        self._pair_due: dict[str, float] = {}  # GCRA: when each pair's next message is due
        self._sent_event = asyncio.Event()
        self._message_index: dict[str, tuple[Person | None, dict[str, Any]]] = {}
        self._raw_inbound: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._media_ids = itertools.count(1_000_000_000_000_001)
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._session: ClientSession | None = None
        self._posting: set[asyncio.Task[None]] = set()
        self.root_url = ""
        self.base_url = ""

    # ------------------------------------------------------------------ server

    def routes(self) -> list[web.RouteDef]:
        """The Graph API routes, to add to an aiohttp application."""
        version = r"{version:v\d+\.\d+}"
        return [
            web.post(f"/{version}/{{number}}/messages", self._handle_messages),
            web.post(f"/{version}/{{number}}/media", self._handle_upload),
            web.get(f"/{version}/{{media_id}}", self._handle_media),
            web.delete(f"/{version}/{{media_id}}", self._handle_delete_media),
            web.get(DOWNLOAD_PATH, self._handle_download),
        ]

    async def start(self, host: str = "127.0.0.1", port: int = 0, app: web.Application | None = None) -> str:
        """Serve on loopback (a free port by default); return the Graph base URL for the bot, like
        `http://127.0.0.1:<port>/v23.0`."""
        app = app or web.Application(client_max_size=101 * 2**20)
        self._runner, self.root_url = await serve(app, self.routes(), host, port)
        self.base_url = f"{self.root_url}/{self.version}"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving: wake anyone waiting, fail held sends, drop webhook posts still retrying."""
        self._closing = True
        for person in self.people.values():
            person.changed.set()
        for address in list(self.holds):
            self.release(address)
        for task in list(self._posting):
            task.cancel()
        for task in list(self._posting):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None
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

    def now(self) -> float:
        """The emulator's wall clock, as moved by `age`."""
        return self.clock() + self._skew

    def age(self, *, days: float = 0, hours: float = 0, seconds: float = 0) -> None:
        """Move the wall clock forward: windows close and media ids expire as if that time had passed."""
        self._skew += days * DAY + hours * 3600 + seconds

    async def _serve(
        self, request: web.Request, answer: Callable[[web.Request, Any], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Record a call, check its token, answer it; half the round trip on the way in, half out."""
        trip = self.round_trip()
        await self._travel(trip / 2)
        try:
            body = await self._read_body(request)
        except ConnectionResetError:  # the bot went away while its call was on the way
            return web.Response(status=499)
        except GraphError as exc:
            return web.json_response(exc.body(), status=exc.status)
        recorded = Recorded(request.method, request.path, dict(request.query), request.content_type, body)
        self.requests.append(recorded)
        try:
            self._check_token(request)
            response = await answer(request, body)
        except GraphError as exc:
            response = web.json_response(exc.body(), status=exc.status)
        recorded.status = response.status
        await self._travel(trip / 2)
        return response

    async def _read_body(self, request: web.Request) -> Any:
        if not request.body_exists:
            return None
        if request.content_type == "application/json":
            try:
                return await request.json()
            except ValueError as exc:
                raise GraphError(100, "The request body is not valid JSON.") from exc
        if request.content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
            form: dict[str, Any] = {}
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    form[name] = value.file.read()
                    form[f"{name}.filename"] = value.filename
                    form[f"{name}.content_type"] = value.content_type
                else:
                    form[name] = value
            return form
        return await request.read()

    def _check_token(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        given = header[7:] if header[:7].lower() == "bearer " else request.query.get("access_token", "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise bad_token()

    def _check_number(self, request: web.Request) -> None:
        number = request.match_info["number"]
        if number != self.phone_number_id:
            raise no_object(number, "post")

    # ------------------------------------------------------------- faults

    def fail(self, address: str, code: int, *, times: int | None = 1) -> None:
        """Answer the next `times` sends to a person with Graph error `code` (None: until
        `clear_fault`); a 5xx code such as 131000, 131016 or 2 answers with its 5xx status."""
        self.faults[address] = Fault(code, times)

    def fail_async(self, address: str, code: int, *, times: int | None = 1) -> None:
        """Accept the next `times` sends to a person, then report each failed with `code` by a status
        webhook, as Meta does for errors found after the send was taken."""
        self.async_faults[address] = Fault(code, times)

    def clear_fault(self, address: str) -> None:
        """Stop failing sends to a person."""
        self.faults.pop(address, None)
        self.async_faults.pop(address, None)

    def unreachable(self, address: str, value: bool = True) -> None:
        """The person can no longer be reached (not on WhatsApp, old app, terms not accepted): 131026."""
        self.people[address].reachable = not value

    def cap_marketing(self, address: str, value: bool = True) -> None:
        """The person has had their share of marketing messages: marketing templates give 131049."""
        self.people[address].marketing_capped = value

    def hold(self, address: str) -> asyncio.Event:
        """Leave sends to a person hanging, like a dead connection, until `release` fails them (503):
        they are never delivered. The event returned is set when one arrives."""
        arrived, released = asyncio.Event(), asyncio.Event()
        self.holds[address] = (arrived, released)
        return arrived

    def release(self, address: str) -> None:
        """Fail the held sends to a person, and stop holding them."""
        if address in self.holds:
            self.holds.pop(address)[1].set()

    async def _wait_if_held(self, address: str) -> None:
        if address in self.holds:
            arrived, released = self.holds[address]
            arrived.set()
            await released.wait()
            raise GraphError(131016)

    @staticmethod
    def _take(faults: dict[str, Fault], address: str) -> Fault | None:
        fault = faults.get(address)
        if fault is not None and fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                del faults[address]
        return fault

    def _count_send(self) -> None:
        """Keep `send_peak` up to date; only the last second's requests are kept."""
        now = self.send_clock()
        self._last_second.append(now)
        while now - self._last_second[0] >= 1.0:
            self._last_second.popleft()
        self.send_peak = max(self.send_peak, len(self._last_second))

    def _check_rates(self, key: str) -> None:
        """Per-number throughput, then the pair limit (a generic cell rate: one message per interval,
        bursts of up to `pair_burst` borrowed against it)."""
        now = self.send_clock()
        if self.throughput is not None:
            while self._accepted and now - self._accepted[0] >= 1.0:
                self._accepted.popleft()
            if len(self._accepted) >= self.throughput:
                raise GraphError(130429)
        if self.pair_interval is not None:
            due = max(self._pair_due.get(key, now), now)
            if due - now > (self.pair_burst - 1) * self.pair_interval + 1e-9:
                raise GraphError(131056)
            self._pair_due[key] = due + self.pair_interval
        if self.throughput is not None:
            self._accepted.append(now)

    # ----------------------------------------------------------- Graph API

    async def _handle_messages(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, self._answer_messages)

    async def _answer_messages(self, request: web.Request, body: Any) -> web.StreamResponse:
        self._check_number(request)
        if not isinstance(body, dict):
            raise GraphError(100, "The request body must be a JSON object.")
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(100, "The parameter messaging_product is required and must be whatsapp.")
        if "status" in body:
            return web.json_response(self._mark_read(body))
        self._count_send()
        try:
            return web.json_response(await self._send(body))
        except GraphError as exc:
            self.refused[exc.code] = self.refused.get(exc.code, 0) + 1
            raise

    def _mark_read(self, body: dict[str, Any]) -> dict[str, Any]:
        """A read receipt (and typing indicator) for a message a person sent."""
        if body.get("status") != "read":
            raise GraphError(100, "The parameter status must be read.")
        wamid = body.get("message_id")
        if not isinstance(wamid, str) or not wamid:
            raise _missing("message_id")
        person, message = self._message_index.get(wamid, (None, None))
        if person is None or message is None or message.get("from_bot"):
            raise GraphError(100, f"Message {wamid} is not a message this number received.")
        message["read_by_business"] = True
        if body.get("typing_indicator"):
            if body["typing_indicator"] != {"type": "text"}:
                raise GraphError(100, 'The parameter typing_indicator must be {"type": "text"}.')
            message["typing_shown"] = True
        person.touch()
        return {"success": True}

    def _resolve(self, body: dict[str, Any]) -> tuple[str, Person | None, Literal["phone", "bsuid"]]:
        """The recipient as the request names it, the person (None: nobody known by it), and how."""
        to, recipient = body.get("to"), body.get("recipient")
        if body.get("recipient_type", "individual") != "individual":
            raise GraphError(100, "The emulator sends to individuals only (recipient_type individual).")
        if to is not None:
            if not isinstance(to, str) or not to:
                raise GraphError(100, "The parameter to must be a phone number.")
            if BSUID.fullmatch(to):
                raise GraphError(
                    100,
                    "The parameter to takes a phone number; send to a business-scoped user ID in recipient.",
                )
            if not PHONE.fullmatch(to.replace(" ", "").replace("-", "")):
                raise GraphError(100, f"The parameter to ({to}) is not a valid phone number.")
            digits = re.sub(r"\D", "", to)
            if digits == self.display_phone_number:
                raise GraphError(131021)
            address = self._by_phone.get(digits)
            return to, self.people.get(address) if address else None, "phone"
        if recipient is not None:
            if not isinstance(recipient, str) or not BSUID.fullmatch(recipient):
                raise GraphError(100, "The parameter recipient must be a business-scoped user ID.")
            return recipient, self.people.get(recipient), "bsuid"
        raise _missing("to")

    async def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        given, person, by = self._resolve(body)
        content = self._content(body)
        template = self._template(body) if content["type"] == "template" else None
        if template is not None:
            content["template"]["category"] = template.category
            if template.text is not None:
                content["text"] = _fill(template.text, content["template"]["params"])
            payloads = content["template"].pop("payloads")
            if template.buttons and payloads:  # a press on one comes back as a "button" message
                content["buttons"] = [
                    {"id": payload, "title": title}
                    for payload, title in zip(payloads, template.buttons, strict=False)
                ]
        key = person.address if person else re.sub(r"\D", "", given) if by == "phone" else given
        await self._wait_if_held(key)
        fault = self._take(self.faults, key)
        if fault is not None:
            raise GraphError(fault.code)
        failure = self._rule_failure(person, template)
        if failure is not None and not self.async_errors:
            raise failure
        self._check_rates(key)
        later = self._take(self.async_faults, key)
        if later is not None:
            failure = GraphError(later.code)
        wamid = self._new_wamid(person.phone if person and person.phone else key)
        message = {
            "from_bot": True,
            "wamid": wamid,
            "timestamp": int(self.now()),
            "status": "accepted",
            **content,
        }
        if isinstance(body.get("context"), dict):
            message["context"] = body["context"].get("message_id")
        contact: dict[str, Any] = {"input": given}
        contact["wa_id" if by == "phone" else "user_id"] = (
            re.sub(r"\D", "", given) if by == "phone" else given
        )
        answer: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": wamid, **({"message_status": "accepted"} if template else {})}],
        }
        message["to"] = {"by": by, "input": given}
        self._message_index[wamid] = (person, message)
        if person is not None:
            person.messages.append(message)
            person.touch()
        self.messages_sent += 1
        self._sent_event.set()
        self._sent_event = asyncio.Event()
        self._tell("message", key)
        category = template.category if template else "service"
        if failure is not None:
            message["status"] = "failed"
            message["errors"] = [failure.as_status_error()]
            self._spawn(self._post_statuses(person, message, ["failed"], category, failure))
        else:
            message["status"] = "sent"
            if self.statuses:
                message["status"] = "delivered"
                order: list[StatusName] = ["sent", "delivered"]
                if self.statuses_out_of_order:
                    order.reverse()
                self._spawn(self._post_statuses(person, message, order, category))
        return answer

    def _rule_failure(self, person: Person | None, template: Template | None) -> GraphError | None:
        """What Meta's rules fail a send with once the recipient is looked at: nobody reachable by that
        address (131026), outside the window without a template (131047), the marketing cap (131049)."""
        if person is None or not person.reachable:
            return GraphError(131026)
        if template is None and (
            person.last_inbound is None or self.now() - person.last_inbound > WINDOW_SECONDS
        ):
            return GraphError(131047)
        if template is not None and template.category == "marketing" and person.marketing_capped:
            return GraphError(131049)
        return None

    def _new_wamid(self, recipient: str) -> str:
        raw = f"\x18\x0d{recipient}\x15\x02\x00\x11\x18\x12{next(self._ids):018X}\x00".encode()
        return "wamid." + base64.b64encode(raw).decode()

    def _template(self, body: dict[str, Any]) -> Template:
        spec = body["template"]
        language = spec["language"]["code"]
        template = self.templates.get((spec["name"], language))
        if template is None:
            raise GraphError(132001, f"template name ({spec['name']}) does not exist in {language}")
        given = len(_body_params(spec))
        if given != template.body_params:
            raise GraphError(
                132000,
                f"body: number of localizable_params ({given}) does not match the expected number of "
                f"params ({template.body_params})",
            )
        return template

    def _content(self, body: dict[str, Any]) -> dict[str, Any]:
        """What a send shows the person, checked against the Cloud API's limits."""
        kind = body.get("type", "text")
        if kind not in body and kind in {"text", "interactive", "template", *MEDIA_KINDS}:
            raise _missing(kind)
        if kind == "text":
            text = body["text"]
            if not isinstance(text, dict) or not isinstance(text.get("body"), str):
                raise _missing("text['body']")
            if not text["body"].strip():
                raise GraphError(100, "Param text['body'] must not be empty.")
            if len(text["body"]) > TEXT_MAX:
                raise _too_long("text['body']", TEXT_MAX)
            return {"type": "text", "text": text["body"]}
        if kind == "interactive":
            return _interactive(body["interactive"])
        if kind == "template":
            spec = body["template"]
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise _missing("template['name']")
            if not isinstance(spec.get("language"), dict) or not isinstance(
                spec["language"].get("code"), str
            ):
                raise _missing("template['language']['code']")
            params = _body_params(spec)
            language = spec["language"]["code"]
            payloads = _button_payloads(spec)
            return {
                "type": "template",
                "template": {
                    "name": spec["name"],
                    "language": language,
                    "params": params,
                    "payloads": payloads,
                },
            }
        if kind in MEDIA_KINDS:
            return self._media_content(kind, body[kind])
        raise GraphError(131051, f"Message type {kind} is not supported by the emulator.")

    def _media_content(self, kind: str, media: Any) -> dict[str, Any]:
        if not isinstance(media, dict) or ("id" in media) == ("link" in media):
            raise GraphError(100, f"Param {kind} must have exactly one of id or link.")
        found: dict[str, Any] = {"kind": kind}
        if "id" in media:
            stored = self.media.get(str(media["id"]))
            if stored is None or self._expired(stored):
                raise GraphError(100, f"Param {kind}['id'] is not a valid media id (unknown or expired).")
            found.update(id=stored.id, mime=stored.mime)
        else:
            if not re.match(r"https?://", str(media["link"])):
                raise GraphError(100, f"Param {kind}['link'] must be an http(s) URL.")
            found["link"] = media["link"]
        caption = media.get("caption")
        if caption is not None:
            if kind in {"audio", "sticker"}:
                raise GraphError(100, f"Param {kind}['caption'] is not supported for {kind}.")
            if len(str(caption)) > CAPTION_MAX:
                raise _too_long(f"{kind}['caption']", CAPTION_MAX)
            found["caption"] = caption
        if media.get("filename") is not None:
            if kind != "document":
                raise GraphError(100, f"Param {kind}['filename'] is only for documents.")
            found["filename"] = media["filename"]
        content: dict[str, Any] = {"type": kind, "media": found}
        if caption is not None:
            content["text"] = caption
        return content

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, self._answer_upload)

    async def _answer_upload(self, request: web.Request, body: Any) -> web.StreamResponse:
        self._check_number(request)
        if not isinstance(body, dict) or request.content_type != "multipart/form-data":
            raise GraphError(100, "Upload the file as multipart/form-data.")
        if body.get("messaging_product") != "whatsapp":
            raise _missing("messaging_product")
        data = body.get("file")
        if not isinstance(data, bytes):
            raise _missing("file")
        mime = str(body.get("type") or body.get("file.content_type") or "").split(";", 1)[0].strip()
        kind = next((k for k, (types, _) in MEDIA_TYPES.items() if mime in types), None)
        if kind is None:
            raise GraphError(131053, f"Param file must be a file of a supported type, not {mime or 'none'}.")
        if len(data) > MEDIA_TYPES[kind][1]:
            raise GraphError(131053, f"The {kind} is larger than {MEDIA_TYPES[kind][1]} bytes.")
        if not data:
            raise GraphError(131053, "The file is empty.")
        media = self.keep(data, mime, ttl=UPLOAD_MEDIA_TTL, filename=body.get("file.filename"))
        return web.json_response({"id": media.id})

    def keep(self, data: bytes, mime: str, *, ttl: float, filename: str | None = None) -> Media:
        """Keep a file under a new media id, valid for `ttl` seconds."""
        media = Media(str(next(self._media_ids)), data, mime, self.now(), ttl, filename)
        self.media[media.id] = media
        return media

    def _expired(self, media: Media) -> bool:
        return media.expired or self.now() - media.created > media.ttl

    def expire_media(self, media_id: str) -> None:
        """Make a media id expire now (GET answers Graph's error for an unknown object)."""
        self.media[media_id].expired = True

    async def _handle_media(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, self._answer_media)

    def _live_media(self, request: web.Request, method: str) -> Media:
        media_id = request.match_info["media_id"]
        media = self.media.get(media_id)
        number = request.query.get("phone_number_id")
        if media is None or self._expired(media) or (number is not None and number != self.phone_number_id):
            raise no_object(media_id, method)
        return media

    async def _answer_media(self, request: web.Request, body: Any) -> web.StreamResponse:
        media = self._live_media(request, "get")
        expires = int(self.now() + MEDIA_URL_TTL)
        query = {"mid": media.id, "ext": str(expires), "hash": self._url_hash(media.id, expires)}
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.root_url}{DOWNLOAD_PATH}?{urlencode(query)}",
                "mime_type": media.mime,
                "sha256": media.sha256.hex(),
                "file_size": str(len(media.data)),
                "id": media.id,
            }
        )

    async def _handle_delete_media(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, self._answer_delete_media)

    async def _answer_delete_media(self, request: web.Request, body: Any) -> web.StreamResponse:
        media = self._live_media(request, "delete")
        del self.media[media.id]
        return web.json_response({"success": True})

    def _url_hash(self, media_id: str, expires: int) -> str:
        return hmac.new(self.app_secret.encode(), f"{media_id}:{expires}".encode(), "sha256").hexdigest()[:16]

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, self._answer_download)

    async def _answer_download(self, request: web.Request, body: Any) -> web.StreamResponse:
        media = self.media.get(request.query.get("mid", ""))
        try:
            expires = int(request.query.get("ext", ""))
        except ValueError:
            expires = 0
        if (
            media is None
            or self._expired(media)
            or not hmac.compare_digest(request.query.get("hash", ""), self._url_hash(media.id, expires))
            or self.now() > expires
        ):
            return web.Response(status=404, text="Not Found")
        return web.Response(body=media.data, content_type=media.mime.split(";", 1)[0])

    # ------------------------------------------------------------- webhooks

    def _envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.waba_id,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.display_phone_number,
                                    "phone_number_id": self.phone_number_id,
                                },
                                **value,
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }

    @staticmethod
    def encode(payload: dict[str, Any]) -> bytes:
        """A webhook body as Meta's encoder writes it: compact, non-ASCII as \\u escapes, `/` as `\\/`
        (a bot that checks the signature on re-encoded JSON instead of the raw bytes fails on these)."""
        return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()

    def sign(self, raw: bytes) -> str:
        """The `X-Hub-Signature-256` header value for a raw body."""
        return "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every webhook post (with its retries) is done."""
        async with asyncio.timeout(timeout):
            while self._posting:
                await asyncio.gather(*list(self._posting), return_exceptions=True)

    async def _post(self, raw: bytes) -> None:
        """Post a webhook body, retrying with doubling backoff while the bot answers other than 2xx."""
        if self.webhook_url is None:  # nowhere to post: kept in the log only
            self.webhook_log.append(WebhookPost(raw, None, 0))
            return
        for attempt in range(1 + max(0, self.webhook_retries)):
            if attempt:
                await self.sleep(self.webhook_backoff * 2 ** (attempt - 1))
            status: int | None = None
            await self._travel(self.round_trip() / 2)
            if self._session is None:
                self._session = ClientSession(timeout=ClientTimeout(total=30))
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": self.sign(raw),
                "X-Hub-Signature": "sha1=" + hmac.new(self.app_secret.encode(), raw, "sha1").hexdigest(),
                "User-Agent": "facebookexternalua",
            }
            try:
                async with self._session.post(self.webhook_url, data=raw, headers=headers) as response:
                    status = response.status
                    await response.read()
            except (ClientError, TimeoutError):
                status = None
            self.webhook_log.append(WebhookPost(raw, status, attempt))
            if status is not None and 200 <= status < 300:
                return
        self.webhooks_dropped += 1

    async def verify(self, verify_token: str, *, challenge: str | None = None) -> bool:
        """Meta's verification handshake: GET the webhook URL with hub.mode=subscribe, the token and a
        challenge; True when the bot answers 200 with exactly the challenge."""
        if self.webhook_url is None:
            raise ValueError("no webhook_url to verify")
        challenge = challenge or str(secrets.randbelow(10**9))
        params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=30))
        try:
            async with self._session.get(self.webhook_url, params=params) as response:
                return response.status == 200 and (await response.text()) == challenge
        except ClientError:
            return False

    async def _post_statuses(
        self,
        person: Person | None,
        message: dict[str, Any],
        order: list[StatusName],
        category: str,
        error: GraphError | None = None,
    ) -> None:
        for status in order:
            await self._post(
                self.encode(self._envelope(self._status_value(person, message, status, category, error)))
            )
            self._tell("status", person.address if person else "")

    def _status_value(
        self,
        person: Person | None,
        message: dict[str, Any],
        status: StatusName,
        category: str,
        error: GraphError | None = None,
    ) -> dict[str, Any]:
        sent_to = message["to"]
        entry: dict[str, Any] = {"id": message["wamid"], "status": status, "timestamp": str(int(self.now()))}
        phone = (
            person.phone
            if person
            else (re.sub(r"\D", "", sent_to["input"]) if sent_to["by"] == "phone" else None)
        )
        entry["recipient_id"] = phone or sent_to["input"]
        if person is not None and (status != "failed" or sent_to["by"] == "bsuid"):
            entry["recipient_user_id"] = person.address
        if status in {"sent", "delivered"}:
            service = category == "service"
            entry["pricing"] = {
                "billable": not service,
                "pricing_model": "PMP",
                "type": "free_customer_service" if service else "regular",
                "category": category,
            }
        if error is not None:
            entry["errors"] = [error.as_status_error()]
        value: dict[str, Any] = {"statuses": [entry]}
        if status != "failed" and person is not None:
            value = {"contacts": [person.contact()], **value}
        return value

    def post_status(self, wamid: str, status: StatusName) -> None:
        """Post one status webhook for a bot message (and record it), whatever the auto statuses did."""
        person, message = self._message_index[wamid]
        if not message.get("from_bot"):
            raise ValueError(f"{wamid} is a person's message")
        if status == "failed":
            raise ValueError("use fail_async for a failed status")
        if _STATUS_RANK.get(status, 0) > _STATUS_RANK.get(message["status"], 0):
            message["status"] = status
        if person is not None:
            person.touch()
        category = message.get("template", {}).get("category", "service")
        self._spawn(self._post_statuses(person, message, [status], category))

    # --------------------------------------------------------- people's side

    def add_user(self, address: str, phone: str | None = None, name: str = "Ana") -> Person:
        """A WhatsApp user known by their BSUID (e.g. "GB.1234567890"), with the phone number they
        share (digits), if any. They have not written yet, so no window is open."""
        if not BSUID.fullmatch(address):
            raise ValueError(f"not a business-scoped user id: {address!r} (like GB.1234567890)")
        if phone is not None and not re.fullmatch(r"[1-9]\d{6,14}", phone):
            raise ValueError(f"not a phone number in digits: {phone!r}")
        person = Person(address, phone, name)
        self.people[address] = person
        if phone:
            self._by_phone[phone] = address
        return person

    def add_template(
        self,
        name: str,
        language: str,
        category: Literal["marketing", "utility", "authentication"],
        body_params: int,
        text: str | None = None,
        buttons: tuple[str, ...] = (),
    ) -> Template:
        """An approved template for one language, with `body_params` variables in its body and
        these quick-reply buttons."""
        template = Template(name, language, category, body_params, text, tuple(buttons))
        self.templates[(name, language)] = template
        return template

    def _writes(
        self,
        address: str,
        message: dict[str, Any],
        person_side: dict[str, Any],
        given: dict[str, Any] | None = None,
    ) -> str:
        """A person sends `message` (the webhook's message object, without from/id/timestamp unless
        `given`): it opens their window, goes into their history and is posted to the bot; returns
        its wamid."""
        person = self.people[address]
        now = self.now()
        person.last_inbound = now
        sent: dict[str, Any] = {}
        if person.phone:
            sent["from"] = person.phone
        sent["from_user_id"] = person.address
        sent["id"] = self._new_wamid(person.phone or person.address)
        sent["timestamp"] = str(int(now))
        sent.update(given or {})
        sent.update(message)
        wamid = str(sent["id"])
        entry = {"from_bot": False, "wamid": wamid, "timestamp": int(now), **person_side, "raw": sent}
        person.messages.append(entry)
        person.touch()
        self._message_index[wamid] = (person, entry)
        raw = self.encode(self._envelope({"contacts": [person.contact()], "messages": [sent]}))
        self._raw_inbound[wamid] = raw
        self._tell("push", address)
        self._spawn(self._post(raw))
        return wamid

    def send_text(self, address: str, text: str) -> str:
        """The person sends text; returns the wamid."""
        return self._writes(address, {"type": "text", "text": {"body": text}}, {"type": "text", "text": text})

    def _delivered(self, address: str) -> list[dict[str, Any]]:
        return [
            m
            for m in reversed(self.people[address].messages)
            if m.get("from_bot") and m["status"] != "failed"
        ]

    def press(self, address: str, button_id: str, *, forged: bool = False, title: str | None = None) -> str:
        """The person presses a reply button of a message the bot sent them (the newest with that id);
        with `forged`, a press of an id never sent (a client of another make, or a replay)."""
        for message in self._delivered(address):
            for button in message.get("buttons", []):
                if button["id"] == button_id and message.get("type") == "template":
                    return self._template_reply(address, message["wamid"], button)
                if button["id"] == button_id:
                    return self._reply(address, message["wamid"], "button_reply", dict(button))
        if not forged:
            raise ValueError(f"no message delivered to {address} has a button {button_id!r}")
        last = next(iter(self._delivered(address)), None)
        return self._reply(
            address,
            last["wamid"] if last else None,
            "button_reply",
            {"id": button_id, "title": title or button_id},
        )

    def choose(self, address: str, row_id: str, *, forged: bool = False, title: str | None = None) -> str:
        """The person picks a row of a list the bot sent them (the newest with that id); with `forged`,
        a row id never sent."""
        for message in self._delivered(address):
            for row in message.get("rows", []):
                if row["id"] == row_id:
                    reply = {"id": row["id"], "title": row["title"]}
                    if row.get("description"):
                        reply["description"] = row["description"]
                    return self._reply(address, message["wamid"], "list_reply", reply)
        if not forged:
            raise ValueError(f"no list delivered to {address} has a row {row_id!r}")
        last = next(iter(self._delivered(address)), None)
        return self._reply(
            address, last["wamid"] if last else None, "list_reply", {"id": row_id, "title": title or row_id}
        )

    def _template_reply(self, address: str, context: str, button: dict[str, Any]) -> str:
        """A press of a template's quick-reply button: Meta posts it as a "button" message."""
        message = {
            "context": {"from": self.display_phone_number, "id": context},
            "type": "button",
            "button": {"payload": button["id"], "text": button["title"]},
        }
        side = {"type": "button", "reply": dict(button), "text": button["title"], "context": context}
        return self._writes(address, message, side)

    def _reply(self, address: str, context: str | None, kind: str, reply: dict[str, Any]) -> str:
        message: dict[str, Any] = {}
        if context:
            message["context"] = {"from": self.display_phone_number, "id": context}
        message.update({"type": "interactive", "interactive": {"type": kind, kind: reply}})
        side = {"type": "interactive", "reply": reply, "text": reply["title"], "context": context}
        return self._writes(address, message, side)

    def _person_media(self, address: str, kind: str, data: bytes, mime: str, extra: dict[str, Any]) -> str:
        media = self.keep(data, mime, ttl=INBOUND_MEDIA_TTL)
        payload = {
            "mime_type": mime,
            "sha256": base64.b64encode(media.sha256).decode(),
            "id": media.id,
            **extra,
        }
        side: dict[str, Any] = {"type": kind, "media": {"kind": kind, "id": media.id, "mime": mime, **extra}}
        if extra.get("caption"):
            side["text"] = extra["caption"]
        return self._writes(address, {"type": kind, kind: payload}, side)

    def send_image(
        self, address: str, data: bytes, caption: str | None = None, mime: str = "image/jpeg"
    ) -> str:
        """The person sends a photo (kept, so GET /{media_id} works for 7 days); returns the wamid."""
        return self._person_media(address, "image", data, mime, {"caption": caption} if caption else {})

    def send_voice(self, address: str, data: bytes, mime: str = "audio/ogg; codecs=opus") -> str:
        """The person records a voice note (audio with voice true); returns the wamid."""
        return self._person_media(address, "audio", data, mime, {"voice": True})

    def send_audio(self, address: str, data: bytes, mime: str = "audio/mpeg") -> str:
        """The person sends an audio file (not a voice note); returns the wamid."""
        return self._person_media(address, "audio", data, mime, {"voice": False})

    def send_raw(self, address: str, message: dict[str, Any]) -> str:
        """The person sends a message object as given (a sticker, location, reaction, an unsupported
        type), `from`, `id` and `timestamp` filled in unless it has them; returns the wamid."""
        given: dict[str, Any] = {k: message[k] for k in ("from", "id", "timestamp") if k in message}
        rest = {k: v for k, v in message.items() if k not in given}
        return self._writes(address, rest, {"type": str(message.get("type", "unknown"))}, given)

    def replay(self, wamid: str) -> None:
        """Post a person's message again, byte for byte (Meta delivers at least once)."""
        self._spawn(self._post(self._raw_inbound[wamid]))

    def read(self, address: str, wamid: str) -> None:
        """The person reads a message the bot sent them: a `read` status webhook."""
        person, message = self._message_index[wamid]
        if person is None or person.address != address or not message.get("from_bot"):
            raise ValueError(f"{wamid} is not a message the bot sent {address}")
        if message["status"] == "failed":
            raise ValueError(f"{wamid} failed; it cannot be read")
        self.post_status(wamid, "read")

    # ------------------------------------------------------------ for tests

    def _tell(self, event: Event, address: str) -> None:
        if self.listener is not None:
            self.listener(event, address)

    def restore(self, chats: dict[str, list[dict[str, Any]]], media: dict[str, Media]) -> None:
        """People's chats (people added first) and the media they show, from an earlier run: each
        person's window opens at their last message, and new wamids and media ids go on past the
        highest, so none is used twice (the bot drops a message whose id it has seen)."""
        highest = 0
        for address, messages in chats.items():
            person = self.people[address]
            person.messages = messages
            for message in messages:
                self._message_index[message["wamid"]] = (person, message)
                highest = max(highest, _wamid_number(message["wamid"]))
                if not message.get("from_bot"):
                    person.last_inbound = max(person.last_inbound or 0.0, float(message["timestamp"]))
            person.touch()
        self._ids = itertools.count(highest + 1)
        self.media.update(media)
        numbers = [int(media_id) for media_id in self.media if media_id.isdigit()]
        self._media_ids = itertools.count(max([next(self._media_ids) - 1, *numbers]) + 1)

    def history(self, address: str) -> list[dict[str, Any]]:
        """Everything in a person's chat, both sides, oldest first."""
        return self.people[address].messages

    async def wait_for_sent(self, count: int, timeout: float) -> None:
        """Wait until the bot has had at least `count` sends accepted in all."""
        async with asyncio.timeout(timeout):
            while self.messages_sent < count:
                await self._sent_event.wait()

    async def wait_for_change(self, address: str, timeout: float) -> bool:
        """Wait until something happens in a person's chat; False on timeout or when stopping."""
        if self._closing:
            return False
        try:
            await asyncio.wait_for(self.people[address].changed.wait(), timeout)
        except TimeoutError:
            return False
        return True


def _wamid_number(wamid: str) -> int:
    """The running number `_new_wamid` put into a wamid (0 for one of another make)."""
    try:
        raw = base64.b64decode(wamid.removeprefix("wamid."))
    except ValueError:
        return 0
    found = re.search(rb"([0-9A-F]{18})\x00$", raw)
    return int(found[1], 16) if found else 0


def _button_payloads(template: dict[str, Any]) -> list[str]:
    """The payloads of a template send's quick-reply buttons, in index order."""
    found: list[tuple[int, str]] = []
    for component in template.get("components") or []:
        if isinstance(component, dict) and component.get("type") == "button":
            for parameter in component.get("parameters") or []:
                if isinstance(parameter, dict) and parameter.get("type") == "payload":
                    found.append((int(str(component.get("index", 0))), str(parameter.get("payload", ""))))
    return [payload for _index, payload in sorted(found)]


def _body_params(template: dict[str, Any]) -> list[str]:
    """The text of a template send's body parameters, in order."""
    for component in template.get("components") or []:
        if isinstance(component, dict) and component.get("type") == "body":
            return [str(p.get("text", "")) for p in component.get("parameters") or [] if isinstance(p, dict)]
    return []


def _fill(text: str, params: list[str]) -> str:
    return re.sub(
        r"\{\{(\d+)\}\}", lambda m: params[int(m[1]) - 1] if 0 < int(m[1]) <= len(params) else m[0], text
    )


def _text_of(part: Any, name: str, limit: int, *, required: bool = True) -> str | None:
    """A `{"text": ...}` part of an interactive message, within its limit."""
    if part is None:
        if required:
            raise _missing(f"interactive['{name}']")
        return None
    if not isinstance(part, dict) or not isinstance(part.get("text"), str) or not part["text"]:
        raise _missing(f"interactive['{name}']['text']")
    if len(part["text"]) > limit:
        raise _too_long(f"interactive['{name}']['text']", limit)
    return str(part["text"])


def _interactive(interactive: Any) -> dict[str, Any]:
    """An interactive message (reply buttons or a list) checked against the Cloud API's limits."""
    if not isinstance(interactive, dict):
        raise _missing("interactive")
    kind = interactive.get("type")
    if kind not in {"button", "list"}:
        raise GraphError(
            131009, f"Interactive type {kind!r} is not supported by the emulator (button, list)."
        )
    action = interactive.get("action")
    if not isinstance(action, dict):
        raise _missing("interactive['action']")
    content: dict[str, Any] = {"type": "interactive", "interactive": kind}
    content["text"] = _text_of(interactive.get("body"), "body", INTERACTIVE_BODY_MAX)
    header = interactive.get("header")
    if header is not None:
        if not isinstance(header, dict) or header.get("type") != "text":
            raise GraphError(131009, "The emulator takes text headers only.")
        content["header"] = _text_of(header, "header", HEADER_MAX)
    footer = _text_of(interactive.get("footer"), "footer", FOOTER_MAX, required=False)
    if footer is not None:
        content["footer"] = footer
    if kind == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not BUTTONS_MIN <= len(buttons) <= BUTTONS_MAX:
            raise _invalid(f"Buttons count must be between {BUTTONS_MIN} and {BUTTONS_MAX}.")
        seen_ids: set[str] = set()
        seen_titles: set[str] = set()
        content["buttons"] = []
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if not isinstance(button, dict) or button.get("type") != "reply" or not isinstance(reply, dict):
                raise _invalid('Each button must be {"type": "reply", "reply": {"id", "title"}}.')
            button_id, title = reply.get("id"), reply.get("title")
            if not isinstance(button_id, str) or not button_id.strip():
                raise _missing("interactive['action']['buttons'][]['reply']['id']")
            if not isinstance(title, str) or not title.strip():
                raise _missing("interactive['action']['buttons'][]['reply']['title']")
            if len(button_id) > BUTTON_ID_MAX:
                raise _invalid(f"Button id length invalid. Max length: {BUTTON_ID_MAX}")
            if len(title) > BUTTON_TITLE_MAX:
                raise _invalid(f"Button title length invalid. Max length: {BUTTON_TITLE_MAX}")
            if button_id != button_id.strip():
                raise _invalid("Button id must not have leading or trailing spaces.")
            if button_id in seen_ids or title in seen_titles:
                raise _invalid("Button ids and titles must be unique.")
            seen_ids.add(button_id)
            seen_titles.add(title)
            content["buttons"].append({"id": button_id, "title": title})
        return content
    label = action.get("button")
    if not isinstance(label, str) or not label.strip():
        raise _missing("interactive['action']['button']")
    if len(label) > LIST_BUTTON_MAX:
        raise _too_long("interactive['action']['button']", LIST_BUTTON_MAX)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= SECTIONS_MAX:
        raise _invalid(f"Sections count must be between 1 and {SECTIONS_MAX}.")
    content["button"] = label
    content["rows"] = []
    row_ids: set[str] = set()
    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("rows"), list) or not section["rows"]:
            raise _missing("interactive['action']['sections'][]['rows']")
        section_title = section.get("title")
        if section_title is None and len(sections) > 1:
            raise _missing("interactive['action']['sections'][]['title']")
        if section_title is not None and len(str(section_title)) > SECTION_TITLE_MAX:
            raise _too_long("interactive['action']['sections'][]['title']", SECTION_TITLE_MAX)
        for row in section["rows"]:
            if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"].strip():
                raise _missing("interactive['action']['sections'][]['rows'][]['id']")
            if not isinstance(row.get("title"), str) or not row["title"].strip():
                raise _missing("interactive['action']['sections'][]['rows'][]['title']")
            if len(row["id"]) > ROW_ID_MAX:
                raise _invalid(f"Row id length invalid. Max length: {ROW_ID_MAX}")
            if len(row["title"]) > ROW_TITLE_MAX:
                raise _invalid(f"Row title length invalid. Max length: {ROW_TITLE_MAX}")
            description = row.get("description")
            if description is not None and len(str(description)) > ROW_DESCRIPTION_MAX:
                raise _invalid(f"Row description length invalid. Max length: {ROW_DESCRIPTION_MAX}")
            if row["id"] in row_ids:
                raise _invalid("Row ids must be unique.")
            row_ids.add(row["id"])
            content["rows"].append(
                {"id": row["id"], "title": row["title"], "description": description, "section": section_title}
            )
    if len(content["rows"]) > ROWS_MAX:
        raise _invalid(f"Total row count exceed max allowed count: {ROWS_MAX}")
    return content
