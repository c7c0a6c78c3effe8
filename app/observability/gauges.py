"""Figures read from the database when `/metrics` is scraped (not counted as they happen):
the job queue's depth here, and whatever the domains registered on the runtime (QuickBooks
connections by state, this month's metered calls per company: app.quickbooks.assembly). A
failed reading leaves the previous figures and says so in the log: a scrape must not fail
because one figure could not be read."""

from __future__ import annotations

import logging

from app.observability.metrics import QUEUE_DEPTH
from app.runtime import Runtime

logger = logging.getLogger(__name__)


async def refresh(runtime: Runtime) -> None:
    for read in (_queue, *runtime.gauges):
        try:
            await read(runtime)
        except Exception:
            name = getattr(read, "__name__", repr(read)).lstrip("_")
            logger.warning("reading the %s figures for /metrics failed", name, exc_info=True)


async def _queue(runtime: Runtime) -> None:
    depth = await runtime.jobs.depth()
    if depth is None:
        return  # jobs run in this process (W360_JOBS=embedded): no queue to measure
    QUEUE_DEPTH.clear()
    for (queue, status), count in depth.items():
        QUEUE_DEPTH.labels(queue, status).set(count)
