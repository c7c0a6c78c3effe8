"""Group commit for Jira's worklog webhooks and Forge's worklog events.

Each webhook or event is authenticated and validated on its own, then handed to the writer
and its request waits until the transaction holding it has committed: a 2xx still means
durable. (A Forge created/updated event is stored as a worklog to read from Jira, the rest
as for Connect; both doors' events share the writer, and its batches.)
The writer takes everything that arrived while the previous transaction was committing and
writes it in one transaction, so under load there is one commit per batch, not per event.
No timers: a lone webhook is written at once. Rows are written in key order (see the
repository), so overlapping transactions on PostgreSQL cannot deadlock on each other.

On PostgreSQL a batch without deletions is one statement (placeholder issues and worklogs
together) run in autocommit on a connection each writer keeps: the statement is its own
transaction, and PostgreSQL answers it only once that transaction's commit is on disk
(synchronous_commit stays on), so a 2xx still follows the COMMIT, in one round trip instead
of a pool checkout, BEGIN, the writes and COMMIT.

The foreign key of each worklog to its issue is checked with a plan PostgreSQL makes once per
connection. On a `jira_issues` table never analyzed (a new database: the first webhooks fill
it with placeholders long before autovacuum's first look) that plan scans the tenant's issues
instead of using the primary key, which made each row cost a scan of thousands of issues. So
the writers analyze the table as their placeholders grow it (a few times in all, as the
backfill does; `repository.refresh_issue_statistics`), which also re-plans the cached checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.db import WriterLock, transaction
from app.observability.metrics import WEBHOOK_LAG
from app.timeutil import utc_now
from app.worklogs import repository
from app.worklogs.service import (
    DELETIONS,
    WorklogEvent,
    apply_events,
    refreshes_by_tenant,
    worklogs_by_tenant,
)

logger = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_WRITERS = 3
# Placeholder issues this process writes before it first looks at `jira_issues`' statistics,
# then after each doubling. Not fewer: statistics of a table of a few hundred rows would make
# a sequential scan the cached plan of every check while the table goes on growing.
FIRST_STATISTICS_CHECK = 500


class WebhookIngestor:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], writer_lock: WriterLock) -> None:
        self._sessions = sessions
        self._writer_lock = writer_lock
        self._pending: list[tuple[int, WorklogEvent, asyncio.Future[None]]] = []
        self._writers: set[asyncio.Task[None]] = set()
        # SQLite has one writer at a time anyway. PostgreSQL locks rows, so while one batch
        # waits for its commit to reach the disk the next can already be written.
        self._max_writers = 1 if writer_lock.serialises else MAX_WRITERS
        bind = sessions.kw.get("bind")
        self._engine: AsyncEngine | None = (
            bind if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql" else None
        )
        # Autocommit connections of writers between batches (PostgreSQL only).
        self._idle: list[AsyncConnection] = []
        self._issues_added = 0
        self._next_statistics_check = FIRST_STATISTICS_CHECK

    async def ingest(self, tenant_id: int, event: WorklogEvent) -> None:
        """Returns once the event is committed; raises if its transaction failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((tenant_id, event, done))
        if len(self._writers) < self._max_writers:
            writer = asyncio.create_task(self._write_all(), name="webhook-writer")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        # shield: a caller that goes away (client disconnect) must not cancel the write of
        # everyone else's events in the same batch.
        await asyncio.shield(done)

    async def _write_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            events = [(tenant, event) for tenant, event, _ in batch]
            try:
                try:
                    await self._write(events)
                except DBAPIError as exc:
                    # PostgreSQL ends a deadlock (a deletion and an update of one worklog in
                    # two overlapping batches) by aborting one side: write it once more.
                    # A connection that was cut (a failover, pg_terminate_backend, a
                    # restart) is retried on a fresh one: the writers' other idle
                    # connections were most likely cut with it, so none is reused.
                    if exc.connection_invalidated or _disconnected(exc):
                        await self._drop_idle()
                    await self._write(events)
            except Exception as exc:
                logger.exception("writing %d webhook events failed", len(batch))
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                committed = utc_now()
                for _, event, done in batch:
                    WEBHOOK_LAG.labels(event.name).observe(
                        max(0.0, (committed - event.at).total_seconds())
                    )
                    if not done.done():
                        done.set_result(None)

    async def _write(self, events: list[tuple[int, WorklogEvent]]) -> None:
        if self._engine is not None and all(e.name not in DELETIONS for _, e in events):
            await self._write_autocommit(self._engine, events)
            return
        async with self._writer_lock.hold(), transaction(self._sessions) as session:
            await apply_events(session, events)

    async def _write_autocommit(
        self, engine: AsyncEngine, events: list[tuple[int, WorklogEvent]]
    ) -> None:
        connection = self._idle.pop() if self._idle else await _autocommit_connection(engine)
        try:
            # Each its own committed statement: both are idempotent, so a retry of the batch
            # after the second failed rewrites the first harmlessly.
            self._issues_added += await repository.upsert_tenants_worklogs(
                connection, worklogs_by_tenant(events)
            )
            await repository.request_refreshes(connection, refreshes_by_tenant(events), utc_now())
        except BaseException:
            # Broken or not, this connection is not reused: the retry gets a fresh one.
            await _discard(connection)
            raise
        if self._issues_added >= self._next_statistics_check:
            self._next_statistics_check = 2 * self._issues_added
            try:
                await repository.refresh_issue_statistics(connection, self._issues_added)
            except Exception:
                # The batch is committed already: this must not fail it.
                logger.warning("refreshing jira_issues statistics failed", exc_info=True)
                await _discard(connection)
                return
        self._idle.append(connection)

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):  # dead already: closing it may fail too
                await _discard(connection)

    async def close(self) -> None:
        await asyncio.gather(*self._writers, return_exceptions=True)
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


def _disconnected(exc: DBAPIError) -> bool:
    """The server ended the connection (SQLSTATE 57P01-57P03: shutdown, crash, cannot
    connect now; class 08: connection exceptions). Not a deadlock or a serialization failure,
    which leave the connection usable."""
    state = getattr(exc.orig, "sqlstate", None) or ""
    return state in ("57P01", "57P02", "57P03") or state.startswith("08")


async def _discard(connection: AsyncConnection) -> None:
    await connection.invalidate()
    await connection.close()


async def _autocommit_connection(engine: AsyncEngine) -> AsyncConnection:
    connection = await engine.connect()
    return await connection.execution_options(isolation_level="AUTOCOMMIT")
