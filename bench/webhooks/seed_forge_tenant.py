"""Seed the site forge_loadgen.py sends events for (the state a Forge install leaves once
placed: a tenant known by its cloudId, and its live installation).

usage: python bench/webhooks/seed_forge_tenant.py DATABASE_URL INSTALLATION_ID CLOUD_ID API_BASE
"""

from __future__ import annotations

import asyncio
import sys

from app import migrations
from app.db import create_engine, create_session_factory, transaction
from app.tenants import forge_repository
from app.timeutil import utc_now


async def seed(database_url: str, installation_id: str, cloud_id: str, api_base: str) -> None:
    engine = create_engine(database_url)
    try:
        async with transaction(create_session_factory(engine)) as session:
            tenant = await forge_repository.create_site(
                session, cloud_id, "https://bench.atlassian.net"
            )
            row = await forge_repository.record_installed(
                session,
                {
                    "installation_id": installation_id,
                    "cloud_id": cloud_id,
                    "app_version": "1.0.0",
                    "environment_type": "PRODUCTION",
                    "environment_id": None,
                    "api_base_url": api_base,
                    "site_url": "https://bench.atlassian.net",
                },
                int(utc_now().timestamp()),
            )
            assert row is not None
            await forge_repository.attach(session, row.id, tenant.id)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url, installation_id, cloud_id, api_base = sys.argv[1:5]
    migrations.upgrade(url)
    asyncio.run(seed(url, installation_id, cloud_id, api_base))
    print(f"seeded Forge installation {installation_id} in {url}")
