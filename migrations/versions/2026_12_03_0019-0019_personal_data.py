"""Personal data: the accounts reported to Atlassian, and erasing a closed account's name.

* `personal_data_accounts`: each Atlassian account a site's data names, with when its
  personal data was last retrieved (`updatedAt` in the report), when it was last reported
  (once a cycle, 7 days by default) and, once Jira says it is closed, when it was erased
  (never reported again).
* `personal_data_erasing`: a row only inside the transaction that erases a closed account's
  name (inserted and deleted in it, never committed). While it is there, and only then, the
  lock triggers of 0007/0009/0010 let a finalized invoice's lines change their description
  and its worklog links their author's name, and nothing else: the amounts, hours, rates,
  dates and worklogs of the legal record stay as finalized.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCKED_MESSAGE = "invoice_locked: a finalized invoice cannot be changed"
# Each child table, its key, the one column an erasure may change, and (SQLite) the rest.
_CHILDREN = {
    "invoice_lines": (
        ("id",),
        "description",
        (
            "id", "tenant_id", "invoice_id", "position", "kind", "group_key", "source_rate",
            "actual_seconds", "billed_seconds", "actual_hours", "hours", "rate", "amount",
        ),
    ),
    "invoice_worklogs": (
        ("tenant_id", "worklog_id"),
        "author_display_name",
        (
            "tenant_id", "worklog_id", "invoice_id", "group_key", "rate", "rate_source",
            "seconds", "billed_seconds", "issue_id", "author_account_id", "started_at",
            "started_on", "jira_updated_at",
        ),
    ),
}


def upgrade() -> None:
    op.create_table(
        'personal_data_accounts',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(length=128), nullable=False),
        sa.Column('retrieved_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'],
            name=op.f('fk_personal_data_accounts_tenant_id_tenants'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint(
            'tenant_id', 'account_id', name=op.f('pk_personal_data_accounts')
        ),
    )
    op.create_table(
        'personal_data_erasing',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'],
            name=op.f('fk_personal_data_erasing_tenant_id_tenants'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_personal_data_erasing')),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_update_triggers()
    else:
        _sqlite_update_triggers(erasure_allowed=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _CHILDREN:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_locked_update ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_update_locked()")
            op.execute(
                f"CREATE TRIGGER {table}_locked_update AFTER UPDATE ON {table} "
                "REFERENCING OLD TABLE AS changed FOR EACH STATEMENT "
                "EXECUTE FUNCTION invoice_children_locked()"
            )
    else:
        _sqlite_update_triggers(erasure_allowed=False)
    op.drop_table('personal_data_erasing')
    op.drop_table('personal_data_accounts')


def _postgresql_update_triggers() -> None:
    for table, (key, name_column, _) in _CHILDREN.items():
        same_key = " AND ".join(f"n.{k} = o.{k}" for k in key)
        op.execute(f"DROP TRIGGER IF EXISTS {table}_locked_update ON {table}")
        op.execute(
            f"""
            CREATE FUNCTION {table}_update_locked() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (
                    SELECT 1 FROM old_rows o
                    JOIN invoices i ON i.tenant_id = o.tenant_id AND i.id = o.invoice_id
                    JOIN tenants t ON t.id = o.tenant_id
                    WHERE i.status = 'finalized'
                      AND NOT (
                        EXISTS (SELECT 1 FROM personal_data_erasing e
                                WHERE e.tenant_id = o.tenant_id)
                        AND EXISTS (
                            SELECT 1 FROM new_rows n
                            WHERE {same_key}
                              AND (to_jsonb(n) - '{name_column}')
                                  = (to_jsonb(o) - '{name_column}')
                        )
                      )
                ) THEN
                    RAISE EXCEPTION '{LOCKED_MESSAGE}'
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NULL;
            END $$;
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_locked_update AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {table}_update_locked()"
        )


def _sqlite_update_triggers(*, erasure_allowed: bool) -> None:
    tenant_exists = "EXISTS (SELECT 1 FROM tenants t WHERE t.id = OLD.tenant_id)"
    finalized = (
        "(SELECT status FROM invoices i WHERE i.tenant_id = OLD.tenant_id "
        "AND i.id = OLD.invoice_id) = 'finalized'"
    )
    for table, (_, _, others) in _CHILDREN.items():
        locked = f"{finalized} AND {tenant_exists}"
        if erasure_allowed:
            unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in others)
            erasing = (
                "EXISTS (SELECT 1 FROM personal_data_erasing e WHERE e.tenant_id = OLD.tenant_id)"
            )
            locked += f" AND NOT ({erasing} AND {unchanged})"
        op.execute(f"DROP TRIGGER IF EXISTS {table}_locked_update")
        op.execute(
            f"CREATE TRIGGER {table}_locked_update BEFORE UPDATE ON {table} "
            f"FOR EACH ROW WHEN {locked} "
            f"BEGIN SELECT RAISE(ABORT, '{LOCKED_MESSAGE}'); END"
        )
