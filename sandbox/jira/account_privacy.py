"""What the personal data reporting API knows of a site's accounts (see privacy.py)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

CLOSED_DISPLAY_NAME = "Former user"


@dataclass(slots=True)
class Report:
    door: str  # "connect" or "forge"
    account_ids: list[str]
    status_code: int


@dataclass(slots=True)
class AccountPrivacy:
    """One site's accounts as the reporting API sees them: when each was closed or its
    profile last changed (the platform's clock, epoch seconds)."""

    closed_at: dict[str, float] = field(default_factory=dict)
    profile_updated_at: dict[str, float] = field(default_factory=dict)
    reports: list[Report] = field(default_factory=list)
    _throttles: deque[int] = field(default_factory=deque)

    def throttle(self, retry_after_seconds: int, *, times: int = 1) -> None:
        """The next `times` requests answer 429 with this Retry-After."""
        self._throttles.extend([retry_after_seconds] * times)

    def take_throttle(self) -> int | None:
        return self._throttles.popleft() if self._throttles else None

    def status(self, account_id: str, updated_at: float) -> str | None:
        if account_id in self.closed_at:
            return "closed"
        changed = self.profile_updated_at.get(account_id)
        if changed is not None and changed > updated_at:
            return "updated"
        return None
