"""learning snapshot: the learning page's figures, refreshed by a job

Counting the learning figures over every snippet read takes over a second at full size (100,000
champions, half a million reads) whatever the index, so a job stores them every ten minutes and
the page reads the newest row.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_snapshot")),
    )
    op.create_index(op.f("ix_learning_snapshot_computed_at"), "learning_snapshot", ["computed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_learning_snapshot_computed_at"), table_name="learning_snapshot")
    op.drop_table("learning_snapshot")
