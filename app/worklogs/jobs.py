"""Background jobs of the mirror, and when they are asked for."""

from __future__ import annotations

from app.jobs import CATALOG
from app.runtime import Runtime
from app.tenants import repository as tenants
from app.worklogs import repository
from app.worklogs.issues import resolve_issues, tenants_to_resolve
from app.worklogs.refresh import refresh_worklogs, tenants_to_refresh
from app.worklogs.sync import WAITING, run_worklog_sync

RECONCILE_EVERY_SECONDS = 300
# Webhooks only store; issues they name are resolved by this sweep, so a burst of events is
# one JQL search per tenant, not one per event.
RESOLVE_ISSUES_EVERY_SECONDS = 2
# Forge's worklog events only store which worklogs to read; this sweep reads them from
# Jira, a thousand a call, like the issue sweep.
REFRESH_WORKLOGS_EVERY_SECONDS = 2

SYNC = "worklog-sync"
RESOLVE = "resolve-issues"
REFRESH = "refresh-worklogs"


@CATALOG.tenant_job(SYNC)
async def sync_tenant(runtime: Runtime, tenant_id: int) -> None:
    await run_worklog_sync(runtime, tenant_id)
    # Issues Jira could not resolve inside the run are retried by the resolver.
    await resolve_issues(runtime, tenant_id)


@CATALOG.tenant_job(RESOLVE)
async def resolve_tenant_issues(runtime: Runtime, tenant_id: int) -> None:
    await resolve_issues(runtime, tenant_id)


@CATALOG.tenant_job(REFRESH)
async def refresh_tenant_worklogs(runtime: Runtime, tenant_id: int) -> None:
    await refresh_worklogs(runtime, tenant_id)


# The request_* functions are async so that Starlette runs them on the event loop when they
# are handed over as background tasks (it runs plain functions in a thread pool).


async def request_sync(runtime: Runtime, tenant_id: int) -> None:
    await runtime.jobs.request(runtime, SYNC, tenant_id)


async def request_issue_resolution(runtime: Runtime, tenant_id: int) -> None:
    await runtime.jobs.request(runtime, RESOLVE, tenant_id)


async def request_worklog_refresh(runtime: Runtime, tenant_id: int) -> None:
    await runtime.jobs.request(runtime, REFRESH, tenant_id)


@CATALOG.periodic_job("resolve-issues-all", every_seconds=RESOLVE_ISSUES_EVERY_SECONDS)
async def resolve_pending_issues(runtime: Runtime) -> None:
    """Periodic: every tenant with issues still to look up gets one resolution job."""
    for tenant_id in await tenants_to_resolve(runtime):
        await request_issue_resolution(runtime, tenant_id)


@CATALOG.periodic_job("refresh-worklogs-all", every_seconds=REFRESH_WORKLOGS_EVERY_SECONDS)
async def refresh_pending_worklogs(runtime: Runtime) -> None:
    """Periodic: every tenant with worklogs to read from Jira gets one job."""
    for tenant_id in await tenants_to_refresh(runtime):
        await request_worklog_refresh(runtime, tenant_id)


@CATALOG.periodic_job("reconcile-all", every_seconds=RECONCILE_EVERY_SECONDS)
async def reconcile_all(runtime: Runtime) -> None:
    """Periodic: the mirror of every site with the app, through either door, is brought
    level with Jira (one waiting for a Forge token says so and does nothing more)."""
    async with runtime.sessions() as session:
        tenant_ids = await tenants.installed_tenant_ids(session)
    for tenant_id in tenant_ids:
        await request_sync(runtime, tenant_id)


def start(runtime: Runtime) -> None:
    """Wire the mirror into a running app: backfill when a site enables the app (Connect)
    or its Forge installation is placed; carry on when a waiting site gets a token."""

    async def on_enabled(tenant_id: int) -> None:
        await request_sync(runtime, tenant_id)

    async def on_jira_reachable(tenant_id: int) -> None:
        async with runtime.sessions() as session:
            state = (await repository.get_sync_state(session, tenant_id)) or ""
        if state == WAITING:
            await request_sync(runtime, tenant_id)

    runtime.tenant_hooks.enabled.append(on_enabled)
    runtime.tenant_hooks.jira_reachable.append(on_jira_reachable)
