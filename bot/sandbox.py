"""`champbot sandbox`: the emulator, the bot on SQLite with demo data, and a chat page on localhost.

The page lets a person chat as any of several champions or as the demo coordinator, with the
bot's buttons rendered and pressable. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_application
from bot.channels import open_database, serve_polling
from bot.emulator import Emulator, stored_file
from bot.sandbox_history import History
from bot.settings import Settings, load_settings
from storage import champions, directory

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


@dataclass
class Person:
    id: int
    name: str
    role: str
    language_code: str


# The page opens as the first: Alex, a champion who has not joined yet, as the README's tour begins.
PEOPLE = [
    Person(1004, "Alex", "champion", "en"),
    Person(1001, "Amina", "champion", "so"),
    Person(1002, "Bilal", "champion", "ur"),
    Person(1003, "Kasia", "champion", "pl"),
    Person(9001, "Sam", "coordinator", "en"),
]
COORDINATOR = next(person for person in PEOPLE if person.role == "coordinator")


def sandbox_settings(data_dir: Path, base_url: str) -> Settings:
    """Settings for the sandbox: the emulator, a SQLite file of its own, no token."""
    return load_settings(
        token=None,
        api_base_url=base_url,
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'sandbox.db'}",
        webhook_url=None,
    )


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Starter areas and networks and the demo coordinator (idempotent)."""
    async with sessions.begin() as session:
        await directory.add_areas(session, STARTER_AREAS)
        await directory.add_networks(session, STARTER_NETWORKS)
        await champions.make_coordinator(session, COORDINATOR.id, COORDINATOR.name, COORDINATOR.language_code)


def sandbox_routes(emulator: Emulator) -> list[web.RouteDef]:
    """The chat page and the small JSON API it uses."""

    async def page(_request: web.Request) -> web.Response:
        html = resources.files("bot").joinpath("sandbox.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html")

    async def people(_request: web.Request) -> web.Response:
        return web.json_response([asdict(p) for p in PEOPLE])

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

    return [
        web.get("/", page),
        web.get("/sandbox/api/people", people),
        web.get("/sandbox/api/chats/{chat_id}", chat),
        web.post("/sandbox/api/chats/{chat_id}/send", send),
        web.post("/sandbox/api/chats/{chat_id}/press", press),
        web.post("/sandbox/api/chats/{chat_id}/upload", upload),
        web.get("/sandbox/api/files/{file_id}", file),
    ]


async def run_sandbox(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    rtt: float = 0.0,
) -> None:
    """Serve the emulator and page and run the bot against them until `stop` is set;
    `ready` is set once serving; each Bot API call waits a round trip of `rtt` seconds. A taken port
    raises `PortInUse`."""
    emulator = Emulator(rtt=rtt)
    for person in PEOPLE:
        emulator.add_user(person.id, person.name, person.language_code, started=True)  # their chats are open
    history = History(data_dir)
    history.load(emulator)
    history.watch(emulator)
    app = web.Application(client_max_size=UPLOAD_MAX)
    app.add_routes(sandbox_routes(emulator))
    try:
        base_url = await emulator.start(host, port, app)
    except OSError as exc:
        await emulator.stop()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        raise
    settings = sandbox_settings(data_dir, base_url)
    engine, sessions = await open_database(settings)
    await seed(sessions)
    application = build_application(settings, sessions)
    print(f"Sandbox ready: open {base_url}/ in your browser (Ctrl+C to stop).", flush=True)
    if ready is not None:
        ready.set()
    try:
        await serve_polling(application, stop or asyncio.Event())
    finally:
        await emulator.stop()
        await engine.dispose()
