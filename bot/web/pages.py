"""Rendering: Jinja2 templates with autoescaping, in the reader's language and direction. Every
word a page shows is translated here in Python (where pybabel finds it) and handed to the
templates, which hold no English of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.i18n import Translator, negotiate, translator

NHSUK_FRONTEND = "10.6.1"  # the vendored NHS.UK frontend CSS (static/nhsuk/VENDORED.md)
HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every value is escaped, whatever its file's name
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def reader_language(request: web.Request, default: str) -> str:
    """The shipped language a visitor nobody knows yet asks for first (Accept-Language), else
    `default`."""
    for part in request.headers.get("Accept-Language", "").split(",")[:10]:
        code = part.split(";", 1)[0].strip()
        if code and code != "*" and (found := negotiate(code, "")):
            return found
    return default


def chrome(t: Translator) -> dict[str, str]:
    """The words around every page: the service's name, the skip link, the account links."""
    _ = t.gettext
    return {
        "service": _("Community Champions dashboard"),
        "skip": _("Skip to main content"),
        "account": _("Account"),
        "sign_out": _("Sign out"),
    }


def render(t: Translator, template: str, title: str, *, status: int = 200, **values: Any) -> web.Response:
    """A page as HTML in the language of `t`, laid out right to left where it is written so."""
    html = TEMPLATES.get_template(template).render(
        lang=t.language, dir="rtl" if t.rtl else "ltr", title=title, words=chrome(t), **values
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def message_page(
    t: Translator, title: str, lines: list[str], *, status: int, back: str | None = None, **values: Any
) -> web.Response:
    """A page that says one thing: a refused link, a form that was not accepted, a bad address."""
    return render(t, "message.html", title, status=status, lines=lines, back=back, **values)


def visitor_translator(request: web.Request, default: str) -> Translator:
    """The translator for someone not signed in."""
    return translator(reader_language(request, default))
