"""The one small reply API handlers speak through, whatever the channel.

A handler says what to show: a text with choices (and perhaps a photo or a file), a replacement for
the message whose button was pressed, an acknowledgement of the press, or the answer picked. Each
channel renders it: Telegram with inline keyboards and edits (bot/telegram_replies.py); WhatsApp
with at most 3 reply buttons or a list of at most 10 rows, and a new message where Telegram would
edit (`whatsapp_pages` says how choices are laid out there). RapidPro's courier maps one "message
with quick replies" to each channel the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

# WhatsApp Cloud API limits on interactive messages.
BUTTONS_MAX = 3  # reply buttons in one message
BUTTON_TITLE = 20  # characters of a reply button's title
LIST_ROWS = 10  # rows in one list message, over all its sections
ROW_TITLE = 24  # characters of a list row's title
ROW_NOTE = 72  # characters of a list row's description
BODY_MAX = 1024  # characters of an interactive message's body
TICK = "✓ "  # before a choice already picked, or one of several toggled on


@dataclass(frozen=True)
class Choice:
    """One answer a person can pick: its label, the short data a press sends back, and an optional
    note (a list row's description on WhatsApp; after the label on Telegram)."""

    label: str
    data: str
    note: str = ""


@dataclass(frozen=True)
class Media:
    """A photo, voice note or document: a file id the channel already holds, or new bytes."""

    kind: str  # "photo", "voice" or "document"
    file: str | bytes
    filename: str | None = None


@dataclass
class Outgoing:
    """One message: a text (a caption when there is media), its choices laid out `columns` to a
    row where the channel can, and whether a link in it may be previewed."""

    text: str
    choices: Sequence[Choice] = field(default_factory=tuple)
    columns: int = 1
    media: Media | None = None
    preview: bool = True


@dataclass(frozen=True)
class Sent:
    """A message the bot sent, as the channel knows it, so a later step can change it."""

    chat_id: int
    message_id: int


class Edited(Enum):
    """What came of changing a message sent before."""

    SHOWN = "shown"  # it shows the new content now (or did already)
    GONE = "gone"  # it can't be changed any more: deleted, or the chat blocked the bot
    LATER = "later"  # the channel failed for now (the network, a rate limit): try again later


def ticked(on: bool, label: str) -> str:
    """A label with the tick when `on`: the answer picked before, or a toggle that is on."""
    return TICK + label if on else label


class Replies(ABC):
    """What a handler can do in the chat its update came from. Calls that don't depend on each
    other (acknowledging a press, echoing the answer, the next question) may go at once: `flush`,
    run when the handler returns, waits for all of them."""

    @abstractmethod
    async def say(
        self, outgoing: Outgoing | str, choices: Sequence[Choice] = (), *, columns: int = 1
    ) -> Sent:
        """Send a message (a text with these choices, or a whole Outgoing) after those said before."""

    @abstractmethod
    async def replace(
        self,
        outgoing: Outgoing | str,
        choices: Sequence[Choice] = (),
        *,
        columns: int = 1,
        message: Sent | None = None,
    ) -> None:
        """Show this instead of the pressed message (or `message`): edited in place where the
        channel can, sent anew where it can't."""

    @abstractmethod
    async def rechoose(
        self, choices: Sequence[Choice], *, columns: int = 1, message: Sent | None = None
    ) -> None:
        """Change only the choices under the pressed message (or `message`): a toggle flipped."""

    @abstractmethod
    async def ack(self, notice: str | None = None, *, alert: bool = False) -> None:
        """Acknowledge the press, with a short notice if given (a channel without acknowledgements
        says the notice as a message, and nothing otherwise)."""

    @abstractmethod
    async def picked(self, label: str | None = None) -> None:
        """Acknowledge the press and show on its question what was picked (`label`), taking the
        question's choices away so an old answer can't be pressed; None just takes them away."""

    @property
    @abstractmethod
    def asked(self) -> Sent | None:
        """The newest message said in this update that still shows its choices, where the channel
        can take them away later (None: none was, or a channel that can't)."""

    @abstractmethod
    def unchosen(self, message: Sent) -> bool:
        """Whether this update took the choices off the message (picked, or replaced without any)."""

    @abstractmethod
    async def unchoose(self, message: Sent) -> None:
        """Take the choices off a message said in an earlier update (the question of a journey that
        ended or moved on), once the handler is done, unless this update showed or took away that
        message's choices itself; a message that is gone or can't be changed is left as it is."""

    @abstractmethod
    async def edit(self, message: Sent, outgoing: Outgoing) -> Edited:
        """Change a message sent before, outside any press (a scheduled job's), waiting for the
        outcome; it queues behind replies to people who just wrote."""

    @abstractmethod
    async def flush(self) -> None:
        """Wait for everything said so far to reach the channel; raise the first failure."""


def as_outgoing(outgoing: Outgoing | str, choices: Sequence[Choice], columns: int) -> Outgoing:
    """A text with choices as an Outgoing (an Outgoing as it is)."""
    if isinstance(outgoing, Outgoing):
        return outgoing
    return Outgoing(outgoing, tuple(choices), columns)


@dataclass(frozen=True)
class Page:
    """Choices as one WhatsApp message holds them: up to 3 buttons, or one list of up to 10 rows."""

    choices: tuple[Choice, ...]
    as_list: bool


def whatsapp_pages(choices: Sequence[Choice], more: str) -> list[Page]:
    """Lay choices out as WhatsApp can show them: ≤ 3 without notes as buttons, ≤ 10 as one list
    (a row has room for a note), more as pages of 9 rows and a `more` row whose data is
    "more:<next page>", which the channel answers itself with the next page."""
    if len(choices) <= BUTTONS_MAX and not any(choice.note for choice in choices):
        return [Page(tuple(choices), as_list=False)]
    if len(choices) <= LIST_ROWS:
        return [Page(tuple(choices), as_list=True)]
    size = LIST_ROWS - 1
    pages = [list(choices[start : start + size]) for start in range(0, len(choices), size)]
    for number, page in enumerate(pages[:-1], start=1):
        page.append(Choice(more, f"more:{number}"))
    return [Page(tuple(page), as_list=True) for page in pages]


def too_long(choices: Sequence[Choice], *, as_list: bool) -> list[str]:
    """The labels (and notes) that don't fit WhatsApp's limits, as "label (n > limit)"."""
    limit = ROW_TITLE if as_list else BUTTON_TITLE
    problems = [f"{c.label!r} ({len(c.label)} > {limit})" for c in choices if len(c.label) > limit]
    problems += [f"{c.note!r} ({len(c.note)} > {ROW_NOTE})" for c in choices if len(c.note) > ROW_NOTE]
    return problems
