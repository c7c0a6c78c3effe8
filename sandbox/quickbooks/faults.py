"""Faults a realm can inject into its API: latency on every call, and the next N calls
answering 429 (QBO's XML throttle fault), 500 or 503 (a SystemFault), optionally only for
one method and/or route template."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from sandbox.quickbooks.errors import QboFault, Throttled, system_fault


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    retry_after: str | None = None
    method: str | None = None
    route: str | None = None

    def applies_to(self, method: str, route: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )

    def error(self) -> Exception:
        if self.status == 429:
            return Throttled(retry_after=self.retry_after)
        fault: QboFault = system_fault(self.status)
        if self.retry_after is not None:
            fault.headers["Retry-After"] = self.retry_after
        return fault


class FaultPlan:
    def __init__(self) -> None:
        self.latency_seconds = 0.0
        self._queued: deque[Fault] = deque()

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        retry_after: float | str | None = None,
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        if status not in (429, 500, 502, 503, 504):
            raise ValueError("Injectable statuses are 429, 500, 502, 503 and 504")
        text = None
        if retry_after is not None:
            text = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
        fault = Fault(status, text, method.upper() if method else None, route)
        self._queued.extend([fault] * count)

    def take(self, method: str, route: str) -> Fault | None:
        for index, fault in enumerate(self._queued):
            if fault.applies_to(method, route):
                del self._queued[index]
                return fault
        return None

    @property
    def pending(self) -> int:
        return len(self._queued)

    def clear(self) -> None:
        self._queued.clear()
        self.latency_seconds = 0.0
