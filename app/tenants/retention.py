"""A site's data after the app is uninstalled: kept `W360_RETENTION_DAYS` (30 by default),
so that a reinstall in that time finds everything as it was (the same tenant: Connect by its
clientKey, with the new shared secret; Forge by the site's cloudId, with the new
installationId), then purged by a daily job: every row of the site, finalized invoices
included, goes with its tenant row (the lock triggers let a finalized invoice go only with
its site). Disabling the app is not uninstalling it: a disabled site is kept.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.db import transaction
from app.runtime import Runtime
from app.tenants import repository

logger = logging.getLogger(__name__)


def retention_cutoff(runtime: Runtime, now: datetime | None = None) -> datetime:
    """Sites uninstalled before this are purged."""
    return (now or runtime.clock.now()) - timedelta(days=runtime.settings.retention_days)


async def purge_departed_sites(runtime: Runtime) -> list[int]:
    """Purge every site uninstalled for longer than the retention period; their ids. Each
    site in its own transaction, so one that fails does not keep the others."""
    cutoff = retention_cutoff(runtime)
    async with runtime.sessions() as session:
        candidates = await repository.departed_before(session, cutoff)
    purged: list[int] = []
    for tenant_id in candidates:
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            if await repository.purge(session, tenant_id, cutoff):
                purged.append(tenant_id)
                logger.info(
                    "purged the data of tenant=%s, uninstalled before %s", tenant_id, cutoff
                )
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        await repository.purge_unplaced_installations(session, cutoff)
    return purged
