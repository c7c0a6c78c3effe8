"""Backfill and reconciliation: bring the mirror level with Jira from the stored cursors.

One run walks `/worklog/updated` from the tenant's cursor (1000 ids a page), fetches each
page's worklogs with one `/worklog/list` call, resolves unseen issues in bulk, and commits the
page's worklogs together with the advanced cursor. Then `/worklog/deleted` the same way.
Jira I/O for page n+1 overlaps the database write of page n through a queue of depth 1, so
memory stays flat in the number of worklogs and the run is bounded by Jira's latency. Calls
to Jira go one after another, except that the next page of ids is asked for as soon as a
page's worklogs have arrived: its round trip overlaps parsing the page and handing it to the
writer (and, on a page that brings new issues, looking those up).

A first run is the backfill; later runs (on demand, periodic) are the reconciliation that
catches webhooks Jira never delivered, Forge events up to 3 minutes late or lost after
Forge's retries, and the worklogs of deleted issues (in `/worklog/deleted`). Jira leaves
out the last minute of changes; the cursor is Jira's own `until`, so those are picked up by
the next run.

A site reached only through Forge whose token has lapsed is *waiting for Jira*: the run
stops where it got to (every committed page keeps its cursor), the state says `waiting`,
and the next token Forge brings starts it again (`app.worklogs.jobs`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import transaction
from app.errors import Unprocessable
from app.heartbeat import beating
from app.runtime import Runtime
from app.tenants import repository as tenants
from app.tenants.jira import jira_access
from app.timeutil import utc_now
from app.worklogs import repository
from app.worklogs.issues import issue_rows
from app.worklogs.jira_format import WorklogFacts, parse_worklog
from connect.jira import JiraAuthenticationError, JiraError, SiteJiraClient, WorklogChangesPage

logger = logging.getLogger(__name__)

# A run beats every BEAT_EVERY_SECONDS while it lives, whatever Jira's pace (a page can take
# long to come); one silent STALE_RUN_AFTER belongs to a process that died, and the next run
# takes the site over. Shorter than the queue's stalled-worker rule (30 s silent, beats every
# 10 s: app.job_queue): when a dead worker's job is put back, its run's last beat is at least
# 20 s old, so the run put back always finds the claim lapsed and does not give up.
STALE_RUN_AFTER = timedelta(seconds=15)
BEAT_EVERY_SECONDS = 5.0


class RunTakenOver(Exception):
    """Another run took the site over (this one was silent too long): this one stops."""


CLOCK_SKEW_MARGIN = timedelta(minutes=10)
WAITING = "waiting"


@dataclass(slots=True)
class _Batch:
    """One page, fetched and parsed, ready to commit."""

    kind: str  # "updated" | "deleted"
    page: WorklogChangesPage
    worklogs: list[WorklogFacts]
    issues: list[dict[str, Any]]
    # Issues of `worklogs` that have a row by the time this page commits (no placeholder).
    existing_issue_ids: set[int] = field(default_factory=set)


async def run_worklog_sync(runtime: Runtime, tenant_id: int) -> bool:
    """One backfill/reconciliation run. False when another live run holds the tenant."""
    now = utc_now()
    async with transaction(runtime.sessions) as session:
        access = await jira_access(runtime, session, tenant_id)
        jira = access.client
        if jira is None:
            if access.waiting:
                await repository.mark_sync_waiting(session, tenant_id)
            return False
        if not await repository.claim_sync(
            session, tenant_id, now=now, stale_before=now - STALE_RUN_AFTER
        ):
            return False
        sync = await repository.get_sync(session, tenant_id)
        cursors = (
            sync.updated_cursor_ms,
            sync.deleted_cursor_ms or await _first_deletions_cursor(session, tenant_id),
        )
    # The claim's start names this run: what it writes, it writes only while it is the one.
    run = sync.started_at
    assert run is not None
    try:
        async with _beating(runtime, tenant_id, run):
            await _pipeline(runtime, tenant_id, jira, run, *cursors)
    except RunTakenOver:
        logger.warning("worklog sync tenant=%s was taken over by another run; stopping", tenant_id)
        return True
    except JiraAuthenticationError as exc:
        if access.door != "forge":
            await _finish(runtime, tenant_id, run, error=f"Jira answered: {exc.message}")
            logger.warning("worklog sync failed tenant=%s: %s", tenant_id, exc.message)
            return True
        # The token lapsed, or Jira refused it, mid-run: wait for the next one.
        await _finish(runtime, tenant_id, run, error=None, waiting=True)
        logger.info("worklog sync tenant=%s waiting for a Forge token", tenant_id)
        return True
    except JiraError as exc:
        await _finish(runtime, tenant_id, run, error=f"Jira answered: {exc.message}")
        logger.warning("worklog sync failed tenant=%s: %s", tenant_id, exc.message)
        return True
    except Exception:
        logger.exception("worklog sync crashed tenant=%s", tenant_id)
        await _finish(
            runtime, tenant_id, run, error="The sync stopped unexpectedly; it will resume."
        )
        raise
    await _finish(runtime, tenant_id, run, error=None)
    return True


def _beating(runtime: Runtime, tenant_id: int, run: datetime) -> AbstractAsyncContextManager[None]:
    async def beat() -> bool:
        try:
            async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
                await repository.beat_sync(session, tenant_id, run, utc_now())
        except Exception:
            logger.warning("worklog sync tenant=%s could not beat", tenant_id, exc_info=True)
        return True  # a run taken over finds out at its next commit (RunTakenOver)

    return beating(BEAT_EVERY_SECONDS, beat, name=f"worklog-sync-beat:{tenant_id}")


async def _first_deletions_cursor(session: AsyncSession, tenant_id: int) -> int:
    """Where a first run starts reading Jira's deletions: when the site first installed the
    app, less a margin for clock skew. Nothing deleted before that can be in the mirror
    (Jira's worklog list leaves deleted worklogs out), and a site's whole deletion history
    can run to hundreds of pages."""
    tenant = await tenants.get(session, tenant_id)
    first_installed = tenant.created_at if tenant is not None else utc_now()
    return max(0, int((first_installed - CLOCK_SKEW_MARGIN).timestamp() * 1000))


async def _pipeline(
    runtime: Runtime,
    tenant_id: int,
    jira: SiteJiraClient,
    run: datetime,
    updated_ms: int,
    deleted_ms: int,
) -> None:
    queue: asyncio.Queue[_Batch | None] = asyncio.Queue(maxsize=1)

    async def produce() -> None:
        # Closed at once if the run stops, so a read-ahead still in flight is cancelled too.
        async with aclosing(_batches(runtime, tenant_id, jira, updated_ms, deleted_ms)) as batches:
            async for batch in batches:
                await queue.put(batch)
        await queue.put(None)

    async def consume() -> None:
        issues_added = 0
        while (batch := await queue.get()) is not None:
            await _commit(runtime, tenant_id, run, batch)
            if batch.issues:
                issues_added += len(batch.issues)
                async with transaction(runtime.sessions) as session:
                    await repository.refresh_issue_statistics(session, issues_added)

    # A task group: if Jira fails mid-run the writer is cancelled instead of waiting for a
    # page that will never come, and a failed write stops the reader.
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            group.create_task(consume())
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def _batches(
    runtime: Runtime, tenant_id: int, jira: SiteJiraClient, updated_ms: int, deleted_ms: int
) -> AsyncGenerator[_Batch, None]:
    # Issues looked up earlier in this run: the page that carried them may not be committed
    # yet when the next page is read, so the database alone would ask Jira twice. Each was
    # either stored (known, or saved with the page that looked it up, which commits first) or
    # is one Jira did not return (`missing`), which gets a placeholder row instead.
    looked_up: set[int] = set()
    missing: set[int] = set()
    pages = _ReadAhead(jira.worklog_changes_since(updated_ms))
    try:
        while (page := await pages.next()) is not None:
            raw = await jira.worklogs_by_ids(page.worklog_ids) if page.values else []
            await pages.read_ahead()  # the next page's round trip overlaps the work on this one
            worklogs = parse_all(raw)
            del raw
            issues = await _unseen_issues(runtime, tenant_id, jira, worklogs, looked_up, missing)
            existing = {w.issue_id for w in worklogs} - missing
            yield _Batch("updated", page, worklogs, issues, existing)
    finally:
        pages.cancel()
    async for page in jira.deleted_worklogs_since(deleted_ms):
        yield _Batch("deleted", page, [], [])


class _ReadAhead:
    """Pages of a Jira feed; `read_ahead` asks for the next one in the background."""

    def __init__(self, pages: AsyncIterator[WorklogChangesPage]) -> None:
        self._pages = pages
        self._next: asyncio.Task[WorklogChangesPage | None] | None = None

    async def read_ahead(self) -> None:
        if self._next is None:
            self._next = self._start()
            await asyncio.sleep(0)  # the request goes out before the caller turns to CPU work

    async def next(self) -> WorklogChangesPage | None:
        task, self._next = self._next or self._start(), None
        return await task

    def cancel(self) -> None:
        if self._next is not None:
            self._next.cancel()
            self._next = None

    def _start(self) -> asyncio.Task[WorklogChangesPage | None]:
        task = asyncio.create_task(self._fetch())
        # Retrieved by `next`, or dropped by `cancel` when the run stops for another reason:
        # never logged as an exception nobody retrieved.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return task

    async def _fetch(self) -> WorklogChangesPage | None:
        return await anext(self._pages, None)


def parse_all(raw: list[dict[str, Any]]) -> list[WorklogFacts]:
    parsed = []
    for item in raw:
        try:
            parsed.append(parse_worklog(item))
        except Unprocessable as exc:
            # One malformed worklog must not stop the whole site's sync.
            logger.warning("skipping worklog %r: %s", item.get("id"), exc.message)
    return parsed


async def _unseen_issues(
    runtime: Runtime,
    tenant_id: int,
    jira: SiteJiraClient,
    worklogs: list[WorklogFacts],
    looked_up: set[int],
    missing: set[int],
) -> list[dict[str, Any]]:
    wanted = {w.issue_id for w in worklogs} - looked_up
    if not wanted:
        return []
    async with runtime.sessions() as session:
        known = await repository.known_issue_ids(session, tenant_id, wanted)
    unseen = sorted(wanted - known)
    looked_up.update(wanted)
    rows = issue_rows(await jira.issues_by_ids(unseen)) if unseen else []
    missing.update(set(unseen) - {row["id"] for row in rows})
    return rows


def _next_cursor(current: int, page: WorklogChangesPage) -> int:
    # An empty last page may carry no meaningful `until`; never move a cursor backwards.
    return max(current, page.until) if page.values or page.until > current else current


async def _commit(runtime: Runtime, tenant_id: int, run: datetime, batch: _Batch) -> None:
    async with transaction(runtime.sessions) as session:
        sync = await repository.get_sync(session, tenant_id, for_update=True)
        if sync.state != "running" or sync.started_at != run:
            raise RunTakenOver
        if batch.kind == "updated":
            await repository.save_issues(session, tenant_id, batch.issues)
            await repository.upsert_worklogs(
                session, tenant_id, batch.worklogs, existing_issue_ids=batch.existing_issue_ids
            )
            sync.updated_cursor_ms = _next_cursor(sync.updated_cursor_ms, batch.page)
        else:
            await repository.tombstone_worklog_ids(
                session, tenant_id, batch.page.worklog_ids, utc_now()
            )
            sync.deleted_cursor_ms = _next_cursor(sync.deleted_cursor_ms, batch.page)
        sync.processed += len(batch.page.values)
        sync.heartbeat_at = utc_now()


async def _finish(
    runtime: Runtime, tenant_id: int, run: datetime, *, error: str | None, waiting: bool = False
) -> None:
    async with transaction(runtime.sessions) as session:
        sync = await repository.get_sync(session, tenant_id, for_update=True)
        if sync.started_at != run:
            return  # taken over: the run that holds the site now finishes it
        now = utc_now()
        sync.heartbeat_at = None
        if waiting:
            sync.state, sync.error = WAITING, None
            return
        sync.state = "failed" if error else "succeeded"
        sync.error = error
        sync.finished_at = now
        if error is None:
            sync.total = sync.processed
            sync.last_success_at = now


async def mark_waiting(runtime: Runtime, tenant_id: int) -> None:
    """Other work for the tenant found no way to Jira: the sync status says so too."""
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        await repository.mark_sync_waiting(session, tenant_id)
