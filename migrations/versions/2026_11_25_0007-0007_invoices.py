"""Invoices, their lines and the worklogs on them; finalized invoices locked by triggers.

A finalized invoice, its lines and its worklog links can be neither changed nor deleted:
the triggers below refuse it with `invoice_locked`, whatever code tries. The one exception
is a site's own removal (its tenant row already gone), so deleting a tenant still cascades.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 04:35:57.717682+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=21), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('group_by', sa.String(length=16), nullable=False),
    sa.Column('rounding_minutes', sa.Integer(), nullable=False),
    sa.Column('rounding_mode', sa.String(length=16), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalized_by', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'budget_id'], ['budgets.tenant_id', 'budgets.id'], name='fk_invoices_budget'),
    sa.ForeignKeyConstraint(['tenant_id', 'client_id'], ['clients.tenant_id', 'clients.id'], name='fk_invoices_client'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_invoices_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_invoices_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_invoices_tenant_id_number'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_tenant_budget', ['tenant_id', 'budget_id'], unique=False)
        batch_op.create_index('ix_invoices_tenant_client', ['tenant_id', 'client_id'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('group_key', sa.String(length=128), nullable=True),
    sa.Column('source_rate', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('actual_seconds', sa.BigInteger(), nullable=True),
    sa.Column('billed_seconds', sa.BigInteger(), nullable=True),
    sa.Column('actual_hours', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('hours', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('rate', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.id'], name='fk_invoice_lines_invoice', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_invoice_lines_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'invoice_id', 'group_key', 'source_rate', name=op.f('uq_invoice_lines_tenant_id_invoice_id_group_key_source_rate'))
    )
    op.create_table('invoice_worklogs',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('worklog_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('group_key', sa.String(length=128), nullable=False),
    sa.Column('rate', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('rate_source', sa.String(length=16), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('billed_seconds', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.BigInteger(), nullable=False),
    sa.Column('author_account_id', sa.String(length=128), nullable=False),
    sa.Column('author_display_name', sa.String(length=255), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('jira_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.id'], name='fk_invoice_worklogs_invoice', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'worklog_id', name=op.f('pk_invoice_worklogs'))
    )
    with op.batch_alter_table('invoice_worklogs', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_worklogs_invoice', ['tenant_id', 'invoice_id', 'group_key'], unique=False)

    _create_lock_triggers()



def downgrade() -> None:
    _drop_lock_triggers()
    with op.batch_alter_table('invoice_worklogs', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_worklogs_invoice')

    op.drop_table('invoice_worklogs')
    op.drop_table('invoice_lines')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_tenant_client')
        batch_op.drop_index('ix_invoices_tenant_budget')

    op.drop_table('invoices')


_MESSAGE = "invoice_locked: a finalized invoice cannot be changed"
_CHILDREN = ("invoice_lines", "invoice_worklogs")
_TRANSITION = {"INSERT": "NEW TABLE AS changed", "UPDATE": "OLD TABLE AS changed",
               "DELETE": "OLD TABLE AS changed"}


def _create_lock_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql_triggers()
    else:
        _create_sqlite_triggers()


def _create_postgresql_triggers() -> None:
    # The invoice row itself: a row trigger (one row at a time anyway).
    op.execute(
        f"""
        CREATE FUNCTION invoices_locked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.status = 'finalized'
               AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = OLD.tenant_id) THEN
                RAISE EXCEPTION '{_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER invoices_locked BEFORE UPDATE OR DELETE ON invoices "
        "FOR EACH ROW EXECUTE FUNCTION invoices_locked()"
    )
    # Lines and worklog links: statement triggers over the transition table, so claiming
    # 50,000 worklogs costs one check, not 50,000.
    op.execute(
        f"""
        CREATE FUNCTION invoice_children_locked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (
                SELECT 1 FROM changed c
                JOIN invoices i ON i.tenant_id = c.tenant_id AND i.id = c.invoice_id
                JOIN tenants t ON t.id = c.tenant_id
                WHERE i.status = 'finalized'
            ) THEN
                RAISE EXCEPTION '{_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    for table in _CHILDREN:
        for event, transition in _TRANSITION.items():
            op.execute(
                f"CREATE TRIGGER {table}_locked_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {transition} FOR EACH STATEMENT "
                "EXECUTE FUNCTION invoice_children_locked()"
            )


def _create_sqlite_triggers() -> None:
    tenant_exists = "EXISTS (SELECT 1 FROM tenants t WHERE t.id = {row}.tenant_id)"
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER invoices_locked_{event.lower()} BEFORE {event} ON invoices "
            f"FOR EACH ROW WHEN OLD.status = 'finalized' AND {tenant_exists.format(row='OLD')} "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )
    for table in _CHILDREN:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            finalized = (
                f"(SELECT status FROM invoices i WHERE i.tenant_id = {row}.tenant_id "
                f"AND i.id = {row}.invoice_id) = 'finalized'"
            )
            op.execute(
                f"CREATE TRIGGER {table}_locked_{event.lower()} BEFORE {event} ON {table} "
                f"FOR EACH ROW WHEN {finalized} AND {tenant_exists.format(row=row)} "
                f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )


def _drop_lock_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    names = [(f"{t}_locked_{e.lower()}", t) for t in _CHILDREN for e in _TRANSITION]
    if postgres:
        names.append(("invoices_locked", "invoices"))
    else:
        names += [("invoices_locked_update", "invoices"), ("invoices_locked_delete", "invoices")]
    for name, table in names:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS invoices_locked()")
        op.execute("DROP FUNCTION IF EXISTS invoice_children_locked()")
