"""The web dashboard's sign-in links and sessions. A link's token and a session's cookie are random
and are kept only as SHA-256 hashes: what the database holds cannot sign anyone in. A link works
once, before it expires; a session ends after it has been idle too long, or at its maximum age."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import Champion, WebLogin, WebSession

LINK_MINUTES = 10  # how long a sign-in link works
SESSION_MAX = timedelta(hours=12)  # a session ends this long after sign-in, however busy


class Refused(enum.StrEnum):
    """Why a sign-in link did not sign anyone in."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


def hashed(token: str) -> str:
    """The SHA-256 of a token or cookie value, as kept in the database."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_login(session: AsyncSession, champion_id: int, now: datetime) -> str:
    """A new sign-in link's token for this champion (its hash is stored); links already expired
    are cleared on the way."""
    await session.execute(delete(WebLogin).where(WebLogin.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        WebLogin(
            token_hash=hashed(token),
            champion_id=champion_id,
            expires_at=now + timedelta(minutes=LINK_MINUTES),
            created_at=now,
        )
    )
    await session.flush()
    return token


@dataclass(frozen=True)
class LinkCheck:
    """Whom a link is for, and why it cannot be used (None: it can)."""

    champion_id: int | None
    refused: Refused | None


async def check_login(session: AsyncSession, token: str, now: datetime) -> LinkCheck:
    """Whether a link can still be used, without using it."""
    login = await session.get(WebLogin, hashed(token))
    if login is None:
        return LinkCheck(None, Refused.UNKNOWN)
    if login.used_at is not None:
        return LinkCheck(login.champion_id, Refused.USED)
    if login.expires_at <= now:
        return LinkCheck(login.champion_id, Refused.EXPIRED)
    return LinkCheck(login.champion_id, None)


async def use_login(session: AsyncSession, token: str, now: datetime) -> LinkCheck:
    """Use a link: marked used in one conditional UPDATE, so of two requests with it only one
    wins; the other is told why it was refused."""
    used = await rows_changed(
        session,
        update(WebLogin)
        .where(WebLogin.token_hash == hashed(token), WebLogin.used_at.is_(None), WebLogin.expires_at > now)
        .values(used_at=now),
    )
    found = await check_login(session, token, now)
    return LinkCheck(found.champion_id, None) if used else found


@dataclass(frozen=True)
class Started:
    """A new session: the cookie's value and the token its forms carry."""

    cookie: str
    csrf: str


async def start_session(session: AsyncSession, champion_id: int, now: datetime, idle: timedelta) -> Started:
    """Sign a champion in; sessions that have ended meanwhile are cleared on the way."""
    await session.execute(delete(WebSession).where(_ended(now, idle)))
    started = Started(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    session.add(
        WebSession(
            id_hash=hashed(started.cookie),
            champion_id=champion_id,
            csrf=started.csrf,
            created_at=now,
            last_seen_at=now,
        )
    )
    await session.flush()
    return started


def _ended(now: datetime, idle: timedelta) -> ColumnElement[bool]:
    """Sessions idle too long, or past their maximum age."""
    return or_(WebSession.last_seen_at <= now - idle, WebSession.created_at <= now - SESSION_MAX)


async def find_session(
    session: AsyncSession, cookie: str, now: datetime, idle: timedelta
) -> tuple[WebSession, Champion] | None:
    """The live session with this cookie and its champion, now marked as seen; None if there is
    none (an ended one is deleted)."""
    row = (
        await session.execute(
            select(WebSession, Champion)
            .join(Champion, Champion.id == WebSession.champion_id)
            .where(WebSession.id_hash == hashed(cookie))
        )
    ).first()
    if row is None:
        return None
    found, champion = row[0], row[1]
    if found.last_seen_at <= now - idle or found.created_at <= now - SESSION_MAX:
        await session.delete(found)
        return None
    found.last_seen_at = now
    return found, champion


async def end_session(session: AsyncSession, cookie: str) -> None:
    """Sign one session out."""
    await session.execute(delete(WebSession).where(WebSession.id_hash == hashed(cookie)))


async def end_all(session: AsyncSession, champion_id: int) -> int:
    """End every session of a champion (they are no longer a coordinator); how many there were."""
    return await rows_changed(session, delete(WebSession).where(WebSession.champion_id == champion_id))
