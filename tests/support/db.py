"""Direct database access for tests that exercise services without HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
