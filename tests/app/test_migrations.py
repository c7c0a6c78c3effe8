"""The schema Alembic builds is the schema the models describe, on both backends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from app import migrations
from app.models import Base
from tests.conftest import _create_postgres_database, _drop_postgres_database, _sync_url


def test_models_and_migrations_agree(migrated_database_url: str) -> None:
    engine = create_engine(_sync_url(migrated_database_url))
    try:
        with engine.connect() as conn:
            opts = {
                "compare_type": True,
                "include_object": migrations.include_object_for(conn.dialect.name),
            }
            context = MigrationContext.configure(conn, opts=opts)
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_migrations_run_down_to_nothing_and_up_again(empty_database_url: str) -> None:
    migrations.upgrade(empty_database_url)
    migrations.downgrade(empty_database_url, "base")
    engine = create_engine(_sync_url(empty_database_url))
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    migrations.upgrade(empty_database_url)
    engine = create_engine(_sync_url(empty_database_url))
    try:
        assert "tenants" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_processes_starting_at_once_migrate_one_after_another() -> None:
    """A deploy starts many `serve` and `worker` processes, each migrating on start: on
    PostgreSQL they take turns (an advisory lock), and all of them start."""
    name, url = _create_postgres_database()
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            done = [pool.submit(migrations.upgrade, url) for _ in range(3)]
            for future in done:
                future.result()  # raises if a process failed to migrate
        with psycopg.connect(url) as conn:
            [(version,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert (
            version
            == ScriptDirectory.from_config(migrations.alembic_config(url)).get_current_head()
        )
    finally:
        _drop_postgres_database(name)
