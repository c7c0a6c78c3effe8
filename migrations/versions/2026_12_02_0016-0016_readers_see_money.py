"""A site may hide rates and amounts from people who may only read billing data.

`readers_see_money` is true for every existing site: readers keep seeing what they saw.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('billing_settings') as batch:
        batch.add_column(
            sa.Column(
                'readers_see_money', sa.Boolean(), server_default=sa.true(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('billing_settings') as batch:
        batch.drop_column('readers_see_money')
