"""Invite codes for deep links: make, check and use them."""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import Invite, utcnow

# Telegram deep-link payloads allow at most 64 of A-Za-z0-9_-; token_urlsafe uses exactly those.
CODE_BYTES = 9  # 12 characters


async def create_invite(
    session: AsyncSession,
    *,
    created_by: int | None,
    network_id: int | None,
    max_uses: int | None,
    days: int,
) -> Invite:
    """Make a new invite valid for `days`; `max_uses=None` lets any number of people join."""
    invite = Invite(
        code=secrets.token_urlsafe(CODE_BYTES),
        created_by=created_by,
        network_id=network_id,
        max_uses=max_uses,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(invite)
    await session.flush()
    return invite


async def valid_invite(session: AsyncSession, code: str, now: datetime | None = None) -> Invite | None:
    """The invite if it exists, has not expired and has uses left."""
    invite = await session.get(Invite, code)
    now = now or utcnow()
    if invite is None or invite.expires_at <= now:
        return None
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return None
    return invite


async def use_invite(session: AsyncSession, code: str, now: datetime | None = None) -> bool:
    """Count one use, atomically; False if it expired or was used up since the join began."""
    result = await rows_changed(session,
        update(Invite)
        .where(Invite.code == code)
        .where(Invite.expires_at > (now or utcnow()))
        .where((Invite.max_uses.is_(None)) | (Invite.uses < Invite.max_uses))
        .values(uses=Invite.uses + 1)
    )
    return bool(result)
