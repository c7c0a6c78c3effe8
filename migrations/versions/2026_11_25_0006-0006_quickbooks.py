"""QuickBooks Online: connections, OAuth states, customers cache, customer links.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quickbooks_connections',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('realm_id', sa.String(length=32), nullable=True),
    sa.Column('company_name', sa.String(length=255), nullable=True),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('access_token_encrypted', sa.Text(), nullable=True),
    sa.Column('refresh_token_encrypted', sa.Text(), nullable=True),
    sa.Column('access_token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_token_hard_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token_generation', sa.Integer(), nullable=False),
    sa.Column('connected_by', sa.String(length=128), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('customers_refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_intuit_tid', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quickbooks_connections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_quickbooks_connections')),
    sa.UniqueConstraint('realm_id', name=op.f('uq_quickbooks_connections_realm_id'))
    )
    op.create_table('quickbooks_customers',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=500), nullable=False),
    sa.Column('search_key', sa.String(length=500), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quickbooks_customers_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_quickbooks_customers'))
    )
    op.create_table('quickbooks_oauth_states',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=128), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('realm_id', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quickbooks_oauth_states_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('nonce', name=op.f('pk_quickbooks_oauth_states'))
    )
    op.create_index('ix_quickbooks_oauth_states_used_at', 'quickbooks_oauth_states', ['used_at'], unique=False)
    op.create_table('quickbooks_customer_links',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=500), nullable=False),
    sa.Column('linked_by', sa.String(length=128), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'client_id'], ['clients.tenant_id', 'clients.id'], name='fk_quickbooks_customer_links_client', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quickbooks_customer_links_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'client_id', name=op.f('pk_quickbooks_customer_links')),
    sa.UniqueConstraint('tenant_id', 'customer_id', name=op.f('uq_quickbooks_customer_links_tenant_id_customer_id'))
    )


def downgrade() -> None:
    op.drop_table('quickbooks_customer_links')
    op.drop_index('ix_quickbooks_oauth_states_used_at', table_name='quickbooks_oauth_states')
    op.drop_table('quickbooks_oauth_states')
    op.drop_table('quickbooks_customers')
    op.drop_table('quickbooks_connections')
