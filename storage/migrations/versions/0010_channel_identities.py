"""channel identities, for WhatsApp beside Telegram

A person may now reach the bot on Telegram or WhatsApp. Each channel account is an identity with a
chat key the rest of the bot uses as the chat's id; every existing champion gets a Telegram identity
whose key is their Telegram id, so nothing they did changes. WhatsApp message ids already handled
are kept (Meta delivers webhooks more than once), and so are status webhooks until their outbox
row takes them (one can arrive before the send is recorded); a chat's last paged list is kept for "More…";
outbox rows keep their WhatsApp message id, template and status.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identity",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(140), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("champion_id", sa.Integer(), nullable=True),
        sa.Column("last_inbound_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champion.id"],
            name=op.f("fk_identity_champion_id_champion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity")),
        sa.UniqueConstraint("channel", "address", name=op.f("uq_identity_channel")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_identity_chat_id")),
    )
    with op.batch_alter_table("identity") as batch:
        batch.create_index(batch.f("ix_identity_champion_id"), ["champion_id"], unique=False)
    op.execute(
        "INSERT INTO identity (chat_id, channel, address, champion_id, created_at) "
        "SELECT telegram_id, 'telegram', CAST(telegram_id AS VARCHAR(140)), id, created_at FROM champion"
    )
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.String(160), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("handled_at", WHEN, nullable=True),
        sa.Column("kept", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_message")),
    )
    with op.batch_alter_table("inbound_message") as batch:
        batch.create_index(batch.f("ix_inbound_message_received_at"), ["received_at"], unique=False)
    op.create_table(
        "whatsapp_status",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("wa_message_id", sa.String(160), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_status")),
    )
    with op.batch_alter_table("whatsapp_status") as batch:
        batch.create_index(batch.f("ix_whatsapp_status_wa_message_id"), ["wa_message_id"], unique=False)
    op.create_table(
        "whatsapp_menu",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.String(160), nullable=True),
        sa.Column("text", sa.String(4096), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_whatsapp_menu")),
    )
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("wa_message_id", sa.String(160), nullable=True))
        batch.add_column(sa.Column("template", sa.String(80), nullable=True))
        batch.add_column(sa.Column("delivered_at", WHEN, nullable=True))
        batch.add_column(sa.Column("read_at", WHEN, nullable=True))
        batch.add_column(sa.Column("channel_error", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_delivery_wa_message_id"), ["wa_message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_index(batch.f("ix_delivery_wa_message_id"))
        for column in ("channel_error", "read_at", "delivered_at", "template", "wa_message_id"):
            batch.drop_column(column)
    op.drop_table("whatsapp_menu")
    with op.batch_alter_table("whatsapp_status") as batch:
        batch.drop_index(batch.f("ix_whatsapp_status_wa_message_id"))
    op.drop_table("whatsapp_status")
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_index(batch.f("ix_inbound_message_received_at"))
    op.drop_table("inbound_message")
    with op.batch_alter_table("identity") as batch:
        batch.drop_index(batch.f("ix_identity_champion_id"))
    op.drop_table("identity")
