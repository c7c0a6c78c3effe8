"""Readiness: the database answers, its schema is at the code's migration head, and, when
jobs are queued (W360_JOBS=worker), some `worklog360 worker` has beaten recently
(procrastinate's own `procrastinate_workers.last_heartbeat`, refreshed every 10 s)."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.migrations import alembic_config


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def migration_head(database_url: str) -> str:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    return ",".join(sorted(heads))


async def readiness(
    engine: AsyncEngine, *, head: str, worker_heartbeat_seconds: float | None
) -> list[Check]:
    checks: list[Check] = []
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            checks.append(Check("database", True, "reachable"))
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            current = ",".join(sorted(str(r[0]) for r in rows))
            checks.append(
                Check(
                    "migrations",
                    current == head,
                    f"database at {current or 'nothing'}, code at {head}",
                )
            )
            if worker_heartbeat_seconds is not None:
                age = (
                    await conn.execute(
                        text(
                            "SELECT EXTRACT(EPOCH FROM now() - max(last_heartbeat))"
                            " FROM procrastinate_workers"
                        )
                    )
                ).scalar()
                fresh = age is not None and float(age) <= worker_heartbeat_seconds
                detail = (
                    "no worker registered"
                    if age is None
                    else f"last worker heartbeat {float(age):.0f} s ago"
                )
                checks.append(Check("worker", fresh, detail))
    except Exception as exc:  # the database is down, or the schema is not there yet
        failed = "database" if not checks else "migrations"
        checks.append(Check(failed, False, type(exc).__name__))
    return checks
