"""Deciding about someone who asked to join: the one rule the chat's Approve and Decline buttons
and the dashboard's champions page share."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage import champions, outbox
from storage.models import Champion, Status


async def decide(session: AsyncSession, champion_id: int, approve: bool) -> Champion | None:
    """Approve (make active) or decline a pending champion and queue the message that tells them,
    rendered in their language when it is sent, in the caller's transaction; None if they were
    not pending (someone decided already) or are gone. The status changes only from pending, in
    the UPDATE itself, so two coordinators can't both decide. Declined people are erased once
    they have been told (storage.outbox.record). Ring outbox.PERSON's wake after the commit."""
    champion = await session.get(Champion, champion_id)
    decided = Status.ACTIVE if approve else Status.DECLINED
    if champion is None or not await champions.change_status(session, champion.id, decided):
        return None
    await outbox.queue(session, outbox.APPROVAL_RESULT, [champion.id])
    return champion
