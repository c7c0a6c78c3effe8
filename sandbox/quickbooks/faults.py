"""Faults a realm can inject into its API: latency on every call, the next N calls
answering 429 (QBO's XML throttle fault), 500 or 503 (a SystemFault), optionally only for
one method and/or route template, and holds: matching calls wait, unanswered, until the
test releases them (a slow QuickBooks, for as long as the test needs, without sleeps).

A fault or hold `after` the work is the lost answer: the write is done (and its requestid's
replay stored), then the caller gets the fault instead of the answer, or waits for it until
it gives up. What a gateway timeout or a dropped connection does to a real create."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from sandbox.quickbooks.errors import QboFault, Throttled, system_fault


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    retry_after: str | None = None
    method: str | None = None
    route: str | None = None
    after: bool = False  # the write is done first, then its answer is lost

    def applies_to(self, method: str, route: str, after: bool) -> bool:
        return (
            self.after == after
            and (self.method is None or self.method == method)
            and (self.route is None or self.route == route)
        )

    def error(self) -> Exception:
        if self.status == 429:
            return Throttled(retry_after=self.retry_after)
        fault: QboFault = system_fault(self.status)
        if self.retry_after is not None:
            fault.headers["Retry-After"] = self.retry_after
        return fault


@dataclass(slots=True)
class Hold:
    method: str | None = None
    route: str | None = None
    # Hold only the first `count` matching calls (None: every one): a create held for a
    # process that is then killed, while its successor's create goes through.
    count: int | None = None
    after: bool = False  # hold the answer of a write that is done, not the call before it
    taken: int = 0  # calls this hold has caught so far
    waiting: int = 0  # calls held now
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # a call is held
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def applies_to(self, method: str, route: str, after: bool) -> bool:
        return (
            self.after == after
            and (self.method is None or self.method == method)
            and (self.route is None or self.route == route)
        )


class FaultPlan:
    def __init__(self) -> None:
        self.latency_seconds = 0.0
        self._queued: deque[Fault] = deque()
        self.holds: list[Hold] = []

    def hold(
        self,
        *,
        method: str | None = None,
        route: str | None = None,
        count: int | None = None,
        after: bool = False,
    ) -> Hold:
        """From now on, matching calls (the first `count` of them) wait until `release()`;
        with `after`, once their write is done."""
        held = Hold(method.upper() if method else None, route, count, after)
        self.holds.append(held)
        return held

    def release(self) -> int:
        """Let every held call go on, and hold no more; returns how many were waiting."""
        waiting = sum(h.waiting for h in self.holds)
        for held in self.holds:
            held.released.set()
        self.holds = []
        return waiting

    async def wait_if_held(self, method: str, route: str, *, after: bool = False) -> None:
        for held in list(self.holds):
            if held.applies_to(method, route, after):
                if held.count is not None and held.taken >= held.count:
                    continue
                held.taken += 1
                held.waiting += 1
                held.arrived.set()
                try:
                    await held.released.wait()
                finally:
                    held.waiting -= 1

    @property
    def waiting(self) -> int:
        return sum(h.waiting for h in self.holds)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        retry_after: float | str | None = None,
        method: str | None = None,
        route: str | None = None,
        after: bool = False,
    ) -> None:
        if status not in (429, 500, 502, 503, 504):
            raise ValueError("Injectable statuses are 429, 500, 502, 503 and 504")
        text = None
        if retry_after is not None:
            text = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
        fault = Fault(status, text, method.upper() if method else None, route, after)
        self._queued.extend([fault] * count)

    def take(self, method: str, route: str, *, after: bool = False) -> Fault | None:
        for index, fault in enumerate(self._queued):
            if fault.applies_to(method, route, after):
                del self._queued[index]
                return fault
        return None

    @property
    def pending(self) -> int:
        return len(self._queued)

    def clear(self) -> None:
        self._queued.clear()
        self.latency_seconds = 0.0
        self.release()
