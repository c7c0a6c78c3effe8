"""Worklog mirror: worklogs, the issue cache and per-tenant sync cursors.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:34:38.081751+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('jira_issues',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('project_key', sa.String(length=255), nullable=True),
    sa.Column('project_id', sa.BigInteger(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missing_since', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_jira_issues_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_jira_issues'))
    )
    with op.batch_alter_table('jira_issues', schema=None) as batch_op:
        batch_op.create_index('ix_jira_issues_tenant_project', ['tenant_id', 'project_key'], unique=False)
        batch_op.create_index('ix_jira_issues_unresolved', ['tenant_id', 'resolved_at'], unique=False)

    op.create_table('worklog_syncs',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('updated_cursor_ms', sa.BigInteger(), nullable=False),
    sa.Column('deleted_cursor_ms', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_worklog_syncs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_worklog_syncs'))
    )
    op.create_table('worklogs',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('issue_id', sa.BigInteger(), nullable=False),
    sa.Column('author_account_id', sa.String(length=128), nullable=False),
    sa.Column('author_display_name', sa.String(length=255), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_offset_minutes', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('time_spent_seconds', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('jira_created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('jira_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('billable', sa.Boolean(), nullable=False),
    sa.Column('deleted_in_jira_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mirrored_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'issue_id'], ['jira_issues.tenant_id', 'jira_issues.id'], name='fk_worklogs_issue'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_worklogs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_worklogs'))
    )
    with op.batch_alter_table('worklogs', schema=None) as batch_op:
        batch_op.create_index('ix_worklogs_tenant_issue', ['tenant_id', 'issue_id'], unique=False)
        batch_op.create_index('ix_worklogs_tenant_started', ['tenant_id', 'started_at'], unique=False)
        batch_op.create_index('ix_worklogs_tenant_started_on', ['tenant_id', 'started_on'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('worklogs', schema=None) as batch_op:
        batch_op.drop_index('ix_worklogs_tenant_started_on')
        batch_op.drop_index('ix_worklogs_tenant_started')
        batch_op.drop_index('ix_worklogs_tenant_issue')

    op.drop_table('worklogs')
    op.drop_table('worklog_syncs')
    with op.batch_alter_table('jira_issues', schema=None) as batch_op:
        batch_op.drop_index('ix_jira_issues_unresolved')
        batch_op.drop_index('ix_jira_issues_tenant_project')

    op.drop_table('jira_issues')
