"""Apply Alembic migrations from code (`worklog360 migrate`, `serve`, tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config

from app.db import conninfo, enforced_by_trigger_on_postgresql
from app.settings import PROJECT_ROOT

JOB_QUEUE_PREFIX = "procrastinate"  # migration 0013's tables, procrastinate's own schema


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


# Held while migrating on PostgreSQL: every `serve` and `worker` process migrates on start
# (W360_AUTO_MIGRATE), and a deploy starts many at once.
MIGRATION_LOCK = 360_0001


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Runs its own event loop: call it outside one. On
    PostgreSQL one process migrates at a time; the others then find nothing to do."""
    if not database_url.startswith(("postgresql:", "postgres:")):
        command.upgrade(alembic_config(database_url), revision)
        return
    with psycopg.connect(conninfo(database_url), autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            command.upgrade(alembic_config(database_url), revision)
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def include_object_for(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's `include_object` for comparing the models with a `dialect` database: the
    foreign keys PostgreSQL enforces with triggers are not expected there as constraints."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = getattr(getattr(obj, "table", None), "name", None) or ""
        if (name or "").startswith(JOB_QUEUE_PREFIX) or table.startswith(JOB_QUEUE_PREFIX):
            return False  # the job queue's schema is procrastinate's, not our models'
        return not (
            dialect == "postgresql"
            and type_ == "foreign_key_constraint"
            and enforced_by_trigger_on_postgresql(obj)
        )

    return include
