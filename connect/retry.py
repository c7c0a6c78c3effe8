"""The one retry policy of every outbound HTTP client (Jira, QuickBooks).

Capped exponential backoff with full jitter (uniform in `[0, min(max_delay, base_delay *
2^(attempt-1)))`) unless the server said when to come back: `Retry-After` (delta-seconds or an
HTTP-date, read against the injected clock) is honoured exactly, and one longer than
`max_retry_after` means giving up at once rather than holding a request (or a token that
expires meanwhile) for that long. The clock, the sleep and the randomness are injected, so
tests never wait for real. Which answers may be retried is the caller's rule: it knows
whether a request may have been processed.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from connect.retry_after import retry_after_seconds


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    random: Callable[[], float] = field(default=_random.random, repr=False)
    # Unix seconds "now": what an HTTP-date Retry-After is measured from.
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def may_try_again(self, attempt: int) -> bool:
        """Whether attempt number `attempt` (1-based, just failed) may be followed by another."""
        return attempt < self.max_attempts

    def backoff(self, attempt: int) -> float:
        """Full jitter after attempt number `attempt` failed."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return self.random() * ceiling

    def retry_after(self, header: str | None) -> float | None:
        """The server's `Retry-After` in seconds from the injected clock's now, if usable."""
        return retry_after_seconds(header, now=self.clock())

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """How long to wait before the next attempt; None when it is not worth waiting (no
        attempt left, or the server asks for longer than `max_retry_after`)."""
        if not self.may_try_again(attempt):
            return None
        delay = self.backoff(attempt) if retry_after is None else retry_after
        return delay if delay <= self.max_retry_after else None

    async def wait(self, seconds: float) -> None:
        await self.sleep(seconds)
