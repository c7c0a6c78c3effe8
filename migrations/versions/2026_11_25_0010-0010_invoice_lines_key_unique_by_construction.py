"""Invoice lines: no unique index on (tenant, invoice, group key, source rate).

Worklog lines are only ever made by one INSERT … SELECT … GROUP BY group_key, rate
(`app/billing/line_builder.py`), so the pair is unique per invoice by construction; manual
lines have no group key. The index only cost writes: it was a fifth of the time to write the
lines of a 50,000-line invoice on PostgreSQL (EXPLAIN ANALYZE, ~95 of ~480 ms).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 09:30:00+00:00
"""

from collections.abc import Callable, Sequence
from typing import Any

from alembic import op

from app.billing.lock_triggers import sqlite_child_lock_triggers


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GROUP = "uq_invoice_lines_tenant_id_invoice_id_group_key_source_rate"


def upgrade() -> None:
    _change_lines_table(lambda batch: batch.drop_constraint(_GROUP, type_="unique"))


def downgrade() -> None:
    _change_lines_table(
        lambda batch: batch.create_unique_constraint(
            _GROUP, ["tenant_id", "invoice_id", "group_key", "source_rate"]
        )
    )


def _change_lines_table(change: Callable[[Any], None]) -> None:
    """SQLite rebuilds the table for this, and its triggers go with the old one: the lock
    triggers are made again, the same."""
    with op.batch_alter_table("invoice_lines") as batch:
        change(batch)
    if op.get_bind().dialect.name != "postgresql":
        for statement in sqlite_child_lock_triggers("invoice_lines"):
            op.execute(statement)
