"""Background jobs of the mirror, and when they are asked for."""

from __future__ import annotations

from sqlalchemy import select

from app.runtime import Runtime
from app.tenants.models import Tenant
from app.worklogs.issues import resolve_issues, tenants_to_resolve
from app.worklogs.sync import run_worklog_sync

RECONCILE_EVERY_SECONDS = 300.0
# Webhooks only store; issues they name are resolved by this sweep, so a burst of events is
# one JQL search per tenant, not one per event.
RESOLVE_ISSUES_EVERY_SECONDS = 2.0


# The request_* functions are async only so that Starlette runs them on the event loop when
# they are handed over as background tasks (it runs plain functions in a thread pool).


async def request_sync(runtime: Runtime, tenant_id: int) -> None:
    async def job() -> None:
        await run_worklog_sync(runtime, tenant_id)
        # Issues Jira could not resolve inside the run are retried by the resolver.
        await resolve_issues(runtime, tenant_id)

    runtime.jobs.submit(f"worklog-sync:{tenant_id}", job)


async def request_issue_resolution(runtime: Runtime, tenant_id: int) -> None:
    async def job() -> None:
        await resolve_issues(runtime, tenant_id)

    runtime.jobs.submit(f"resolve-issues:{tenant_id}", job)


async def resolve_pending_issues(runtime: Runtime) -> None:
    """Periodic: every tenant with issues still to look up gets one resolution job."""
    for tenant_id in await tenants_to_resolve(runtime):
        await request_issue_resolution(runtime, tenant_id)


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
        await request_sync(runtime, tenant_id)


def start(runtime: Runtime, *, periodic: bool) -> None:
    """Wire the mirror into a running app: backfill when a site enables the app, and the
    periodic reconciliation."""

    async def on_enabled(tenant_id: int) -> None:
        await request_sync(runtime, tenant_id)

    runtime.tenant_hooks.enabled.append(on_enabled)
    if periodic:
        _schedule_periodic(runtime)


def _schedule_periodic(runtime: Runtime) -> None:
    async def reconcile() -> None:
        await reconcile_all(runtime)

    async def resolve() -> None:
        await resolve_pending_issues(runtime)

    runtime.jobs.every(RECONCILE_EVERY_SECONDS, "reconcile-all", reconcile)
    runtime.jobs.every(RESOLVE_ISSUES_EVERY_SECONDS, "resolve-issues-all", resolve)
