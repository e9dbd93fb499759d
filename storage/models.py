"""SQLAlchemy models: champions and their places, conversation state, learning, campaigns and the
outbox, the reports champions send with coordinators' replies, the conversations champions log,
themes moved through the Community Action Model, and the web dashboard's sign-in links, sessions
and audit log."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
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
    DECLINED = "declined"  # a coordinator said no: erased once they have been told


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
    # The chat the bot reaches them in: their Telegram user id, or their WhatsApp identity's chat key
    # (negative; see Identity). The name is the first release's, when Telegram was the only channel.
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    quiet_start: Mapped[int | None] = mapped_column(default=None)  # local hour quiet hours begin
    quiet_end: Mapped[int | None] = mapped_column(default=None)  # local hour they end
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.CHAMPION)
    status: Mapped[Status] = mapped_column(_enum(Status, "status"), default=Status.JOINING, index=True)
    # When a send to them last failed with 403 (blocked the bot, never pressed Start, deactivated);
    # cleared when they write again. Kept apart from the status, which it must never change.
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_version: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    share_consent: Mapped[bool] = mapped_column(default=False)
    share_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invite_code: Mapped[str | None] = mapped_column(String(64))
    log_nudge: Mapped[bool] = mapped_column(default=False)  # a weekly reminder to /log, if they asked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    area: Mapped[Area | None] = relationship(lazy="selectin")
    # Not loaded with the champion (every update loads one, and few read this): a reader asks for it
    # (selectinload, Session.refresh or a query of its own); reading it unloaded raises.
    networks: Mapped[list[Network]] = relationship(secondary=champion_network, lazy="raise")

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR


class Identity(Base):
    """One of a person's channel identities: a Telegram account, or a WhatsApp user.

    `chat_id` is the key the rest of the bot knows the chat by (conversation state, the champion's
    `telegram_id`): a Telegram user id, or for WhatsApp a negative key made from `id`, so every
    journey runs unchanged on either channel.
    """

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # set as soon as id is known
    channel: Mapped[str] = mapped_column(String(16))  # telegram, whatsapp
    address: Mapped[str] = mapped_column(String(140))  # Telegram user id; WhatsApp BSUID or wa_id
    phone: Mapped[str | None] = mapped_column(String(20))  # WhatsApp's wa_id, where shared
    champion_id: Mapped[int | None] = mapped_column(ForeignKey("champion.id", ondelete="CASCADE"), index=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # opens WhatsApp's window
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboundMessage(Base):
    """A WhatsApp message taken in: Meta may deliver a webhook more than once, so its id is claimed
    once; the message is kept until it is handled, so none is lost to a crash after Meta's 200."""

    __tablename__ = "inbound_message"
    id: Mapped[str] = mapped_column(String(160), primary_key=True)  # the wamid
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: being handled, or lost
    kept: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the message and its sender, until handled


class WhatsAppStatus(Base):
    """A status webhook (sent, delivered, read, failed) for a WhatsApp message, kept until its
    outbox row has taken it: a status can arrive before the worker has recorded the send."""

    __tablename__ = "whatsapp_status"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    wa_message_id: Mapped[str] = mapped_column(String(160), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    code: Mapped[int | None] = mapped_column(Integer)  # a failed status's error code


class WhatsAppMenu(Base):
    """A chat's last question with choices on WhatsApp, so "More…" can show the next page of a long
    list, and toggles can be shown again under it."""

    __tablename__ = "whatsapp_menu"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(160))  # the wamid its choices went with
    text: Mapped[str] = mapped_column(String(4096))
    choices: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


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
    """Where a chat is in a multi-step flow; read and written on every update. `version` goes up with
    every write, so an update writes only over the state it read (storage.conversation)."""

    __tablename__ = "conversation_state"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
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


class Campaign(Base):
    """A named series of scheduled messages with one audience; its messages are broadcasts."""

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, paused, cancelled
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Broadcast(Base):
    """One message to an audience, in several languages, sent now or at `send_at`."""

    __tablename__ = "broadcast"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    key: Mapped[str | None] = mapped_column(String(80))  # a campaign message's stable name, e.g. "reminder#3"
    created_by: Mapped[int | None] = mapped_column(ForeignKey("champion.id", ondelete="SET NULL"))
    texts: Mapped[dict[str, str]] = mapped_column(JSON)  # language -> text; "en" always present
    media_kind: Mapped[str | None] = mapped_column(
        String(16)
    )  # photo or document, sent with the text as caption
    media_file_id: Mapped[str | None] = mapped_column(String(200))  # Telegram's file id
    topic: Mapped[str | None] = mapped_column(String(40))  # report topic its questions and concerns get
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answer_back: Mapped[bool] = mapped_column(default=True)
    urgent: Mapped[bool] = mapped_column(default=False)  # sent inside quiet hours too
    # scheduled -> sending -> done; or missed (fell due too long ago), cancelled
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The live delivery report the coordinator sees, edited by the leading process until it is final.
    report_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    report_message_id: Mapped[int | None] = mapped_column(BigInteger)
    report_final_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Delivery(Base):
    """The outbox: one row per message the bot starts (a broadcast's copy for one champion, a reply
    to a report, a digest, an approval...), claimed and sent by a delivery worker."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "champion_id"),
        Index("ix_delivery_due", "state", "lane", "not_before"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), default="broadcast", server_default="broadcast")
    lane: Mapped[int] = mapped_column(default=2, server_default="2")  # 1: person to person, 2: bulk
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcast.id", ondelete="CASCADE"))
    champion_id: Mapped[int] = mapped_column(ForeignKey("champion.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what the kind needs to say it
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # not sent after this
    # pending -> sending -> sent | failed | blocked | skipped (pending again on retry or a hold)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    in_flight_at_crash: Mapped[bool] = mapped_column(default=False)  # may have reached them twice
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    # WhatsApp: the message's id, the template it went as (outside the 24-hour window), and what
    # its status webhooks said since (read is a reach figure Telegram cannot give).
    wa_message_id: Mapped[str | None] = mapped_column(String(160), index=True)
    template: Mapped[str | None] = mapped_column(String(80))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel_error: Mapped[int | None] = mapped_column(Integer)  # the code of a failed status


class Response(Base):
    """A champion's answer-back on a delivered message: shared it, a question, a concern heard."""

    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("delivery_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # shared, question, concern
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Segment(Base):
    """A saved audience a coordinator can pick again."""

    __tablename__ = "segment"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Report(Base):
    """Something a champion heard in their community: an insight for coordinators to review."""

    __tablename__ = "report"
    __table_args__ = (
        # Newest first, alone or within one filter: the /insights and /stats hot paths.
        # It covers what the overview counts, so PostgreSQL counts from the index alone (0013).
        Index("ix_report_created_at", "created_at", postgresql_include=["id", "topic", "kind", "area_id"]),
        Index("ix_report_status_created_at", "status", "created_at"),
        # "New" is how coordinators triage, so it is indexed with each other filter.
        Index("ix_report_status_topic_created_at", "status", "topic", "created_at"),
        Index("ix_report_status_kind_created_at", "status", "kind", "created_at"),
        Index("ix_report_status_area_id_created_at", "status", "area_id", "created_at"),
        Index("ix_report_topic_created_at", "topic", "created_at"),
        Index("ix_report_kind_created_at", "kind", "created_at"),
        Index("ix_report_area_id_created_at", "area_id", "created_at"),
        Index("ix_report_champion_id_created_at", "champion_id", "created_at"),
        # The dashboard's search (ILIKE '%words%'), on PostgreSQL with pg_trgm (migration 0013).
        Index(
            "ix_report_text_trgm", "text", postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}
        ).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    champion_id: Mapped[int] = mapped_column(ForeignKey("champion.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(40))  # an id from content/report_topics.yaml
    kind: Mapped[str] = mapped_column(String(16))  # barrier, works, question, misinfo, idea, success
    text: Mapped[str | None] = mapped_column(String(4096))  # what they heard, or a photo's caption
    media_kind: Mapped[str | None] = mapped_column(String(16))  # voice or photo
    media_file_id: Mapped[str | None] = mapped_column(String(200))  # Telegram's file id, not downloaded
    people: Mapped[str] = mapped_column(String(8))  # one, few, many
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    anonymous: Mapped[bool] = mapped_column(default=True)  # False: the coordinator may see their name
    # The campaign message a question or concern answers (from its answer-back buttons), if any.
    delivery_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("delivery.id", ondelete="SET NULL")
    )
    language: Mapped[str] = mapped_column(String(8))  # the language it was written in
    status: Mapped[str] = mapped_column(String(8), default="new")  # new, seen, acted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    area: Mapped[Area | None] = relationship(lazy="selectin")


class ReportReply(Base):
    """A coordinator's answer to a report ("you said, we did"), alone or as part of a theme."""

    __tablename__ = "report_reply"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("champion.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(String(4096))
    theme: Mapped[bool] = mapped_column(default=False)  # sent to every report matching a filter
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the champion was told; None until then.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class SendingProcess(Base):
    """A process that sends with the bot's token, seen lately: they split Telegram's budget between them."""

    __tablename__ = "sending_process"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class JobRun(Base):
    """When a scheduled job last ran, so a restart or a second worker never runs it twice for one slot."""

    __tablename__ = "job_run"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebLogin(Base):
    """A one-time sign-in link /web sent a coordinator. Only a hash of its token is kept, so the
    database alone cannot sign anyone in."""

    __tablename__ = "web_login"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256, hex
    champion_id: Mapped[int] = mapped_column(ForeignKey("champion.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: not used yet
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebSession(Base):
    """A coordinator signed in to the dashboard: the cookie's value is kept only as a hash, beside
    the token every form of the session must carry (CSRF)."""

    __tablename__ = "web_session"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie, hex
    champion_id: Mapped[int] = mapped_column(ForeignKey("champion.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEvent(Base):
    """Something done on the dashboard: a sign-in, a sign-out, a refused link, a page viewed. Who
    did it is a champion id only (emptied when they are erased); no name and no report text."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    champion_id: Mapped[int | None] = mapped_column(
        ForeignKey("champion.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(64))  # the page viewed, why a link was refused


class ActivityLog(Base):
    """A conversation session a champion logged (/log): how many people, on which topic, where.
    The evaluation figure programmes ask for: people reached."""

    __tablename__ = "activity_log"
    __table_args__ = (
        Index("ix_activity_log_created_at", "created_at"),
        Index("ix_activity_log_champion_id_created_at", "champion_id", "created_at"),
        Index("ix_activity_log_area_id_created_at", "area_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    champion_id: Mapped[int] = mapped_column(ForeignKey("champion.id", ondelete="CASCADE"))
    # The number they typed, or the lower end of the band they chose (so reach is never overstated).
    people: Mapped[int] = mapped_column()
    band: Mapped[str | None] = mapped_column(String(8))  # the band chosen (1, 2-5, ...); None: typed
    topic: Mapped[str] = mapped_column(String(40))  # an id from content/report_topics.yaml
    setting: Mapped[str] = mapped_column(String(16))  # faith, school, centre, online, door, event, other
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThemeStep(enum.StrEnum):
    """The Community Action Model's five steps, in order."""

    SELECT = "select"  # select a concern
    RESEARCH = "research"  # research and diagnose it
    PLAN = "plan"
    ACT = "act"
    EVALUATE = "evaluate"


class Theme(Base):
    """Reports a coordinator grouped under one concern ("8am GP phone queues, Northfield"), moved
    through the Community Action Model."""

    __tablename__ = "theme"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    step: Mapped[ThemeStep] = mapped_column(_enum(ThemeStep, "theme_step"), default=ThemeStep.SELECT)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(4096))  # what changed, in the coordinator's words
    outcome_shared: Mapped[bool] = mapped_column(default=False)  # the outcome may leave the organisation
    created_by: Mapped[int | None] = mapped_column(ForeignKey("champion.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ThemeReport(Base):
    """A report grouped into a theme; a report may join several."""

    __tablename__ = "theme_report"
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("report.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThemeNote(Base):
    """A theme's move to a step, or a note at its step, with who wrote it."""

    __tablename__ = "theme_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    step: Mapped[ThemeStep] = mapped_column(_enum(ThemeStep, "theme_step"))
    text: Mapped[str | None] = mapped_column(String(4096))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("champion.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThemePartner(Base):
    """A partner involved in a theme: a GP practice, a council service, a VCSE group..."""

    __tablename__ = "theme_partner"
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # gp, council, vcse, nhs, school, faith, other
    name: Mapped[str] = mapped_column(String(200))


class ThemeAction(Base):
    """Something a partner or the team will do for a theme, with an owner and a due date: overdue
    ones are listed in the weekly digest."""

    __tablename__ = "theme_action"
    __table_args__ = (Index("ix_theme_action_done_at_due_on", "done_at", "due_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Story(Base):
    """A success story for partners: a coordinator's anonymised wording of a report. Shown only
    while its champion agrees to sharing; erased with the report."""

    __tablename__ = "story"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("report.id", ondelete="CASCADE"),
        unique=True,
    )
    text: Mapped[str] = mapped_column(String(1000))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("champion.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LearningSnapshot(Base):
    """The learning page's figures as computed at one moment, for every area at once (see
    storage/learning_snapshot.py): counting them live over every snippet read takes over a second
    at full size, so a job refreshes them and the page reads them."""

    __tablename__ = "learning_snapshot"
    id: Mapped[int] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the page shows, by area
