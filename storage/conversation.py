"""Per-chat conversation state: which step a chat is on and what it has answered so far.

Writes are conditional on the version the update read, so two updates of one chat handled at the
same time (on two webhook workers) cannot overwrite each other: the second one to write gets
StateConflict and is handled again on the fresh state (bot.app.ChampApplication).
"""

from typing import Any, Final

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import ConversationState, utcnow

ANY: Final = -1  # as `read`: write over whatever is there (for one-shot steps guarded otherwise)


class StateConflict(Exception):
    """The chat's state changed after this update read it: the update must be handled again."""


async def get_state(session: AsyncSession, chat_id: int) -> ConversationState | None:
    """The chat's current step, or None when it is not in a flow."""
    return await session.get(ConversationState, chat_id)


async def set_state(
    session: AsyncSession, chat_id: int, step: str, data: dict[str, Any], *, read: int | None = ANY
) -> int:
    """Record the chat's step and answers and return the new version. `read` is the version the
    update read (None: it found no state); if the state has changed since, StateConflict."""
    if read == ANY:
        state = await session.get(ConversationState, chat_id)
        if state is None:
            session.add(ConversationState(chat_id=chat_id, step=step, data=dict(data), version=1))
            return 1
        state.step, state.data, state.version = step, dict(data), state.version + 1
        return state.version
    if read is None:  # a new row, unless another update inserted one meanwhile
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        result = await rows_changed(session,
            dialect.insert(ConversationState)
            .values(chat_id=chat_id, step=step, data=dict(data), version=1, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["chat_id"])
        )
    else:
        result = await rows_changed(session,
            update(ConversationState)
            .where(ConversationState.chat_id == chat_id, ConversationState.version == read)
            .values(step=step, data=dict(data), version=read + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    if not result:
        raise StateConflict
    return 1 if read is None else read + 1


async def clear_state(session: AsyncSession, chat_id: int, *, read: int | None = ANY) -> None:
    """Forget the chat's flow; with `read` (as for set_state), only if it is still the state read."""
    condition = [ConversationState.chat_id == chat_id]
    if read is not None and read != ANY:
        condition.append(ConversationState.version == read)
    result = await rows_changed(session, delete(ConversationState).where(*condition))
    deleted = bool(result)
    if (read is None and deleted) or (read not in (None, ANY) and not deleted):
        raise StateConflict  # a state appeared, or changed or went, since it was read (rolled back)


async def leave_step(session: AsyncSession, chat_id: int, step: str) -> bool:
    """Leave a step only if the chat is still on it: True for exactly one of two racing presses of
    the same button (e.g. Confirm pressed twice, or on two workers)."""
    result = await rows_changed(session,
        delete(ConversationState).where(ConversationState.chat_id == chat_id, ConversationState.step == step)
    )
    return bool(result)
