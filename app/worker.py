"""`worklog360 worker`: runs the background jobs web processes queue in PostgreSQL when
`W360_JOBS=worker` (see app.job_queue). Start as many as the load needs, anywhere that
reaches the database; each runs `--concurrency` jobs at once."""

from __future__ import annotations

import logging

import httpx

from app import migrations
from app.assembly import open_runtime
from app.job_queue import QueuedJobs
from app.privacy import jobs as privacy_jobs
from app.quickbooks import jobs as quickbooks_jobs
from app.settings import Settings, SettingsError
from app.tenants import jobs as tenant_jobs
from app.worklogs import jobs as worklog_jobs

# Importing them registers their jobs; the worker runs exactly what the web app asks for.
JOB_MODULES = (worklog_jobs, quickbooks_jobs, tenant_jobs, privacy_jobs)


async def run_worker(
    settings: Settings,
    *,
    concurrency: int = 4,
    wait: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """`wait=False` returns once the queue is empty (tests, a one-off catch-up)."""
    require_queue(settings)
    # procrastinate logs every job it starts and ends (a sweep every 2 s): its warnings and
    # errors are enough; the jobs log what they do themselves.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    async with open_runtime(settings, transport=transport) as runtime:
        assert isinstance(runtime.jobs, QueuedJobs)
        await runtime.jobs.work(concurrency=concurrency, wait=wait)


def require_queue(settings: Settings) -> None:
    if settings.jobs != "worker":
        raise SettingsError(
            "worklog360 worker runs queued jobs: set W360_JOBS=worker (with PostgreSQL) for "
            "the worker and for every web process."
        )
    settings.check()


def migrate_first(settings: Settings) -> None:
    if settings.auto_migrate:
        migrations.upgrade(settings.database_url)
