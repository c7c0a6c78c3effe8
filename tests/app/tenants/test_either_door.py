"""A site has the app when it is installed through either door: what works for a site
(QuickBooks, reconciliation, the realm it holds) asks that, not whether its Connect app is
active. And a Forge caller may act as themselves in Jira with their own token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.quickbooks import service as quickbooks
from app.tenants import forge_service
from app.tenants.jira import jira_as_person
from app.tenants.models import Tenant
from app.worklogs.jobs import reconcile_all
from tests.support.world import World, jira_world


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path, forge=True) as world:
        yield world


async def the_tenant(world: World) -> Tenant:
    async with world.runtime.sessions() as session:
        return (await session.execute(select(Tenant))).scalar_one()


async def connect_quickbooks_from_forge(world: World, account_id: str = "user-admin") -> str:
    """The QuickBooks connect flow of a Forge-only site, from the state the API issues for
    it (the Forge pages open it through the bridge's router) to Intuit's callback."""
    tenant = await the_tenant(world)
    world.quickbooks.approve_next_authorization(world.realm_id)
    url, nonce = quickbooks.begin_connect(world.runtime, tenant.id, account_id)
    world.client.cookies.set(
        f"{quickbooks.STATE_COOKIE_PREFIX}{nonce}", "1", path="/quickbooks/callback"
    )
    back = await world.authorize_at_intuit(url)
    page = await world.follow_callback(back)
    return page.text


async def test_a_forge_only_site_can_connect_quickbooks(world: World) -> None:
    await world.install_forge()
    assert (await the_tenant(world)).client_key is None  # no Connect app at all

    page = await connect_quickbooks_from_forge(world)

    assert 'data-outcome="connected"' in page
    connection = (await world.forge_api("GET", "/api/quickbooks/connection")).json()
    assert connection["connected"] and connection["realm_id"] == world.realm_id
    # Disconnecting needs Jira's ADMINISTER, asked through the Forge door.
    refused = await world.forge_api("DELETE", "/api/quickbooks/connection", account_id="user-1")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_allowed"
    done = await world.forge_api("DELETE", "/api/quickbooks/connection")
    assert done.status_code == 200 and done.json()["state"] == "disconnected"


async def test_a_company_stays_with_a_site_that_kept_only_its_forge_app(world: World) -> None:
    await world.install()
    await world.install_forge()
    assert (await world.connect_quickbooks()).status_code == 200
    await world.jira.uninstall_app(world.site, world.app_key)  # Forge app stays
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Gus Admin", account_id="gus", global_permissions=["ADMINISTER"])
    await world.install(other)

    page = await world.connect_quickbooks(site=other, account_id="gus")

    assert page.status_code == 409
    assert 'data-outcome="realm_in_use"' in page.text
    still = (await world.forge_api("GET", "/api/quickbooks/connection")).json()
    assert still["connected"] and still["realm_id"] == world.realm_id


async def test_a_site_that_left_through_both_doors_is_not_reconciled(world: World) -> None:
    await world.install_forge()
    await world.settle()
    world.site.gateway_calls.reset()
    await reconcile_all(world.runtime)
    await world.runtime.jobs.drain()
    assert world.site.gateway_calls.count("GET", "/rest/api/3/worklog/updated") == 1

    await world.uninstall_forge()
    world.site.calls.reset()
    await reconcile_all(world.runtime)
    await world.runtime.jobs.drain()
    assert world.site.calls.total() == 0


async def test_a_forge_caller_acts_as_themselves_with_their_user_token(world: World) -> None:
    installation = await world.install_forge()
    world.site.add_project("ALPHA", "Alpha")
    issue = world.site.add_issue("ALPHA", "Build it")
    forge = world.jira.forge
    verifier = world.runtime.forge_verifier
    assert verifier is not None
    claims = await verifier.verify(forge.ui_token(world.site, world.forge, "user-1"))
    context = await forge_service.api_caller(
        world.runtime,
        claims,
        system_token=forge.system_token(installation),
        user_token=forge.user_token(world.site, world.forge, "user-1"),
    )

    jira = jira_as_person(world.runtime, context)
    assert jira is not None
    logged = await jira.add_worklog(
        issue.key,
        started=datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
        time_spent_seconds=1800,
        comment="Pairing",
    )

    assert logged["author"]["accountId"] == "user-1"  # theirs in Jira, not the app's
    assert world.site.worklogs[logged["id"]].author_id == "user-1"
    assert world.site.gateway_calls.count("POST", "/rest/api/3/issue/{issueIdOrKey}/worklog") == 1
    assert context.user_token is not None and context.user_token not in repr(context)
    no_token = await forge_service.api_caller(world.runtime, claims)
    assert jira_as_person(world.runtime, no_token) is None
