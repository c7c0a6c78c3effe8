"""SQL of QuickBooks' metered-call counts (by company and month, not by tenant)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert
from app.quickbooks.models import QuickBooksMeteredCalls


async def add_calls(session: AsyncSession, counts: Mapping[tuple[str, str], int]) -> None:
    """Add `counts` ((realm, month) → calls) to what is stored, in one statement."""
    table = QuickBooksMeteredCalls.__table__
    statement = dialect_insert(session)(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.realm_id, table.c.month],
        set_={"calls": table.c.calls + statement.excluded.calls},
    )
    rows = [
        {"realm_id": realm, "month": month, "calls": calls}
        for (realm, month), calls in sorted(counts.items())
    ]
    await session.execute(statement, rows)


async def calls_in(session: AsyncSession, month: str) -> dict[str, int]:
    """Each company's metered calls in `month` (YYYY-MM)."""
    result = await session.execute(
        select(QuickBooksMeteredCalls.realm_id, QuickBooksMeteredCalls.calls).where(
            QuickBooksMeteredCalls.month == month
        )
    )
    return {realm: calls for realm, calls in result.all()}
