"""Faults a site can inject into its REST API (the shared plumbing is sandbox.faults):
latency on every call, the next N calls answering 429 (Jira's rate limiter) or 503,
optionally only on one route, and holds:
matching calls wait, unanswered, until the test releases them (a Jira slow for as long as a
test needs, without sleeps: the worker killed in the middle of a backfill)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sandbox import faults
from sandbox.jira.errors import JiraApiError


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault(faults.Matching):
    status: int
    retry_after: str | None = None
    rate_limit_reset: bool = False
    reason: str | None = None

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


class FaultPlan(faults.FaultPlan[Fault]):
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
        self.queue(fault, count)


def _header_value(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)
