"""activity logs, themes through the Community Action Model, and success stories

Champions log conversation sessions (/log: how many people, topic, setting), the reach figure
programmes report; a champion may ask for a weekly reminder to log. Coordinators group reports into
themes and move each through the Community Action Model's five steps, with a note at each step, the
partners involved and actions with an owner and a due date. A success story is a coordinator's
anonymised wording of a report, erased with it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:12:57.355256
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "activity_log",
        sa.Column("id", ID, nullable=False),
        sa.Column("champion_id", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=True),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("setting", sa.String(length=16), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_activity_log_area_id_area"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champion.id"],
            name=op.f("fk_activity_log_champion_id_champion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_log")),
    )
    with op.batch_alter_table("activity_log") as batch_op:
        batch_op.create_index("ix_activity_log_area_id_created_at", ["area_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_activity_log_champion_id_created_at", ["champion_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_activity_log_created_at", ["created_at"], unique=False)

    op.create_table(
        "theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "step",
            sa.Enum(
                "select",
                "research",
                "plan",
                "act",
                "evaluate",
                name="theme_step",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=4096), nullable=True),
        sa.Column("outcome_shared", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_theme_area_id_area"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["champion.id"], name=op.f("fk_theme_created_by_champion"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme")),
    )
    op.create_table(
        "theme_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["theme.id"], name=op.f("fk_theme_action_theme_id_theme"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_action")),
    )
    with op.batch_alter_table("theme_action") as batch_op:
        batch_op.create_index("ix_theme_action_done_at_due_on", ["done_at", "due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_theme_action_theme_id"), ["theme_id"], unique=False)

    op.create_table(
        "theme_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            sa.Enum(
                "select",
                "research",
                "plan",
                "act",
                "evaluate",
                name="theme_step",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.String(length=4096), nullable=True),
        sa.Column("coordinator_id", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["coordinator_id"],
            ["champion.id"],
            name=op.f("fk_theme_note_coordinator_id_champion"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["theme.id"], name=op.f("fk_theme_note_theme_id_theme"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_note")),
    )
    with op.batch_alter_table("theme_note") as batch_op:
        batch_op.create_index(batch_op.f("ix_theme_note_theme_id"), ["theme_id"], unique=False)

    op.create_table(
        "theme_partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["theme.id"], name=op.f("fk_theme_partner_theme_id_theme"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_partner")),
    )
    with op.batch_alter_table("theme_partner") as batch_op:
        batch_op.create_index(batch_op.f("ix_theme_partner_theme_id"), ["theme_id"], unique=False)

    op.create_table(
        "story",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", ID, nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["coordinator_id"],
            ["champion.id"],
            name=op.f("fk_story_coordinator_id_champion"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_story_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story")),
        sa.UniqueConstraint("report_id", name=op.f("uq_story_report_id")),
    )
    op.create_table(
        "theme_report",
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("report_id", ID, nullable=False),
        sa.Column("added_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_theme_report_report_id_report"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["theme.id"], name=op.f("fk_theme_report_theme_id_theme"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("theme_id", "report_id", name=op.f("pk_theme_report")),
    )
    with op.batch_alter_table("theme_report") as batch_op:
        batch_op.create_index(batch_op.f("ix_theme_report_report_id"), ["report_id"], unique=False)

    with op.batch_alter_table("champion") as batch_op:
        batch_op.add_column(sa.Column("log_nudge", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("champion") as batch_op:
        batch_op.drop_column("log_nudge")

    with op.batch_alter_table("theme_report") as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_report_report_id"))

    op.drop_table("theme_report")
    op.drop_table("story")
    with op.batch_alter_table("theme_partner") as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_partner_theme_id"))

    op.drop_table("theme_partner")
    with op.batch_alter_table("theme_note") as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_note_theme_id"))

    op.drop_table("theme_note")
    with op.batch_alter_table("theme_action") as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_action_theme_id"))
        batch_op.drop_index("ix_theme_action_done_at_due_on")

    op.drop_table("theme_action")
    op.drop_table("theme")
    with op.batch_alter_table("activity_log") as batch_op:
        batch_op.drop_index("ix_activity_log_created_at")
        batch_op.drop_index("ix_activity_log_champion_id_created_at")
        batch_op.drop_index("ix_activity_log_area_id_created_at")

    op.drop_table("activity_log")
