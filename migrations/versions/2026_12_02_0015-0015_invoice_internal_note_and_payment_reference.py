"""An internal note on invoices, and how a QuickBooks payment was made.

`invoices.notes` is printed on the invoice (QuickBooks' message to the customer); people
also wanted a note for themselves that never leaves Worklog360: `internal_note`. A payment
read from QuickBooks keeps its reference (`PaymentRefNum`, e.g. a cheque number) and its
method's name, which the invoice page shows instead of QuickBooks' internal payment id.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('invoices', sa.Column('internal_note', sa.Text(), nullable=True))
    op.add_column(
        'quickbooks_invoice_payments', sa.Column('reference', sa.String(length=64), nullable=True)
    )
    op.add_column(
        'quickbooks_invoice_payments', sa.Column('method', sa.String(length=64), nullable=True)
    )


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of `invoices` would drop
    # its lock triggers with it.
    op.drop_column('quickbooks_invoice_payments', 'method')
    op.drop_column('quickbooks_invoice_payments', 'reference')
    op.drop_column('invoices', 'internal_note')
