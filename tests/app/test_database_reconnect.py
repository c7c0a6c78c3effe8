"""PostgreSQL cutting every connection (a failover, a restart, an operator's
pg_terminate_backend) between two requests: the next request is answered normally, on a
fresh connection, with the data as it was (the pool checks a connection before it lends it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.assembly import open_runtime
from app.settings import Settings
from tests.conftest import own_postgres_database
from tests.support.db import cut_every_other_connection, other_connections
from tests.support.world import World, jira_world


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    yield from own_postgres_database()


@pytest.fixture
async def world(postgres_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(postgres_url, tmp_path) as world:
        await world.install()
        await world.settle()
        yield world


async def test_requests_after_every_connection_was_cut_are_answered(
    world: World, postgres_url: str
) -> None:
    created = await world.api("POST", "/api/clients", json={"name": "Acme", "currency": "USD"})
    assert created.status_code == 201, created.text
    assert cut_every_other_connection(postgres_url) >= 1

    listed = await world.api("GET", "/api/clients")
    assert listed.status_code == 200, listed.text
    assert [c["name"] for c in listed.json()["items"]] == ["Acme"]
    renamed = await world.api(
        "PATCH", f"/api/clients/{created.json()['id']}", json={"name": "Acme Corp"}
    )
    assert renamed.status_code == 200, renamed.text
    assert cut_every_other_connection(postgres_url) >= 1
    again = await world.api("GET", "/api/clients")
    assert [c["name"] for c in again.json()["items"]] == ["Acme Corp"]


async def test_a_request_whose_connection_is_cut_midway_says_so_and_the_next_one_works(
    world: World, postgres_url: str
) -> None:
    """The cut comes while the request waits in PostgreSQL (here on a row another session
    holds): the answer is a 503 in the user's terms, not a 500, and nothing half-done stays."""
    created = await world.api("POST", "/api/clients", json={"name": "Acme", "currency": "USD"})
    client_id = created.json()["id"]
    holder = await psycopg.AsyncConnection.connect(postgres_url)
    try:
        await holder.execute("SELECT 1 FROM clients WHERE id = %s FOR UPDATE", (client_id,))
        patch = asyncio.create_task(
            world.api("PATCH", f"/api/clients/{client_id}", json={"name": "Acme Corp"})
        )

        async def waiting_pid() -> int | None:
            async with await psycopg.AsyncConnection.connect(postgres_url) as watcher:
                cursor = await watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
                row = await cursor.fetchone()
            return int(row[0]) if row else None

        pid = None
        deadline = asyncio.get_running_loop().time() + 30
        while pid is None:
            assert asyncio.get_running_loop().time() < deadline, "the PATCH never waited"
            await asyncio.sleep(0.01)  # polling a condition with a deadline
            pid = await waiting_pid()
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        cut = await patch
    finally:
        await holder.rollback()
        await holder.close()

    assert cut.status_code == 503, cut.text
    assert cut.json()["error"]["code"] == "database_unavailable"
    assert "Reload to see what was saved, then try again" in cut.json()["error"]["message"]
    assert cut.headers["Retry-After"] == "1"
    listed = await world.api("GET", "/api/clients")
    assert [c["name"] for c in listed.json()["items"]] == ["Acme"]
    again = await world.api("PATCH", f"/api/clients/{client_id}", json={"name": "Acme Corp"})
    assert again.status_code == 200, again.text


async def _connected(engine: AsyncEngine) -> AsyncConnection:
    return await engine.connect()


async def test_the_pool_is_sized_by_its_settings(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path
) -> None:
    """W360_DB_POOL_SIZE and W360_DB_MAX_OVERFLOW reach the engine: with 2 + 1, three
    connections are lent at once (PostgreSQL sees them) and a fourth waits for one."""
    monkeypatch.setenv("W360_DB_POOL_SIZE", "2")
    monkeypatch.setenv("W360_DB_MAX_OVERFLOW", "1")
    settings = Settings(database_url=postgres_url, data_dir=tmp_path, auto_migrate=False)

    async with open_runtime(settings) as runtime:
        assert runtime.engine.pool.size() == 2  # type: ignore[attr-defined]
        before = other_connections(postgres_url)
        held = [await runtime.engine.connect() for _ in range(3)]
        fourth = None
        try:
            assert other_connections(postgres_url) - before == 3
            fourth = asyncio.create_task(_connected(runtime.engine))
            done, _ = await asyncio.wait({fourth}, timeout=0.5)
            assert not done  # the pool is full: it waits for a connection back
            await held.pop().close()
            held.append(await asyncio.wait_for(fourth, timeout=10))
        finally:
            if fourth is not None and not fourth.done():
                fourth.cancel()
            for connection in held:
                await connection.close()
