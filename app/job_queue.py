"""Background jobs queued in PostgreSQL (procrastinate), for many instances (`W360_JOBS=worker`).

Web processes only put jobs in the queue; `worklog360 worker` processes take them and run
the same job functions the embedded runner runs (`app.jobs.CATALOG`).

* A tenant's job is one procrastinate task, `worklog360.tenant_job(name, tenant_id)`,
  deferred with `queueing_lock` and `lock` both set to "name:tenant": at most one such job
  waits and at most one runs at a time, so a burst of webhooks makes one follow-up run,
  as in the embedded runner, whichever process received them.
* Each periodic job is a procrastinate periodic task; procrastinate defers it once per
  tick whatever the number of workers, and it too waits once and runs once at a time.
* A failed job is logged and done with, as in the embedded runner (the next request or
  sweep tries again); finished jobs are deleted.
* A job left running by a worker that died goes back in the queue once the worker has
  been silent STALLED_AFTER_SECONDS (the `retry-stalled-jobs` sweep, every
  RETRY_STALLED_EVERY_SECONDS): its lock would block that site. When the same job is
  waiting already (a request queued behind it), the stalled one is dropped instead: the
  waiting one does the same work, and its queueing lock admits only one waiting job.

The queue's tables are procrastinate's own schema, created by migration 0013.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.jobs import Status

from app.db import conninfo
from app.jobs import CATALOG, Periodic, Runtime
from app.observability.jobs import job_run

logger = logging.getLogger(__name__)

TENANT_TASK = "worklog360.tenant_job"
PERIODIC_TASK = "worklog360.periodic."
RETRY_STALLED = "retry-stalled-jobs"
# A live worker picks up a dead worker's job within STALLED_AFTER + EVERY (40 s): the
# target is a minute. Workers beat every 10 s (procrastinate's update_heartbeat_interval),
# so three missed beats in a row mean the worker is gone.
RETRY_STALLED_EVERY_SECONDS = 10
STALLED_AFTER_SECONDS = 30


def cron_every(seconds: int) -> str:
    """A procrastinate cron line (seconds in a sixth column) for `every N seconds`."""
    if seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds % 60 == 0 and seconds < 3600 and 60 % (seconds // 60) == 0:
        return f"*/{seconds // 60} * * * *"
    if seconds % 3600 == 0 and 24 % (seconds // 3600) == 0:
        return f"0 */{seconds // 3600} * * *"
    raise ValueError(f"no cron line runs every {seconds} seconds evenly")


class QueuedJobs:
    """`app.jobs.JobQueue` on procrastinate. Built before the runtime exists (the runtime
    holds it), so the runtime is bound afterwards, for the tasks a worker runs."""

    def __init__(self, database_url: str) -> None:
        self._runtime: Runtime | None = None
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
        )
        self.app.task(name=TENANT_TASK)(self._run_tenant_job)
        for periodic in CATALOG.periodic.values():
            self._add_periodic(periodic)
        # No lock on the sweep: a worker killed while sweeping would leave the sweep's own
        # lock held, and no sweep would ever run again to put it back. Two sweeps at once
        # are harmless (a job is put back once; the other's attempt is refused).
        self._add_periodic(
            Periodic(RETRY_STALLED, RETRY_STALLED_EVERY_SECONDS, self._retry_stalled_jobs),
            locked=False,
        )
        self._open = False

    def bind(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def open(self) -> None:
        await self.app.open_async()
        self._open = True

    async def request(self, runtime: Runtime, name: str, tenant_id: int) -> None:
        if name not in CATALOG.tenant_jobs:
            raise KeyError(f"no background job named {name!r}")
        key = f"{name}:{tenant_id}"
        task = self.app.tasks[TENANT_TASK]
        # AlreadyEnqueued: one is waiting already, and will see all this request wanted.
        with contextlib.suppress(AlreadyEnqueued):
            await task.configure(lock=key, queueing_lock=key).defer_async(
                name=name, tenant_id=tenant_id
            )

    def start_periodic(self, runtime: Runtime) -> None:
        """Nothing to start in a web process: the workers defer the periodic jobs."""

    async def drain(self) -> None:
        """A web process runs no job, so has none to wait for."""

    async def depth(self) -> dict[tuple[str, str], int]:
        """Jobs waiting (todo) and running (doing), by queue: what `/metrics` shows."""
        rows = await self.app.connector.execute_query_all_async(
            "SELECT queue_name, status::text AS status, count(*) AS jobs"
            " FROM procrastinate_jobs WHERE status IN ('todo', 'doing') GROUP BY 1, 2"
        )
        return {(str(r["queue_name"]), str(r["status"])): int(r["jobs"]) for r in rows}

    async def close(self) -> None:
        if self._open:
            await self.app.close_async()
            self._open = False

    async def work(self, *, concurrency: int = 4, wait: bool = True) -> None:
        """Run jobs from the queue (`worklog360 worker`); `wait=False` returns once the
        queue is empty (tests, one-off catch-up)."""
        await self.app.run_worker_async(
            concurrency=concurrency,
            wait=wait,
            install_signal_handlers=wait,
            # A sweep every 2 s would otherwise leave 43,200 finished rows a day.
            delete_jobs="successful",
        )

    def _runtime_or_fail(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the job queue was not bound to a runtime")
        return self._runtime

    async def _run_tenant_job(self, name: str, tenant_id: int) -> None:
        async with job_run(name, tenant_id) as run:
            run.ok = await _logged(
                f"{name}:{tenant_id}", CATALOG.tenant_jobs[name](self._runtime_or_fail(), tenant_id)
            )

    async def _retry_stalled_jobs(self, runtime: Runtime) -> None:
        """A worker killed mid-job (OOM, SIGKILL, a deploy's timeout) leaves it 'doing' with
        its lock held: that site's jobs would wait behind it for ever. Jobs of workers
        silent for STALLED_AFTER_SECONDS go back in the queue."""
        manager = self.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
            try:
                await self._put_back(job)
            except ConnectorException:
                # Finished or put back meanwhile (another sweep, the worker itself): the
                # others are still worth a try.
                logger.warning("could not put back stalled job %s", job.id, exc_info=True)

    async def _put_back(self, job: Any) -> None:
        manager = self.app.job_manager
        try:
            await manager.retry_job(job)
        except UniqueViolation:
            # The same job waits already (same queueing lock, so the same task and site):
            # it does this one's work once the stalled one lets go of the lock.
            logger.warning(
                "dropping job %s (%s) of a worker that stopped answering: the same job is "
                "waiting to run",
                job.id,
                job.queueing_lock,
            )
            await manager.finish_job(job, status=Status.ABORTED, delete_job=True)
            return
        logger.warning(
            "retrying job %s (%s) of a worker that stopped answering", job.id, job.queueing_lock
        )

    def _add_periodic(self, periodic: Periodic, *, locked: bool = True) -> None:
        async def run(timestamp: int) -> None:
            async with job_run(periodic.name, tick=timestamp) as outcome:
                outcome.ok = await _logged(periodic.name, periodic.run(self._runtime_or_fail()))

        # queueing_lock: one waits; lock: one runs (as the embedded runner's key does).
        task: Any = self.app.task(
            name=PERIODIC_TASK + periodic.name,
            queueing_lock=periodic.name,
            lock=periodic.name if locked else None,
        )
        self.app.periodic(cron=cron_every(periodic.every_seconds), periodic_id=periodic.name)(
            task(run)
        )


async def _logged(key: str, job: Awaitable[None]) -> bool:
    """As the embedded runner does: a failed job is logged, and the next request or sweep
    tries again. Kept as failed in the queue, a sweep every 2 s against a site whose Jira is
    down would leave 43,200 rows a day."""
    try:
        await job
    except Exception:
        logger.exception("background job %s failed", key)
        return False
    return True
