"""What the database says when its lock triggers refuse a change to a finalized invoice.

The triggers themselves live in migrations 0007, 0009, 0010 and 0011 (a migration is a
snapshot and imports no app code): on SQLite they RAISE(ABORT, …) with this message, on
PostgreSQL they raise it with SQLSTATE 23000.
"""

from __future__ import annotations

from app.errors import Conflict

__all__ = ["LOCKED_MESSAGE", "locked_refusal"]

LOCKED_MESSAGE = "invoice_locked: a finalized invoice cannot be changed"


def locked_refusal(error: BaseException) -> Conflict | None:
    """The 409 for a database error raised by a lock trigger (the service refuses first; a
    change racing a finalize can still reach the database), None for any other error. The
    driver's own message is read, not the statement or its parameters, which may hold any
    text a user typed."""
    original = getattr(error, "orig", None)
    if original is None or not str(original).startswith(LOCKED_MESSAGE):
        return None
    return Conflict(
        "The invoice was finalized meanwhile: it and its worklogs can no longer change. "
        "Reload the page to see it as finalized.",
        code="invoice_locked",
    )
