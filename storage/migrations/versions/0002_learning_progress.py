"""add learning progress and weekly snippets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:07:01.979225
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "snippet_progress",
        sa.Column("champion_id", sa.Integer(), nullable=False),
        sa.Column("snippet_id", sa.String(length=40), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quiz_correct", sa.Boolean(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champion.id"],
            name=op.f("fk_snippet_progress_champion_id_champion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("champion_id", "snippet_id", name=op.f("pk_snippet_progress")),
    )
    op.create_table(
        "weekly_snippet",
        sa.Column("champion_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champion.id"],
            name=op.f("fk_weekly_snippet_champion_id_champion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("champion_id", name=op.f("pk_weekly_snippet")),
    )
    with op.batch_alter_table("weekly_snippet", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_weekly_snippet_next_due_at"), ["next_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("weekly_snippet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_weekly_snippet_next_due_at"))

    op.drop_table("weekly_snippet")
    op.drop_table("snippet_progress")
