"""A sync's claim names its process and lapses unless that process beats: a sync left by a
dead process is retried within W360_QBO_SYNC_CLAIM_STALE_SECONDS, not five minutes.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: no table rebuild, so SQLite's triggers stay.
    op.add_column(
        'quickbooks_invoice_syncs', sa.Column('claimed_by', sa.String(length=80), nullable=True)
    )
    op.add_column(
        'quickbooks_invoice_syncs',
        sa.Column('claim_expires_at', sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column('quickbooks_invoice_syncs', 'claim_expires_at')
    op.drop_column('quickbooks_invoice_syncs', 'claimed_by')
