"""A company's QuickBooks calls booked across processes: a counter per company and the
moments of its last N calls (N: W360_QBO_CALLS_PER_MINUTE), so that all the app's processes
together keep under Intuit's per-minute limit.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'quickbooks_call_counters',
        sa.Column('realm_id', sa.String(length=32), nullable=False),
        sa.Column('calls', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('realm_id', name=op.f('pk_quickbooks_call_counters')),
    )
    op.create_table(
        'quickbooks_call_slots',
        sa.Column('realm_id', sa.String(length=32), nullable=False),
        sa.Column('slot', sa.Integer(), nullable=False),
        sa.Column('call_number', sa.BigInteger(), nullable=False),
        sa.Column('started_at', sa.Float(), nullable=False),
        sa.Column('answered_at', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('realm_id', 'slot', name=op.f('pk_quickbooks_call_slots')),
    )


def downgrade() -> None:
    op.drop_table('quickbooks_call_slots')
    op.drop_table('quickbooks_call_counters')
