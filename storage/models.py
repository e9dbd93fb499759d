"""SQLAlchemy models: champions, areas, networks, invites and per-chat conversation state."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every engine (SQLite keeps no zone, so add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Role(enum.StrEnum):
    CHAMPION = "champion"
    COORDINATOR = "coordinator"


class Status(enum.StrEnum):
    JOINING = "joining"  # consented, still answering the joining questions
    PENDING = "pending"  # waiting for a coordinator's approval
    ACTIVE = "active"
    PAUSED = "paused"  # no campaign messages for now
    STOPPED = "stopped"  # opted out
    UNREACHABLE = "unreachable"  # blocked the bot or deactivated


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    return Enum(kind, name=name, native_enum=False, length=16, values_callable=lambda k: [m.value for m in k])


champion_network = Table(
    "champion_network",
    Base.metadata,
    Column("champion_id", ForeignKey("champion.id", ondelete="CASCADE"), primary_key=True),
    Column("network_id", ForeignKey("network.id", ondelete="CASCADE"), primary_key=True),
)


class Area(Base):
    """A ward or neighbourhood from the configured list; never an address."""

    __tablename__ = "area"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Network(Base):
    """A community or network a champion connects with."""

    __tablename__ = "network"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Champion(Base):
    """One person using the bot, champion or coordinator."""

    __tablename__ = "champion"
    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    quiet_start: Mapped[int | None] = mapped_column(default=None)  # local hour quiet hours begin
    quiet_end: Mapped[int | None] = mapped_column(default=None)  # local hour they end
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.CHAMPION)
    status: Mapped[Status] = mapped_column(_enum(Status, "status"), default=Status.JOINING, index=True)
    consent_version: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    share_consent: Mapped[bool] = mapped_column(default=False)
    share_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invite_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    area: Mapped[Area | None] = relationship(lazy="selectin")
    networks: Mapped[list[Network]] = relationship(secondary=champion_network, lazy="selectin")

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR


class Invite(Base):
    """A deep-link invite code, single- or multi-use, that expires."""

    __tablename__ = "invite"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("network.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("champion.id", ondelete="SET NULL"))
    max_uses: Mapped[int | None] = mapped_column(Integer)  # None: any number of people
    uses: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    network: Mapped[Network | None] = relationship(lazy="selectin")


class ConversationState(Base):
    """Where a chat is in a multi-step flow; read and written on every update."""

    __tablename__ = "conversation_state"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SnippetProgress(Base):
    """A champion has read a snippet, and how they last answered its quiz."""

    __tablename__ = "snippet_progress"
    champion_id: Mapped[int] = mapped_column(ForeignKey("champion.id", ondelete="CASCADE"), primary_key=True)
    snippet_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    quiz_correct: Mapped[bool | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WeeklySnippet(Base):
    """A champion's choice to get the next unread snippet every week at a local day and hour."""

    __tablename__ = "weekly_snippet"
    champion_id: Mapped[int] = mapped_column(ForeignKey("champion.id", ondelete="CASCADE"), primary_key=True)
    weekday: Mapped[int]  # 0 = Monday
    hour: Mapped[int]  # 0-23, in the champion's timezone
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
