"""Signing in without a password: the one-time link /web sends, the session cookie it leads to,
the CSRF token every form carries, and the role checked against the database on every request.

Opening a link shows a page with one button; only pressing it (a POST) uses the link, so a link
preview or a mail scanner fetching the address cannot use it up."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translator, translator
from bot.settings import Settings
from bot.web.pages import message_page, render, visitor_translator
from handlers.common import coordinating
from storage import audit, web_sessions
from storage.models import Champion, utcnow

TOKEN_MAX = 100  # characters: longer is nothing we made
NOT_COORDINATOR = "not_coordinator"  # an audit detail beside web_sessions.Refused's


@dataclass(frozen=True)
class Gate:
    """What signing in needs to know: the database and the settings."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings

    @property
    def secure(self) -> bool:
        """Whether the dashboard is reached over HTTPS, so its cookie is Secure (and __Host-)."""
        return (self.settings.web_url or "").startswith("https://")

    @property
    def home(self) -> str:
        """The overview's path: "/", or under the path of the dashboard's address (the sandbox
        serves it at /dashboard/)."""
        return urlsplit(self.settings.web_url or "").path.rstrip("/") + "/"

    @property
    def cookie_name(self) -> str:
        return "__Host-champbot_session" if self.secure else "champbot_session"

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.web_idle_minutes)


@dataclass(frozen=True)
class Visitor:
    """A coordinator signed in, as checked for this request."""

    champion: Champion
    csrf: str
    cookie: str

    @property
    def t(self) -> Translator:
        return translator(self.champion.language)


async def signed_in(gate: Gate, request: web.Request) -> Visitor | None:
    """The coordinator whose live session this request's cookie names, or None. Someone who is no
    longer a coordinator (or no longer a member) has every session ended, at once."""
    cookie = request.cookies.get(gate.cookie_name, "")
    if not cookie or len(cookie) > TOKEN_MAX:
        return None
    now = utcnow()
    async with gate.sessions.begin() as session:
        found = await web_sessions.find_session(session, cookie, now, gate.idle)
        if found is None:
            return None
        row, champion = found
        if not coordinating(champion):
            await web_sessions.end_all(session, champion.id)
            await audit.record(session, audit.ACCESS_ENDED, champion.id, now)
            return None
    return Visitor(champion, row.csrf, cookie)


async def checked_form(request: web.Request, visitor: Visitor) -> MultiDictProxy[Any] | None:
    """The posted form if it carries this session's CSRF token, else None: the caller answers
    with `form_refused` and does nothing."""
    form = await request.post()
    sent = form.get("csrf")
    if isinstance(sent, str) and hmac.compare_digest(sent.encode(), visitor.csrf.encode()):
        return form
    return None


def form_refused(t: Translator) -> web.Response:
    """403 for a form without this session's CSRF token."""
    _ = t.gettext
    return message_page(
        t,
        _("This form was not accepted"),
        [_("Nothing was changed. Go back to the overview and try again.")],
        status=403,
        back=_("Back to the overview"),
    )


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST, the browser GETs `location`."""
    return web.Response(status=303, headers={"Location": location})


def sign_in_page(t: Translator, *, status: int = 200) -> web.Response:
    """Where anyone not signed in lands: how to get a link."""
    _ = t.gettext
    minutes = web_sessions.LINK_MINUTES
    return message_page(
        t,
        _("Sign in"),
        [
            _("Only coordinators can sign in."),
            t.ngettext(
                "Send /web to the bot in Telegram or WhatsApp. It replies with a link that signs you in: "
                "it works once, within {count} minute.",
                "Send /web to the bot in Telegram or WhatsApp. It replies with a link that signs you in: "
                "it works once, within {count} minutes.",
                minutes,
            ).format(count=t.number(minutes)),
        ],
        status=status,
    )


def refused_page(t: Translator) -> web.Response:
    """A link that cannot sign anyone in: used, expired, made up, or not a coordinator's."""
    _ = t.gettext
    minutes = web_sessions.LINK_MINUTES
    return message_page(
        t,
        _("This sign-in link does not work"),
        [
            t.ngettext(
                "A link works once, within {count} minute, and only for a coordinator.",
                "A link works once, within {count} minutes, and only for a coordinator.",
                minutes,
            ).format(count=t.number(minutes)),
            _("Send /web to the bot for a new one."),
        ],
        status=403,
    )


async def _refuse(gate: Gate, request: web.Request, champion_id: int | None, why: str) -> web.Response:
    async with gate.sessions.begin() as session:
        await audit.record(session, audit.LINK_REFUSED, champion_id, utcnow(), why)
        champion = await session.get(Champion, champion_id) if champion_id is not None else None
    language = champion.language if champion else None
    t = translator(language) if language else visitor_translator(request, gate.settings.default_language)
    return refused_page(t)


def _token(value: object) -> str:
    return value if isinstance(value, str) and 0 < len(value) <= TOKEN_MAX else ""


async def open_link(gate: Gate, request: web.Request) -> web.Response:
    """GET /signin?token=…: a page with one button that signs in, if the link can still be used.
    Nothing is used up here."""
    token = _token(request.query.get("token"))
    async with gate.sessions() as session:
        check = await web_sessions.check_login(session, token, utcnow())
        champion = await session.get(Champion, check.champion_id) if check.champion_id else None
    if check.refused is not None:
        return await _refuse(gate, request, check.champion_id, check.refused)
    if not coordinating(champion):
        return await _refuse(gate, request, check.champion_id, NOT_COORDINATOR)
    assert champion is not None
    t = translator(champion.language)
    _ = t.gettext
    return render(
        t,
        "signin.html",
        _("Sign in"),
        lines=[_("You are signing in to the Community Champions dashboard.")],
        button=_("Continue"),
        token=token,
    )


async def use_link(gate: Gate, request: web.Request) -> web.Response:
    """POST /signin: use the link (once), start a session, set its cookie, go to the overview."""
    form = await request.post()
    token = _token(form.get("token"))
    now = utcnow()
    async with gate.sessions.begin() as session:
        check = await web_sessions.use_login(session, token, now)
        champion = await session.get(Champion, check.champion_id) if check.champion_id else None
        if check.refused is None and coordinating(champion):
            assert champion is not None
            old = request.cookies.get(gate.cookie_name, "")
            if old and len(old) <= TOKEN_MAX:
                await web_sessions.end_session(session, old)  # a new sign-in replaces it
            started = await web_sessions.start_session(session, champion.id, now, gate.idle)
            await audit.record(session, audit.SIGNED_IN, champion.id, now)
        else:
            started = None
    if started is None:
        return await _refuse(gate, request, check.champion_id, check.refused or NOT_COORDINATOR)
    response = redirect(gate.home)
    response.set_cookie(
        gate.cookie_name,
        started.cookie,
        path="/",
        httponly=True,
        secure=gate.secure,
        samesite="Lax",  # Strict would drop the cookie on the redirect from a link opened in the chat app
    )
    return response


async def sign_out(gate: Gate, request: web.Request) -> web.Response:
    """POST /signout: end this session (its form's CSRF token checked) and go to the sign-in page."""
    visitor = await signed_in(gate, request)
    if visitor is None:
        return redirect(gate.home)
    if await checked_form(request, visitor) is None:
        return form_refused(visitor.t)
    async with gate.sessions.begin() as session:
        await web_sessions.end_session(session, visitor.cookie)
        await audit.record(session, audit.SIGNED_OUT, visitor.champion.id, utcnow())
    response = redirect(gate.home)
    response.del_cookie(gate.cookie_name, path="/", secure=gate.secure, httponly=True, samesite="Lax")
    return response
