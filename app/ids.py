"""The ids the API takes for the app's own rows (clients, budgets, invoices, lines).

They are 32-bit integers in the database. A bigger number in a path, a query or a body is a
422 naming the field, never a driver error: SQLite's driver cannot even bind an integer over
2^63, and would answer with a 500.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["MAX_ROW_ID", "RowId"]

MAX_ROW_ID = 2**31 - 1

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
