"""The emulator's notion of "now", in epoch milliseconds, which tests can freeze and move."""

from __future__ import annotations

import time


class SandboxClock:
    """Follows the wall clock by default; `SandboxClock(start_ms)` starts frozen.

    Worklog timestamps and the "not the last minute" rule of `/worklog/updated` read this
    clock. JWT lifetimes do not: they follow the sandbox's `token_clock` (the wall clock by
    default), so that moving data time never makes the app's tokens look expired.
    """

    def __init__(self, start_ms: int | None = None) -> None:
        self._frozen_ms = start_ms
        self._offset_ms = 0

    @staticmethod
    def _wall_ms() -> int:
        return time.time_ns() // 1_000_000

    @property
    def frozen(self) -> bool:
        return self._frozen_ms is not None

    def now_ms(self) -> int:
        if self._frozen_ms is not None:
            return self._frozen_ms
        return self._wall_ms() + self._offset_ms

    def set(self, now_ms: int) -> None:
        if self._frozen_ms is not None:
            self._frozen_ms = now_ms
        else:
            self._offset_ms = now_ms - self._wall_ms()

    def advance(self, seconds: float = 0.0, *, ms: int = 0) -> int:
        self.set(self.now_ms() + round(seconds * 1000) + ms)
        return self.now_ms()

    def freeze(self) -> None:
        self._frozen_ms = self.now_ms()

    def unfreeze(self) -> None:
        if self._frozen_ms is not None:
            self._offset_ms = self._frozen_ms - self._wall_ms()
            self._frozen_ms = None
