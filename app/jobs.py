"""Background work in the embedded (single-process) mode.

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
