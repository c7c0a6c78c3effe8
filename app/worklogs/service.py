"""Rules of the worklog mirror: applying Jira's webhooks and Forge's worklog events, listing
worklogs, sync progress."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, Select, and_, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import Unprocessable
from app.timeutil import utc_now
from app.worklogs import repository
from app.worklogs.jira_format import WorklogFacts, jira_id, parse_worklog
from app.worklogs.models import JiraIssue, Worklog, WorklogSync

logger = logging.getLogger(__name__)

WORKLOG_EVENTS = ("worklog_created", "worklog_updated", "worklog_deleted")
# What a Forge event becomes: a worklog to read from Jira, or a deletion.
WORKLOG_CHANGED = "worklog_changed"
ISSUE_DELETED = "issue_deleted"
FORGE_WORKLOG_CHANGES = frozenset({"avi:jira:created:worklog", "avi:jira:updated:worklog"})
FORGE_WORKLOG_DELETED = "avi:jira:deleted:worklog"
FORGE_ISSUE_DELETED = "avi:jira:deleted:issue"
DELETIONS = frozenset({"worklog_deleted", ISSUE_DELETED})
MAX_PAGE = 500
DEFAULT_PAGE = 100


@dataclass(frozen=True, slots=True)
class WorklogEvent:
    """A validated webhook or Forge event: the worklog as Jira has it now, its deletion, a
    worklog to read from Jira (`refresh_id`, Forge's created/updated), or the deletion of an
    issue with all its worklogs (`deleted_issue_id`)."""

    name: str
    worklog: WorklogFacts | None
    deleted_id: int | None
    at: datetime
    refresh_id: int | None = None
    deleted_issue_id: int | None = None


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


def parse_forge_event(payload: object) -> WorklogEvent | None:
    """A Forge product event sent to the remote (`avi:jira:…`), validated before anything is
    written; None for an event this endpoint does not follow (acknowledged, not retried).

    Only ids are taken from it. The reference's worklog payload is not a copy the mirror can
    keep (its people carry no names), so created and updated worklogs are read from Jira,
    and a deletion needs nothing else. The fields may sit at the top of the body or under
    `payload` (remote/sending-product-events shows both ways of writing it)."""
    if not isinstance(payload, dict):
        raise Unprocessable("The event body must be a JSON object.", code="invalid_event")
    body = payload
    if "eventType" not in body and isinstance(body.get("payload"), dict):
        body = body["payload"]
    event = body.get("eventType")
    at = _forge_event_time(body.get("timestamp"))
    if event in FORGE_WORKLOG_CHANGES or event == FORGE_WORKLOG_DELETED:
        worklog = body.get("worklog")
        if not isinstance(worklog, dict):
            raise Unprocessable(f"The {event} event names no worklog.", code="invalid_event")
        worklog_id = jira_id(worklog.get("id"), "worklog")
        if event == FORGE_WORKLOG_DELETED:
            return WorklogEvent("worklog_deleted", None, worklog_id, at)
        return WorklogEvent(WORKLOG_CHANGED, None, None, at, refresh_id=worklog_id)
    if event == FORGE_ISSUE_DELETED:
        issue = body.get("issue")
        if not isinstance(issue, dict):
            raise Unprocessable(f"The {event} event names no issue.", code="invalid_event")
        issue_id = jira_id(issue.get("id"), "issue")
        return WorklogEvent(ISSUE_DELETED, None, None, at, deleted_issue_id=issue_id)
    return None


def _forge_event_time(stamp: object) -> datetime:
    """The common `timestamp`: epoch milliseconds, documented as a string."""
    text = str(stamp) if isinstance(stamp, int | str) and not isinstance(stamp, bool) else ""
    if text.isdigit() and 0 < int(text) < 10**14:
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return utc_now()


def refreshes_by_tenant(events: Sequence[tuple[int, WorklogEvent]]) -> list[tuple[int, int]]:
    """(tenant, worklog id) of each worklog the events ask to read from Jira."""
    return [
        (tenant_id, event.refresh_id)
        for tenant_id, event in events
        if event.name == WORKLOG_CHANGED and event.refresh_id is not None
    ]


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
    await repository.request_refreshes(session, refreshes_by_tenant(events), utc_now())
    for tenant_id, event in events:
        if event.name == ISSUE_DELETED and event.deleted_issue_id is not None:
            # Jira sends no worklog event for the worklogs that go with an issue.
            await repository.tombstone_issue_worklogs(
                session, tenant_id, event.deleted_issue_id, event.at
            )
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


class WorklogSort(StrEnum):
    """The columns the Worklogs list sorts by."""

    STARTED = "started"
    ISSUE = "issue"
    PERSON = "person"
    HOURS = "hours"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class WorklogOrder:
    """Newest first unless asked otherwise: what was logged last is what people look for."""

    sort: WorklogSort = WorklogSort.STARTED
    order: SortOrder = SortOrder.DESC

    @classmethod
    def of(cls, sort: WorklogSort, order: SortOrder | None) -> WorklogOrder:
        """Without an order: dates and hours the largest first, issues and people A to Z."""
        if order is None:
            ascending = sort in (WorklogSort.ISSUE, WorklogSort.PERSON)
            order = SortOrder.ASC if ascending else SortOrder.DESC
        return cls(sort, order)


_Kind = Literal["moment", "int", "text"]


@dataclass(frozen=True, slots=True)
class _SortKey:
    column: ColumnElement[Any] | InstrumentedAttribute[Any]
    descending: bool
    kind: _Kind


def issue_number() -> ColumnElement[int]:
    """The number of an issue key (12 of ACME-12), so ACME-9 sorts before ACME-10. Keys come
    from Jira as `<project key>-<number>`, stored with that project key; 0 while unresolved."""
    digits = func.substr(JiraIssue.key, func.length(JiraIssue.project_key) + 2)
    return func.coalesce(cast(digits, Integer), 0)


def _sort_keys(order: WorklogOrder) -> list[_SortKey]:
    """The sort column first, then (unless it is the start) newest first, then the id: every
    row has one place, so pages never skip or repeat a worklog."""
    descending = order.order is SortOrder.DESC
    newest: list[_SortKey] = [
        _SortKey(Worklog.started_at, True, "moment"),
        _SortKey(Worklog.id, True, "int"),
    ]
    if order.sort is WorklogSort.STARTED:
        return [
            _SortKey(Worklog.started_at, descending, "moment"),
            _SortKey(Worklog.id, descending, "int"),
        ]
    if order.sort is WorklogSort.ISSUE:
        return [
            _SortKey(func.coalesce(JiraIssue.project_key, ""), descending, "text"),
            _SortKey(issue_number(), descending, "int"),
            *newest,
        ]
    if order.sort is WorklogSort.PERSON:
        name = func.lower(func.coalesce(Worklog.author_display_name, Worklog.author_account_id))
        return [_SortKey(name, descending, "text"), *newest]
    return [_SortKey(Worklog.time_spent_seconds, descending, "int"), *newest]


def _cursor_value(value: Any, kind: _Kind) -> Any:
    if kind == "moment":
        if not isinstance(value, datetime):
            raise ValueError("not a moment")
        return value.astimezone(UTC).isoformat()
    if kind == "int":
        return int(value)
    return str(value)


def _read_cursor_value(value: Any, kind: _Kind) -> Any:
    if kind == "moment":
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not a number")
        return value
    if not isinstance(value, str):
        raise ValueError("not text")
    return value


def encode_cursor(order: WorklogOrder, values: Sequence[Any]) -> str:
    keys = _sort_keys(order)
    raw = {
        "s": order.sort.value,
        "o": order.order.value,
        "k": [_cursor_value(v, key.kind) for v, key in zip(values, keys, strict=True)],
    }
    text = json.dumps(raw, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, order: WorklogOrder) -> list[Any]:
    """The sort values of the last row of the previous page. A cursor from another sort
    would start the next page at a meaningless place, so it is refused."""
    keys = _sort_keys(order)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded).decode())
        if not isinstance(raw, dict) or not isinstance(raw.get("k"), list):
            raise ValueError("not a cursor")
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Unprocessable(
            "The cursor is not one this API gave out.", code="invalid_cursor"
        ) from exc
    if (raw.get("s"), raw.get("o")) != (order.sort.value, order.order.value):
        raise Unprocessable(
            f"The cursor belongs to a list sorted another way; ask for the first page sorted "
            f"by {order.sort.value} ({order.order.value}) again.",
            code="invalid_cursor",
        )
    try:
        if len(raw["k"]) != len(keys):
            raise ValueError("another sort")
        return [_read_cursor_value(v, key.kind) for v, key in zip(raw["k"], keys, strict=True)]
    except ValueError as exc:
        raise Unprocessable(
            "The cursor is not one this API gave out.", code="invalid_cursor"
        ) from exc


def _after(keys: Sequence[_SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows that come after `values` in the order of `keys` (each key ascending or
    descending on its own): the first key further on, or equal and the rest further on."""
    clauses = []
    for depth, key in enumerate(keys):
        equal = [keys[i].column == values[i] for i in range(depth)]
        further = key.column < values[depth] if key.descending else key.column > values[depth]
        clauses.append(and_(*equal, further))
    return or_(*clauses)


def filter_conditions(filters: WorklogFilters) -> list[ColumnElement[bool]]:
    """The WHERE of the filters, without the tenant's (callers add it); some name
    `JiraIssue`: see `filters_issue`."""
    if filters.from_date and filters.to_date and filters.to_date < filters.from_date:
        raise Unprocessable(
            "The To date is before the From date: pick a To date on or after it.",
            code="invalid_period",
        )
    conditions: list[ColumnElement[bool]] = []
    if filters.worklog_id is not None:
        conditions.append(Worklog.id == filters.worklog_id)
    if filters.project_key:
        conditions.append(JiraIssue.project_key == filters.project_key)
    if filters.issue_key:
        conditions.append(JiraIssue.key == filters.issue_key)
    if filters.author:
        conditions.append(Worklog.author_account_id == filters.author)
    if filters.from_date:
        conditions.append(Worklog.started_on >= filters.from_date)
    if filters.to_date:
        conditions.append(Worklog.started_on <= filters.to_date)
    return conditions


def filters_issue(filters: WorklogFilters) -> bool:
    """Whether the filters need the issue (its project or key), i.e. a join to it."""
    return bool(filters.project_key or filters.issue_key)


def issue_of_worklog() -> ColumnElement[bool]:
    return and_(JiraIssue.tenant_id == Worklog.tenant_id, JiraIssue.id == Worklog.issue_id)


def worklogs_query(
    tenant_id: int, filters: WorklogFilters, *, live_only: bool = True
) -> Select[Worklog, JiraIssue]:
    """Live worklogs of a tenant with their issue, filtered; other domains add columns (and
    with `live_only=False`, their own rule for which deleted worklogs still show)."""
    query = (
        select(Worklog, JiraIssue)
        .join(JiraIssue, issue_of_worklog())
        .where(Worklog.tenant_id == tenant_id, *filter_conditions(filters))
    )
    if live_only:
        query = query.where(Worklog.deleted_in_jira_at.is_(None))
    return query


async def page_of(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],  # rows of any width: callers add their own columns
    *,
    cursor: str | None,
    limit: int,
    order: WorklogOrder | None = None,
) -> tuple[list[Any], str | None]:
    """Rows of a `worklogs_query` (first columns: Worklog, JiraIssue) in `order` (newest
    first by default), and the cursor of the next page."""
    order = order or WorklogOrder()
    keys = _sort_keys(order)
    if cursor:
        query = query.where(_after(keys, decode_cursor(cursor, order)))
    ordering = [key.column.desc() if key.descending else key.column.asc() for key in keys]
    values = [key.column.label(f"sort_{n}") for n, key in enumerate(keys)]
    width = len(keys)
    if order.sort is WorklogSort.STARTED:
        # The index on (tenant, started_at) is walked in order and left after one page.
        found = list(
            await session.execute(query.add_columns(*values).order_by(*ordering).limit(limit + 1))
        )
        rows = [row[:-width] for row in found[:limit]]
    else:
        # Any other order sorts every match: sort the ids alone, then read the page's rows
        # with the columns callers added (a budget, a rate: subqueries a database would
        # otherwise work out for every match before sorting them).
        found = list(
            await session.execute(
                query.with_only_columns(Worklog.id, *values).order_by(*ordering).limit(limit + 1)
            )
        )
        ids = [row[0] for row in found[:limit]]
        by_id = {row[0].id: row for row in await session.execute(query.where(Worklog.id.in_(ids)))}
        rows = [by_id[worklog_id] for worklog_id in ids]
    next_cursor = None
    if len(found) > limit:
        next_cursor = encode_cursor(order, list(found[limit - 1][-width:]))
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
