"""Intuit's per-company limit (500 calls a minute) across every process of the app.

Each process alone keeps under it with its in-memory gate (app.quickbooks.client), but N
web processes and workers calling one company together would not. So each call first books
its moment in the database: call k of the company takes slot k mod N (N: the per-minute
budget) and starts no sooner than a minute after the call that held that slot before, which
is the in-memory gate's rule made shared. The company's counter row is locked while a call
books, so bookings take turns; a booking is one short transaction.

Intuit counts a call when it arrives, which may be well after it was booked (a first call
opens its connection; a burst queues for the process's connections). So once the answer is
in, the slot records that moment, the latest Intuit can have counted the call, and the call
that takes the slot next waits a minute from there. A slot whose call is still in flight
when the next one books it is given IN_FLIGHT_ALLOWANCE_SECONDS past its booked start.

When the database cannot be reached for a booking, the call goes by the process's own gate
instead (and says so in the log): the limit is a courtesy to Intuit, whose 429 the client
retries anyway, and must not stop invoicing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import WriterLock, transaction
from app.quickbooks import call_slots_repository as repo

logger = logging.getLogger(__name__)

# How late after its booked start an unanswered call may still reach Intuit, for the call
# booking its slot meanwhile: the first calls of a burst (connections opening, a busy event
# loop) were seen arriving up to half a second late on a loaded 2-core machine.
IN_FLIGHT_ALLOWANCE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Booking:
    wait: float  # seconds to wait before making the call (0: at once)
    number: int  # the company's call number
    slot: int
    start: float


class SharedCallBudget:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writer_lock: WriterLock,
        *,
        per_minute: int,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._writer_lock = writer_lock
        self.per_minute = per_minute
        self._window = window_seconds
        self._clock = clock

    async def reserve(self, realm_id: str) -> Booking | None:
        """Book a call for the company, or None when the booking failed (the caller falls
        back on its own gate)."""
        try:
            async with self._writer_lock.hold(), transaction(self._sessions) as session:
                number = await repo.next_call_number(session, realm_id)
                slot = number % self.per_minute
                now = self._clock()
                previous = await repo.slot_times(session, realm_id, slot)
                start = now
                if previous is not None:
                    started, answered = previous
                    counted_by = (
                        answered
                        if answered is not None
                        else (started + IN_FLIGHT_ALLOWANCE_SECONDS)
                    )
                    start = max(now, counted_by + self._window)
                await repo.set_slot(session, realm_id, slot, number, start)
        except Exception:
            logger.warning(
                "booking a QuickBooks call for company %s failed; this process's own limit applies",
                realm_id,
                exc_info=True,
            )
            return None
        return Booking(start - now, number, slot, start)

    async def answered(self, realm_id: str, booking: Booking) -> None:
        """The call is answered: Intuit counted it by now."""
        try:
            async with self._writer_lock.hold(), transaction(self._sessions) as session:
                # In turn with the bookings: one reading the slot meanwhile would otherwise
                # write back the booked moment over the answer's.
                await repo.lock_counter(session, realm_id)
                await repo.move_slot(
                    session,
                    realm_id,
                    booking.slot,
                    booking.number,
                    max(self._clock(), booking.start),
                )
        except Exception:
            logger.warning("recording a QuickBooks call's answer failed", exc_info=True)
