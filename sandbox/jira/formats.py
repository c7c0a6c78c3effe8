"""Jira's wire formats: timestamps, durations and comments (ADF in v3, text in v2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sandbox.jira.errors import JiraApiError

_STARTED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
_STARTED_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
# Jira's default time tracking: 8 hours a day, 5 days a week.
_UNITS = (("w", 5 * 8 * 3600), ("d", 8 * 3600), ("h", 3600), ("m", 60))


def jira_datetime(epoch_ms: int) -> str:
    """`created`/`updated` as Jira writes them: `2026-11-03T09:00:00.000+0000`."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}+0000"


def parse_started(value: object) -> str:
    """Validate a `started` value (`yyyy-MM-dd'T'HH:mm:ss.SSSZ`); it is kept with its offset."""
    if not isinstance(value, str) or not _STARTED.match(value):
        raise JiraApiError(400, errors={"started": "Invalid started date and time."})
    try:
        datetime.strptime(value, _STARTED_FORMAT)
    except ValueError as exc:
        raise JiraApiError(400, errors={"started": "Invalid started date and time."}) from exc
    return value


def started_from_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("started must be timezone-aware")
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + (moment.strftime("%z"))
    )


def started_epoch_ms(started: str) -> int:
    return int(datetime.strptime(started, _STARTED_FORMAT).timestamp() * 1000)


def time_spent_text(seconds: int) -> str:
    """`3h 20m`, the way Jira renders `timeSpent`."""
    parts: list[str] = []
    remaining = seconds
    for unit, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0m"


_DURATION = re.compile(r"^\s*(?:(\d+)w)?\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*$")


def parse_time_spent(text: str) -> int:
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        raise JiraApiError(400, errors={"timeLogged": "Invalid time duration entered."})
    return sum(int(g or 0) * size for g, (_, size) in zip(match.groups(), _UNITS, strict=True))


def adf_document(text: str) -> dict[str, Any]:
    paragraphs: list[dict[str, Any]] = []
    for line in text.split("\n"):
        content = [{"type": "text", "text": line}] if line else []
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_text(node: Any) -> str:
    """Plain text of an ADF document: what a v2 representation (webhooks) shows."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    children = [adf_text(child) for child in node.get("content") or []]
    separator = "\n" if node.get("type") == "doc" else ""
    return separator.join(children)


def comment_document(value: object) -> dict[str, Any] | None:
    """A comment given as ADF (v3) or, leniently for the Python API, as plain text."""
    if value is None:
        return None
    if isinstance(value, str):
        return adf_document(value) if value else None
    if isinstance(value, dict) and value.get("type") == "doc":
        return value
    raise JiraApiError(400, errors={"comment": "Comment must be an Atlassian Document."})
