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


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GROUP = "uq_invoice_lines_tenant_id_invoice_id_group_key_source_rate"
_LOCKED = "invoice_locked: a finalized invoice cannot be changed"


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
    triggers of migration 0007 are made again, the same (as in 0009: a migration is a
    snapshot and imports no app code)."""
    with op.batch_alter_table("invoice_lines") as batch:
        change(batch)
    if op.get_bind().dialect.name == "postgresql":
        return
    tenant_exists = "EXISTS (SELECT 1 FROM tenants t WHERE t.id = {row}.tenant_id)"
    for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
        finalized = (
            f"(SELECT status FROM invoices i WHERE i.tenant_id = {row}.tenant_id "
            f"AND i.id = {row}.invoice_id) = 'finalized'"
        )
        op.execute(f"DROP TRIGGER IF EXISTS invoice_lines_locked_{event.lower()}")
        op.execute(
            f"CREATE TRIGGER invoice_lines_locked_{event.lower()} BEFORE {event} ON invoice_lines "
            f"FOR EACH ROW WHEN {finalized} AND {tenant_exists.format(row=row)} "
            f"BEGIN SELECT RAISE(ABORT, '{_LOCKED}'); END"
        )
