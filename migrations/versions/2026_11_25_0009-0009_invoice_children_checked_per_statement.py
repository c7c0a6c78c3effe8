"""Invoice lines in invoice order; on PostgreSQL, invoice children checked per statement.

* `ix_invoice_lines_order` (tenant, invoice, position, id): an invoice's lines are read page
  by page in that order, without sorting tens of thousands of them for each page; and the
  unused unique (tenant, id) of lines goes (one index fewer to write per line).
* On PostgreSQL, the foreign keys from `invoice_lines` and `invoice_worklogs` to `invoices`
  become statement-level triggers doing the same work once per statement instead of once
  per row: generating a draft writes one row per claimed worklog and per line (50,000 +
  50,000 for a big one), and the per-row checks were a third of that time. Each INSERT or
  UPDATE locks the invoices it names (KEY SHARE, as the foreign key did) and refuses rows
  whose invoice does not exist (SQLSTATE 23503, as the foreign key did); deleting invoices
  deletes their children (as ON DELETE CASCADE did). SQLite keeps its foreign keys: it
  checks them in-process, and it has no statement-level triggers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 07:40:00+00:00
"""

from collections.abc import Callable, Sequence
from typing import Any

from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHILDREN = ("invoice_lines", "invoice_worklogs")


def upgrade() -> None:
    # Nothing refers to a line by (tenant, id): one index fewer to write per line.
    _change_lines_table(lambda batch: batch.drop_constraint(_TENANT_ID, type_="unique"))
    op.create_index(
        "ix_invoice_lines_order", "invoice_lines", ["tenant_id", "invoice_id", "position", "id"]
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _CHILDREN:
        op.drop_constraint(f"fk_{table}_invoice", table, type_="foreignkey")
    op.execute(
        """
        CREATE FUNCTION invoice_children_reference() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            missing record;
        BEGIN
            PERFORM 1 FROM invoices i
            WHERE (i.tenant_id, i.id) IN (SELECT DISTINCT tenant_id, invoice_id FROM changed)
            FOR KEY SHARE OF i;
            SELECT c.tenant_id, c.invoice_id INTO missing
            FROM (SELECT DISTINCT tenant_id, invoice_id FROM changed) c
            WHERE NOT EXISTS (
                SELECT 1 FROM invoices i WHERE i.tenant_id = c.tenant_id AND i.id = c.invoice_id
            )
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION
                    'insert or update on table "%" violates foreign key constraint "fk_%_invoice"',
                    TG_TABLE_NAME, TG_TABLE_NAME
                    USING ERRCODE = 'foreign_key_violation',
                          DETAIL = format(
                              'Key (tenant_id, invoice_id)=(%s, %s) is not present in table '
                              '"invoices".', missing.tenant_id, missing.invoice_id);
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    for table in _CHILDREN:
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {table}_reference_{event.lower()} AFTER {event} ON {table} "
                "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
                "EXECUTE FUNCTION invoice_children_reference()"
            )
    op.execute(
        """
        CREATE FUNCTION invoices_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM invoice_lines l USING gone g
            WHERE l.tenant_id = g.tenant_id AND l.invoice_id = g.id;
            DELETE FROM invoice_worklogs w USING gone g
            WHERE w.tenant_id = g.tenant_id AND w.invoice_id = g.id;
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER invoices_cascade AFTER DELETE ON invoices "
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION invoices_cascade()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS invoices_cascade ON invoices")
        op.execute("DROP FUNCTION IF EXISTS invoices_cascade()")
        for table in _CHILDREN:
            for event in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_{event} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS invoice_children_reference()")
        for table in _CHILDREN:
            op.create_foreign_key(
                f"fk_{table}_invoice",
                table,
                "invoices",
                ["tenant_id", "invoice_id"],
                ["tenant_id", "id"],
                ondelete="CASCADE",
            )
    op.drop_index("ix_invoice_lines_order", table_name="invoice_lines")
    _change_lines_table(
        lambda batch: batch.create_unique_constraint(_TENANT_ID, ["tenant_id", "id"])
    )


_TENANT_ID = "uq_invoice_lines_tenant_id_id"
_LOCKED = "invoice_locked: a finalized invoice cannot be changed"


def _change_lines_table(change: Callable[[Any], None]) -> None:
    """SQLite rebuilds the table for this, and its triggers go with the old one: the lock
    triggers of migration 0007 are made again, the same."""
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
