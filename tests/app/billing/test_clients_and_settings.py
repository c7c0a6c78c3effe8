"""Manage → Clients and the billing settings, through the API the pages use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.billing.models import Client
from sandbox.jira import Installation
from tests.support.world import World, jira_world

PERMISSIONS = "/rest/api/3/permissions/check"
GROUPS = "/rest/api/3/user/groups"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path) as world:
        world.site.add_user("Finn Finance", account_id="user-finance", groups=["finance"])
        yield world


@pytest.fixture
async def installation(world: World) -> Installation:
    return await world.install()


async def create(world: World, **fields: Any) -> dict[str, Any]:
    body = {"name": "Acme Corp", "currency": "USD", "hourly_rate": "150.00", **fields}
    response = await world.api("POST", "/api/clients", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def client_count(world: World) -> int:
    async with world.runtime.sessions() as session:
        return (await session.execute(select(func.count()).select_from(Client))).scalar_one()


# --- settings ------------------------------------------------------------------------------


async def test_settings_start_with_sensible_defaults(world: World, installation: Any) -> None:
    response = await world.api("GET", "/api/settings", account_id="user-1")
    assert response.status_code == 200
    assert response.json() == {
        "invoice_number_prefix": "INV-",
        "next_invoice_number": 1,
        "rounding_minutes": 0,
        "rounding_mode": "none",
        "default_hourly_rate": None,
        "default_due_days": 30,
        "billing_group": None,
        "quickbooks_item_id": None,
        "quickbooks_tax_code_id": None,
    }


async def test_an_admin_changes_settings(world: World, installation: Any) -> None:
    response = await world.api(
        "PATCH",
        "/api/settings",
        json={
            "invoice_number_prefix": "ACME-",
            "next_invoice_number": 1001,
            "rounding_minutes": 15,
            "rounding_mode": "up",
            "default_hourly_rate": 95.5,
            "billing_group": "finance",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["invoice_number_prefix"] == "ACME-" and body["next_invoice_number"] == 1001
    assert body["rounding_mode"] == "up" and body["rounding_minutes"] == 15
    assert body["default_hourly_rate"] == "95.50"
    again = await world.api("GET", "/api/settings", account_id="user-1")
    assert again.json() == body


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"invoice_number_prefix": "THIS-IS-TOO-LONG"}, "invalid_request"),
        ({"invoice_number_prefix": "has space"}, "invalid_request"),
        (
            {"invoice_number_prefix": "INVOICE-NO-", "next_invoice_number": 123456789012},
            "invalid_request",
        ),
        ({"rounding_mode": "nearest"}, "invalid_rounding"),
        ({"rounding_mode": "sideways"}, "invalid_request"),
        ({"rounding_minutes": -5}, "invalid_request"),
        ({"default_hourly_rate": "12.345"}, "invalid_request"),
        ({"default_hourly_rate": "-1.00"}, "invalid_request"),
        ({"default_hourly_rate": "NaN"}, "invalid_request"),
        ({"default_hourly_rate": "1000000000"}, "invalid_request"),
        ({"default_due_days": 9999}, "invalid_request"),
        ({"next_invoice_number": None}, "invalid_request"),
        ({}, "invalid_request"),
        ({"colour": "blue"}, "invalid_request"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_changes(
    world: World, installation: Any, patch: dict[str, Any], code: str
) -> None:
    before = (await world.api("GET", "/api/settings")).json()
    response = await world.api("PATCH", "/api/settings", json=patch)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert (await world.api("GET", "/api/settings")).json() == before


# --- who may change billing data -------------------------------------------------------------


async def test_a_user_without_rights_cannot_change_anything(
    world: World, installation: Any
) -> None:
    response = await world.api(
        "POST", "/api/clients", account_id="user-1", json={"name": "X", "currency": "USD"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_allowed"
    assert await client_count(world) == 0
    patch = await world.api(
        "PATCH", "/api/settings", account_id="user-1", json={"default_due_days": 1}
    )
    assert patch.status_code == 403


async def test_members_of_the_billing_group_may_change_billing_data(
    world: World, installation: Any
) -> None:
    await world.api("PATCH", "/api/settings", json={"billing_group": "finance"})
    response = await world.api(
        "POST", "/api/clients", account_id="user-finance", json={"name": "Y", "currency": "EUR"}
    )
    assert response.status_code == 201, response.text
    # Not in the group, not an admin: still refused.
    refused = await world.api(
        "POST", "/api/clients", account_id="user-1", json={"name": "Z", "currency": "EUR"}
    )
    assert refused.status_code == 403


async def test_jiras_answer_is_remembered_for_a_while(world: World, installation: Any) -> None:
    world.site.calls.reset()
    for n in range(5):
        await create(world, name=f"Client {n}")
    assert world.site.calls.count("POST", PERMISSIONS) == 1


async def test_a_slow_permission_check_in_jira_holds_up_no_other_write(
    world: World, installation: Any
) -> None:
    """On a cache miss the check asks Jira. It runs before the request's transaction opens,
    so on SQLite it does not hold the writer lock that every other write waits for."""
    await world.api("PATCH", "/api/settings", json={"billing_group": "finance"})
    await create(world, name="Before")  # Jira's answer for user-admin is now remembered
    arrived, release = asyncio.Event(), asyncio.Event()

    async def jira_is_slow(_seconds: float) -> None:  # the emulator's latency hook
        arrived.set()
        await release.wait()

    world.jira.sleep = jira_is_slow
    world.site.faults.latency_seconds = 1
    slow = asyncio.create_task(
        world.api(
            "POST",
            "/api/clients",
            account_id="user-finance",
            json={"name": "Slow", "currency": "EUR"},
        )
    )
    try:
        await arrived.wait()
        meanwhile = await asyncio.wait_for(create(world, name="Meanwhile"), timeout=30)
        assert meanwhile["name"] == "Meanwhile"
        assert not slow.done()
    finally:
        release.set()
    assert (await slow).status_code == 201
    assert await client_count(world) == 3


async def test_jira_not_answering_the_permission_check_is_a_clear_503(
    world: World, installation: Any
) -> None:
    world.site.faults.fail_next(50, status=503, route=PERMISSIONS)
    response = await world.api("POST", "/api/clients", json={"name": "X", "currency": "USD"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "jira_unavailable"
    assert await client_count(world) == 0


# --- clients ---------------------------------------------------------------------------------


async def test_create_read_update_delete_a_client(world: World, installation: Any) -> None:
    created = await create(
        world,
        name="  Zoë's Café  ",
        currency="eur",
        hourly_rate=120,
        billing_email="ap@zoe.example",
        address="1 Rue de la Paix\n75002 Paris",
    )
    assert created["name"] == "Zoë's Café"
    assert created["currency"] == "EUR"
    assert created["hourly_rate"] == "120.00"
    assert created["quickbooks"] is None
    client_id = created["id"]

    read = await world.api("GET", f"/api/clients/{client_id}", account_id="user-1")
    assert read.json() == created

    changed = await world.api(
        "PATCH", f"/api/clients/{client_id}", json={"hourly_rate": "135.25", "address": None}
    )
    assert changed.status_code == 200
    assert changed.json()["hourly_rate"] == "135.25" and changed.json()["address"] is None
    assert changed.json()["name"] == "Zoë's Café"

    assert (await world.api("DELETE", f"/api/clients/{client_id}")).status_code == 204
    gone = await world.api("GET", f"/api/clients/{client_id}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "client_not_found"


async def test_listing_pages_and_searches_clients(world: World, installation: Any) -> None:
    for name in ("O'Brien & Sons", "Zoë's Café", "Acme", "acme labs", "Globex"):
        await create(world, name=name)
    first = (await world.api("GET", "/api/clients", params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = (
        await world.api("GET", "/api/clients", params={"limit": 10, "cursor": first["next_cursor"]})
    ).json()
    assert rest["next_cursor"] is None
    names = [c["name"] for c in first["items"] + rest["items"]]
    assert sorted(names) == sorted(["O'Brien & Sons", "Zoë's Café", "Acme", "acme labs", "Globex"])

    async def search(q: str) -> list[str]:
        response = await world.api("GET", "/api/clients", params={"q": q})
        return sorted(c["name"] for c in response.json()["items"])

    assert await search("o'brien") == ["O'Brien & Sons"]
    assert await search("ZOË") == ["Zoë's Café"]
    assert await search("acme") == ["Acme", "acme labs"]
    assert await search("%") == []  # a wildcard is a character, not a wildcard


async def test_two_clients_may_not_share_a_name_whatever_the_case(
    world: World, installation: Any
) -> None:
    await create(world, name="Acme Corp")
    response = await world.api(
        "POST", "/api/clients", json={"name": "ACME CORP", "currency": "USD"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "client_name_taken"
    other = await create(world, name="Other")
    renamed = await world.api("PATCH", f"/api/clients/{other['id']}", json={"name": "acme corp"})
    assert renamed.status_code == 409
    assert await client_count(world) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "currency": "XYZ"}, "ISO 4217"),
        ({"name": "X", "currency": "US"}, "ISO 4217"),
        ({"name": "X", "currency": "XXX"}, "not a currency a client is invoiced in"),
        ({"name": "X", "currency": "XAU"}, "not a currency a client is invoiced in"),
        ({"name": "   ", "currency": "USD"}, "blank"),
        ({"name": "x" * 201, "currency": "USD"}, "name"),
        ({"name": "X", "currency": "USD", "hourly_rate": "-5"}, "hourly_rate"),
        ({"name": "X", "currency": "USD", "hourly_rate": "10.001"}, "hourly_rate"),
        ({"name": "X", "currency": "USD", "hourly_rate": "1e9"}, "hourly_rate"),
        ({"name": "X", "currency": "USD", "billing_email": "not-an-email"}, "email"),
        ({"name": "X", "currency": "USD", "address": "a" * 2001}, "address"),
        ({"currency": "USD"}, "name"),
        ({"name": "X", "currency": "USD", "unknown": 1}, "unknown"),
    ],
)
async def test_bad_clients_are_refused_with_the_field_named(
    world: World, installation: Any, body: dict[str, Any], field: str
) -> None:
    response = await world.api("POST", "/api/clients", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]
    assert await client_count(world) == 0


async def test_another_sites_client_is_a_404(world: World, installation: Any) -> None:
    created = await create(world)
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Globex Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)
    for method, body in (("GET", None), ("PATCH", {"name": "Mine now"}), ("DELETE", None)):
        response = await world.api(method, f"/api/clients/{created['id']}", site=other, json=body)
        assert response.status_code == 404, method
    listed = await world.api("GET", "/api/clients", site=other)
    assert listed.json()["items"] == []
    still = await world.api("GET", f"/api/clients/{created['id']}")
    assert still.json()["name"] == "Acme Corp"
