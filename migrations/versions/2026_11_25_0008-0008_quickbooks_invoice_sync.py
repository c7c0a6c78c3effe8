"""QuickBooks invoice sync: the once-only claim and status of each synced invoice, the
payments applied to it, and each company's change-data-capture cursor.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quickbooks_realm_states',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.String(length=32), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=True),
    sa.Column('item_id', sa.String(length=32), nullable=True),
    sa.Column('changes_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('changes_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_calls', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quickbooks_realm_states_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_quickbooks_realm_states'))
    )
    op.create_table('quickbooks_invoice_syncs',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('outcome_unknown', sa.Boolean(), nullable=False),
    sa.Column('claim', sa.String(length=36), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('realm_id', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.String(length=32), nullable=True),
    sa.Column('qbo_id', sa.String(length=32), nullable=True),
    sa.Column('doc_number', sa.String(length=32), nullable=True),
    sa.Column('sync_token', sa.String(length=16), nullable=True),
    sa.Column('invoice_total', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('balance', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('sent', sa.Boolean(), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('qbo_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error_code', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.id'], name='fk_quickbooks_invoice_syncs_invoice', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quickbooks_invoice_syncs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'invoice_id', name=op.f('pk_quickbooks_invoice_syncs')),
    sa.UniqueConstraint('tenant_id', 'realm_id', 'qbo_id', name=op.f('uq_quickbooks_invoice_syncs_tenant_id_realm_id_qbo_id'))
    )
    op.create_table('quickbooks_invoice_payments',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('payment_id', sa.String(length=32), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['quickbooks_invoice_syncs.tenant_id', 'quickbooks_invoice_syncs.invoice_id'], name='fk_quickbooks_invoice_payments_sync', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'invoice_id', 'payment_id', name=op.f('pk_quickbooks_invoice_payments'))
    )
    with op.batch_alter_table('quickbooks_invoice_payments', schema=None) as batch_op:
        batch_op.create_index('ix_quickbooks_invoice_payments_payment', ['tenant_id', 'payment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('quickbooks_invoice_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_quickbooks_invoice_payments_payment')

    op.drop_table('quickbooks_invoice_payments')
    op.drop_table('quickbooks_invoice_syncs')
    op.drop_table('quickbooks_realm_states')
