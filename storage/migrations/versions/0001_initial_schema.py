"""create champions areas networks invites and conversation state

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:39:11.136568
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area")),
        sa.UniqueConstraint("name", name=op.f("uq_area_name")),
    )
    op.create_table(
        "conversation_state",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_conversation_state")),
    )
    op.create_table(
        "network",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network")),
        sa.UniqueConstraint("name", name=op.f("uq_network_name")),
    )
    op.create_table(
        "champion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column(
            "role",
            sa.Enum("champion", "coordinator", name="role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "joining",
                "pending",
                "active",
                "paused",
                "stopped",
                "unreachable",
                name="status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("consent_version", sa.String(length=16), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("share_consent", sa.Boolean(), nullable=False),
        sa.Column("share_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invite_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_champion_area_id_area"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_champion")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_champion_telegram_id")),
    )
    with op.batch_alter_table("champion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_champion_status"), ["status"], unique=False)

    op.create_table(
        "champion_network",
        sa.Column("champion_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champion.id"],
            name=op.f("fk_champion_network_champion_id_champion"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network.id"],
            name=op.f("fk_champion_network_network_id_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("champion_id", "network_id", name=op.f("pk_champion_network")),
    )
    op.create_table(
        "invite",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["champion.id"], name=op.f("fk_invite_created_by_champion"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_invite_network_id_network"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_invite")),
    )


def downgrade() -> None:
    op.drop_table("invite")
    op.drop_table("champion_network")
    with op.batch_alter_table("champion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_champion_status"))

    op.drop_table("champion")
    op.drop_table("network")
    op.drop_table("conversation_state")
    op.drop_table("area")
