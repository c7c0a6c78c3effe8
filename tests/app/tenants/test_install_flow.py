"""Jira installs the app the way Jira does, and every lifecycle event is safe to repeat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from app.tenants.models import Tenant
from app.tenants.service import shared_secret
from tests.support.world import World, jira_world


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path) as world:
        yield world


async def tenants(world: World) -> list[Tenant]:
    async with world.runtime.sessions() as session:
        return list((await session.execute(select(Tenant))).scalars())


async def test_install_stores_the_site_with_its_secret_encrypted(world: World) -> None:
    installation = await world.install()
    [tenant] = await tenants(world)
    assert tenant.client_key == installation.client_key
    assert tenant.base_url == "https://acme.atlassian.net"
    assert tenant.product_type == "jira"
    assert tenant.installed and tenant.enabled
    assert installation.shared_secret not in tenant.shared_secret_encrypted
    assert shared_secret(world.runtime.secrets, tenant) == installation.shared_secret


async def test_reinstall_replaces_the_secret_and_keeps_one_row(world: World) -> None:
    first = await world.install()
    second = await world.install()
    assert first.client_key == second.client_key
    assert first.shared_secret != second.shared_secret
    [tenant] = await tenants(world)
    assert shared_secret(world.runtime.secrets, tenant) == second.shared_secret
    # The old secret no longer opens the API; the new one does.
    response = await world.api("GET", "/api/sync/worklogs")
    assert response.status_code == 200


async def test_uninstall_keeps_the_data_and_stops_the_tokens(world: World) -> None:
    await world.install()
    token_headers = world.context_headers("user-1")
    assert (await world.client.get("/api/sync/worklogs", headers=token_headers)).status_code == 200
    await world.jira.uninstall_app(world.site, world.app_key)
    [tenant] = await tenants(world)
    assert not tenant.installed and tenant.uninstalled_at is not None
    response = await world.client.get("/api/sync/worklogs", headers=token_headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "installation_inactive"
    # A reinstall brings the same tenant back.
    await world.install()
    [again] = await tenants(world)
    assert again.id == tenant.id and again.installed and again.enabled


async def test_disable_and_enable(world: World) -> None:
    await world.install()
    await world.jira.disable_app(world.site, world.app_key)
    response = await world.api("GET", "/api/sync/worklogs")
    assert response.status_code == 401
    assert "disabled" in response.json()["error"]["message"]
    await world.jira.enable_app(world.site, world.app_key)
    assert (await world.api("GET", "/api/sync/worklogs")).status_code == 200


async def test_every_lifecycle_event_delivered_twice_changes_nothing_more(world: World) -> None:
    await world.install()
    for event in ("installed", "enabled", "disabled", "uninstalled"):
        request = world.jira.lifecycle_request(world.site, world.app_key, event)
        first = await world.jira.send_lifecycle(request)
        again = await world.jira.send_lifecycle(request)
        assert (first.status_code, again.status_code) == (204, 204), event
    [tenant] = await tenants(world)
    assert not tenant.installed and not tenant.enabled


async def test_a_late_uninstalled_never_undoes_a_newer_install(world: World) -> None:
    now = world.jira.token_clock
    world.jira.token_clock = _shifted(now, -120)
    await world.install()
    stale_uninstalled = world.jira.lifecycle_request(world.site, world.app_key, "uninstalled")
    stale_disabled = world.jira.lifecycle_request(world.site, world.app_key, "disabled")
    world.jira.token_clock = now
    await world.install()  # reinstalled two minutes later: a newer iat and a new secret
    # The delayed callbacks arrive now (Jira retries, or a slow network).
    assert (await world.jira.send_lifecycle(stale_uninstalled)).status_code == 204
    # Signed with the replaced secret: refused, and changes nothing either way.
    assert (await world.jira.send_lifecycle(stale_disabled)).status_code == 401
    [tenant] = await tenants(world)
    assert tenant.installed and tenant.enabled


async def test_a_late_disabled_never_undoes_a_newer_enabled(world: World) -> None:
    await world.install()
    now = world.jira.token_clock
    world.jira.token_clock = _shifted(now, -120)
    stale_disabled = world.jira.lifecycle_request(world.site, world.app_key, "disabled")
    world.jira.token_clock = now
    enabled = world.jira.lifecycle_request(world.site, world.app_key, "enabled")
    assert (await world.jira.send_lifecycle(enabled)).status_code == 204
    assert (await world.jira.send_lifecycle(stale_disabled)).status_code == 204
    [tenant] = await tenants(world)
    assert tenant.enabled


async def test_disabled_and_uninstalled_racing_in_either_order_end_the_same(
    world: World,
) -> None:
    await world.install()
    disabled = world.jira.lifecycle_request(world.site, world.app_key, "disabled")
    uninstalled = world.jira.lifecycle_request(world.site, world.app_key, "uninstalled")
    assert (await world.jira.send_lifecycle(uninstalled)).status_code == 204
    assert (await world.jira.send_lifecycle(disabled)).status_code == 204
    [tenant] = await tenants(world)
    assert not tenant.installed and not tenant.enabled


async def test_uninstalled_for_a_site_we_never_saw_is_acknowledged(world: World) -> None:
    other = world.jira.add_site("https://other.atlassian.net")
    await world.install(other)
    request = world.jira.lifecycle_request(other, world.app_key, "uninstalled")
    async with world.runtime.sessions() as session:
        await session.execute(Tenant.__table__.delete())
        await session.commit()
    assert (await world.jira.send_lifecycle(request)).status_code == 204
    assert await tenants(world) == []


def _shifted(clock: Callable[[], float], seconds: float) -> Callable[[], float]:
    return lambda: clock() + seconds
