"""How many API calls the emulator received, per (method, route template) and per realm,
and which `minorversion` each carried."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    route: str
    realm_id: str | None
    minorversion: str | None
    requestid: str | None


class CallLog:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    def record(self, call: Call) -> None:
        self.calls.append(call)

    def count(
        self, method: str | None = None, route: str | None = None, *, realm_id: str | None = None
    ) -> int:
        """Calls matching `method`, `route` (`/v3/company/{realmId}/invoice`) and/or realm."""
        return sum(
            1
            for c in self.calls
            if (method is None or c.method == method.upper())
            and (route is None or c.route == route)
            and (realm_id is None or c.realm_id == realm_id)
        )

    def total(self) -> int:
        return len(self.calls)

    def snapshot(self) -> dict[tuple[str, str], int]:
        return dict(Counter((c.method, c.route) for c in self.calls))

    def per_realm(self) -> dict[str, int]:
        return dict(Counter(c.realm_id for c in self.calls if c.realm_id is not None))

    def without_minorversion(self) -> list[Call]:
        """API calls (under /v3) that did not send `minorversion`."""
        return [c for c in self.calls if c.route.startswith("/v3/") and c.minorversion is None]

    def reset(self) -> None:
        self.calls.clear()
