"""Budgets with their Jira projects, dated member rates, and manual worklog assignments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 03:39:21.232162+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('hourly_rate', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('hours_cap', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('amount_cap', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'client_id'], ['clients.tenant_id', 'clients.id'], name='fk_budgets_client'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_budgets_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_budgets_tenant_id_id'))
    )
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.create_index('ix_budgets_tenant_client', ['tenant_id', 'client_id'], unique=False)

    op.create_table('budget_member_rates',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=128), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('hourly_rate', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'budget_id'], ['budgets.tenant_id', 'budgets.id'], name='fk_budget_member_rates_budget', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'budget_id', 'account_id', 'effective_from', name=op.f('pk_budget_member_rates'))
    )
    op.create_table('budget_projects',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('project_key', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'budget_id'], ['budgets.tenant_id', 'budgets.id'], name='fk_budget_projects_budget', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'budget_id', 'project_key', name=op.f('pk_budget_projects'))
    )
    with op.batch_alter_table('budget_projects', schema=None) as batch_op:
        batch_op.create_index('ix_budget_projects_tenant_project', ['tenant_id', 'project_key'], unique=False)

    op.create_table('worklog_assignments',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('worklog_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=True),
    sa.Column('assigned_by', sa.String(length=128), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'budget_id'], ['budgets.tenant_id', 'budgets.id'], name='fk_worklog_assignments_budget', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'worklog_id'], ['worklogs.tenant_id', 'worklogs.id'], name='fk_worklog_assignments_worklog', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'worklog_id', name=op.f('pk_worklog_assignments'))
    )
    with op.batch_alter_table('worklog_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_worklog_assignments_budget', ['tenant_id', 'budget_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('worklog_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_worklog_assignments_budget')

    op.drop_table('worklog_assignments')
    with op.batch_alter_table('budget_projects', schema=None) as batch_op:
        batch_op.drop_index('ix_budget_projects_tenant_project')

    op.drop_table('budget_projects')
    op.drop_table('budget_member_rates')
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.drop_index('ix_budgets_tenant_client')

    op.drop_table('budgets')
