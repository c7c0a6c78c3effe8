"""SQL of the company-wide call budget (by company, not by tenant: Intuit limits a company's
calls from this app, whichever site connected it)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert
from app.quickbooks.models import QuickBooksCallCounter, QuickBooksCallSlot


async def next_call_number(session: AsyncSession, realm_id: str) -> int:
    """Count one more call for the company and return its number (1, 2, …). The counter's
    row stays locked until the transaction ends: the company's bookings take turns."""
    table = QuickBooksCallCounter.__table__
    statement = dialect_insert(session)(table).values(realm_id=realm_id, calls=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.realm_id], set_={"calls": table.c.calls + 1}
    ).returning(table.c.calls)
    return int((await session.execute(statement)).scalar_one())


async def slot_times(
    session: AsyncSession, realm_id: str, slot: int
) -> tuple[float, float | None] | None:
    """When the slot's call was booked to start, and answered (None: still in flight)."""
    result = await session.execute(
        select(QuickBooksCallSlot.started_at, QuickBooksCallSlot.answered_at).where(
            QuickBooksCallSlot.realm_id == realm_id, QuickBooksCallSlot.slot == slot
        )
    )
    row = result.one_or_none()
    if row is None:
        return None
    return float(row[0]), None if row[1] is None else float(row[1])


async def lock_counter(session: AsyncSession, realm_id: str) -> None:
    """Take the company's counter row as bookings do (SQLite: the writer lock does it)."""
    await session.execute(
        select(QuickBooksCallCounter.calls)
        .where(QuickBooksCallCounter.realm_id == realm_id)
        .with_for_update()
    )


async def set_slot(
    session: AsyncSession, realm_id: str, slot: int, call_number: int, started_at: float
) -> None:
    table = QuickBooksCallSlot.__table__
    statement = dialect_insert(session)(table).values(
        realm_id=realm_id, slot=slot, call_number=call_number, started_at=started_at
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.realm_id, table.c.slot],
            set_={
                "call_number": statement.excluded.call_number,
                "started_at": statement.excluded.started_at,
                "answered_at": None,
            },
        )
    )


async def move_slot(
    session: AsyncSession, realm_id: str, slot: int, call_number: int, answered: float
) -> None:
    """The slot's call was answered at `answered` (unless a later call took the slot since)."""
    await session.execute(
        update(QuickBooksCallSlot)
        .where(
            QuickBooksCallSlot.realm_id == realm_id,
            QuickBooksCallSlot.slot == slot,
            QuickBooksCallSlot.call_number == call_number,
        )
        .values(answered_at=answered)
        .execution_options(synchronize_session=False)
    )
