"""The WhatsApp side of the reply API.

WhatsApp can't edit a message, answer a press or take buttons away, so a replacement is sent anew,
a changed set of toggles is sent again under the question it belongs to, an acknowledgement says
its notice (if any) as a message, and an echo of the answer picked is left to WhatsApp, which shows
the person's own reply. A chat's latest question is remembered (`whatsapp_menu`), so a list longer
than WhatsApp's ten rows can page ("More…") and toggles can be shown again under it.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import whatsapp_media
from bot.budget import Budget, Priority
from bot.i18n import Translator
from bot.replies import Choice, Edited, Outgoing, Replies, Sent, as_outgoing, whatsapp_pages
from bot.whatsapp_api import WhatsAppClient
from bot.whatsapp_render import render
from storage import identities
from storage.models import WhatsAppMenu

log = logging.getLogger(__name__)

MIME = {"photo": "image/jpeg", "voice": "audio/ogg", "document": "text/plain"}
# The document types WhatsApp takes; a text file of another type (JSON, CSV) goes as plain text.
DOCUMENTS = frozenset(
    (
        "text/plain",
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
)


@dataclass
class WhatsAppOut:
    """What sending on WhatsApp needs: the number's client, its budget, the database (for the
    chats' menus) and the data folder (for kept files)."""

    client: WhatsAppClient
    budget: Budget
    sessions: async_sessionmaker[AsyncSession]
    data_dir: Path
    addresses: dict[int, str] = field(default_factory=dict)  # chat key → where to send, as last seen

    async def address(self, chat_id: int) -> str:
        """Where to send to a chat: the phone digits where shared, else the BSUID."""
        if chat_id not in self.addresses:
            async with self.sessions() as session:
                identity = await identities.of_chat(session, chat_id)
            if identity is None:
                raise LookupError("no WhatsApp identity has this chat key")
            self.addresses[chat_id] = identity.phone or identity.address
        return self.addresses[chat_id]

    async def upload(self, outgoing: Outgoing) -> str | None:
        """The media of a message uploaded to WhatsApp (None: none, or a file only Telegram has)."""
        media = outgoing.media
        if media is None:
            return None
        data: bytes
        filename = media.filename or media.kind
        if isinstance(media.file, bytes):
            data = media.file
        else:
            where = whatsapp_media.path(self.data_dir, media.file)
            if where is None:
                log.info("A %s held only by Telegram was left out of a WhatsApp message", media.kind)
                return None
            data, filename = where.read_bytes(), where.name
        mime = mimetypes.guess_type(filename)[0] or MIME[media.kind]
        if media.kind == "document" and mime not in DOCUMENTS:
            mime = MIME["document"]
        return await self.client.upload(data, mime, filename)

    async def say(
        self, chat_id: int, outgoing: Outgoing, t: Translator, priority: Priority, *, page: int = 0
    ) -> str:
        """Send a message; the id of its last part. A reply's choices are remembered as the chat's
        question (the outbox's messages are not: a press on one is answered where it is), and so
        are a long list's, for its next page."""
        to = await self.address(chat_id)
        more = t.gettext("More…")
        pages = whatsapp_pages(outgoing.choices, more) if outgoing.choices else []
        payloads = render(
            to, outgoing, pages[page:], list_button=t.gettext("Choose"), media_id=await self.upload(outgoing)
        )
        sent = ""
        for number, payload in enumerate(payloads):
            # Parts after the first go straight on (counted in the number's pace, not held to the
            # pair gap): they are one message to the person, as Meta's burst allowance has it.
            await self.budget.take(chat_id, priority if number == 0 else Priority.REPLY)
            sent = await self.client.send(payload)
        if outgoing.choices and (priority == Priority.REPLY or len(pages) > 1):
            await self.remember(chat_id, outgoing, sent)
        return sent

    async def remember(self, chat_id: int, outgoing: Outgoing, message_id: str) -> None:
        async with self.sessions.begin() as session:
            choices = [asdict(choice) for choice in outgoing.choices]
            menu = WhatsAppMenu(
                chat_id=chat_id, message_id=message_id, text=outgoing.text[:4096], choices=choices
            )
            await session.merge(menu)

    async def menu(self, chat_id: int) -> tuple[Outgoing, str | None] | None:
        """The chat's last question with choices, as it was said, and the id of its message."""
        async with self.sessions() as session:
            menu = await session.get(WhatsAppMenu, chat_id)
        if menu is None:
            return None
        return Outgoing(menu.text, tuple(Choice(**choice) for choice in menu.choices)), menu.message_id


class WhatsAppReplies(Replies):
    """Replies to one WhatsApp chat, in the language `t` gives when asked (the loading step learns
    it after the replies are made); `pressed` is the id of the message whose button was pressed."""

    def __init__(
        self, out: WhatsAppOut, chat_id: int, t: Callable[[], Translator], pressed: str | None = None
    ) -> None:
        self.out = out
        self.chat_id = chat_id
        self.t = t
        self.pressed = pressed

    async def say(
        self, outgoing: Outgoing | str, choices: Sequence[Choice] = (), *, columns: int = 1
    ) -> Sent:
        await self.out.say(self.chat_id, as_outgoing(outgoing, choices, columns), self.t(), Priority.REPLY)
        return Sent(self.chat_id, 0)  # WhatsApp can't edit it, so no one needs its id

    async def replace(
        self,
        outgoing: Outgoing | str,
        choices: Sequence[Choice] = (),
        *,
        columns: int = 1,
        message: Sent | None = None,
    ) -> None:
        await self.say(outgoing, choices, columns=columns)

    async def rechoose(
        self, choices: Sequence[Choice], *, columns: int = 1, message: Sent | None = None
    ) -> None:
        """The question sent again with its choices changed, when the press was on the chat's latest
        question (a toggle); a press on an older message keeps it as it is, its buttons still there."""
        shown = await self.out.menu(self.chat_id)
        if shown is not None and self.pressed is not None and shown[1] == self.pressed:
            await self.say(Outgoing(shown[0].text, tuple(choices), columns))

    async def ack(self, notice: str | None = None, *, alert: bool = False) -> None:
        if notice:
            await self.say(notice)

    async def picked(self, label: str | None = None) -> None:
        """Nothing to do: WhatsApp shows the person's reply, and old buttons can't be taken away
        (a press on one is answered like any stale press)."""

    @property
    def asked(self) -> Sent | None:
        return None  # its buttons can't be taken away later, so no one needs to know it

    def unchosen(self, message: Sent) -> bool:
        return False

    async def unchoose(self, message: Sent) -> None:
        """Nothing to do: a WhatsApp message keeps its buttons (a press on one is answered like any
        stale press)."""

    async def edit(self, message: Sent, outgoing: Outgoing) -> Edited:
        return Edited.GONE  # a business can't edit a WhatsApp message

    async def flush(self) -> None:
        """Nothing runs in the background: each message is sent before the next is said."""
