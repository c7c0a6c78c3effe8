"""What both emulators (Jira, QuickBooks) inject into their APIs, whatever the service: a
call picked by method and route template; faults queued for the next N matching calls,
taken one per call; holds, under which matching calls wait, unanswered, until the test
releases them (a slow service for as long as a test needs, without sleeps); and latency on
every call. Each emulator says what its faults answer (`error()` in its own faults module).

`after` picks the moment: before the call's work (the default: nothing is done), or once a
write is done and only its answer is lost (a gateway timeout, a dropped connection).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Matching:
    """Which calls: one method and/or one route template (None: any), before or after."""

    method: str | None = None
    route: str | None = None
    after: bool = False

    def applies_to(self, method: str, route: str, after: bool = False) -> bool:
        return (
            self.after == after
            and (self.method is None or self.method == method)
            and (self.route is None or self.route == route)
        )


@dataclass(slots=True)
class Hold:
    matching: Matching
    # Hold only the first `count` matching calls (None: every one): a create held for a
    # process that is then killed, while its successor's create goes through.
    count: int | None = None
    taken: int = 0  # calls this hold has caught so far
    waiting: int = 0  # calls held now
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # a call is held
    released: asyncio.Event = field(default_factory=asyncio.Event)


Fault = TypeVar("Fault", bound=Matching)


class FaultPlan(Generic[Fault]):
    """One site's or company's faults: `Fault` is the emulator's own (a `Matching` that
    knows what it answers)."""

    def __init__(self) -> None:
        self.latency_seconds = 0.0
        self._queued: deque[Fault] = deque()
        self.holds: list[Hold] = []

    # --- holds ---------------------------------------------------------------------------

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
        matching = Matching(method=method.upper() if method else None, route=route, after=after)
        held = Hold(matching, count)
        self.holds.append(held)
        return held

    def release(self) -> int:
        """Let every held call go on, and hold no more; returns how many were waiting."""
        waiting = self.waiting
        for held in self.holds:
            held.released.set()
        self.holds = []
        return waiting

    @property
    def waiting(self) -> int:
        return sum(h.waiting for h in self.holds)

    async def wait_if_held(self, method: str, route: str, *, after: bool = False) -> None:
        for held in list(self.holds):
            if not held.matching.applies_to(method, route, after):
                continue
            if held.count is not None and held.taken >= held.count:
                continue
            held.taken += 1
            held.waiting += 1
            held.arrived.set()
            try:
                await held.released.wait()
            finally:
                held.waiting -= 1

    # --- queued faults -------------------------------------------------------------------

    def queue(self, fault: Fault, count: int = 1) -> None:
        self._queued.extend([fault] * count)

    def take(self, method: str, route: str, *, after: bool = False) -> Fault | None:
        """The first queued fault for this call, taken (None: answer as usual)."""
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
