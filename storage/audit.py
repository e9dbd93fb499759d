"""The dashboard's audit log: who (a champion id) did what, and when. Nothing a person wrote goes
in: a page viewed is named by the page, a refused link by why it was refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent

SIGNED_IN = "signed_in"
SIGNED_OUT = "signed_out"
LINK_REFUSED = "link_refused"
VIEWED = "viewed"
ACCESS_ENDED = "access_ended"  # no longer a coordinator: their sessions were ended
EXPORTED = "exported"  # a file of reports downloaded: its kind, format and period, never its content
CHAMPION_CHANGED = "champion_changed"  # on the champions page: "approve:<champion id>", say
RESPONDED = "responded"  # a response sent to reports: its form's token, and a report id or a count
BROADCAST_SENT = "broadcast_sent"  # detail: the compose form's one-time token and the broadcast's id
CAMPAIGN_CHANGED = "campaign_changed"  # detail: the action and the campaign's id
CAMPAIGN_LOADED = "campaign_loaded"  # detail: the campaign's id
STORY_CHANGED = "story_changed"  # a report's success story saved or deleted: "story:save:<report id>"
THEME_CHANGED = "theme_changed"  # a theme's step, note, partner, action or outcome: "<what>:<theme id>"
ACTIONS = (
    SIGNED_IN,
    SIGNED_OUT,
    LINK_REFUSED,
    VIEWED,
    ACCESS_ENDED,
    EXPORTED,
    CHAMPION_CHANGED,
    RESPONDED,
    BROADCAST_SENT,
    CAMPAIGN_CHANGED,
    CAMPAIGN_LOADED,
    STORY_CHANGED,
    THEME_CHANGED,
)


async def record(
    session: AsyncSession, action: str, champion_id: int | None, at: datetime, detail: str | None = None
) -> None:
    """Add one event."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(AuditEvent(action=action, champion_id=champion_id, at=at, detail=detail))
    await session.flush()


async def recent(session: AsyncSession, limit: int = 50) -> list[AuditEvent]:
    """The newest `limit` events, newest first."""
    return list(
        await session.scalars(
            select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        )
    )


async def detail_starting(session: AsyncSession, action: str, champion_id: int, prefix: str) -> str | None:
    """The detail of this champion's first `action` event whose detail starts with `prefix`, if any."""
    return await session.scalar(
        select(AuditEvent.detail)
        .where(
            AuditEvent.action == action,
            AuditEvent.champion_id == champion_id,
            AuditEvent.detail.startswith(prefix, autoescape=True),
        )
        .order_by(AuditEvent.id)
        .limit(1)
    )
