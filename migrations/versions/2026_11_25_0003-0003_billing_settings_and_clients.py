"""Billing: per-tenant settings (numbering, rounding, default rate) and clients.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 03:26:32.839318+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('billing_settings',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('invoice_number_prefix', sa.String(length=12), nullable=False),
    sa.Column('next_invoice_number', sa.Integer(), nullable=False),
    sa.Column('rounding_minutes', sa.Integer(), nullable=False),
    sa.Column('rounding_mode', sa.String(length=16), nullable=False),
    sa.Column('default_hourly_rate', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('default_due_days', sa.Integer(), nullable=False),
    sa.Column('billing_group', sa.String(length=255), nullable=True),
    sa.Column('quickbooks_item_id', sa.String(length=64), nullable=True),
    sa.Column('quickbooks_tax_code_id', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_billing_settings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_billing_settings'))
    )
    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('hourly_rate', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('billing_email', sa.String(length=254), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_clients_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_clients_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'name_key', name=op.f('uq_clients_tenant_id_name_key'))
    )


def downgrade() -> None:
    op.drop_table('clients')
    op.drop_table('billing_settings')
