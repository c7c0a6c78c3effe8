"""The emulator's notion of "now", which tests can freeze and move (token lifetimes,
MetaData times, CDC windows and rate-limit windows all read it)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SandboxClock:
    """Follows the wall clock by default; `SandboxClock(start_s)` starts frozen at that epoch
    second count (a float)."""

    def __init__(self, start_s: float | None = None) -> None:
        self._frozen_s = start_s
        self._offset_s = 0.0

    @property
    def frozen(self) -> bool:
        return self._frozen_s is not None

    def now_s(self) -> float:
        if self._frozen_s is not None:
            return self._frozen_s
        return time.time() + self._offset_s

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_s(), tz=UTC)

    def set(self, now_s: float) -> None:
        if self._frozen_s is not None:
            self._frozen_s = now_s
        else:
            self._offset_s = now_s - time.time()

    def advance(self, seconds: float = 0.0, *, days: float = 0.0) -> float:
        self.set(self.now_s() + seconds + days * 86400)
        return self.now_s()

    def freeze(self) -> None:
        self._frozen_s = self.now_s()

    def unfreeze(self) -> None:
        if self._frozen_s is not None:
            self._offset_s = self._frozen_s - time.time()
            self._frozen_s = None
