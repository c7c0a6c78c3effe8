"""Intuit's per-company limits, as one process keeps them: at most 10 calls in flight and
fewer than 500 a minute (the company-wide budget across processes is
app.quickbooks.call_budget)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

RATE_WINDOW_SECONDS = 60.0


class CallBook(Protocol):
    """Books a company's calls across processes; None when it could not (see call_budget)."""

    async def reserve(self, realm_id: str) -> Any: ...

    async def answered(self, realm_id: str, booking: Any) -> None: ...


class RealmGate:
    """At most `concurrency` calls in flight and `per_minute` started in any 60 s."""

    def __init__(
        self,
        concurrency: int,
        per_minute: int,
        sleep: Callable[[float], Awaitable[None]],
        monotonic: Callable[[], float],
    ) -> None:
        self.semaphore = asyncio.Semaphore(concurrency)
        self._per_minute = per_minute
        self._sleep = sleep
        self._monotonic = monotonic
        self._started: deque[float] = deque()

    async def wait_for_turn(self) -> None:
        now = self._monotonic()
        while self._started and self._started[0] <= now - RATE_WINDOW_SECONDS:
            self._started.popleft()
        if len(self._started) < self._per_minute:
            self._started.append(now)
            return
        # Book the moment the oldest call leaves the window, then wait for it: one wait per
        # call, and callers queue in order without re-checking.
        at = self._started.popleft() + RATE_WINDOW_SECONDS
        self._started.append(at)
        await self._sleep(max(0.0, at - now))
