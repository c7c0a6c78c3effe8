"""Dated rates for budgets, clients and the site.

Only a person's rate on a budget had an effective date; a budget's, a client's and the
site's default rate were one value each, so changing one repriced all work not yet
invoiced. `dated_rates` holds each level's rates from a day on; the existing columns stay
the base rate before the first of them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 10:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'dated_rates',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('level', sa.String(length=8), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('hourly_rate', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'], name=op.f('fk_dated_rates_tenant_id_tenants'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint(
            'tenant_id', 'level', 'owner_id', 'effective_from', name=op.f('pk_dated_rates')
        ),
    )


def downgrade() -> None:
    op.drop_table('dated_rates')
