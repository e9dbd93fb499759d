"""keep "can't be reached" apart from a champion's status

A failed send used to overwrite the status with "unreachable", and writing again turned that into
"active", which let a pending champion past approval. Reachability is now its own column; the status
changes only through its intended transitions. Champions marked unreachable become active again
with the flag set: which status they had before was not kept.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("champion") as batch:
        batch.add_column(sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE champion SET unreachable_at = CURRENT_TIMESTAMP, status = 'active' "
        "WHERE status = 'unreachable'"
    )


def downgrade() -> None:
    op.execute("UPDATE champion SET status = 'unreachable' WHERE unreachable_at IS NOT NULL")
    with op.batch_alter_table("champion") as batch:
        batch.drop_column("unreachable_at")
