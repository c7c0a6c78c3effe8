"""Forge installations: lifecycle events delivered by the emulated Forge, twice, late and out
of order, and one site reached through both doors seeing the same data."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import select, text

from app.tenants.forge_service import system_token
from app.tenants.models import ForgeInstallation, Tenant
from app.worklogs.jobs import reconcile_all
from sandbox.jira import ForgeInstallation as JiraForgeInstallation
from sandbox.jira.forge import INSTALLED, UPGRADED
from tests.support.world import World, jira_world

CLIENT = {"name": "Globex", "currency": "USD", "hourly_rate": "120.00"}


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path, forge=True) as world:
        yield world


async def installations(world: World) -> list[ForgeInstallation]:
    async with world.runtime.sessions() as session:
        result = await session.execute(select(ForgeInstallation).order_by(ForgeInstallation.id))
        return list(result.scalars())


async def tenants(world: World) -> list[Tenant]:
    async with world.runtime.sessions() as session:
        return list((await session.execute(select(Tenant).order_by(Tenant.id))).scalars())


async def replay(world: World, installation: JiraForgeInstallation, event: str) -> int:
    """Forge (re)delivering an event now, with a fresh token, as its retries do."""
    forge = world.jira.forge
    request = (
        forge.pre_uninstall_request(installation)
        if event == "preUninstall"
        else forge.lifecycle_request(installation, event)
    )
    return (await forge.send(request)).status_code


def ui_token(world: World, installation: JiraForgeInstallation, account_id: str) -> str:
    forge = world.jira.forge
    claims = forge.invocation_claims(
        installation, account_id=account_id, module_type="jira:globalPage", ui=True
    )
    return forge.mint(claims)


async def forge_get(
    world: World, installation: JiraForgeInstallation, path: str, account_id: str = "user-admin"
) -> Any:
    """A UI call as invokeRemote makes it: the FIT, and the app system token."""
    token = ui_token(world, installation, account_id)
    headers = {
        "Authorization": f"Bearer {token}",
        "x-forge-oauth-system": world.jira.forge.system_token(installation),
    }
    return await world.client.get(path, headers=headers)


# --- installed, upgraded, uninstalled --------------------------------------------------------


async def test_installed_records_the_installation_and_its_token_encrypted(world: World) -> None:
    installation = await world.install_forge()

    [row] = await installations(world)
    assert row.installation_id == installation.installation_id
    assert row.cloud_id == world.site.cloud_id
    assert row.api_base_url == f"https://api.atlassian.com/ex/jira/{world.site.cloud_id}"
    assert row.app_version == "1.0.0"
    assert row.environment_type == "PRODUCTION"
    assert row.installed
    [delivered] = installation.system_tokens
    assert row.system_token_encrypted is not None
    assert delivered not in row.system_token_encrypted
    assert system_token(world.runtime.secrets, row) == delivered
    exp = jwt.decode(delivered, options={"verify_signature": False})["exp"]
    assert row.system_token_expires_at == datetime.fromtimestamp(exp, UTC)
    async with world.runtime.engine.connect() as conn:
        dump = " ".join(
            str(v) for r in await conn.execute(text("SELECT * FROM forge_installations")) for v in r
        )
    assert delivered not in dump
    # A lifecycle event names the site by cloudId only: Jira says its URL (serverInfo, asked
    # through the gateway with the system token), and the installation is placed on the
    # site's tenant before anything is stored for it.
    [tenant] = await tenants(world)
    assert row.tenant_id == tenant.id
    assert tenant.base_url == world.site.base_url and tenant.cloud_id == world.site.cloud_id
    assert tenant.client_key is None
    assert world.site.gateway_calls.count("GET", "/rest/api/3/serverInfo") == 1
    assert [a.status_code for d in world.jira.forge.deliveries for a in d.attempts] == [204]


async def test_the_system_token_is_never_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    installation = await world.install_forge()
    world.site.add_project("ALPHA", "Alpha")
    issue = world.site.add_issue("ALPHA", "Build it").id
    world.site.add_worklog(
        issue, "user-1", started="2026-11-02T09:00:00.000+0000", time_spent_seconds=60
    )
    await world.forge_api("GET", "/api/clients")
    await world.jira.forge.run_scheduled(world.site, world.forge)
    await world.settle()  # the backfill, the event, and the worklog read through the gateway
    assert world.site.gateway_calls.count("POST", "/rest/api/3/worklog/list") >= 1
    # And a token Jira refuses is forgotten without being named.
    world.jira.token_clock = lambda: time.time() + 5 * 3600  # type: ignore[method-assign]
    await reconcile_all(world.runtime)
    await world.runtime.jobs.drain()
    [token] = installation.system_tokens
    assert token not in caplog.text
    assert token.split(".")[1] not in caplog.text
    assert token.split(".")[2] not in caplog.text


async def test_installed_twice_changes_nothing_more(world: World) -> None:
    installation = await world.install_forge()
    await world.forge_api("GET", "/api/clients")
    before = [(r.installation_id, r.tenant_id, r.installed) for r in await installations(world)]

    assert await replay(world, installation, INSTALLED) == 204
    assert await replay(world, installation, INSTALLED) == 204

    after = [(r.installation_id, r.tenant_id, r.installed) for r in await installations(world)]
    assert after == before
    assert len(await tenants(world)) == 1


async def test_upgraded_records_the_new_version(world: World) -> None:
    await world.install_forge()
    delivery = await world.jira.forge.upgrade(world.site, world.forge, "2.0.0")
    assert delivery is not None and delivery.delivered
    [row] = await installations(world)
    assert row.app_version == "2.0.0" and row.installed


async def test_uninstall_stops_the_installation_and_keeps_the_sites_data(world: World) -> None:
    await world.install()
    await world.install_forge()
    assert (await world.forge_api("POST", "/api/clients", json=CLIENT)).status_code == 201

    await world.uninstall_forge()

    [row] = await installations(world)
    assert not row.installed and row.uninstalled_at is not None
    assert row.system_token_encrypted is None and row.system_token_expires_at is None
    clients = await world.api("GET", "/api/clients")  # the Connect door still has it all
    assert [c["name"] for c in clients.json()["items"]] == ["Globex"]


async def test_a_late_installed_of_an_uninstalled_id_never_brings_it_back(world: World) -> None:
    installation = await world.install_forge()
    await world.forge_api("GET", "/api/clients")
    await world.uninstall_forge()

    # Forge retrying the old `installed` minutes later: a fresh token, the old id.
    assert await replay(world, installation, INSTALLED) == 204
    assert await replay(world, installation, UPGRADED) == 204

    [row] = await installations(world)
    assert not row.installed
    response = await forge_get(world, installation, "/api/clients")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "installation_inactive"


async def test_preuninstall_before_installed_still_wins(world: World) -> None:
    installation = world.jira.forge.new_installation(world.site, world.forge)
    assert await replay(world, installation, "preUninstall") == 204
    assert await replay(world, installation, INSTALLED) == 204

    [row] = await installations(world)
    assert not row.installed
    assert (await forge_get(world, installation, "/api/clients")).status_code == 401


async def test_uninstall_twice_is_harmless(world: World) -> None:
    installation = await world.install_forge()
    await world.uninstall_forge()
    assert await replay(world, installation, "preUninstall") == 204
    [row] = await installations(world)
    assert not row.installed


async def test_a_reinstall_is_a_new_installation_of_the_same_tenant(world: World) -> None:
    await world.install()
    first = await world.install_forge()
    created = await world.forge_api("POST", "/api/clients", json=CLIENT)
    assert created.status_code == 201
    await world.uninstall_forge()

    second = await world.install_forge()
    assert second.installation_id != first.installation_id

    listed = await world.forge_api("GET", "/api/clients")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["items"]] == [created.json()["id"]]
    rows = await installations(world)
    assert [(r.installation_id, r.installed) for r in rows] == [
        (first.installation_id, False),
        (second.installation_id, True),
    ]
    assert {r.tenant_id for r in rows} == {t.id for t in await tenants(world)}


async def test_a_new_installation_replaces_the_old_one_whose_late_events_are_ignored(
    world: World,
) -> None:
    """A reinstall whose preUninstall never reached us: the newer installation wins."""
    old = await world.install_forge()
    await world.forge_api("GET", "/api/clients")
    # Forge lost the uninstall (it does not wait for preUninstall): the id just changes.
    world.jira.forge.installations.pop((world.site.name, world.forge.app_id))
    world.jira.clock.advance(1)
    new = await world.install_forge()
    assert (await world.forge_api("GET", "/api/clients")).status_code == 200

    assert await replay(world, old, INSTALLED) == 204

    states = {r.installation_id: r.installed for r in await installations(world)}
    assert states == {old.installation_id: False, new.installation_id: True}
    assert (await forge_get(world, old, "/api/clients")).status_code == 401
    assert (await forge_get(world, new, "/api/clients")).status_code == 200


async def test_a_ui_call_before_its_installed_event_installs_it(world: World) -> None:
    """The install event can be late (Forge retries for minutes) or lost: the first call
    from an installation is taken as its install, once."""
    installation = world.jira.forge.new_installation(world.site, world.forge)
    response = await forge_get(world, installation, "/api/me")
    assert response.status_code == 200
    assert response.json()["account_id"] == "user-admin"

    assert await replay(world, installation, INSTALLED) == 204  # then it arrives
    [row] = await installations(world)
    assert row.installed and row.tenant_id is not None
    [tenant] = await tenants(world)
    assert (tenant.cloud_id, tenant.base_url, tenant.client_key) == (
        world.site.cloud_id,
        world.site.base_url,
        None,
    )


async def test_a_ui_calls_token_cannot_drive_the_lifecycle(world: World) -> None:
    """A browser can hold a UI call's token (requestRemote): it must not uninstall a site."""
    installation = await world.install_forge()
    await world.forge_api("GET", "/api/clients")
    token = ui_token(world, installation, "user-admin")
    for path in ("/forge/uninstall", "/forge/lifecycle"):
        response = await world.client.post(
            path, json={"eventType": INSTALLED}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "forge_not_a_trigger"
    [row] = await installations(world)
    assert row.installed


async def test_lifecycle_calls_without_a_forge_token_are_refused(world: World) -> None:
    for headers in ({}, {"Authorization": "JWT abc"}, {"Authorization": "Bearer not.a.jwt"}):
        response = await world.client.post("/forge/lifecycle", json={}, headers=headers)
        assert response.status_code == 401
        assert set(response.json()["error"]) == {"code", "message"}
    assert await installations(world) == []


async def test_an_event_the_lifecycle_endpoint_does_not_take_is_acknowledged(
    world: World,
) -> None:
    installation = world.jira.forge.new_installation(world.site, world.forge)
    request = world.jira.forge.lifecycle_request(installation, INSTALLED)
    request.body["eventType"] = "avi:jira:created:issue"
    assert (await world.jira.forge.send(request)).status_code == 204
    assert await installations(world) == []


async def test_a_failing_delivery_is_retried_with_fresh_tokens_and_lands_once(
    world: World,
) -> None:
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)
        world.jira.forge.sleep = record_only  # the app is back after the first retry wait

    async def record_only(seconds: float) -> None:
        sleeps.append(seconds)

    world.jira.forge.sleep = record
    installation = world.jira.forge.new_installation(world.site, world.forge)
    tokens: list[str] = []

    def build(retry: dict[str, Any] | None) -> Any:
        request = world.jira.forge.lifecycle_request(installation, INSTALLED, retry)
        tokens.append(request.headers["Authorization"])
        if retry is None:
            request.headers["Authorization"] = "Bearer broken"  # the first attempt fails
        return request

    delivery = await world.jira.forge.deliver(build)

    assert [a.status_code for a in delivery.attempts] == [401, 204]
    assert sleeps == [60.0]
    assert len(set(tokens)) == 2
    [row] = await installations(world)
    assert row.installed


# --- one site, two doors ---------------------------------------------------------------------


async def test_connect_first_then_forge_one_site_sees_the_same_data(world: World) -> None:
    await world.install()
    created = await world.api("POST", "/api/clients", json=CLIENT)
    assert created.status_code == 201
    await world.connect_quickbooks()

    await world.install_forge()  # no URL in a lifecycle event: placed at the first UI call
    through_forge = await world.forge_api("GET", f"/api/clients/{created.json()['id']}")

    assert through_forge.status_code == 200
    assert through_forge.json() == created.json()
    connection = (await world.forge_api("GET", "/api/quickbooks/connection")).json()
    assert connection["connected"] and connection["realm_id"] == world.realm_id
    [tenant] = await tenants(world)
    assert tenant.client_key is not None and tenant.cloud_id == world.site.cloud_id

    # A write through Forge is asked of Jira through the Connect app, and lands for both.
    renamed = await world.forge_api(
        "PATCH", f"/api/clients/{created.json()['id']}", json={"name": "Globex Ltd"}
    )
    assert renamed.status_code == 200, renamed.text
    assert (await world.api("GET", f"/api/clients/{created.json()['id']}")).json()[
        "name"
    ] == "Globex Ltd"


async def test_forge_first_then_connect_one_site_sees_the_same_data(world: World) -> None:
    await world.install_forge()
    assert (await world.forge_api("GET", "/api/clients")).json()["items"] == []
    [forge_only] = await tenants(world)
    assert forge_only.client_key is None and forge_only.base_url == world.site.base_url

    await world.install()  # Connect's baseUrl is the Forge siteUrl: the same tenant

    [tenant] = await tenants(world)
    assert tenant.id == forge_only.id and tenant.client_key is not None
    created = await world.forge_api("POST", "/api/clients", json=CLIENT)
    assert created.status_code == 201, created.text
    through_connect = await world.api("GET", f"/api/clients/{created.json()['id']}")
    assert through_connect.json() == created.json()


async def test_a_connect_app_adopted_into_forge_is_matched_by_installation_id(
    world: World,
) -> None:
    """Jira adds the Forge installationId to the Connect `installed` payload of an app on
    Forge (ACE associates the two with it): no URL needed."""
    world.forge.connect_key = world.app_key
    installation = world.jira.forge.new_installation(world.site, world.forge)  # event late
    await world.install()
    [tenant] = await tenants(world)
    assert tenant.linked_forge_installation_id == installation.installation_id

    assert await replay(world, installation, INSTALLED) == 204

    [row] = await installations(world)
    assert row.tenant_id == tenant.id
    [tenant] = await tenants(world)
    assert tenant.cloud_id == world.site.cloud_id


async def test_a_forge_installation_waiting_for_its_site_is_adopted_by_connect(
    world: World,
) -> None:
    world.forge.connect_key = world.app_key
    await world.install_forge()  # placed nowhere yet
    await world.install()

    [row] = await installations(world)
    [tenant] = await tenants(world)
    assert row.tenant_id == tenant.id and tenant.cloud_id == world.site.cloud_id


async def test_two_sites_stay_two_tenants(world: World) -> None:
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Ada Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install()
    await world.install(other)
    await world.install_forge()
    await world.install_forge(other)
    assert (await world.api("POST", "/api/clients", json=CLIENT)).status_code == 201

    mine = await world.forge_api("GET", "/api/clients")
    theirs = await world.forge_api("GET", "/api/clients", site=other)

    assert [c["name"] for c in mine.json()["items"]] == ["Globex"]
    assert theirs.json()["items"] == []
    assert len({t.cloud_id for t in await tenants(world)}) == 2


async def test_a_forge_only_site_checks_billing_editors_through_the_forge_door(
    world: World,
) -> None:
    """No Connect app to ask: Jira is asked through api.atlassian.com with the system token
    (ADMINISTER, then the billing group), as the Connect app would be."""
    world.site.add_user("Grace Okafor", account_id="user-billing", groups=["billing-team"])
    await world.install_forge()
    me = await world.forge_api("GET", "/api/me")
    assert me.json() == {
        "account_id": "user-admin",
        "can_edit_billing": True,
        "can_manage_quickbooks": True,
        "can_see_money": True,
    }

    created = await world.forge_api("POST", "/api/clients", json=CLIENT)
    assert created.status_code == 201, created.text

    reader = await world.forge_api("POST", "/api/clients", json=CLIENT, account_id="user-1")
    assert reader.status_code == 403
    assert reader.json()["error"]["code"] == "not_allowed"
    assert (await world.forge_api("GET", "/api/me", account_id="user-1")).json()[
        "can_edit_billing"
    ] is False

    settings = await world.forge_api(
        "PATCH", "/api/settings", json={"billing_group": "billing-team"}
    )
    assert settings.status_code == 200, settings.text
    member = await world.forge_api("GET", "/api/me", account_id="user-billing")
    assert member.json()["can_edit_billing"] is True
    assert [c["name"] for c in (await world.forge_api("GET", "/api/clients")).json()["items"]] == [
        "Globex"
    ]
    assert world.site.calls.count("POST", "/rest/api/3/permissions/check") == (
        world.site.gateway_calls.count("POST", "/rest/api/3/permissions/check")
    )  # every check went through the Forge door
