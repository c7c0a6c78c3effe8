"""One notion of "now": timezone-aware UTC."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


class WallClock:
    """Epoch seconds for what is read against tokens' own times (a Forge invocation token's
    `exp`, an app token's `exp`, a Connect JWT's `iat`): the machine's clock, which tests
    move forward (`advance`) together with the emulators' instead of waiting hours."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def now(self) -> datetime:
        return datetime.fromtimestamp(self(), UTC)


def human_day(day: date) -> str:
    """A day as the pages write it, "2 Dec 2026": the same in every country's reading."""
    return f"{day.day} {day:%b %Y}"
