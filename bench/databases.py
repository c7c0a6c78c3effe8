"""What the benchmark scripts share: a fresh database per backend and the bench site.

Imported as `bench.databases` by scripts that put the project root on sys.path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from app.tenants.models import Tenant

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def fresh_database(backend: str, folder: Path, pg_name: str) -> str:
    """A SQLite file in `folder`, or the PostgreSQL database `pg_name` made anew."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{pg_name}"')
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{pg_name}"


def drop_database(pg_name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


async def add_bench_tenant(session: AsyncSession) -> int:
    """An installed site whose shared secret is never used (no request is signed)."""
    tenant = Tenant(
        client_key="bench",
        shared_secret_encrypted="v1.unused",  # noqa: S106 - never decrypted here
        base_url="https://bench.atlassian.net",
        product_type="jira",
        installed=True,
        enabled=True,
        install_event_iat=1,
        enable_event_iat=1,
        installed_at=datetime.now(UTC),
    )
    session.add(tenant)
    await session.flush()
    return tenant.id
