"""The per-update context handlers receive: the champion, their translator and the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import CallbackQuery, Update
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.budget import Budget, Priority
from bot.flood import FloodGate
from bot.i18n import Translator, translator
from bot.replies import Replies
from bot.settings import Settings
from bot.steps import StepData
from bot.telegram_replies import TelegramReplies
from bot.wake import Wake
from bot.whatsapp_replies import WhatsAppOut, WhatsAppReplies
from storage.content import Library
from storage.identities import is_whatsapp
from storage.models import Champion, ConversationState
from storage.report_topics import Topic

if TYPE_CHECKING:
    from bot.leader import Leader
    from bot.whatsapp_inbound import Inbox


@dataclass
class Services:
    """Process-wide services, set once when the application is built (PTB's `bot_data`)."""

    settings: Settings | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    library: Library = field(default_factory=Library)
    topics: list[Topic] = field(default_factory=list)
    flood: FloodGate = field(default_factory=lambda: FloodGate(burst=1, rate=0))
    leader: Leader | None = None  # decides whether this process runs the scheduled jobs
    wake: Wake = field(default_factory=Wake)  # rung after a commit that queued outbox rows
    budget: Budget = field(default_factory=lambda: Budget(None))  # the token's sends: replies, deliveries
    steps: Mapping[str, type[StepData]] = field(default_factory=dict)  # journey prefix → its step data
    whatsapp: WhatsAppOut | None = None  # the WhatsApp channel's sending side, where configured
    whatsapp_inbox: Inbox | None = None  # and its webhook's messages, handled in the background


T = TypeVar("T", bound=StepData)


class Context(CallbackContext[ExtBot[Priority], dict[object, object], dict[object, object], Services]):
    """CallbackContext with what the loading step (group -2) found for this update."""

    def __init__(self, application: App, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.champion: Champion | None = None
        self.state: ConversationState | None = None
        self.state_version: int | None = None  # of the state as read and last written (None: no state)
        self.step_data: StepData | None = None  # the state's data, validated as its journey's model
        self.saved_step: str | None = None  # the step this update moved the chat to, if it did
        self.t: Translator = translator("en")
        self._reply: Replies | None = None

    @classmethod
    def from_update(cls, update: object, application: App) -> Context:
        """PTB's context for an update, with replies to the chat it came from."""
        context = super().from_update(update, application)
        if isinstance(update, Update) and update.effective_chat is not None:
            pressed = update.api_kwargs.get("whatsapp_pressed")  # set by bot.whatsapp_inbound
            context._reply = context._replies(
                update.effective_chat.id, update.callback_query, pressed if isinstance(pressed, str) else None
            )
        return context

    def _replies(
        self, chat_id: int, query: CallbackQuery | None = None, pressed: str | None = None
    ) -> Replies:
        """The reply API of the chat's channel: WhatsApp's for a WhatsApp chat key."""
        out = self.bot_data.whatsapp
        if out is not None and is_whatsapp(chat_id):
            return WhatsAppReplies(out, chat_id, lambda: self.t, pressed)
        return TelegramReplies(self.bot, chat_id, query)

    def step_as(self, model: type[T]) -> T | None:
        """The chat's step data if it is this journey's (None otherwise)."""
        return self.step_data if isinstance(self.step_data, model) else None

    def replies_to(self, chat_id: int) -> Replies:
        """The reply API for a chat outside any update from it (a scheduled job's edit)."""
        return self._replies(chat_id)

    async def settle(self) -> None:
        """Wait for what was said in the background (nothing to wait for without a chat)."""
        if self._reply is not None:
            await self._reply.flush()

    @property
    def reply(self) -> Replies:
        """The reply API for the chat this update came from."""
        assert self._reply is not None, "only an update from a chat has someone to reply to"
        return self._reply

    @property
    def settings(self) -> Settings:
        """The application's settings."""
        assert self.bot_data.settings is not None
        return self.bot_data.settings

    @property
    def library(self) -> Library:
        """The training snippets loaded at start."""
        return self.bot_data.library

    @property
    def topics(self) -> list[Topic]:
        """The topics champions report on, in the order shown."""
        return self.bot_data.topics

    @property
    def db(self) -> async_sessionmaker[AsyncSession]:
        """The session factory; use `async with context.db.begin() as session:`."""
        assert self.bot_data.sessions is not None
        return self.bot_data.sessions


# The Application as this bot builds it, for type annotations.
App: TypeAlias = Application[
    ExtBot[Priority], Context, dict[object, object], dict[object, object], Services, JobQueue[Context]
]
