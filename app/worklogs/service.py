"""Rules of the worklog mirror: applying Jira's webhooks, listing worklogs, sync progress."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Unprocessable
from app.timeutil import utc_now
from app.worklogs import repository
from app.worklogs.jira_format import WorklogFacts, jira_id, parse_worklog
from app.worklogs.models import JiraIssue, Worklog, WorklogSync

logger = logging.getLogger(__name__)

WORKLOG_EVENTS = ("worklog_created", "worklog_updated", "worklog_deleted")
MAX_PAGE = 500
DEFAULT_PAGE = 100


@dataclass(frozen=True, slots=True)
class WorklogEvent:
    """A validated webhook: the worklog as Jira has it now, or its deletion."""

    name: str
    worklog: WorklogFacts | None
    deleted_id: int | None
    at: datetime


def parse_webhook(payload: object) -> WorklogEvent:
    """Validate a Jira worklog webhook; bad input is refused here, before anything is written."""
    if not isinstance(payload, dict):
        raise Unprocessable("The webhook body must be a JSON object.", code="invalid_webhook")
    event = payload.get("webhookEvent")
    if event not in WORKLOG_EVENTS:
        raise Unprocessable(f"Unexpected webhook event {event!r}.", code="invalid_webhook")
    worklog = payload.get("worklog")
    at = _event_time(payload)
    if event != "worklog_deleted":
        return WorklogEvent(str(event), parse_worklog(worklog), None, at)
    try:
        return WorklogEvent(str(event), parse_worklog(worklog), None, at)
    except Unprocessable:
        # A deletion needs only the id; a thin payload still removes the worklog.
        worklog_id = jira_id(worklog.get("id") if isinstance(worklog, dict) else None, "worklog")
        return WorklogEvent(str(event), None, worklog_id, at)


def worklogs_by_tenant(
    events: Sequence[tuple[int, WorklogEvent]],
) -> list[tuple[int, list[WorklogFacts]]]:
    """The worklogs that created and updated events bring, per tenant."""
    upserts: dict[int, list[WorklogFacts]] = {}
    for tenant_id, event in events:
        if event.name != "worklog_deleted" and event.worklog is not None:
            upserts.setdefault(tenant_id, []).append(event.worklog)
    return list(upserts.items())


async def apply_events(
    session: AsyncSession,
    events: Sequence[tuple[int, WorklogEvent]],
) -> None:
    """Write many tenants' events in one transaction. Order within the batch does not matter:
    the newer `updated` wins and a tombstone is final, whichever is written first."""
    # In (tenant, id) order: a fixed order keeps concurrent writers deadlock-free.
    await repository.upsert_tenants_worklogs(session, worklogs_by_tenant(events))
    for tenant_id, event in events:
        if event.name != "worklog_deleted":
            continue
        if event.worklog is not None:
            await repository.tombstone_worklog(session, tenant_id, event.worklog, event.at)
        elif event.deleted_id is not None:
            await repository.tombstone_worklog_ids(session, tenant_id, [event.deleted_id], event.at)


async def apply_webhook(session: AsyncSession, tenant_id: int, payload: object) -> str:
    """Apply one Jira worklog webhook; returns the event name. Idempotent, order-safe."""
    event = parse_webhook(payload)
    await apply_events(session, [(tenant_id, event)])
    return event.name


def _event_time(payload: dict[str, Any]) -> datetime:
    stamp = payload.get("timestamp")
    if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp > 0:
        return datetime.fromtimestamp(stamp / 1000, UTC)
    return utc_now()


# --- listing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorklogFilters:
    worklog_id: int | None = None
    project_key: str | None = None
    author: str | None = None
    issue_key: str | None = None
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True, slots=True)
class WorklogRow:
    worklog: Worklog
    issue: JiraIssue


def encode_cursor(started_at: datetime, worklog_id: int) -> str:
    raw = f"{started_at.astimezone(UTC).isoformat()}|{worklog_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        started, _, worklog_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        moment = datetime.fromisoformat(started)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, int(worklog_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Unprocessable(
            "The cursor is not one this API gave out.", code="invalid_cursor"
        ) from exc


def worklogs_query(
    tenant_id: int, filters: WorklogFilters, *, live_only: bool = True
) -> Select[Worklog, JiraIssue]:
    """Live worklogs of a tenant with their issue, filtered; other domains add columns (and
    with `live_only=False`, their own rule for which deleted worklogs still show)."""
    if filters.from_date and filters.to_date and filters.to_date < filters.from_date:
        raise Unprocessable("'to' is before 'from'.", code="invalid_period")
    query = (
        select(Worklog, JiraIssue)
        .join(
            JiraIssue,
            and_(JiraIssue.tenant_id == Worklog.tenant_id, JiraIssue.id == Worklog.issue_id),
        )
        .where(Worklog.tenant_id == tenant_id)
    )
    if live_only:
        query = query.where(Worklog.deleted_in_jira_at.is_(None))
    if filters.worklog_id is not None:
        query = query.where(Worklog.id == filters.worklog_id)
    if filters.project_key:
        query = query.where(JiraIssue.project_key == filters.project_key)
    if filters.issue_key:
        query = query.where(JiraIssue.key == filters.issue_key)
    if filters.author:
        query = query.where(Worklog.author_account_id == filters.author)
    if filters.from_date:
        query = query.where(Worklog.started_on >= filters.from_date)
    if filters.to_date:
        query = query.where(Worklog.started_on <= filters.to_date)
    return query


async def page_of(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],  # rows of any width: callers add their own columns
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """Rows of a `worklogs_query` (first columns: Worklog, JiraIssue), oldest first, and the
    cursor of the next page."""
    if cursor:
        after_started, after_id = decode_cursor(cursor)
        query = query.where(
            or_(
                Worklog.started_at > after_started,
                and_(Worklog.started_at == after_started, Worklog.id > after_id),
            )
        )
    query = query.order_by(Worklog.started_at, Worklog.id).limit(limit + 1)
    rows = list((await session.execute(query)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor(last.started_at, last.id)
    return rows, next_cursor


async def sync_status(session: AsyncSession, tenant_id: int) -> WorklogSync:
    return await repository.get_sync(session, tenant_id)


async def set_billable(
    session: AsyncSession, tenant_id: int, worklog_id: int, billable: bool
) -> None:
    await session.execute(
        update(Worklog)
        .where(Worklog.tenant_id == tenant_id, Worklog.id == worklog_id)
        .values(billable=billable)
    )
