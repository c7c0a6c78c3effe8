"""QuickBooks upkeep in the background: keep every connection's refresh token alive, and
follow synced invoices' status and payments (change data capture, asked for by webhooks and
run hourly for what webhooks missed).

Intuit's refresh token lapses after 100 days without use, so each connected company is
refreshed about once a day. The check runs hourly (a process restarted daily would never
reach a 24-hour timer) and skips connections refreshed in the last 20 hours, so several
processes running it cost no extra refreshes.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from app.errors import AppError
from app.jobs import CATALOG
from app.quickbooks import changes, repository, service
from app.quickbooks.tokens import refresh_now
from app.runtime import Runtime

logger = logging.getLogger(__name__)

KEEP_ALIVE_EVERY_SECONDS = 3600
REFRESH_AFTER = timedelta(hours=20)
# Webhooks bring changes within seconds; this sweep only catches what they missed, and
# costs one metered call per company with synced invoices.
CHANGES_EVERY_SECONDS = 3600


async def keep_connections_alive(runtime: Runtime) -> int:
    """Refresh every connected company not refreshed lately; how many were refreshed."""
    since = runtime.quickbooks.now() - REFRESH_AFTER
    async with runtime.sessions() as session:
        tenant_ids = await repository.live_connection_tenants(session, since)
    refreshed = 0
    for tenant_id in tenant_ids:
        try:
            if await refresh_now(runtime, tenant_id, unless_refreshed_since=since):
                refreshed += 1
        except AppError as exc:
            # Marked expired (invalid_grant) or Intuit is down: the page says so; go on.
            logger.warning("QuickBooks keep-alive for tenant %s: %s", tenant_id, exc.message)
    await service.forget_used_states(runtime)
    return refreshed


CHANGES = "quickbooks-changes"


@CATALOG.tenant_job(CHANGES)
async def follow_tenant_changes(runtime: Runtime, tenant_id: int) -> None:
    await changes.run_changes(runtime, tenant_id)


async def request_changes(runtime: Runtime, tenant_id: int) -> None:
    """Read the tenant's company's changes soon; requests while a run is going make one
    more run, not one each."""
    await runtime.jobs.request(runtime, CHANGES, tenant_id)


@CATALOG.periodic_job("quickbooks-changes-all", every_seconds=CHANGES_EVERY_SECONDS)
async def follow_all(runtime: Runtime) -> None:
    for tenant_id in await changes.tenants_to_follow(runtime):
        await request_changes(runtime, tenant_id)


@CATALOG.periodic_job("quickbooks-keep-alive", every_seconds=KEEP_ALIVE_EVERY_SECONDS)
async def keep_alive(runtime: Runtime) -> None:
    await keep_connections_alive(runtime)
