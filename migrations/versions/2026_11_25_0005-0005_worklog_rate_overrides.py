"""Per-worklog hourly rate overrides.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 04:19:44.849759+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('worklog_rate_overrides',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('worklog_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hourly_rate', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('set_by', sa.String(length=128), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'worklog_id'], ['worklogs.tenant_id', 'worklogs.id'], name='fk_worklog_rate_overrides_worklog', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'worklog_id', name=op.f('pk_worklog_rate_overrides'))
    )


def downgrade() -> None:
    op.drop_table('worklog_rate_overrides')
