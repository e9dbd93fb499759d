"""add reports and replies, and index champions by area for audiences

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:26:29.726349
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("champion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_champion_area_id"), ["area_id"], unique=False)
    op.create_table(
        "report",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("champion_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=4096), nullable=True),
        sa.Column("media_kind", sa.String(length=16), nullable=True),
        sa.Column("media_file_id", sa.String(length=200), nullable=True),
        sa.Column("people", sa.String(length=8), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_report_area_id_area"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["champion_id"], ["champion.id"], name=op.f("fk_report_champion_id_champion"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index("ix_report_area_id_created_at", ["area_id", "created_at"], unique=False)
        batch_op.create_index("ix_report_champion_id_created_at", ["champion_id", "created_at"], unique=False)
        batch_op.create_index("ix_report_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_report_kind_created_at", ["kind", "created_at"], unique=False)
        batch_op.create_index("ix_report_status_created_at", ["status", "created_at"], unique=False)
        batch_op.create_index(
            "ix_report_status_topic_created_at", ["status", "topic", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_report_status_kind_created_at", ["status", "kind", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_report_status_area_id_created_at", ["status", "area_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_report_topic_created_at", ["topic", "created_at"], unique=False)

    op.create_table(
        "report_reply",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=4096), nullable=False),
        sa.Column("theme", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["coordinator_id"],
            ["champion.id"],
            name=op.f("fk_report_reply_coordinator_id_champion"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_report_reply_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_reply")),
    )
    with op.batch_alter_table("report_reply", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_reply_notified_at"), ["notified_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_reply_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_reply_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_reply_notified_at"))

    op.drop_table("report_reply")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_report_topic_created_at")
        batch_op.drop_index("ix_report_status_area_id_created_at")
        batch_op.drop_index("ix_report_status_kind_created_at")
        batch_op.drop_index("ix_report_status_topic_created_at")
        batch_op.drop_index("ix_report_status_created_at")
        batch_op.drop_index("ix_report_kind_created_at")
        batch_op.drop_index("ix_report_created_at")
        batch_op.drop_index("ix_report_champion_id_created_at")
        batch_op.drop_index("ix_report_area_id_created_at")

    op.drop_table("report")
    with op.batch_alter_table("champion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_champion_area_id"))
