"""one outbox for every message the bot starts

Replies to reports, digests, approvals, forwarded questions and weekly snippets were sent straight
from handlers and jobs, each with its own error handling, and some were marked done before they were
sent. They become rows of the delivery outbox, with a kind, a lane (person to person before bulk), a
payload and an expiry; broadcast rows keep their broadcast. Broadcasts keep their live report's
message so a restart can go on editing it, and a topic for the questions and concerns they draw.
Questions and concerns become reports linked to the message they answer. Processes that send with
the bot's token note themselves, so they can share its budget.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("kind", sa.String(24), nullable=False, server_default="broadcast"))
        batch.add_column(sa.Column("lane", sa.Integer(), nullable=False, server_default="2"))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("broadcast_id", existing_type=sa.Integer(), nullable=True)
        batch.drop_index("ix_delivery_due")
        batch.create_index("ix_delivery_due", ["state", "lane", "not_before"], unique=False)
    with op.batch_alter_table("broadcast") as batch:
        batch.add_column(sa.Column("topic", sa.String(40), nullable=True))
        batch.add_column(sa.Column("report_chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("report_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("report_final_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("delivery_id", ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_report_delivery_id_delivery"), "delivery", ["delivery_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "sending_process",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sending_process")),
    )
    with op.batch_alter_table("sending_process") as batch:
        batch.create_index(batch.f("ix_sending_process_seen_at"), ["seen_at"], unique=False)
    _queue_untold_replies()


def _queue_untold_replies() -> None:
    """Replies stored but not yet told were sent by a job that is gone: they become outbox rows."""
    build = "json_build_object" if op.get_bind().dialect.name == "postgresql" else "json_object"
    op.execute(
        "INSERT INTO delivery (kind, lane, champion_id, payload, state, not_before, attempts, "
        "in_flight_at_crash) "
        f"SELECT CASE WHEN r.theme THEN 'theme' ELSE 'reply' END, "
        f"CASE WHEN r.theme THEN 2 ELSE 1 END, p.champion_id, {build}('reply', r.id), "
        "'pending', CURRENT_TIMESTAMP, 0, false "
        "FROM report_reply r JOIN report p ON p.id = r.report_id WHERE r.notified_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("sending_process") as batch:
        batch.drop_index(batch.f("ix_sending_process_seen_at"))
    op.drop_table("sending_process")
    with op.batch_alter_table("report") as batch:
        batch.drop_constraint(op.f("fk_report_delivery_id_delivery"), type_="foreignkey")
        batch.drop_column("delivery_id")
    with op.batch_alter_table("broadcast") as batch:
        for column in ("report_final_at", "report_message_id", "report_chat_id", "topic"):
            batch.drop_column(column)
    op.execute("DELETE FROM delivery WHERE broadcast_id IS NULL")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_index("ix_delivery_due")
        batch.create_index("ix_delivery_due", ["state", "not_before"], unique=False)
        batch.alter_column("broadcast_id", existing_type=sa.Integer(), nullable=False)
        for column in ("expires_at", "payload", "lane", "kind"):
            batch.drop_column(column)
