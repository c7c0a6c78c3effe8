"""The database refuses to change how a finalized invoice's worklogs are billed.

Migration 0007 locked the invoice, its lines and its worklog links. What makes a worklog
billable, and at what rate, lives in three more places, which only the service guarded:
`worklogs.billable`, `worklog_assignments` (a budget chosen by hand) and
`worklog_rate_overrides`. Each now refuses a change to a worklog on a finalized invoice, as
the invoice itself does (`invoice_locked`). Jira's own changes to the worklog (its time,
comment, deletion) are still mirrored: they show on the invoice as drift. A tenant being
deleted takes everything with it, as in 0007.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 10:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCKED_MESSAGE = "invoice_locked: a finalized invoice cannot be changed"
_BILLING = ("worklog_assignments", "worklog_rate_overrides")
_EVENTS = {"INSERT": "NEW", "UPDATE": "OLD", "DELETE": "OLD"}
# On a finalized invoice, and the tenant not being deleted.
_LOCKED = (
    "EXISTS (SELECT 1 FROM invoice_worklogs iw JOIN invoices i "
    "ON i.tenant_id = iw.tenant_id AND i.id = iw.invoice_id "
    "WHERE iw.tenant_id = {row}.tenant_id AND iw.worklog_id = {row}.{id} "
    "AND i.status = 'finalized') "
    "AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = {row}.tenant_id)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql()
    else:
        _create_sqlite()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    names = [(f"{t}_locked_{e.lower()}", t) for t in _BILLING for e in _EVENTS]
    names.append(("worklogs_billable_locked", "worklogs"))
    for name, table in names:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS worklog_billing_locked()")
        op.execute("DROP FUNCTION IF EXISTS worklog_billable_locked()")


def _create_postgresql() -> None:
    raise_locked = (
        f"RAISE EXCEPTION '{LOCKED_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';"
    )
    op.execute(
        f"""
        CREATE FUNCTION worklog_billing_locked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' AND {_LOCKED.format(row="OLD", id="worklog_id")} THEN
                {raise_locked}
            END IF;
            IF TG_OP <> 'DELETE' AND {_LOCKED.format(row="NEW", id="worklog_id")} THEN
                {raise_locked}
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$;
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION worklog_billable_locked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {_LOCKED.format(row="OLD", id="id")} THEN
                {raise_locked}
            END IF;
            RETURN NEW;
        END $$;
        """
    )
    for table in _BILLING:
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_locked_{event.lower()} BEFORE {event} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION worklog_billing_locked()"
            )
    # Only a change of `billable`: the mirror's updates (never that column) pay nothing.
    op.execute(
        "CREATE TRIGGER worklogs_billable_locked BEFORE UPDATE OF billable ON worklogs "
        "FOR EACH ROW WHEN (OLD.billable IS DISTINCT FROM NEW.billable) "
        "EXECUTE FUNCTION worklog_billable_locked()"
    )


def _create_sqlite() -> None:
    abort = f"BEGIN SELECT RAISE(ABORT, '{LOCKED_MESSAGE}'); END"
    for table in _BILLING:
        for event, row in _EVENTS.items():
            locked = _LOCKED.format(row=row, id="worklog_id")
            if event == "UPDATE":
                locked = f"({locked}) OR ({_LOCKED.format(row='NEW', id='worklog_id')})"
            op.execute(
                f"CREATE TRIGGER {table}_locked_{event.lower()} BEFORE {event} ON {table} "
                f"FOR EACH ROW WHEN {locked} {abort}"
            )
    op.execute(
        "CREATE TRIGGER worklogs_billable_locked BEFORE UPDATE OF billable ON worklogs "
        f"FOR EACH ROW WHEN OLD.billable IS NOT NEW.billable "
        f"AND {_LOCKED.format(row='OLD', id='id')} {abort}"
    )
