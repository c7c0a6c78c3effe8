"""The Forge door: sites known by their cloudId, and each Forge installation of a site.

A site that only has the Forge app has no Connect clientKey, shared secret or (until someone
opens the app) URL: those columns of `tenants` become nullable, and `cloud_id` (unique) and
`linked_forge_installation_id` are added. `forge_installations` keeps every installationId a
site had, so that an uninstalled or replaced one never counts again.

SQLite cannot drop NOT NULL, so `tenants` is rebuilt. Dropping the old table would cascade
to every row of every tenant (foreign keys are on), so the rebuild runs with foreign keys
off, as SQLite's own procedure for schema changes says, with legacy renaming so that the
children's references and the lock triggers keep naming `tenants`; then the foreign keys
are checked.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 09:00:00+00:00
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RELAXED = (
    ('client_key', sa.String(length=255)),
    ('shared_secret_encrypted', sa.Text()),
    ('base_url', sa.String(length=255)),
    ('installed_at', sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    def change(batch: Any) -> None:
        for name, type_ in _RELAXED:
            batch.alter_column(name, existing_type=type_, nullable=True)
        batch.add_column(sa.Column('cloud_id', sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column('linked_forge_installation_id', sa.String(length=255), nullable=True)
        )
        batch.create_unique_constraint(op.f('uq_tenants_cloud_id'), ['cloud_id'])

    _change_tenants(change)
    op.create_table(
        'forge_installations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=True),
        sa.Column('installation_id', sa.String(length=255), nullable=False),
        sa.Column('cloud_id', sa.String(length=64), nullable=False),
        sa.Column('app_version', sa.String(length=64), nullable=True),
        sa.Column('environment_type', sa.String(length=32), nullable=True),
        sa.Column('environment_id', sa.String(length=255), nullable=True),
        sa.Column('api_base_url', sa.String(length=512), nullable=False),
        sa.Column('site_url', sa.String(length=255), nullable=True),
        sa.Column('installed', sa.Boolean(), nullable=False),
        sa.Column('install_event_iat', sa.BigInteger(), nullable=False),
        sa.Column('installed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('uninstalled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('system_token_encrypted', sa.Text(), nullable=True),
        sa.Column('system_token_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'],
            name=op.f('fk_forge_installations_tenant_id_tenants'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_forge_installations')),
        sa.UniqueConstraint('installation_id', name=op.f('uq_forge_installations_installation_id')),
    )
    op.create_index(
        op.f('ix_forge_installations_tenant_id'), 'forge_installations', ['tenant_id']
    )
    op.create_index(
        op.f('ix_forge_installations_cloud_id'), 'forge_installations', ['cloud_id']
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_forge_installations_cloud_id'), table_name='forge_installations')
    op.drop_index(op.f('ix_forge_installations_tenant_id'), table_name='forge_installations')
    op.drop_table('forge_installations')
    # Sites known only through Forge cannot be kept without a clientKey: they go, with
    # their data (downgrading forgets what only the Forge door knew).
    op.execute('DELETE FROM tenants WHERE client_key IS NULL')

    def change(batch: Any) -> None:
        batch.drop_constraint(op.f('uq_tenants_cloud_id'), type_='unique')
        batch.drop_column('linked_forge_installation_id')
        batch.drop_column('cloud_id')
        for name, type_ in _RELAXED:
            batch.alter_column(name, existing_type=type_, nullable=False)

    _change_tenants(change)


def _change_tenants(change: Callable[[Any], None]) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        with op.batch_alter_table('tenants') as batch:
            change(batch)
        return
    # PRAGMA foreign_keys is ignored inside a transaction: leave it for the rebuild.
    with op.get_context().autocommit_block():
        op.execute('PRAGMA foreign_keys=OFF')
        op.execute('PRAGMA legacy_alter_table=ON')
        try:
            op.execute('BEGIN')
            try:
                with op.batch_alter_table('tenants', recreate='always') as batch:
                    change(batch)
                problems = op.get_bind().exec_driver_sql('PRAGMA foreign_key_check').fetchall()
                if problems:
                    raise RuntimeError(f'rebuilding tenants broke foreign keys: {problems[:5]}')
            except BaseException:
                op.execute('ROLLBACK')
                raise
            op.execute('COMMIT')
        finally:
            op.execute('PRAGMA legacy_alter_table=OFF')
            op.execute('PRAGMA foreign_keys=ON')
