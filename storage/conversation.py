"""Per-chat conversation state: which step a chat is on and what it has answered so far."""

from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState


async def get_state(session: AsyncSession, chat_id: int) -> ConversationState | None:
    """The chat's current step, or None when it is not in a flow."""
    return await session.get(ConversationState, chat_id)


async def set_state(session: AsyncSession, chat_id: int, step: str, data: dict[str, Any]) -> None:
    """Record the chat's step and answers, replacing what was there."""
    state = await session.get(ConversationState, chat_id)
    if state is None:
        session.add(ConversationState(chat_id=chat_id, step=step, data=dict(data)))
    else:
        state.step = step
        state.data = dict(data)


async def clear_state(session: AsyncSession, chat_id: int) -> None:
    """Forget the chat's flow."""
    await session.execute(delete(ConversationState).where(ConversationState.chat_id == chat_id))


async def leave_step(session: AsyncSession, chat_id: int, step: str) -> bool:
    """Leave a step only if the chat is still on it: True for exactly one of two racing presses of
    the same button (e.g. Confirm pressed twice, or on two workers)."""
    result = await session.execute(
        delete(ConversationState).where(ConversationState.chat_id == chat_id, ConversationState.step == step)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
