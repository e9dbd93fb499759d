"""What every signed-in page shares: the header's account part, the navigation between pages,
and the check that turns a visitor with no live session back to the sign-in page.

Every page's path is one segment under the dashboard's home ("insights", "champions?area=2"),
so the relative links the templates use work wherever the dashboard is served."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.i18n import N_, Translator
from bot.web import auth
from bot.web.pages import message_page, render, visitor_translator

# The pages, in the order the navigation lists them: the path under home, and the label.
NAV = [
    ("./", N_("Overview")),
    ("insights", N_("Insights")),
    ("themes", N_("Themes")),
    ("champions", N_("Champions")),
    ("broadcasts", N_("Broadcasts")),
    ("campaigns", N_("Campaigns")),
    ("learning", N_("Learning")),
    ("exports", N_("Exports")),
]

Page = Callable[[web.Request, auth.Visitor], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class SignedInHeader:
    """The header's account part: who is signed in (the words around their name, which the
    template isolates), and the sign-out form's token."""

    before: str
    name: str
    after: str
    csrf: str


def signed_in_header(t: Translator, visitor: auth.Visitor) -> SignedInHeader:
    before, _name, after = t.gettext("Signed in as {name}").partition("{name}")
    return SignedInHeader(before, visitor.champion.display_name or "", after, visitor.csrf)


def page(
    visitor: auth.Visitor, template: str, title: str, current: str, *, status: int = 200, **values: Any
) -> web.Response:
    """A signed-in page: the header with who is signed in, the navigation with `current` (a NAV
    path) marked, and the template's own values (`csrf` for its forms)."""
    t = visitor.t
    return render(
        t,
        template,
        title,
        status=status,
        signed_in=signed_in_header(t, visitor),
        nav=[(path, t.gettext(label), path == current) for path, label in NAV],
        nav_label=t.gettext("Dashboard pages"),
        csrf=visitor.csrf,
        **values,
    )


def problem(visitor: auth.Visitor, title: str, lines: list[str], *, status: int = 400) -> web.Response:
    """A signed-in page that says what was wrong with the request (a bad filter, an unknown id)."""
    t = visitor.t
    return message_page(
        t,
        title,
        lines,
        status=status,
        back=t.gettext("Back to the overview"),
        signed_in=signed_in_header(t, visitor),
        nav=[(path, t.gettext(label), False) for path, label in NAV],
        nav_label=t.gettext("Dashboard pages"),
    )


def for_coordinators(gate: auth.Gate, handle: Page) -> Handler:
    """A route handler that runs `handle` for a signed-in coordinator (checked against the
    database on this request) and shows anyone else the sign-in page. A POST also needs this
    session's CSRF token: `auth.checked_form`."""

    async def handler(request: web.Request) -> web.StreamResponse:
        visitor = await auth.signed_in(gate, request)
        if visitor is None:
            return auth.sign_in_page(visitor_translator(request, gate.settings.default_language))
        return await handle(request, visitor)

    return handler


class BadRequest(Exception):
    """A filter, page or id that is not one the pages offer: its title and what to do."""

    def __init__(self, title: str, line: str) -> None:
        super().__init__(title)
        self.title = title
        self.line = line


def digits(value: str) -> bool:
    """Whether `value` is a whole number in ASCII digits (not "²" or "٣", which `int` may refuse)."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def whole_number(value: str, title: str, line: str) -> int:
    """A positive whole number from an address, or BadRequest."""
    if not digits(value) or int(value) < 1:
        raise BadRequest(title, line)
    return int(value)
