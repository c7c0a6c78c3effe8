"""Background work: the catalog of named jobs, and the embedded (single-process) runner.

A job is identified by a key (e.g. `resolve-issues:42`). Submitting a key that is already
running does not start a second copy: it asks the running one to go round once more when it
finishes, so a burst of webhooks costs one follow-up run, not one per event. Periodic jobs
run on an interval until the runner closes. The job functions themselves are plain async
functions taking the runtime, so a distributed queue can call the same functions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.observability.jobs import job_run

logger = logging.getLogger(__name__)

JobFactory = Callable[[], Awaitable[None]]


class JobRunner:
    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._periodic: list[asyncio.Task[None]] = []
        self._closed = False

    def submit(self, key: str, job: JobFactory) -> None:
        if self._closed:
            return
        if key in self._running:
            self._again.add(key)
            return
        self._running[key] = asyncio.create_task(self._run(key, job), name=f"job:{key}")

    async def _run(self, key: str, job: JobFactory) -> None:
        try:
            while True:
                self._again.discard(key)
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("background job %s failed", key)
                if key not in self._again or self._closed:
                    break
        finally:
            self._running.pop(key, None)

    def every(self, seconds: float, key: str, job: JobFactory) -> None:
        async def loop() -> None:
            while not self._closed:
                await asyncio.sleep(seconds)
                self.submit(key, job)

        self._periodic.append(asyncio.create_task(loop(), name=f"every:{key}"))

    def is_running(self, key: str) -> bool:
        return key in self._running

    async def drain(self) -> None:
        """Wait until no job is running (tests, and a graceful shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        tasks = [*self._periodic, *self._running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- named jobs: what the embedded runner and `worklog360 worker` both run ---------------------

Runtime = Any  # app.runtime.Runtime (which imports this module)
TenantJob = Callable[[Runtime, int], Awaitable[None]]
PeriodicJob = Callable[[Runtime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str
    every_seconds: int
    run: PeriodicJob


class JobCatalog:
    """Every background job by name. A job is a plain async function of the runtime (and a
    tenant): the embedded runner calls it in-process; the worker calls the same function
    for a job it took from the queue."""

    def __init__(self) -> None:
        self.tenant_jobs: dict[str, TenantJob] = {}
        self.periodic: dict[str, Periodic] = {}

    def tenant_job(self, name: str) -> Callable[[TenantJob], TenantJob]:
        def register(job: TenantJob) -> TenantJob:
            self.tenant_jobs[name] = job
            return job

        return register

    def periodic_job(
        self, name: str, *, every_seconds: int
    ) -> Callable[[PeriodicJob], PeriodicJob]:
        def register(job: PeriodicJob) -> PeriodicJob:
            self.periodic[name] = Periodic(name, every_seconds, job)
            return job

        return register


CATALOG = JobCatalog()


class JobQueue(Protocol):
    """Where `request` sends a tenant's job: run in this process (embedded) or queued in
    PostgreSQL for the workers (`app.job_queue`)."""

    async def request(self, runtime: Runtime, name: str, tenant_id: int) -> None: ...

    def start_periodic(self, runtime: Runtime) -> None: ...

    async def drain(self) -> None: ...

    async def depth(self) -> dict[tuple[str, str], int] | None:
        """Jobs queued and running by (queue, status); None where nothing is queued."""
        ...

    async def close(self) -> None: ...


class EmbeddedJobs:
    """The single-process default: jobs run as tasks of this event loop; a request for a
    job already running makes it go round once more (see `JobRunner`)."""

    def __init__(self) -> None:
        self.runner = JobRunner()

    async def request(self, runtime: Runtime, name: str, tenant_id: int) -> None:
        job = CATALOG.tenant_jobs[name]

        async def run() -> None:
            async with job_run(name, tenant_id):
                await job(runtime, tenant_id)

        self.runner.submit(f"{name}:{tenant_id}", run)

    def start_periodic(self, runtime: Runtime) -> None:
        for periodic in CATALOG.periodic.values():
            self.runner.every(periodic.every_seconds, periodic.name, _bound(periodic, runtime))

    async def drain(self) -> None:
        await self.runner.drain()

    async def depth(self) -> None:
        return None  # jobs are tasks of this process, never queued

    async def close(self) -> None:
        await self.runner.close()


def _bound(periodic: Periodic, runtime: Runtime) -> JobFactory:
    async def run() -> None:
        async with job_run(periodic.name):
            await periodic.run(runtime)

    return run
