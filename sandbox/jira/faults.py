"""Faults a site can inject into its REST API: latency on every call, the next N calls
answering 429 (Jira's rate limiter) or 503, optionally only on one route, and holds:
matching calls wait, unanswered, until the test releases them (a Jira slow for as long as a
test needs, without sleeps: the worker killed in the middle of a backfill)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sandbox.jira.errors import JiraApiError


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    retry_after: str | None = None
    rate_limit_reset: bool = False
    reason: str | None = None
    method: str | None = None
    route: str | None = None

    def applies_to(self, method: str, route: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )

    def error(self, now_ms: int) -> JiraApiError:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        if self.status == 429:
            headers["X-RateLimit-Limit"] = "100"
            headers["X-RateLimit-Remaining"] = "0"
            if self.reason:
                headers["RateLimit-Reason"] = self.reason
            if self.rate_limit_reset:
                headers["X-RateLimit-Reset"] = _reset_at(now_ms, self.retry_after)
            return JiraApiError(429, "Rate limit exceeded.", headers=headers)
        return JiraApiError(
            self.status, "Service unavailable. Please try again later.", headers=headers
        )


def _reset_at(now_ms: int, retry_after: str | None) -> str:
    wait = float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else 60.0
    moment = datetime.fromtimestamp(now_ms / 1000, tz=UTC) + timedelta(seconds=wait)
    # Jira's documented format: ISO 8601 to the minute, `yyyy-MM-ddTHH:mmZ`.
    return moment.strftime("%Y-%m-%dT%H:%MZ")


@dataclass(slots=True)
class Hold:
    method: str | None = None
    route: str | None = None
    waiting: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def applies_to(self, method: str, route: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )


class FaultPlan:
    def __init__(self) -> None:
        self.latency_seconds = 0.0
        self._queued: deque[Fault] = deque()
        self.holds: list[Hold] = []

    def hold(self, *, method: str | None = None, route: str | None = None) -> Hold:
        """From now on, matching calls wait until `release()`."""
        held = Hold(method.upper() if method else None, route)
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

    async def wait_if_held(self, method: str, route: str) -> None:
        for held in list(self.holds):
            if held.applies_to(method, route):
                held.waiting += 1
                try:
                    await held.released.wait()
                finally:
                    held.waiting -= 1

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        retry_after: float | str | None = None,
        rate_limit_reset: bool = False,
        reason: str | None = "jira-burst-based",
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        """The next `count` matching calls answer `status` (429 or 503). `retry_after` is
        seconds or an HTTP-date, sent as given; None sends no `Retry-After`."""
        text = None if retry_after is None else _header_value(retry_after)
        fault = Fault(
            status=status,
            retry_after=text,
            rate_limit_reset=rate_limit_reset,
            reason=reason if status == 429 else None,
            method=method.upper() if method else None,
            route=route,
        )
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
        self.release()


def _header_value(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)
