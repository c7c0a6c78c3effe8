"""Background jobs of the mirror, and when they are asked for."""

from __future__ import annotations

from sqlalchemy import select

from app.runtime import Runtime
from app.tenants.models import Tenant
from app.worklogs.issues import resolve_issues
from app.worklogs.sync import run_worklog_sync

RECONCILE_EVERY_SECONDS = 300.0


def request_sync(runtime: Runtime, tenant_id: int) -> None:
    async def job() -> None:
        await run_worklog_sync(runtime, tenant_id)
        # Issues Jira could not resolve inside the run are retried by the resolver.
        await resolve_issues(runtime, tenant_id)

    runtime.jobs.submit(f"worklog-sync:{tenant_id}", job)


def request_issue_resolution(runtime: Runtime, tenant_id: int) -> None:
    async def job() -> None:
        await resolve_issues(runtime, tenant_id)

    runtime.jobs.submit(f"resolve-issues:{tenant_id}", job)


async def reconcile_all(runtime: Runtime) -> None:
    """Periodic: every active tenant's mirror is brought level with Jira."""
    async with runtime.sessions() as session:
        tenant_ids = list(
            (
                await session.execute(
                    select(Tenant.id).where(Tenant.installed.is_(True), Tenant.enabled.is_(True))
                )
            ).scalars()
        )
    for tenant_id in tenant_ids:
        request_sync(runtime, tenant_id)


def schedule_periodic(runtime: Runtime) -> None:
    async def job() -> None:
        await reconcile_all(runtime)

    runtime.jobs.every(RECONCILE_EVERY_SECONDS, "reconcile-all", job)
