"""One JSON log line and the metrics of every background job run, embedded or queued."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.observability.context import CURRENT, WorkRecord
from app.observability.logs import get_logger
from app.observability.metrics import JOB_DURATION, JOB_RUNS

logger = get_logger("worklog360.job")


class JobOutcome:
    """`ok` turns False when the job failed without raising (it logged its own error)."""

    def __init__(self) -> None:
        self.ok = True


@asynccontextmanager
async def job_run(
    job: str, tenant_id: int | None = None, *, tick: int | None = None
) -> AsyncIterator[JobOutcome]:
    """`tick`: a queued periodic job's scheduled moment (Unix seconds), which names the run
    (every tick runs once, whichever worker takes it)."""
    record = WorkRecord(tenant_id=tenant_id)
    token = CURRENT.set(record)
    started = time.perf_counter()
    run = JobOutcome()
    outcome = "failed"
    try:
        yield run
        outcome = "ok" if run.ok else "failed"
    finally:
        elapsed = time.perf_counter() - started
        JOB_RUNS.labels(job, outcome).inc()
        JOB_DURATION.labels(job).observe(elapsed)
        extra = {"tick": tick} if tick is not None else {}
        logger.info(
            "job",
            job=job,
            outcome=outcome,
            duration_ms=round(elapsed * 1000, 2),
            **extra,
            **record.fields(),
        )
        CURRENT.reset(token)
