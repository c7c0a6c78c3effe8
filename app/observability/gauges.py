"""Figures read from the database when `/metrics` is scraped (not counted as they happen):
the job queue's depth, QuickBooks connections by state, and this month's metered QuickBooks
calls per company. A failed reading leaves the previous figures and says so in the log: a
scrape must not fail because one figure could not be read."""

from __future__ import annotations

import logging

from app.observability.metrics import QBO_CONNECTIONS, QBO_METERED_CALLS, QUEUE_DEPTH
from app.quickbooks import metering
from app.quickbooks import repository as quickbooks_repository
from app.quickbooks.service import describe
from app.runtime import Runtime

logger = logging.getLogger(__name__)

CONNECTION_STATES = ("connected", "expiring", "expired")


async def refresh(runtime: Runtime) -> None:
    for name, read in (("queue", _queue), ("connections", _connections), ("metered", _metered)):
        try:
            await read(runtime)
        except Exception:
            logger.warning("reading the %s figures for /metrics failed", name, exc_info=True)


async def _queue(runtime: Runtime) -> None:
    depth = await runtime.jobs.depth()
    if depth is None:
        return  # jobs run in this process (W360_JOBS=embedded): no queue to measure
    QUEUE_DEPTH.clear()
    for (queue, status), count in depth.items():
        QUEUE_DEPTH.labels(queue, status).set(count)


async def _connections(runtime: Runtime) -> None:
    now = runtime.quickbooks.now()
    counts = dict.fromkeys(CONNECTION_STATES, 0)
    async with runtime.sessions() as session:
        for row in await quickbooks_repository.live_connections(session):
            state = describe(row, now).state
            if state in counts:
                counts[state] += 1
    for state, count in counts.items():
        QBO_CONNECTIONS.labels(state).set(count)


async def _metered(runtime: Runtime) -> None:
    counts = await metering.this_month(runtime.sessions, runtime.metered_calls)
    QBO_METERED_CALLS.clear()
    for realm, calls in counts.items():
        QBO_METERED_CALLS.labels(realm).set(calls)
