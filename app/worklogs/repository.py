"""All SQL of the worklog mirror.

Writes are set-based and conditional so that webhooks and backfill pages, arriving in any
order and any number of times, converge on Jira's state:
* a worklog row changes only when the incoming `updated` is at least as new as the stored one;
* a tombstone (deleted in Jira) is final: no later create/update brings the worklog back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, delete, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db import dialect_insert as _insert
from app.timeutil import utc_now
from app.worklogs.jira_format import WorklogFacts
from app.worklogs.models import JiraIssue, Worklog, WorklogRefresh, WorklogSync

T = TypeVar("T")

# Keep each statement's bound parameters under SQLite's limit (32766) and PG's (65535).
_ROWS_PER_STATEMENT = 500


def _chunks(rows: Sequence[T], size: int = _ROWS_PER_STATEMENT) -> Iterable[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def ensure_issues(session: AsyncSession, tenant_id: int, issue_ids: Iterable[int]) -> None:
    """Placeholder rows for issues not seen before (filled in later, in bulk)."""
    rows = [{"tenant_id": tenant_id, "id": i} for i in sorted(set(issue_ids))]
    if rows:
        # One cached statement run over many parameter sets (executemany): compiling a
        # fresh multi-row VALUES for every batch costs more than writing it.
        statement = _insert(session)(JiraIssue.__table__).on_conflict_do_nothing()
        await session.execute(statement, rows)


def _worklog_row(tenant_id: int, facts: WorklogFacts, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "id": facts.id,
        "issue_id": facts.issue_id,
        "author_account_id": facts.author_account_id,
        "author_display_name": facts.author_display_name,
        "started_at": facts.started_at,
        "started_offset_minutes": facts.started_offset_minutes,
        "started_on": facts.started_on,
        "time_spent_seconds": facts.time_spent_seconds,
        "comment": facts.comment,
        "jira_created_at": facts.created_at,
        "jira_updated_at": facts.updated_at,
        "billable": True,
        "deleted_in_jira_at": None,
        "mirrored_at": now,
    }


_JIRA_OWNED = (
    "issue_id",
    "author_account_id",
    "author_display_name",
    "started_at",
    "started_offset_minutes",
    "started_on",
    "time_spent_seconds",
    "comment",
    "jira_created_at",
    "jira_updated_at",
    "mirrored_at",
)


async def upsert_worklogs(
    session: AsyncSession,
    tenant_id: int,
    worklogs: Sequence[WorklogFacts],
    *,
    existing_issue_ids: Collection[int] = frozenset(),
) -> None:
    """Insert new worklogs; update known ones where Jira's copy is at least as new.

    `existing_issue_ids`: issues the caller knows have a row already (the backfill does), so
    no placeholder is written for them; every other issue gets one if it has none."""
    await upsert_tenants_worklogs(
        session, [(tenant_id, worklogs)], existing_issue_ids=existing_issue_ids
    )


async def upsert_tenants_worklogs(
    session: AsyncSession | AsyncConnection,
    batches: Sequence[tuple[int, Sequence[WorklogFacts]]],
    *,
    existing_issue_ids: Collection[int] = frozenset(),
) -> int:
    """`upsert_worklogs` for several tenants at once: one statement on PostgreSQL, where
    `session` may also be a connection (the webhook writers' autocommit ones).

    Answers how many placeholder issues PostgreSQL wrote (SQLite's are not counted: see
    `refresh_issue_statistics`)."""
    now = utc_now()
    rows: list[tuple[int, WorklogFacts]] = []
    for tenant_id, worklogs in sorted(batches, key=lambda batch: batch[0]):
        rows.extend((tenant_id, facts) for facts in _newest(worklogs))
    if not rows:
        return 0
    # Key order, (tenant, id): concurrent transactions then lock rows in the same order and
    # cannot deadlock.
    issues = sorted(
        {(tenant_id, w.issue_id) for tenant_id, w in rows if w.issue_id not in existing_issue_ids}
    )
    if isinstance(session, AsyncConnection) or session.get_bind().dialect.name == "postgresql":
        return await _upsert_postgresql(session, rows, issues, now)
    for tenant_id in sorted({tenant_id for tenant_id, _ in rows}):
        await ensure_issues(session, tenant_id, (i for t, i in issues if t == tenant_id))
        await _upsert_dialect(
            session, [_worklog_row(t, facts, now) for t, facts in rows if t == tenant_id]
        )
    return 0


def _newest(worklogs: Iterable[WorklogFacts]) -> list[WorklogFacts]:
    """One row per id, in id order: the newest version wins inside a batch too."""
    newest: dict[int, WorklogFacts] = {}
    for facts in worklogs:
        seen = newest.get(facts.id)
        if seen is None or seen.updated_at <= facts.updated_at:
            newest[facts.id] = facts
    return [newest[i] for i in sorted(newest)]


async def _upsert_dialect(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # One cached statement run over many parameter sets (executemany): on SQLite compiling a
    # fresh multi-row VALUES for every batch costs more than writing it.
    statement = _insert(session)(Worklog.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=[Worklog.tenant_id, Worklog.id],
        set_={column: statement.excluded[column] for column in _JIRA_OWNED},
        where=and_(
            Worklog.jira_updated_at <= statement.excluded.jira_updated_at,
            Worklog.deleted_in_jira_at.is_(None),
        ),
    )
    await session.execute(statement, rows)


# PostgreSQL: the placeholder issues and every worklog of a batch in ONE statement, the rows
# passed as one array per column, so the server parses, plans and runs one statement per
# batch instead of two per row (and the same text, prepared once per connection, serves every
# batch size). Reading `issues` runs the placeholders' insert first; the worklogs' insert runs
# after it, so issues are locked before worklogs, as on the other paths. Foreign keys are
# checked at the statement's end, when the placeholders exist. Same conditions as
# `_upsert_dialect`: newer-or-equal `updated` wins, a tombstone is never revived.
# Answers the number of placeholder issues written.
_PG_UPSERT = text(
    f"""
WITH issues AS (
    INSERT INTO jira_issues (tenant_id, id)
    SELECT * FROM unnest(CAST(:issue_tenants AS INTEGER[]), CAST(:issue_ids AS BIGINT[]))
    ON CONFLICT DO NOTHING
    RETURNING 1
), written AS (
    INSERT INTO worklogs (
        tenant_id, id, issue_id, author_account_id, author_display_name, started_at,
        started_offset_minutes, started_on, time_spent_seconds, comment, jira_created_at,
        jira_updated_at, billable, deleted_in_jira_at, mirrored_at
    )
    SELECT u.*, TRUE, NULL, CAST(:now AS TIMESTAMPTZ)
    FROM unnest(
        CAST(:tenant_ids AS INTEGER[]), CAST(:ids AS BIGINT[]), CAST(:issue_of AS BIGINT[]),
        CAST(:author_ids AS TEXT[]), CAST(:author_names AS TEXT[]),
        CAST(:started_at AS TIMESTAMPTZ[]), CAST(:offsets AS INTEGER[]),
        CAST(:started_on AS DATE[]), CAST(:seconds AS INTEGER[]), CAST(:comments AS TEXT[]),
        CAST(:created_at AS TIMESTAMPTZ[]), CAST(:updated_at AS TIMESTAMPTZ[])
    ) AS u
    ON CONFLICT (tenant_id, id) DO UPDATE SET
        {", ".join(f"{column} = excluded.{column}" for column in _JIRA_OWNED)}
    WHERE worklogs.jira_updated_at <= excluded.jira_updated_at
        AND worklogs.deleted_in_jira_at IS NULL
)
SELECT count(*) FROM issues
"""  # noqa: S608 - column names are constants
)


async def _upsert_postgresql(
    session: AsyncSession | AsyncConnection,
    rows: list[tuple[int, WorklogFacts]],
    issues: list[tuple[int, int]],
    now: datetime,
) -> int:
    added = await session.scalar(
        _PG_UPSERT,
        {
            "issue_tenants": [t for t, _ in issues],
            "issue_ids": [i for _, i in issues],
            "now": now,
            "tenant_ids": [t for t, _ in rows],
            "ids": [w.id for _, w in rows],
            "issue_of": [w.issue_id for _, w in rows],
            "author_ids": [w.author_account_id for _, w in rows],
            "author_names": [w.author_display_name for _, w in rows],
            "started_at": [w.started_at for _, w in rows],
            "offsets": [w.started_offset_minutes for _, w in rows],
            "started_on": [w.started_on for _, w in rows],
            "seconds": [w.time_spent_seconds for _, w in rows],
            "comments": [w.comment for _, w in rows],
            "created_at": [w.created_at for _, w in rows],
            "updated_at": [w.updated_at for _, w in rows],
        },
    )
    return int(added or 0)


async def tombstone_worklog(
    session: AsyncSession, tenant_id: int, facts: WorklogFacts, deleted_at: datetime
) -> None:
    """Mark a worklog deleted in Jira, creating the tombstone if we never saw the worklog."""
    await ensure_issues(session, tenant_id, [facts.issue_id])
    row = _worklog_row(tenant_id, facts, utc_now())
    row["deleted_in_jira_at"] = deleted_at
    statement = _insert(session)(Worklog).values(row)
    statement = statement.on_conflict_do_update(
        index_elements=[Worklog.tenant_id, Worklog.id],
        set_={"deleted_in_jira_at": deleted_at, "mirrored_at": row["mirrored_at"]},
        where=Worklog.deleted_in_jira_at.is_(None),
    )
    await session.execute(statement)


async def tombstone_worklog_ids(
    session: AsyncSession, tenant_id: int, worklog_ids: Sequence[int], deleted_at: datetime
) -> int:
    """Tombstone known worklogs by id (backfill's `/worklog/deleted` gives only ids)."""
    count = 0
    for chunk in _chunks(list(worklog_ids)):
        result = await session.execute(
            update(Worklog)
            .where(
                Worklog.tenant_id == tenant_id,
                Worklog.id.in_(chunk),
                Worklog.deleted_in_jira_at.is_(None),
            )
            .values(deleted_in_jira_at=deleted_at, mirrored_at=utc_now())
        )
        count += int(getattr(result, "rowcount", 0) or 0)
    return count


async def tombstone_issue_worklogs(
    session: AsyncSession, tenant_id: int, issue_id: int, deleted_at: datetime
) -> int:
    """Every worklog of a deleted issue (an invoiced one stays, flagged deleted: drift)."""
    result = await session.execute(
        update(Worklog)
        .where(
            Worklog.tenant_id == tenant_id,
            Worklog.issue_id == issue_id,
            Worklog.deleted_in_jira_at.is_(None),
        )
        .values(deleted_in_jira_at=deleted_at, mirrored_at=utc_now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- worklogs to read from Jira (Forge events) -----------------------------------------------

_PG_REFRESH = text(
    """
INSERT INTO worklog_refreshes (tenant_id, worklog_id, version, requested_at)
SELECT u.tenant_id, u.worklog_id, 1, CAST(:at AS TIMESTAMPTZ)
FROM unnest(CAST(:tenant_ids AS INTEGER[]), CAST(:worklog_ids AS BIGINT[]))
    AS u (tenant_id, worklog_id)
ON CONFLICT (tenant_id, worklog_id) DO UPDATE SET
    version = worklog_refreshes.version + 1, requested_at = excluded.requested_at
"""
)


async def request_refreshes(
    session: AsyncSession | AsyncConnection, rows: Sequence[tuple[int, int]], at: datetime
) -> None:
    """Ask for (tenant, worklog) to be read from Jira; asked again, its version grows.
    One statement on PostgreSQL, where `session` may be a writer's autocommit connection."""
    unique = sorted(set(rows))
    if not unique:
        return
    if isinstance(session, AsyncConnection) or session.get_bind().dialect.name == "postgresql":
        await session.execute(
            _PG_REFRESH,
            {
                "at": at,
                "tenant_ids": [t for t, _ in unique],
                "worklog_ids": [w for _, w in unique],
            },
        )
        return
    statement = _insert(session)(WorklogRefresh.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=[WorklogRefresh.tenant_id, WorklogRefresh.worklog_id],
        set_={
            "version": WorklogRefresh.__table__.c.version + 1,
            "requested_at": statement.excluded.requested_at,
        },
    )
    await session.execute(
        statement,
        [{"tenant_id": t, "worklog_id": w, "version": 1, "requested_at": at} for t, w in unique],
    )


async def pending_refreshes(
    session: AsyncSession, tenant_id: int, limit: int
) -> list[tuple[int, int]]:
    """(worklog id, version) of worklogs waiting to be read from Jira, oldest ids first."""
    result = await session.execute(
        select(WorklogRefresh.worklog_id, WorklogRefresh.version)
        .where(WorklogRefresh.tenant_id == tenant_id)
        .order_by(WorklogRefresh.worklog_id)
        .limit(limit)
    )
    return [(int(w), int(v)) for w, v in result.all()]


async def clear_refreshes(
    session: AsyncSession, tenant_id: int, done: Sequence[tuple[int, int]]
) -> None:
    """Done with these reads; a worklog asked for again since (a newer version) stays."""
    for chunk in _chunks(list(done)):
        await session.execute(
            delete(WorklogRefresh).where(
                WorklogRefresh.tenant_id == tenant_id,
                tuple_(WorklogRefresh.worklog_id, WorklogRefresh.version).in_(chunk),
            )
        )


async def tenants_with_refreshes(session: AsyncSession) -> list[int]:
    result = await session.execute(select(WorklogRefresh.tenant_id).distinct())
    return list(result.scalars())


async def unresolved_issue_ids(
    session: AsyncSession, tenant_id: int, limit: int, *, missing_before: datetime
) -> list[int]:
    """Issues still to look up; ones Jira recently said it does not have are left alone."""
    result = await session.execute(
        select(JiraIssue.id)
        .where(
            JiraIssue.tenant_id == tenant_id,
            JiraIssue.resolved_at.is_(None),
            or_(JiraIssue.missing_since.is_(None), JiraIssue.missing_since < missing_before),
        )
        .order_by(JiraIssue.id)
        .limit(limit)
    )
    return list(result.scalars())


async def tenants_with_unresolved_issues(
    session: AsyncSession, *, missing_before: datetime
) -> list[int]:
    result = await session.execute(
        select(JiraIssue.tenant_id)
        .where(
            JiraIssue.resolved_at.is_(None),
            or_(JiraIssue.missing_since.is_(None), JiraIssue.missing_since < missing_before),
        )
        .distinct()
    )
    return list(result.scalars())


async def refresh_issue_statistics(
    session: AsyncSession | AsyncConnection, issues_added: int
) -> bool:
    """Let PostgreSQL's planner know how many issues there are, after adding many.

    Every worklog row written checks its foreign key to `jira_issues`. While that table has
    no statistics (a new database; a first backfill fills it faster than autovacuum analyzes
    it) the planner may check each key by scanning all of the tenant's issues instead of
    using the primary key, which made writing worklogs three times slower. The webhook
    writers call it too, as their placeholders fill the table (see `ingest`). Analyzes the
    table when its statistics know of fewer rows than `issues_added` (so at most a few times
    while it grows, never on a table whose statistics are current). SQLite needs nothing."""
    bind = session if isinstance(session, AsyncConnection) else session.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    table = JiraIssue.__tablename__
    reltuples = await session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)"), {"table": table}
    )
    if reltuples is not None and reltuples >= issues_added:
        return False
    await session.execute(text(f"ANALYZE {table}"))
    return True


async def known_issue_ids(
    session: AsyncSession, tenant_id: int, issue_ids: Iterable[int]
) -> set[int]:
    wanted = sorted(set(issue_ids))
    found: set[int] = set()
    for chunk in _chunks(wanted):
        result = await session.execute(
            select(JiraIssue.id).where(
                JiraIssue.tenant_id == tenant_id,
                JiraIssue.id.in_(chunk),
                JiraIssue.resolved_at.is_not(None),
            )
        )
        found.update(result.scalars())
    return found


async def save_issues(
    session: AsyncSession, tenant_id: int, issues: Sequence[dict[str, Any]]
) -> None:
    """Upsert resolved issues: `[{id, key, summary, project_key, project_id}]`."""
    if not issues:
        return
    now = utc_now()
    rows = [
        {**issue, "tenant_id": tenant_id, "resolved_at": now, "missing_since": None}
        for issue in issues
    ]
    insert = _insert(session)
    for chunk in _chunks(rows):
        statement = insert(JiraIssue).values(chunk)
        statement = statement.on_conflict_do_update(
            index_elements=[JiraIssue.tenant_id, JiraIssue.id],
            set_={
                c: statement.excluded[c]
                for c in (
                    "key",
                    "summary",
                    "project_key",
                    "project_id",
                    "resolved_at",
                    "missing_since",
                )
            },
        )
        await session.execute(statement)


async def mark_issues_missing(
    session: AsyncSession, tenant_id: int, issue_ids: Sequence[int]
) -> None:
    for chunk in _chunks(list(issue_ids)):
        await session.execute(
            update(JiraIssue)
            .where(JiraIssue.tenant_id == tenant_id, JiraIssue.id.in_(chunk))
            .values(missing_since=utc_now())
        )


async def get_sync(
    session: AsyncSession, tenant_id: int, *, for_update: bool = False
) -> WorklogSync:
    """The tenant's sync row, created on first use (`for_update`: locked till the end of the
    transaction, so a run's check that it still holds the site stays true while it writes)."""
    await session.execute(
        _insert(session)(WorklogSync)
        .values(
            tenant_id=tenant_id, updated_cursor_ms=0, deleted_cursor_ms=0, state="idle", processed=0
        )
        .on_conflict_do_nothing()
    )
    query = select(WorklogSync).where(WorklogSync.tenant_id == tenant_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one()


async def get_sync_state(session: AsyncSession, tenant_id: int) -> str | None:
    """The sync's state, reading only (None before the tenant's first sync)."""
    result = await session.execute(
        select(WorklogSync.state).where(WorklogSync.tenant_id == tenant_id)
    )
    return result.scalar_one_or_none()


async def mark_sync_waiting(session: AsyncSession, tenant_id: int) -> None:
    """Waiting for Jira, unless a run is under way (it says for itself how it ends)."""
    await get_sync(session, tenant_id)
    await session.execute(
        update(WorklogSync)
        .where(WorklogSync.tenant_id == tenant_id, WorklogSync.state != "running")
        .values(state="waiting", error=None)
    )


async def beat_sync(session: AsyncSession, tenant_id: int, run: datetime, now: datetime) -> None:
    """A live run says so (see sync.STALE_RUN_AFTER); not once another run took over."""
    await session.execute(
        update(WorklogSync)
        .where(
            WorklogSync.tenant_id == tenant_id,
            WorklogSync.state == "running",
            WorklogSync.started_at == run,
        )
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )


async def claim_sync(
    session: AsyncSession, tenant_id: int, *, now: datetime, stale_before: datetime
) -> bool:
    """Start a run unless one is alive; one conditional UPDATE, so two claimers can't both win."""
    await get_sync(session, tenant_id)
    result = await session.execute(
        update(WorklogSync)
        .where(
            WorklogSync.tenant_id == tenant_id,
            or_(
                WorklogSync.state != "running",
                WorklogSync.heartbeat_at.is_(None),
                WorklogSync.heartbeat_at < stale_before,
            ),
        )
        .values(
            state="running",
            processed=0,
            total=None,
            started_at=now,
            finished_at=None,
            error=None,
            heartbeat_at=now,
        )
    )
    return bool(getattr(result, "rowcount", 0))
