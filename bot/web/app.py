"""The dashboard's routes, wired onto an aiohttp application: its own (`web_app`, for `champbot
web`) or one already serving the webhooks (`mount`, for `champbot webhook` and the sandbox)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from bot.wake import Wake
from bot.web import (
    auth,
    broadcasts,
    campaigns,
    champions,
    exports,
    insights,
    learning,
    report_media,
    theme_grouping,
    themes,
)
from bot.web.headers import STATIC_PREFIX, security_headers
from bot.web.layout import for_coordinators
from bot.web.overview import overview
from bot.web.pages import STATIC_DIR
from storage.content import Library
from storage.report_topics import Topic

MAX_BODY = 64 * 1024  # the dashboard's forms are small


@dataclass(frozen=True)
class Dashboard:
    """What the pages need: the database, the settings, the report topics to name, the training
    snippets, and the delivery workers' wake to ring after queueing a message (in the bot's own
    process; across processes, PostgreSQL's NOTIFY rings it)."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    topics: list[Topic] = field(default_factory=list)
    library: Library = field(default_factory=Library)
    wake: Wake = field(default_factory=Wake)

    @property
    def gate(self) -> auth.Gate:
        return auth.Gate(self.sessions, self.settings)


def routes(dashboard: Dashboard) -> list[web.AbstractRouteDef]:
    """The dashboard's pages: the overview (or the sign-in page), the link, signing out."""
    gate = dashboard.gate

    async def home(request: web.Request, visitor: auth.Visitor) -> web.Response:
        return await overview(dashboard.sessions, dashboard.topics, request, visitor)

    async def open_link(request: web.Request) -> web.Response:
        return await auth.open_link(gate, request)

    async def use_link(request: web.Request) -> web.Response:
        return await auth.use_link(gate, request)

    async def sign_out(request: web.Request) -> web.Response:
        return await auth.sign_out(gate, request)

    return [
        web.get("/", for_coordinators(gate, home)),
        web.get("/signin", open_link),
        web.post("/signin", use_link),
        web.post("/signout", sign_out),
        *insights.routes(dashboard),
        *themes.routes(dashboard),
        *champions.routes(dashboard),
        *broadcasts.routes(dashboard),
        *campaigns.routes(dashboard),
        *learning.routes(dashboard),
        *exports.routes(dashboard),
        *report_media.routes(dashboard),
        *theme_grouping.routes(dashboard),
        web.static(STATIC_PREFIX, STATIC_DIR),
    ]


def mount(app: web.Application, dashboard: Dashboard) -> None:
    """Serve the dashboard from `app` too, beside whatever it serves already: under `/`, or under
    the path of its address (CHAMPBOT_WEB_URL) as a sub-application; every response it sends
    carries the security headers (with `/`, every response `app` sends)."""
    home = dashboard.gate.home
    if home == "/":
        app.add_routes(routes(dashboard))
        app.on_response_prepare.append(security_headers(dashboard.gate.secure))
        return
    pages = web.Application()
    pages.add_routes(routes(dashboard))
    pages.on_response_prepare.append(security_headers(dashboard.gate.secure, home))
    app.add_subapp(home.rstrip("/"), pages)


def web_app(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    topics: list[Topic] | None = None,
    library: Library | None = None,
    wake: Wake | None = None,
) -> web.Application:
    """An aiohttp application serving the dashboard alone (the project's snippets unless given;
    a wake of its own unless given: `champbot web` runs no delivery workers)."""
    app = web.Application(client_max_size=MAX_BODY)
    if library is None:
        from bot.app import load_content  # here: bot.app leads to bot.channels, which imports this

        library = load_content()
    mount(app, Dashboard(sessions, settings, topics or [], library, wake or Wake()))
    return app
