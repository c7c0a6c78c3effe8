"""The schema Alembic builds is the schema the models describe, on both backends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

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


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(_sync_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_the_forge_migration_keeps_every_connect_sites_data(empty_database_url: str) -> None:
    """0014 rebuilds `tenants` on SQLite (NOT NULL cannot be dropped there): the sites, and
    everything that hangs off them by foreign key, must come through untouched."""
    migrations.upgrade(empty_database_url, "0013")
    migrations.downgrade(empty_database_url, "0013")  # from head, if an earlier test left it
    assert _rows(empty_database_url, "SELECT version_num FROM alembic_version") == [("0013",)]
    engine = create_engine(_sync_url(empty_database_url))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO tenants (id, client_key, shared_secret_encrypted, base_url,"
                    " product_type, installed, enabled, install_event_iat, enable_event_iat,"
                    " installed_at, created_at, updated_at) VALUES (7, 'site-a', 'v1.x',"
                    " 'https://a.atlassian.net', 'jira', true, true, 5, 5,"
                    " '2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00',"
                    " '2026-11-01 00:00:00+00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO clients (id, tenant_id, name, name_key, currency, created_at,"
                    " updated_at) VALUES (3, 7, 'Acme', 'acme', 'USD',"
                    " '2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
                )
            )
    finally:
        engine.dispose()

    migrations.upgrade(empty_database_url)

    assert _rows(
        empty_database_url,
        "SELECT id, client_key, base_url, installed, cloud_id FROM tenants",
    ) == [(7, "site-a", "https://a.atlassian.net", True, None)]
    assert _rows(empty_database_url, "SELECT id, tenant_id, name FROM clients") == [(3, 7, "Acme")]
    engine = create_engine(_sync_url(empty_database_url))
    try:
        with engine.begin() as conn:
            # A site known only through Forge: no clientKey, secret or URL.
            conn.execute(
                text(
                    "INSERT INTO tenants (id, cloud_id, product_type, installed, enabled,"
                    " install_event_iat, enable_event_iat, created_at, updated_at) VALUES"
                    " (8, 'cloud-b', 'jira', false, false, 0, 0, '2026-11-02 00:00:00+00',"
                    " '2026-11-02 00:00:00+00')"
                )
            )
        # The foreign keys still hold, and still cascade.
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys=ON"))
            conn.execute(text("DELETE FROM tenants WHERE id = 7"))
    finally:
        engine.dispose()
    assert _rows(empty_database_url, "SELECT id FROM clients") == []
    assert _rows(empty_database_url, "SELECT id, cloud_id FROM tenants") == [(8, "cloud-b")]
    migrations.downgrade(empty_database_url, "0013")
    assert _rows(empty_database_url, "SELECT id FROM tenants") == []
    migrations.upgrade(empty_database_url)
