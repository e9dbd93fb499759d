"""Typed, versioned step data: what a chat has answered so far in the journey it is on.

Each journey declares a small pydantic model per journey (a subclass of StepData with its VERSION)
and bot.wiring maps the journey's step prefix ("rep" for "rep:topic") to it. The loading step
validates a chat's stored state against its journey's model: a state of another version or shape
(left by an earlier release, mid-conversation) is ended kindly, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from storage import pastes
from storage.models import ConversationState

VERSION_KEY = "v"


class StepData(BaseModel):
    """A journey's answers so far; bump VERSION whenever the fields change meaning or shape."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    VERSION: ClassVar[int] = 1

    # The message of the journey's latest question with choices, so they can be taken away when
    # the journey ends or asks its next question (handlers.common keeps it; None: none to take).
    question: int | None = None

    def stored(self) -> dict[str, Any]:
        """The data as conversation_state keeps it, with its version."""
        return {VERSION_KEY: self.VERSION, **self.model_dump(mode="json")}


def journey(step: str) -> str:
    """The journey a step belongs to: "rep" for "rep:topic"."""
    return step.split(":", 1)[0]


def read(state: ConversationState, models: Mapping[str, type[StepData]]) -> StepData | None:
    """The state's data as its journey's model, or None when it can't continue: an unknown journey,
    another version, or a shape that doesn't validate."""
    model = models.get(journey(state.step))
    if model is None or not isinstance(state.data, dict):
        return None
    data = pastes.without(state.data)  # a long paste held on the state is the gate's, not the journey's
    if data.pop(VERSION_KEY, None) != model.VERSION:
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        return None
