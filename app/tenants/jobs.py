"""The tenants' periodic job: purging sites uninstalled for longer than the retention."""

from __future__ import annotations

from app.jobs import CATALOG
from app.runtime import Runtime
from app.tenants.retention import purge_departed_sites

PURGE_EVERY_SECONDS = 24 * 3600


@CATALOG.periodic_job("purge-uninstalled-sites", every_seconds=PURGE_EVERY_SECONDS)
async def purge_uninstalled_sites(runtime: Runtime) -> None:
    await purge_departed_sites(runtime)
