"""QuickBooks' metered calls, counted as they answer and kept per company and month.

Since Intuit's App Partner Program (15 May 2025) reads, queries and reports of the
Accounting API ("CorePlus") are metered per month, and only 2xx answers count; creates and
updates ("Core"), OAuth and everything else are free (reference/forge.md, part B). Each
process counts the metered answers it gets in memory (no write on the call's path) and adds
them to `quickbooks_metered_calls` every `FLUSH_SECONDS` and when it stops, so the figure
sums over processes and survives restarts; `/metrics` shows this month's per company.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import transaction
from app.quickbooks import metering_repository as repo
from app.timeutil import utc_now

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 30.0
_COMPANY_PATH = re.compile(r"/v3/company/(?P<realm>[^/]+)/(?P<rest>[^?]*)")


def month_of(at: datetime) -> str:
    return at.strftime("%Y-%m")


def metered_realm(request: httpx.Request, response: httpx.Response) -> str | None:
    """The company a metered call was made to, or None for a call Intuit does not meter."""
    if not response.is_success:
        return None
    found = _COMPANY_PATH.search(request.url.path)
    if found is None:
        return None
    rest = found["rest"].rstrip("/")
    # A query is a read sent as POST (`application/text`); batch, create, update, void,
    # delete and send are writes, which are free.
    read = request.method == "GET" or rest == "query"
    return found["realm"] if read else None


class MeteredCalls:
    def __init__(self) -> None:
        self._pending: Counter[tuple[str, str]] = Counter()

    def note(self, realm_id: str, at: datetime | None = None) -> None:
        self._pending[(realm_id, month_of(at or utc_now()))] += 1

    def pending(self, month: str) -> Counter[str]:
        """Counted here and not stored yet, by company, for `month`."""
        return Counter({realm: n for (realm, m), n in self._pending.items() if m == month})

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        counts, self._pending = self._pending, Counter()
        if not counts:
            return
        try:
            async with transaction(sessions) as session:
                await repo.add_calls(session, counts)
        except BaseException:
            self._pending.update(counts)  # kept for the next flush
            raise

    async def flush_every(
        self, sessions: async_sessionmaker[AsyncSession], seconds: float = FLUSH_SECONDS
    ) -> None:
        """Runs until cancelled (the runtime's close flushes once more)."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.flush(sessions)
            except Exception:
                logger.warning("storing QuickBooks metered-call counts failed", exc_info=True)


async def this_month(
    sessions: async_sessionmaker[AsyncSession], meter: MeteredCalls
) -> dict[str, int]:
    """Each company's metered calls this month: stored, plus this process's not yet stored."""
    month = month_of(utc_now())
    async with sessions() as session:
        stored = Counter(await repo.calls_in(session, month))
    stored.update(meter.pending(month))
    return dict(stored)
