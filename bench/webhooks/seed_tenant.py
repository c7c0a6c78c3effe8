"""Seed the tenant loadgen.py signs as (the state a signed `installed` call leaves).

usage: python bench/webhooks/seed_tenant.py DATABASE_URL CLIENT_KEY SHARED_SECRET BASE_URL
Uses W360_SECRET_KEY from the environment, like the app it seeds for.
"""

from __future__ import annotations

import asyncio
import sys

from app import migrations
from app.crypto import SecretBox
from app.db import create_engine, create_session_factory, transaction
from app.settings import Settings
from app.tenants import repository
from app.tenants.service import _secret_context


async def seed(database_url: str, client_key: str, secret: str, base_url: str) -> None:
    box = SecretBox(Settings().effective_secret_key)
    engine = create_engine(database_url)
    try:
        async with transaction(create_session_factory(engine)) as session:
            await repository.upsert_installed(
                session,
                {
                    "client_key": client_key,
                    "shared_secret_encrypted": box.encrypt(
                        secret, context=_secret_context(client_key)
                    ),
                    "base_url": base_url,
                    "display_url": None,
                    "product_type": "jira",
                    "description": "benchmark tenant",
                    "oauth_client_id": None,
                    "service_entitlement_number": None,
                },
                2_000_000_000,
            )
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url, key, secret, base = sys.argv[1:5]
    migrations.upgrade(url)
    asyncio.run(seed(url, key, secret, base))
    print(f"seeded tenant {key} in {url}")
