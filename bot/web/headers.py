"""Security headers on every response the server sends: pages, files and errors alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

# No script at all, no inline style, nothing from elsewhere, never inside a frame.
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
STATIC_PREFIX = "/static/"
HSTS = "max-age=31536000"

Prepare = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def security_headers(secure: bool, home: str = "/") -> Prepare:
    """A response-prepare hook adding the headers; pages (everything but the static files under
    `home`) are never cached, since they show what only a signed-in coordinator may see."""
    static = home.rstrip("/") + STATIC_PREFIX

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if secure:
            headers["Strict-Transport-Security"] = HSTS
        if not request.path.startswith(static):
            headers["Cache-Control"] = "no-store"

    return add
