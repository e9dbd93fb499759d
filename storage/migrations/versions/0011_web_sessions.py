"""web dashboard sign-in links, sessions and audit log

Coordinators sign in to the web dashboard with a one-time link the bot sends for /web: a link is
kept as a hash of its token with its coordinator, expiry and use; a session as a hash of its
cookie with its CSRF token and when it was last used. Every sign-in, sign-out, refused link and
page view is an audit event naming a champion id only (emptied if they are erased).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_login",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("champion_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champion.id"],
            name=op.f("fk_web_login_champion_id_champion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_login")),
    )
    with op.batch_alter_table("web_login") as batch:
        batch.create_index(batch.f("ix_web_login_champion_id"), ["champion_id"], unique=False)
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("champion_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champion.id"],
            name=op.f("fk_web_session_champion_id_champion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session") as batch:
        batch.create_index(batch.f("ix_web_session_champion_id"), ["champion_id"], unique=False)
    op.create_table(
        "audit_event",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("champion_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champion.id"],
            name=op.f("fk_audit_event_champion_id_champion"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event") as batch:
        batch.create_index(batch.f("ix_audit_event_at"), ["at"], unique=False)
        batch.create_index(batch.f("ix_audit_event_champion_id"), ["champion_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_index(batch.f("ix_audit_event_champion_id"))
        batch.drop_index(batch.f("ix_audit_event_at"))
    op.drop_table("audit_event")
    with op.batch_alter_table("web_session") as batch:
        batch.drop_index(batch.f("ix_web_session_champion_id"))
    op.drop_table("web_session")
    with op.batch_alter_table("web_login") as batch:
        batch.drop_index(batch.f("ix_web_login_champion_id"))
    op.drop_table("web_login")
