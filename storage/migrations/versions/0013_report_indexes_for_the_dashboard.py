"""report indexes for the dashboard on PostgreSQL: a trigram index on report text for search, and
the created_at index covering the counted columns

The insights search matches words anywhere in a report's text (ILIKE '%words%'), which a B-tree
cannot serve: with a million reports a search that matches few of them read them all (about 2 s).
pg_trgm's GIN index serves it. The extension may not be installable (a managed database without
it, a role that may not create it): the upgrade then goes on without the index and says search
will be slower. SQLite keeps reading the table, as before.

The overview counts a period's reports by topic, by kind and by area (and the period before): six
range scans of ix_report_created_at, each looking up every report's row. Including those columns
in the index lets PostgreSQL count from the index alone. (SQLite has no INCLUDE; unchanged.)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 14:00:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("storage.migrations")
INDEX = "ix_report_text_trgm"
COUNTED = ["id", "topic", "kind", "area_id"]  # what the overview's counts read besides created_at


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_report_created_at", table_name="report")
    op.create_index("ix_report_created_at", "report", ["created_at"], postgresql_include=COUNTED)
    _search_index()


def _search_index() -> None:
    """The trigram index, if pg_trgm can be created; otherwise a warning and no index."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():  # a failure here must not abort the migration's transaction
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as error:
        log.warning(
            "pg_trgm could not be created (%s): report search will be slower, reading every report",
            str(error.orig).splitlines()[0],
        )
        return
    # The operator class is named in the extension's schema, which need not be on the search path.
    schema = bind.scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    )
    ops = f"{bind.dialect.identifier_preparer.quote(str(schema))}.gin_trgm_ops"
    op.execute(f"CREATE INDEX {INDEX} ON report USING gin (text {ops})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")  # the extension stays: others may use it
    op.drop_index("ix_report_created_at", table_name="report")
    op.create_index("ix_report_created_at", "report", ["created_at"])
