"""Used "Connect to QuickBooks" links: the Forge door's single-use way out of Jira.

A Forge page cannot put a Jira token in a URL, so the API issues a short-lived signed link
that starts QuickBooks' OAuth once. Each one used is recorded by its nonce, so a second use
is refused in every process.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'quickbooks_connect_links',
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(length=128), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'],
            name=op.f('fk_quickbooks_connect_links_tenant_id_tenants'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('nonce', name=op.f('pk_quickbooks_connect_links')),
    )
    op.create_index(
        'ix_quickbooks_connect_links_used_at', 'quickbooks_connect_links', ['used_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_quickbooks_connect_links_used_at', table_name='quickbooks_connect_links')
    op.drop_table('quickbooks_connect_links')
