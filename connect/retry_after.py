"""`Retry-After` as Atlassian and Intuit send it: delta-seconds or an HTTP-date."""

from __future__ import annotations

from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Seconds from `now` (a Unix time) to wait; None when the header is absent or unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        return max(0.0, moment.timestamp() - now)
    return seconds if seconds >= 0 else None
