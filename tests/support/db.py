"""Direct database access for tests that exercise services without HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import create_engine, create_session_factory, transaction
from app.tenants import repository as tenants


@asynccontextmanager
async def session_factory(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def add_tenant(
    sessions: async_sessionmaker[AsyncSession], client_key: str = "tenant-a"
) -> int:
    async with transaction(sessions) as session:
        await tenants.upsert_installed(
            session,
            {
                "client_key": client_key,
                "shared_secret_encrypted": "v1.unused-in-service-tests",
                "base_url": f"https://{client_key}.atlassian.net",
                "display_url": None,
                "product_type": "jira",
                "description": None,
                "oauth_client_id": None,
                "service_entitlement_number": None,
            },
            1,
        )
        tenant = await tenants.get_by_client_key(session, client_key)
        assert tenant is not None
        return tenant.id


def _count(postgres_url: str, what: str = "*", where: str = "true") -> int:
    """`count(<what>)` over the other connections to the database that match `where`
    (pg_stat_activity's columns)."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT count({what}) FROM pg_stat_activity"
            f" WHERE datname = current_database() AND pid <> pg_backend_pid() AND ({where})"
        ).fetchone()
    return int(row[0]) if row else 0


def cut_every_other_connection(postgres_url: str) -> int:
    """What a failover, a restart or an operator's pg_terminate_backend does to the app: every
    connection to the database but this one is ended. How many were."""
    return _count(postgres_url, "pg_terminate_backend(pid)")


def other_connections(postgres_url: str) -> int:
    return _count(postgres_url)


def connections_waiting_on_a_lock(postgres_url: str) -> int:
    return _count(postgres_url, where="wait_event_type = 'Lock'")
