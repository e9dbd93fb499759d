"""`champbot sandbox`: the Telegram and WhatsApp emulators, the bot on SQLite with demo data and
both channels on, and a chat page on localhost.

The page lets a person chat as any of several champions (on Telegram or on WhatsApp) or as the
demo coordinator (on Telegram), with the bot's buttons and lists rendered and pressable. An invite
link the bot sends, clicked on the page, brings a newcomer who follows it; a control on the page
switches the running bot's sign-up mode (open, invite or approval). One port
serves it all: the page and its API, the Bot API the bot polls, the Graph API it sends WhatsApp
messages through, and the bot's WhatsApp webhook, which the WhatsApp emulator posts to. Nothing
leaves the machine.

WhatsApp runs at Meta's default limits (80 messages a second, one message every 6 seconds to a
person, the emulator allowing a burst as Meta does): a reply to the person who wrote is not held
by the pair limit, so chatting feels as it does on a phone, but a broadcast to someone who has just
been chatting waits out the pair gap, as it would on the real number.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import mimetypes
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_application
from bot.channels import open_database, serve_polling
from bot.emulator import Emulator, stored_file
from bot.sandbox_history import History
from bot.settings import Settings, SignupMode, load_settings
from bot.web import Dashboard, mount
from bot.whatsapp_emulator import (
    APP_SECRET,
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    TOKEN,
    WhatsAppEmulator,
)
from bot.whatsapp_inbound import whatsapp_routes
from bot.whatsapp_templates import load as load_templates
from storage import champions, directory, identities
from storage.models import Area, Identity, utcnow

log = logging.getLogger(__name__)

STARTER_AREAS = ["Hillcrest", "Market Ward", "Northfield", "Old Town", "Riverside"]
STARTER_NETWORKS = [
    "Faith groups",
    "Food bank volunteers",
    "Parents and toddlers",
    "Polish Saturday school",
    "Somali community association",
    "Youth clubs",
]
LONG_POLL_SECONDS = 20
UPLOAD_MAX = 20 * 1024 * 1024  # bytes: Telegram takes photos of up to 10 MB and files of up to 20 MB


class PortInUse(Exception):
    """The page's port (which the emulator shares) is taken by another program."""

    def __init__(self, host: str, port: int) -> None:
        another = port + 1 if port < 65535 else port - 1
        super().__init__(
            f"port {port} is taken (something else is listening on {host}:{port}); choose another "
            f"with `make sandbox PORT={another}` or `champbot sandbox --port {another}`"
        )


WHATSAPP_RATE = 80.0  # messages a second: Meta's default for a business number
WHATSAPP_PAIR_SECONDS = 6.0  # Meta's pair limit: about one message every 6 s to one person
VERIFY_TOKEN = "sandbox-verify-token"
WEBHOOK_PATH = "/whatsapp"

Channel = Literal["telegram", "whatsapp"]


@dataclass
class Person:
    """Someone the page can chat as: a Telegram user id, or a WhatsApp BSUID (with a phone)."""

    id: int | str
    name: str
    role: str
    language_code: str
    channel: Channel = "telegram"
    phone: str | None = None


# The page opens as the first: Alex, a champion who has not joined yet, as the README's tour begins.
# Priya and Tomasz are champions-to-be on WhatsApp (they choose their language when they start:
# WhatsApp does not tell the bot a phone's); Chen joined on WhatsApp earlier and has not written
# for days (CHEN_SILENT), so his 24-hour window is closed and the bot can reach him by template only.
PEOPLE = [
    Person(1004, "Alex", "champion", "en"),
    Person(1001, "Amina", "champion", "so"),
    Person(1002, "Bilal", "champion", "ur"),
    Person(1003, "Kasia", "champion", "pl"),
    Person("GB.4470000001", "Priya", "champion", "en", "whatsapp", "447700900101"),
    Person("GB.4470000002", "Tomasz", "champion", "pl", "whatsapp", "447700900102"),
    Person("GB.4470000003", "Chen", "champion", "en", "whatsapp", "447700900103"),
    Person(9001, "Sam", "coordinator", "en"),
]
COORDINATOR = next(person for person in PEOPLE if person.role == "coordinator")
CHEN = next(person for person in PEOPLE if person.name == "Chen")
CHEN_AREA = "Riverside"
CHEN_SILENT = timedelta(days=3)
NEWCOMER = "Newcomer"  # the name of someone an invite link brings, numbered: "Newcomer 1"
NEWCOMER_IDS = 2000  # Newcomer n's Telegram user id is 2000 + n
NEWCOMER_BSUIDS = 4480000000  # and on WhatsApp, GB.<4480000000 + n>
NEWCOMER_PHONES = 447700900300  # with phone 447700900300 + n


@dataclass
class Cast:
    """The people the page chats as: the demo ones, then each newcomer an invite link brought
    (kept with the chat history, so they are still there after a restart)."""

    emulator: Emulator
    whatsapp: WhatsAppEmulator | None
    history: History
    people: list[Person] = field(default_factory=list)

    def add(self, person: Person) -> None:
        """Someone to chat as: their Telegram chat with the bot open, or their WhatsApp number."""
        if person.channel == "whatsapp":
            assert self.whatsapp is not None
            self.whatsapp.add_user(str(person.id), person.phone, person.name)
        else:
            self.emulator.add_user(int(person.id), person.name, person.language_code, started=True)
        self.people.append(person)

    def newcomer(self, channel: Channel) -> Person:
        """Someone new, who has not written to the bot yet (and is kept in the history)."""
        n = len(self.history.newcomers) + 1
        name = f"{NEWCOMER} {n}"
        if channel == "whatsapp":
            person = Person(
                f"GB.{NEWCOMER_BSUIDS + n}", name, "champion", "en", channel, str(NEWCOMER_PHONES + n)
            )
        else:
            person = Person(NEWCOMER_IDS + n, name, "champion", "en")
        self.add(person)
        self.history.newcomers.append(asdict(person))
        self.history.save(self.emulator, self.whatsapp)
        return person


DASHBOARD_PATH = "/dashboard"  # the coordinators' dashboard, on the page's port: Sam's /web links here


def sandbox_settings(data_dir: Path, base_url: str, signup: SignupMode | None = None) -> Settings:
    """Settings for the sandbox: both emulators (on the page's port), a SQLite file of its own,
    no Telegram token, WhatsApp on at Meta's default limits, the dashboard under /dashboard/;
    sign-up in this mode (without one, CHAMPBOT_SIGNUP_MODE's, else open)."""
    mode: dict[str, object] = {"signup_mode": signup} if signup is not None else {}
    return load_settings(
        **mode,
        token=None,
        api_base_url=base_url,
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'sandbox.db'}",
        webhook_url=None,
        whatsapp_token=TOKEN,
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token=VERIFY_TOKEN,
        whatsapp_api_url=f"{base_url}/{WhatsAppEmulator().version}",
        whatsapp_number=DISPLAY_PHONE_NUMBER,
        whatsapp_rate=WHATSAPP_RATE,
        whatsapp_pair_seconds=WHATSAPP_PAIR_SECONDS,
        web_url=f"{base_url}{DASHBOARD_PATH}",
    )


def register_templates(emulator: WhatsAppEmulator) -> None:
    """Every template of the shipped catalogue, as Meta would have approved it, with its body so a
    template message shows its text filled in, and its quick-reply buttons to press."""
    for languages in load_templates().root.values():
        for template in languages.values():
            code = template.whatsapp_code
            if code is not None:
                emulator.add_template(
                    template.name,
                    code,
                    template.category,  # type: ignore[arg-type]  # checked by the catalogue's load
                    len(template.variables),
                    template.body,
                    tuple(template.buttons),
                )


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Starter areas and networks, the demo coordinator, and Chen, a WhatsApp champion who last
    wrote days ago (idempotent)."""
    async with sessions.begin() as session:
        await directory.add_areas(session, STARTER_AREAS)
        await directory.add_networks(session, STARTER_NETWORKS)
        await champions.make_coordinator(
            session, int(COORDINATOR.id), COORDINATOR.name, COORDINATOR.language_code
        )
        if await session.scalar(select(Identity.id).where(Identity.address == CHEN.id)) is None:
            last = utcnow() - CHEN_SILENT
            identity = await identities.whatsapp_wrote(session, str(CHEN.id), CHEN.phone, last)
            assert identity.chat_id is not None
            champion = await champions.start_joining(
                session, identity.chat_id, CHEN.language_code, share_consent=True, invite_code=None
            )
            area = await session.scalar(select(Area.id).where(Area.name == CHEN_AREA))
            await champions.finish_joining(
                session, champion, display_name=CHEN.name, area_id=area, network_ids=[], approved=True
            )


def sandbox_routes(cast: Cast, settings: Settings) -> list[web.RouteDef]:
    """The chat page and the small JSON API it uses (for WhatsApp people too, with the cast's
    WhatsApp); `settings` are those the bot reads for each update."""
    emulator, whatsapp = cast.emulator, cast.whatsapp

    async def page(_request: web.Request) -> web.Response:
        html = resources.files("bot").joinpath("sandbox.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html")

    async def people(_request: web.Request) -> web.Response:
        return web.json_response([asdict(p) for p in cast.people])

    async def newcomer(request: web.Request) -> web.Response:
        """Someone new to chat as, on this channel: who follows an invite link clicked on the page."""
        channel = (await request.json()).get("channel")
        if channel not in get_args(Channel) or (channel == "whatsapp" and whatsapp is None):
            raise web.HTTPBadRequest(text="no such channel")
        return web.json_response(asdict(cast.newcomer(channel)), status=201)

    async def setup(_request: web.Request) -> web.Response:
        """The sign-up mode, and the bot's username and WhatsApp number its invite links name."""
        return web.json_response(
            {
                "signup": settings.signup_mode,
                "bot_username": emulator.bot_username,
                "whatsapp_number": settings.whatsapp_number,
            }
        )

    async def signup(request: web.Request) -> web.Response:
        """Switch the running bot's sign-up mode: it reads the setting for each update."""
        mode = (await request.json()).get("signup")
        if mode not in get_args(SignupMode):
            raise web.HTTPBadRequest(text="no such sign-up mode")
        settings.signup_mode = mode
        return web.json_response({"signup": settings.signup_mode})

    def chat_id(request: web.Request) -> int:
        value = int(request.match_info["chat_id"])
        if value not in emulator.chats:
            raise web.HTTPNotFound(text="no such chat")
        return value

    async def chat(request: web.Request) -> web.Response:
        cid = chat_id(request)
        since = int(request.query.get("since", "-1"))
        if since == emulator.chats[cid].version:
            await emulator.wait_for_change(cid, LONG_POLL_SECONDS)
        current = emulator.chats[cid]
        return web.json_response({"version": current.version, "messages": current.messages})

    async def send(request: web.Request) -> web.Response:
        cid = chat_id(request)
        body = await request.json()
        text = str(body.get("text", ""))
        if not text.strip():
            raise web.HTTPBadRequest(text="empty message")
        return web.json_response({"update_id": emulator.send(cid, text)})

    async def upload(request: web.Request) -> web.Response:
        """A photo or voice note the person sends, with the text typed as its caption."""
        cid = chat_id(request)
        form = await request.post()
        chosen, caption = form.get("file"), str(form.get("caption", "")).strip() or None
        if not isinstance(chosen, web.FileField):
            raise web.HTTPBadRequest(text="no file")
        sent = stored_file("upload", chosen.filename, chosen.content_type, chosen.file.read())
        if sent.content_type.startswith("image/"):
            return web.json_response({"update_id": emulator.send_photo(cid, caption, sent)})
        if sent.content_type.startswith("audio/"):
            return web.json_response({"update_id": emulator.send_voice(cid, caption=caption, voice=sent)})
        raise web.HTTPBadRequest(text="only a photo or a voice note can be sent")

    async def press(request: web.Request) -> web.Response:
        cid = chat_id(request)
        body = await request.json()
        return web.json_response(
            {"update_id": emulator.press(cid, int(body["message_id"]), str(body["data"]))}
        )

    async def file(request: web.Request) -> web.Response:
        found = emulator.files.get(request.match_info["file_id"])
        if found is None:
            raise web.HTTPNotFound(text="no such file")
        shown = found.content_type.startswith(("image/", "audio/"))  # on the page, not saved
        disposition = f'{"inline" if shown else "attachment"}; filename="{found.name}"'
        return web.Response(
            body=found.content, content_type=found.content_type, headers={"Content-Disposition": disposition}
        )

    routes = [
        web.get("/", page),
        web.get("/sandbox/api/people", people),
        web.post("/sandbox/api/people", newcomer),
        web.get("/sandbox/api/setup", setup),
        web.post("/sandbox/api/signup", signup),
        web.get("/sandbox/api/chats/{chat_id}", chat),
        web.post("/sandbox/api/chats/{chat_id}/send", send),
        web.post("/sandbox/api/chats/{chat_id}/press", press),
        web.post("/sandbox/api/chats/{chat_id}/upload", upload),
        web.get("/sandbox/api/files/{file_id}", file),
    ]
    return routes + (whatsapp_page_routes(whatsapp) if whatsapp is not None else [])


def shown(message: dict[str, Any]) -> dict[str, Any]:
    """A WhatsApp message as the page needs it: without the webhook body and the recipient."""
    return {key: value for key, value in message.items() if key not in {"raw", "to"}}


def whatsapp_page_routes(wa: WhatsAppEmulator) -> list[web.RouteDef]:
    """The page's API for WhatsApp people: their chats, and what they send, press, pick and read."""

    def address(request: web.Request) -> str:
        value = request.match_info["address"]
        if value not in wa.people:
            raise web.HTTPNotFound(text="no such WhatsApp person")
        if wa.webhook_url is None and request.method == "POST":
            raise web.HTTPServiceUnavailable(text="the sandbox is stopping")
        return value

    async def chat(request: web.Request) -> web.Response:
        who = address(request)
        since = int(request.query.get("since", "-1"))
        if since == wa.people[who].version:
            await wa.wait_for_change(who, LONG_POLL_SECONDS)
        person = wa.people[who]
        return web.json_response({"version": person.version, "messages": [shown(m) for m in person.messages]})

    async def send(request: web.Request) -> web.Response:
        who = address(request)
        text = str((await request.json()).get("text", ""))
        if not text.strip():
            raise web.HTTPBadRequest(text="empty message")
        return web.json_response({"wamid": wa.send_text(who, text)})

    async def press(request: web.Request) -> web.Response:
        """A reply button pressed (`button`) or a list row picked (`row`), by its id."""
        who = address(request)
        body = await request.json()
        choice_id = str(body.get("id", ""))
        try:
            if body.get("kind") == "row":
                return web.json_response({"wamid": wa.choose(who, choice_id)})
            return web.json_response({"wamid": wa.press(who, choice_id)})
        except ValueError:
            raise web.HTTPBadRequest(text="no such button or row was sent") from None

    async def upload(request: web.Request) -> web.Response:
        """A photo (with the text typed as its caption) or a voice note (WhatsApp's have none)."""
        who = address(request)
        form = await request.post()
        chosen, caption = form.get("file"), str(form.get("caption", "")).strip() or None
        if not isinstance(chosen, web.FileField):
            raise web.HTTPBadRequest(text="no file")
        sent = stored_file("upload", chosen.filename, chosen.content_type, chosen.file.read())
        if sent.content_type.startswith("image/"):
            return web.json_response({"wamid": wa.send_image(who, sent.content, caption, sent.content_type)})
        if sent.content_type.startswith("audio/"):
            return web.json_response({"wamid": wa.send_voice(who, sent.content, sent.content_type)})
        raise web.HTTPBadRequest(text="only a photo or a voice note can be sent")

    async def read(request: web.Request) -> web.Response:
        """The person has seen their chat: every bot message not yet read is, now (a `read` status
        goes to the bot for each, as WhatsApp's blue ticks do)."""
        who = address(request)
        unread = [
            m["wamid"]
            for m in wa.people[who].messages
            if m.get("from_bot") and m["status"] in {"sent", "delivered"}
        ]
        for wamid in unread:
            wa.read(who, wamid)
        return web.json_response({"read": len(unread)})

    async def media(request: web.Request) -> web.Response:
        found = wa.media.get(request.match_info["media_id"])
        if found is None:
            raise web.HTTPNotFound(text="no such media")
        mime = found.mime.split(";", 1)[0].strip()
        name = found.filename or found.id + (mimetypes.guess_extension(mime, strict=False) or "")
        shown_here = mime.startswith(("image/", "audio/"))  # on the page, not saved
        disposition = f'{"inline" if shown_here else "attachment"}; filename="{name}"'
        return web.Response(body=found.data, content_type=mime, headers={"Content-Disposition": disposition})

    return [
        web.get("/sandbox/api/whatsapp/{address}", chat),
        web.post("/sandbox/api/whatsapp/{address}/send", send),
        web.post("/sandbox/api/whatsapp/{address}/press", press),
        web.post("/sandbox/api/whatsapp/{address}/upload", upload),
        web.post("/sandbox/api/whatsapp/{address}/read", read),
        web.get("/sandbox/api/whatsapp-media/{media_id}", media),
    ]


async def run_sandbox(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    rtt: float = 0.0,
    signup: SignupMode | None = None,
) -> None:
    """Serve both emulators, the bot's WhatsApp webhook and the page on `port`, and run the bot
    against them until `stop` is set; `ready` is set once serving; each Bot API and Graph API call
    (and each webhook) waits a round trip of `rtt` seconds; sign-up starts in the `signup` mode.
    A taken port raises `PortInUse`."""
    emulator = Emulator(rtt=rtt)
    whatsapp = WhatsAppEmulator(rtt=rtt, throughput=WHATSAPP_RATE, pair_interval=WHATSAPP_PAIR_SECONDS)
    register_templates(whatsapp)
    history = History(data_dir)
    cast = Cast(emulator, whatsapp, history)
    for person in [*PEOPLE, *(Person(**saved) for saved in history.load_newcomers())]:
        cast.add(person)
    history.load(emulator, whatsapp)
    history.watch(emulator, whatsapp)
    root = f"http://{host}:{port}"
    settings = sandbox_settings(data_dir, root, signup)
    engine, sessions = await open_database(settings)
    try:
        await seed(sessions)
        application = build_application(settings, sessions)
        app = web.Application(client_max_size=UPLOAD_MAX)
        app.add_routes(sandbox_routes(cast, settings))
        app.add_routes(whatsapp.routes())
        app.add_routes(whatsapp_routes(application, WEBHOOK_PATH))
        data = application.bot_data
        mount(app, Dashboard(sessions, settings, data.topics, data.library, data.wake))
        try:
            await emulator.start(host, port, app)
        except OSError as exc:
            await emulator.stop()
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(host, port) from None
            raise
        whatsapp.root_url, whatsapp.base_url = root, f"{root}/{whatsapp.version}"
        whatsapp.webhook_url = f"{root}{WEBHOOK_PATH}"
        print(f"Sandbox ready: open {root}/ in your browser (Ctrl+C to stop).", flush=True)
        if ready is not None:
            ready.set()
        bot_stop = asyncio.Event()
        stopping = asyncio.create_task(_stop_whatsapp_first(stop or asyncio.Event(), whatsapp, bot_stop))
        try:
            await serve_polling(application, bot_stop, whatsapp_port=False)
        finally:
            stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping
            await whatsapp.stop()
            await emulator.stop()
    finally:
        await engine.dispose()


async def _stop_whatsapp_first(
    stop: asyncio.Event, whatsapp: WhatsAppEmulator, bot_stop: asyncio.Event
) -> None:
    """Once `stop` is set, end the WhatsApp emulator's webhook posts, then stop the bot, so that no
    webhook reaches a bot that is shutting down."""
    await stop.wait()
    whatsapp.webhook_url = None  # what people still send from the page goes nowhere
    await whatsapp.stop()
    bot_stop.set()
