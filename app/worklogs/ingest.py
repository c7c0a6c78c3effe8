"""Group commit for Jira's worklog webhooks.

Each webhook is authenticated and validated on its own, then handed to the writer and its
request waits until the transaction holding it has committed: a 2xx still means durable.
The writer takes everything that arrived while the previous transaction was committing and
writes it in one transaction, so under load there is one commit per batch, not per event.
No timers: a lone webhook is written at once. Rows are written in key order (see the
repository), so overlapping transactions on PostgreSQL cannot deadlock on each other.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import WriterLock, transaction
from app.worklogs.service import WorklogEvent, apply_events

logger = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_WRITERS = 3


class WebhookIngestor:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], writer_lock: WriterLock) -> None:
        self._sessions = sessions
        self._writer_lock = writer_lock
        self._pending: list[tuple[int, WorklogEvent, asyncio.Future[None]]] = []
        self._writers: set[asyncio.Task[None]] = set()
        # SQLite has one writer at a time anyway. PostgreSQL locks rows, so while one batch
        # waits for its commit to reach the disk the next can already be written.
        self._max_writers = 1 if writer_lock.serialises else MAX_WRITERS

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
                except DBAPIError:
                    # PostgreSQL ends a deadlock (a deletion and an update of one worklog in
                    # two overlapping batches) by aborting one side: write it once more.
                    await self._write(events)
            except Exception as exc:
                logger.exception("writing %d webhook events failed", len(batch))
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _write(self, events: list[tuple[int, WorklogEvent]]) -> None:
        async with self._writer_lock.hold(), transaction(self._sessions) as session:
            await apply_events(session, events)

    async def close(self) -> None:
        await asyncio.gather(*self._writers, return_exceptions=True)
