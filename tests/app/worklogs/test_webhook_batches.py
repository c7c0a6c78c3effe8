"""Batches of webhooks as the writer commits them: several tenants, duplicates and deletions
in one batch, and (PostgreSQL) the one-statement autocommit path of the webhook writers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from app.db import WriterLock, transaction
from app.worklogs import ingest, service
from app.worklogs.ingest import WebhookIngestor
from app.worklogs.models import JiraIssue, Worklog
from tests.app.worklogs.test_webhook_convergence import _event
from tests.conftest import own_postgres_database
from tests.support.db import add_tenant, cut_every_other_connection, session_factory


def _parsed(kind: str, worklog_id: int, version: int, seconds: int) -> service.WorklogEvent:
    return service.parse_webhook(_event(kind, worklog_id, version, seconds))


async def _rows(database_url: str) -> dict[tuple[int, int], Worklog]:
    async with session_factory(database_url) as sessions, sessions() as session:
        found = (await session.execute(select(Worklog))).scalars()
        return {(w.tenant_id, w.id): w for w in found}


async def test_one_batch_of_two_tenants_keeps_them_apart_and_the_newest_version(
    database_url: str,
) -> None:
    async with session_factory(database_url) as sessions:
        first = await add_tenant(sessions, "site-one")
        second = await add_tenant(sessions, "site-two")
        async with transaction(sessions) as session:
            await service.apply_events(
                session,
                [
                    (second, _parsed("worklog_updated", 7, 3, 3000)),
                    (first, _parsed("worklog_created", 7, 0, 600)),
                    (second, _parsed("worklog_created", 7, 0, 1200)),
                    (first, _parsed("worklog_updated", 7, 2, 900)),  # newest of site one
                    (first, _parsed("worklog_updated", 7, 1, 700)),
                    (first, _parsed("worklog_created", 8, 0, 60)),
                    (second, _parsed("worklog_deleted", 8, 1, 60)),  # never seen: tombstone
                ],
            )
        async with sessions() as session:
            issues = set((await session.execute(select(JiraIssue.tenant_id, JiraIssue.id))).all())
    rows = await _rows(database_url)
    assert {key: w.time_spent_seconds for key, w in rows.items()} == {
        (first, 7): 900,
        (first, 8): 60,
        (second, 7): 3000,
        (second, 8): 60,
    }
    assert [key for key, w in rows.items() if w.deleted_in_jira_at] == [(second, 8)]
    # Placeholders for each tenant's own issues, none for the other's.
    assert issues == {(first, 10_000), (first, 10_001), (second, 10_000), (second, 10_001)}


async def test_a_tombstone_stays_final_against_a_later_batch(database_url: str) -> None:
    async with session_factory(database_url) as sessions:
        tenant = await add_tenant(sessions)
        for batch in (
            [_parsed("worklog_created", 1, 0, 600), _parsed("worklog_deleted", 1, 1, 600)],
            [_parsed("worklog_updated", 1, 9, 7200), _parsed("worklog_created", 2, 0, 60)],
        ):
            async with transaction(sessions) as session:
                await service.apply_events(session, [(tenant, event) for event in batch])
    rows = await _rows(database_url)
    assert rows[(tenant, 1)].deleted_in_jira_at is not None
    assert rows[(tenant, 1)].time_spent_seconds == 600
    assert rows[(tenant, 2)].deleted_in_jira_at is None


async def test_the_ingestor_stores_every_event_before_it_returns(database_url: str) -> None:
    """On PostgreSQL batches without deletions go through the writers' own autocommit
    connections; batches with one through a transaction. Either way each event is stored
    when `ingest` returns."""
    async with session_factory(database_url) as sessions:
        tenant = await add_tenant(sessions)
        ingestor = WebhookIngestor(sessions, WriterLock(database_url))
        events = [_parsed("worklog_created", 100 + i, 0, 60 * (i + 1)) for i in range(60)]
        try:
            await asyncio.gather(*(ingestor.ingest(tenant, e) for e in events[:30]))
            await asyncio.gather(
                *(ingestor.ingest(tenant, e) for e in events[30:]),
                ingestor.ingest(tenant, _parsed("worklog_deleted", 100, 1, 60)),
            )
            rows = await _rows(database_url)
            # Stored by the time `ingest` returned, seen from another connection.
            assert {key[1]: w.time_spent_seconds for key, w in rows.items()} == {
                100 + i: 60 * (i + 1) for i in range(60)
            }
            assert [key[1] for key, w in rows.items() if w.deleted_in_jira_at] == [100]
        finally:
            await ingestor.close()


async def test_the_writers_analyze_jira_issues_as_their_placeholders_fill_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the writers analyze `jira_issues` once they have written enough
    placeholders; SQLite keeps no planner statistics, and on both every event is stored."""
    monkeypatch.setattr(ingest, "FIRST_STATISTICS_CHECK", 30)
    async with session_factory(database_url) as sessions:
        postgres = sessions.kw["bind"].dialect.name == "postgresql"
        tenant = await add_tenant(sessions)
        ingestor = WebhookIngestor(sessions, WriterLock(database_url))
        try:
            for start in range(0, 80, 20):  # 20 new issues per batch
                await asyncio.gather(
                    *(
                        ingestor.ingest(tenant, _with_issue(1000 + i, 50_000 + i))
                        for i in range(start, start + 20)
                    )
                )
        finally:
            await ingestor.close()
        async with sessions() as session:
            stored = await session.scalar(
                text("SELECT count(*) FROM worklogs WHERE tenant_id = :t"), {"t": tenant}
            )
            reltuples = (
                await session.scalar(
                    text("SELECT reltuples FROM pg_class WHERE oid = 'jira_issues'::regclass")
                )
                if postgres
                else None
            )
    assert stored == 80
    if postgres:
        # Never analyzed is -1; analyzed once the writers had written 30 placeholders or more.
        assert reltuples is not None and reltuples >= 30


def _with_issue(worklog_id: int, issue_id: int) -> service.WorklogEvent:
    payload = _event("worklog_created", worklog_id, 0, 60)
    payload["worklog"]["issueId"] = str(issue_id)
    return service.parse_webhook(payload)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    yield from own_postgres_database()


async def test_writers_whose_connections_were_cut_write_the_batch_on_a_fresh_one(
    postgres_url: str,
) -> None:
    """PostgreSQL cuts every connection at once (a failover, a restart, an operator's
    pg_terminate_backend): the writers' idle connections are all dead, and a batch tried
    on one of them is retried once on a fresh connection, so no webhook gets a 5xx."""
    async with session_factory(postgres_url) as sessions:
        tenant = await add_tenant(sessions)
        ingestor = WebhookIngestor(sessions, WriterLock(postgres_url))
        engine = sessions.kw["bind"]
        try:
            await ingestor.ingest(tenant, _parsed("worklog_created", 1, 0, 60))
            # As after a burst that kept all three writers busy: three idle connections.
            while len(ingestor._idle) < ingest.MAX_WRITERS:
                ingestor._idle.append(await ingest._autocommit_connection(engine))
            assert cut_every_other_connection(postgres_url) >= ingest.MAX_WRITERS

            await asyncio.gather(
                *(ingestor.ingest(tenant, _parsed("worklog_created", n, 0, 60 * n)) for n in (2, 3))
            )
            await ingestor.ingest(tenant, _parsed("worklog_updated", 1, 1, 600))
        finally:
            await ingestor.close()
        rows = await _rows(postgres_url)
    assert {key[1]: w.time_spent_seconds for key, w in rows.items()} == {1: 600, 2: 120, 3: 180}
