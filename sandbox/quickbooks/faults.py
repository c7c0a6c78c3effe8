"""Faults a realm can inject into its API (the shared plumbing is sandbox.faults): latency
on every call, the next N calls answering 429 (QBO's XML throttle fault), 500 or 503 (a
SystemFault), optionally only for one method and/or route template, and holds: matching
calls wait, unanswered, until the test releases them.

A fault or hold `after` the work is the lost answer: the write is done (and its requestid's
replay stored), then the caller gets the fault instead of the answer, or waits for it until
it gives up. What a gateway timeout or a dropped connection does to a real create."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox import faults
from sandbox.quickbooks.errors import QboFault, Throttled, system_fault

STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault(faults.Matching):
    status: int
    retry_after: str | None = None

    def error(self) -> Exception:
        if self.status == 429:
            return Throttled(retry_after=self.retry_after)
        fault: QboFault = system_fault(self.status)
        if self.retry_after is not None:
            fault.headers["Retry-After"] = self.retry_after
        return fault


class FaultPlan(faults.FaultPlan[Fault]):
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
        if status not in STATUSES:
            raise ValueError("Injectable statuses are 429, 500, 502, 503 and 504")
        text = None
        if retry_after is not None:
            text = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
        fault = Fault(
            status=status,
            retry_after=text,
            method=method.upper() if method else None,
            route=route,
            after=after,
        )
        self.queue(fault, count)
