"""Worklogs to read from Jira: what a Forge worklog event asks for.

A Forge worklog event names the worklog (and its issue) but is not a copy the mirror can
store as is, so the event is kept as a request to read that worklog from Jira, one row per
worklog however many events name it, and answered 2xx once the row is committed.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'worklog_refreshes',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('worklog_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'],
            name=op.f('fk_worklog_refreshes_tenant_id_tenants'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('tenant_id', 'worklog_id', name=op.f('pk_worklog_refreshes')),
    )


def downgrade() -> None:
    op.drop_table('worklog_refreshes')
