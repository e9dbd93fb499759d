"""The parts of a long paste, held in the chat's conversation state until the last one arrives.

Telegram clients send a text over 4096 characters as several messages. The parts are kept under
one key of the state's data (so every worker sees them, and a restart loses none) and joined, in
order, into the one message the waiting step then gets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState

KEY = "paste"


@dataclass(frozen=True)
class Held:
    """The text joined so far, and what is known of its last part."""

    text: str
    token: int  # the last part's update id: whoever releases it names it, so only one does
    message_id: int  # the last part's
    date: float  # when the last part was sent (Telegram's time, in seconds)
    hard_cut: bool  # the last part ended exactly at the split size, so the next one goes on mid-word
    handed_over: bool = False  # given to its step already: a part still to come is a tail, not a text

    def joined(self, part: str) -> str:
        """This text with the next part after it (the space a client cut at was trimmed away)."""
        return self.text + ("" if self.hard_cut else " ") + part


def held(data: dict[str, Any]) -> Held | None:
    """The paste held in a state's data, if any."""
    value = data.get(KEY)
    return Held(**value) if isinstance(value, dict) else None


def without(data: dict[str, Any]) -> dict[str, Any]:
    """A state's data without the held paste."""
    return {key: value for key, value in data.items() if key != KEY}


async def hold(session: AsyncSession, chat_id: int, paste: Held) -> bool:
    """Keep `paste` for a chat in a flow, replacing the one held; False if the chat is in none."""
    state = await session.get(ConversationState, chat_id, with_for_update=True)
    if state is None:
        return False
    state.data = {**state.data, KEY: asdict(paste)}
    return True


async def take(session: AsyncSession, chat_id: int, token: int, *, complete: bool = False) -> Held | None:
    """Take the held paste out of the state if its last part is still `token`; None if it is not
    there any more (another part, update or worker took it or added to it). Unless it is
    `complete` (its last part has come), a mark is left that it was handed over."""
    state = await session.get(ConversationState, chat_id, with_for_update=True)
    paste = held(state.data) if state is not None else None
    if state is None or paste is None or paste.handed_over or paste.token != token:
        return None
    mark = {} if complete else {KEY: asdict(replace(paste, text="", handed_over=True))}
    state.data = {**without(state.data), **mark}
    return paste


async def end(session: AsyncSession, chat_id: int) -> None:
    """Forget the mark of a paste that was handed over, once another update has come: no part of
    it can follow that, so the next text is the person's own."""
    state = await session.get(ConversationState, chat_id, with_for_update=True)
    paste = held(state.data) if state is not None else None
    if state is not None and paste is not None and paste.handed_over:
        state.data = without(state.data)
