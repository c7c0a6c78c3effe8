"""The background job queue's tables on PostgreSQL (procrastinate's schema).

Web processes with `W360_JOBS=worker` queue jobs here and `worklog360 worker` processes run
them (app.job_queue). The schema is procrastinate's own, frozen here as version 3.10.0
(the pinned one) ships it: migrations/sql/procrastinate-3.10.0-schema.sql. Upgrading
procrastinate comes with a migration applying its own migration scripts between the two
versions. SQLite has no queue: it always runs jobs in the app.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 11:00:00+00:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = Path(__file__).resolve().parents[1] / "sql" / "procrastinate-3.10.0-schema.sql"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The driver's own cursor, no parameters: the schema's text holds '%' and ':' that
    # a parameter parser would misread.
    cursor = op.get_bind().connection.dbapi_connection.cursor()
    try:
        cursor.execute(SCHEMA.read_text(encoding="utf-8"))
    finally:
        cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT tablename FROM pg_tables
                     WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
            LOOP
                EXECUTE format('DROP TABLE %I CASCADE', r.tablename);
            END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
                     JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
            LOOP
                EXECUTE format('DROP FUNCTION %s CASCADE', r.fn);
            END LOOP;
            FOR r IN SELECT t.typname FROM pg_type t
                     JOIN pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                       AND t.typtype IN ('e', 'd', 'c')
            LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
            END LOOP;
        END $$;
        """
    )
