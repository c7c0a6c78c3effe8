"""The schema Alembic builds is the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app import migrations
from app.models import Base
from tests.conftest import _sync_url


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
