"""QBO's per-realm throttles: 500 requests a minute (batch included), 40 batch requests a
minute, and at most 10 requests in flight at once. Windows follow the sandbox clock.
Tests may tighten or disable them (`None`)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sandbox.quickbooks.clock import SandboxClock
from sandbox.quickbooks.errors import Throttled

WINDOW_SECONDS = 60.0


@dataclass(slots=True)
class Limits:
    clock: SandboxClock
    per_minute: int | None = 500
    batch_per_minute: int | None = 40
    concurrent: int | None = 10
    retry_after: str | None = None
    in_flight: int = 0
    throttled: int = 0
    _recent: deque[float] = field(default_factory=deque)
    _recent_batches: deque[float] = field(default_factory=deque)

    def enter(self) -> None:
        """A request arrives: refused when too many are already in flight."""
        if self.concurrent is not None and self.in_flight >= self.concurrent:
            self.throttled += 1
            raise Throttled(retry_after=self.retry_after)
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def count(self, *, batch: bool = False) -> None:
        """An authenticated request is counted against the per-minute windows."""
        now = self.clock.now_s()
        for window, limit in (
            (self._recent, self.per_minute),
            *([(self._recent_batches, self.batch_per_minute)] if batch else []),
        ):
            while window and window[0] <= now - WINDOW_SECONDS:
                window.popleft()
            if limit is not None and len(window) >= limit:
                self.throttled += 1
                raise Throttled(retry_after=self.retry_after)
        self._recent.append(now)
        if batch:
            self._recent_batches.append(now)

    def reset(self) -> None:
        self._recent.clear()
        self._recent_batches.clear()
        self.throttled = 0
