"""Shared fixtures: real databases (a SQLite file and a PostgreSQL database), migrated with
Alembic once per session, emptied after each test.

Every test that asks for `database_url` runs once per backend. `W360_TEST_BACKENDS`
(`sqlite,postgresql` by default) narrows that for a quick local run; CI runs both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from app import migrations
from app.models import Base

POSTGRES_ADMIN_DSN = os.environ.get(
    "W360_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = [b.strip() for b in os.environ.get("W360_TEST_BACKENDS", "sqlite,postgresql").split(",")]


# Tests that drive many real processes or a browser: one pytest worker runs them one after
# another (scripts/test passes `--dist loadgroup`), so that a burst of four app processes
# never shares the machine's two cores with a browser waiting on a page.
HEAVY = (
    "tests/browser/",
    "tests/app/test_web_processes.py",
    "tests/app/test_api_fuzz.py",
    "tests/app/test_deploy.py",
    "tests/app/quickbooks/processes/",
    "tests/app/worklogs/test_worker_killed_mid_backfill.py",
    "tests/app/test_worker_processes.py",
    "tests/app/observability/test_worker_processes.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(HEAVY):
            item.add_marker(pytest.mark.xdist_group("heavy"))


def _create_postgres_database() -> tuple[str, str]:
    name = f"w360_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def own_postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database of its own, dropped after (for promises that hold only
    on PostgreSQL: the job queue, several processes on one database)."""
    name, url = _create_postgres_database()
    try:
        migrations.upgrade(url)
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def empty_database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, unmigrated database of the backend (for migration tests)."""
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "worklog360.db"
        yield f"sqlite:///{path}"
        return
    name, url = _create_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture(scope="session")
def migrated_database_url(empty_database_url: str) -> str:
    migrations.upgrade(empty_database_url)
    return empty_database_url


def _sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def empty_all_tables(url: str) -> None:
    engine = create_engine(_sync_url(url))
    try:
        with engine.begin() as conn:
            tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
            if engine.dialect.name == "postgresql":
                if tables:
                    conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                # Tenants first: finalized invoices may only go with their site (a trigger
                # refuses any other delete), and everything of a site cascades from it.
                conn.execute(text("DELETE FROM tenants"))
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(migrated_database_url: str) -> Iterator[str]:
    """A migrated database, emptied after the test."""
    yield migrated_database_url
    empty_all_tables(migrated_database_url)
