"""How many REST calls a site received, per method and route template."""

from __future__ import annotations

from collections import Counter


class CallCounter:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, method: str, route: str) -> None:
        self._counts[(method.upper(), route)] += 1

    def count(self, method: str | None = None, route: str | None = None) -> int:
        """Calls matching `method` and/or `route` (`/rest/api/3/issue/{issueIdOrKey}/worklog`)."""
        return sum(
            n
            for (m, r), n in self._counts.items()
            if (method is None or m == method.upper()) and (route is None or r == route)
        )

    def total(self) -> int:
        return sum(self._counts.values())

    def snapshot(self) -> dict[tuple[str, str], int]:
        return dict(self._counts)

    def reset(self) -> None:
        self._counts.clear()
