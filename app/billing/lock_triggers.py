"""The SQLite triggers that refuse changes to a finalized invoice's lines and worklog links.

Written once here because SQLite drops a table's triggers when a migration rebuilds the
table (`batch_alter_table`), and each such migration must make them again. The text is part
of the schema: change it only together with a migration that makes the triggers again.
PostgreSQL's statement-level equivalents live in migration 0007.
"""

from __future__ import annotations

from typing import Literal

from app.errors import Conflict

__all__ = ["LOCKED_MESSAGE", "locked_refusal", "sqlite_child_lock_triggers"]

LOCKED_MESSAGE = "invoice_locked: a finalized invoice cannot be changed"


def sqlite_child_lock_triggers(table: Literal["invoice_lines", "invoice_worklogs"]) -> list[str]:
    """The statements that (re)make the INSERT, UPDATE and DELETE lock triggers of `table`,
    built from constants only. A row of a deleted tenant's invoice may go: the tenant's data
    is being erased."""
    statements = []
    for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
        finalized = (
            f"(SELECT status FROM invoices i WHERE i.tenant_id = {row}.tenant_id "  # noqa: S608
            f"AND i.id = {row}.invoice_id) = 'finalized'"
        )
        tenant_exists = f"EXISTS (SELECT 1 FROM tenants t WHERE t.id = {row}.tenant_id)"  # noqa: S608
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_locked_{event.lower()}",
            f"CREATE TRIGGER {table}_locked_{event.lower()} BEFORE {event} ON {table} "
            f"FOR EACH ROW WHEN {finalized} AND {tenant_exists} "
            f"BEGIN SELECT RAISE(ABORT, '{LOCKED_MESSAGE}'); END",
        ]
    return statements


def locked_refusal(error: BaseException) -> Conflict | None:
    """The 409 for a database error raised by a lock trigger (the service refuses first; a
    change racing a finalize can still reach the database), None for any other error."""
    if LOCKED_MESSAGE not in str(error):
        return None
    return Conflict(
        "The invoice was finalized meanwhile: it and its worklogs can no longer change.",
        code="invoice_locked",
    )
