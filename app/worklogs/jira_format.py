"""Reading Jira's worklog JSON (REST v3 and the v2-shaped webhook payload) into plain facts.

Jira gives ids as strings, `started` as `2021-01-17T12:34:00.000+0000` (offset without a
colon), and the comment as ADF in v3 but often a plain string in webhooks: all are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from app.errors import Unprocessable

_MAX_COMMENT = 32_000


@dataclass(frozen=True, slots=True)
class WorklogFacts:
    id: int
    issue_id: int
    author_account_id: str
    author_display_name: str | None
    started_at: datetime
    started_offset_minutes: int
    started_on: date
    time_spent_seconds: int
    comment: str
    created_at: datetime | None
    updated_at: datetime


def jira_id(value: object, what: str) -> int:
    """Jira ids are decimal strings (sometimes numbers); anything else is refused."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not text.isdigit() or len(text) > 18:
        raise Unprocessable(f"The {what} id {value!r} is not a Jira id.", code="invalid_worklog")
    return int(text)


def parse_jira_datetime(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise Unprocessable(f"The worklog's {what} is missing.", code="invalid_worklog")
    text = value.strip()
    # Python reads "+0000" and "+01:00"; Jira also sends a trailing "Z" in some places.
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError as exc:
            raise Unprocessable(
                f"The worklog's {what} {value!r} is not a Jira date-time.", code="invalid_worklog"
            ) from exc
    if parsed.tzinfo is None:
        raise Unprocessable(f"The worklog's {what} has no UTC offset.", code="invalid_worklog")
    return parsed


def offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def adf_to_text(node: object) -> str:
    """Plain text of an Atlassian Document Format comment (or the string itself)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    blocks: list[str] = []
    _collect_blocks(node, blocks)
    return "\n".join(b for b in blocks if b).strip()


_BLOCK_TYPES = {"paragraph", "heading", "codeBlock", "blockquote", "listItem", "rule", "panel"}


def _collect_blocks(node: dict[str, Any], blocks: list[str]) -> None:
    kind = node.get("type")
    if kind in ("paragraph", "heading", "codeBlock"):
        blocks.append(_inline_text(node))
        return
    for child in node.get("content") or []:
        if isinstance(child, dict):
            if child.get("type") in _BLOCK_TYPES or child.get("content"):
                _collect_blocks(child, blocks)
            else:
                blocks.append(_inline_text({"content": [child]}))


def _inline_text(node: dict[str, Any]) -> str:
    parts: list[str] = []
    for child in node.get("content") or []:
        if not isinstance(child, dict):
            continue
        kind = child.get("type")
        attrs = child.get("attrs") or {}
        if kind == "text":
            parts.append(str(child.get("text", "")))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind == "mention":
            parts.append(str(attrs.get("text") or "@" + str(attrs.get("id", ""))))
        elif kind == "emoji":
            parts.append(str(attrs.get("text") or attrs.get("shortName", "")))
        elif kind in ("inlineCard", "blockCard"):
            parts.append(str(attrs.get("url", "")))
        elif kind in ("status", "date"):
            parts.append(str(attrs.get("text") or attrs.get("timestamp", "")))
        elif child.get("content"):
            parts.append(_inline_text(child))
    return "".join(parts)


def parse_worklog(data: object) -> WorklogFacts:
    if not isinstance(data, dict):
        raise Unprocessable("The worklog must be a JSON object.", code="invalid_worklog")
    author = data.get("author")
    if not isinstance(author, dict):
        author = {}
    started = parse_jira_datetime(data.get("started"), "started")
    seconds = data.get("timeSpentSeconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        raise Unprocessable("The worklog's timeSpentSeconds is invalid.", code="invalid_worklog")
    updated_raw = data.get("updated") or data.get("created")
    created_raw = data.get("created")
    account_id = author.get("accountId")
    return WorklogFacts(
        id=jira_id(data.get("id"), "worklog"),
        issue_id=jira_id(data.get("issueId"), "issue"),
        author_account_id=str(account_id) if account_id else "unknown",
        author_display_name=_short(author.get("displayName"), 255),
        started_at=started.astimezone(UTC),
        started_offset_minutes=offset_minutes(started),
        started_on=started.date(),
        time_spent_seconds=seconds,
        comment=adf_to_text(data.get("comment"))[:_MAX_COMMENT],
        created_at=parse_jira_datetime(created_raw, "created").astimezone(UTC)
        if created_raw
        else None,
        updated_at=parse_jira_datetime(updated_raw, "updated").astimezone(UTC),
    )


def _short(value: object, limit: int) -> str | None:
    return str(value)[:limit] if value else None
