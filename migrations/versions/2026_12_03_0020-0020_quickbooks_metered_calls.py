"""QuickBooks calls Intuit meters, by company and month (what `/metrics` shows operators of
the month's allowance: 500,000 CorePlus calls on the free Builder tier).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'quickbooks_metered_calls',
        sa.Column('realm_id', sa.String(length=32), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('realm_id', 'month', name=op.f('pk_quickbooks_metered_calls')),
    )


def downgrade() -> None:
    op.drop_table('quickbooks_metered_calls')
