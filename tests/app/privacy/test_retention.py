"""An uninstalled site's data is kept for the retention period (30 days by default), then
the daily job purges all of it, finalized invoices included; a reinstall inside the period
finds everything again. Through both doors, with the real job and the runtime's clock moved
forward instead of waiting a month."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.jobs import CATALOG
from tests.app.privacy.sites import BilledSite, bill_site, read_back, rows_of
from tests.support.world import World, jira_world

DAY = 24 * 3600.0
OTHER_SITE_URL = "https://globex.atlassian.net"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path, forge=True) as world:
        yield world


async def purge_job(world: World) -> None:
    """The daily job, as the runners find it in the catalog."""
    await CATALOG.periodic["purge-uninstalled-sites"].run(world.runtime)


async def two_sites(world: World, *, forge: bool) -> tuple[BilledSite, BilledSite]:
    leaving = await bill_site(world, world.site, forge=forge)
    staying = await bill_site(world, world.jira.add_site(OTHER_SITE_URL), forge=forge)
    return leaving, staying


async def uninstall(world: World, billed: BilledSite) -> None:
    if billed.forge:
        await world.uninstall_forge(billed.site)
    else:
        await world.jira.uninstall_app(billed.site, world.app_key)


@pytest.mark.parametrize("forge", [False, True], ids=["connect", "forge"])
async def test_a_site_is_kept_29_days_after_uninstall_then_purged_whole(
    world: World, forge: bool
) -> None:
    leaving, staying = await two_sites(world, forge=forge)
    held = await rows_of(world, leaving.tenant_id)
    assert held["invoices"] == 1 and held["invoice_lines"] == 2 and held["worklogs"] == 2
    others = await rows_of(world, staying.tenant_id)
    others_see = await read_back(world, staying)

    await uninstall(world, leaving)
    world.advance(29 * DAY)
    await purge_job(world)
    assert await rows_of(world, leaving.tenant_id) == held

    world.advance(1 * DAY + 60)
    await purge_job(world)
    gone = await rows_of(world, leaving.tenant_id)
    assert {table: n for table, n in gone.items() if n} == {}
    # The other site keeps every row, and its people see the same as before.
    assert await rows_of(world, staying.tenant_id) == others
    assert await read_back(world, staying) == others_see


async def test_a_disabled_site_is_not_purged(world: World) -> None:
    billed = await bill_site(world, world.site)
    held = await rows_of(world, billed.tenant_id)
    await world.jira.disable_app(world.site, world.app_key)
    world.advance(60 * DAY)
    await purge_job(world)
    assert await rows_of(world, billed.tenant_id) == held


async def test_a_connect_reinstall_on_day_10_restores_everything(world: World) -> None:
    billed = await bill_site(world, world.site)
    before = await read_back(world, billed)
    old_secret = world.site.installation(world.app_key).shared_secret

    await uninstall(world, billed)
    world.advance(10 * DAY)
    await world.install()  # Jira sends a new sharedSecret
    assert world.site.installation(world.app_key).shared_secret != old_secret
    world.advance(25 * DAY)
    await purge_job(world)

    assert await read_back(world, billed) == before


async def test_a_forge_reinstall_on_day_10_restores_everything(world: World) -> None:
    billed = await bill_site(world, world.site, forge=True)
    before = await read_back(world, billed)
    first = world.jira.forge.installation(world.site, world.forge)

    await uninstall(world, billed)
    world.advance(10 * DAY)
    second = await world.install_forge()
    await world.settle()
    assert first is not None and second.installation_id != first.installation_id
    world.advance(25 * DAY)
    await purge_job(world)

    assert await read_back(world, billed) == before
