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
        "readers_see_money": True,
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


async def test_refused_settings_say_what_to_do_in_the_pages_words(
    world: World, installation: Any
) -> None:
    async def message(patch: dict[str, Any]) -> str:
        response = await world.api("PATCH", "/api/settings", json=patch)
        assert response.status_code == 422, response.text
        text: str = response.json()["error"]["message"]
        return text

    assert "use only letters, digits and - _ / . # (no spaces)" in await message(
        {"invoice_number_prefix": "has space"}
    )
    assert "pattern" not in await message({"invoice_number_prefix": "has space"})
    assert await message({"next_invoice_number": None}) == (
        "Next invoice number cannot be empty: give the number the next invoice should have, from 1."
    )
    assert await message({"rounding_mode": "nearest"}) == (
        "Round to nearest needs a rounding step: set Rounding step (minutes) above 0, or "
        "choose No rounding."
    )


async def six_finalized_invoices(world: World) -> list[str]:
    """INV-1 to INV-6: one finalized invoice a day, Nov 1 to Nov 6."""
    world.site.add_project("ALPHA", "Alpha")
    issue = world.site.add_issue("ALPHA", "Build it").id
    for day in range(1, 7):
        world.site.add_worklog(
            issue, "user-1", started=f"2026-11-0{day}T09:00:00.000+0000", time_spent_seconds=3600
        )
    await world.settle()
    client = await create(world)
    budget = await world.api(
        "POST",
        "/api/budgets",
        json={
            "client_id": client["id"],
            "name": "November",
            "project_keys": ["ALPHA"],
            "starts_on": "2026-11-01",
        },
    )
    assert budget.status_code == 201, budget.text
    numbers = []
    for day in range(1, 7):
        draft = await world.api(
            "POST",
            f"/api/budgets/{budget.json()['id']}/invoices",
            json={"period_start": f"2026-11-0{day}", "period_end": f"2026-11-0{day}"},
        )
        assert draft.status_code == 201, draft.text
        final = await world.api("POST", f"/api/invoices/{draft.json()['id']}/finalize")
        assert final.status_code == 200, final.text
        numbers.append(final.json()["number"])
    return numbers


async def test_a_next_invoice_number_already_taken_is_refused_naming_the_invoice(
    world: World, installation: Any
) -> None:
    assert await six_finalized_invoices(world) == [f"INV-{n}" for n in range(1, 7)]

    response = await world.api("PATCH", "/api/settings", json={"next_invoice_number": 3})

    assert response.status_code == 409, response.text
    assert response.json()["error"] == {
        "code": "invoice_number_taken",
        "message": "INV-3 already exists: the next free number is 7.",
    }
    assert (await world.api("GET", "/api/settings")).json()["next_invoice_number"] == 7
    # A free number is taken as it is, and a new prefix starts a new series.
    assert (
        await world.api("PATCH", "/api/settings", json={"next_invoice_number": 10})
    ).status_code == 200
    fresh = await world.api(
        "PATCH", "/api/settings", json={"invoice_number_prefix": "NEW-", "next_invoice_number": 3}
    )
    assert fresh.status_code == 200, fresh.text


async def test_the_prefix_in_force_decides_whether_a_number_is_taken(
    world: World, installation: Any
) -> None:
    await six_finalized_invoices(world)
    moved = await world.api(
        "PATCH", "/api/settings", json={"invoice_number_prefix": "A-", "next_invoice_number": 2}
    )
    assert moved.status_code == 200, moved.text

    # Back to INV- in the same PATCH as the number: INV-2 exists.
    both = await world.api(
        "PATCH", "/api/settings", json={"invoice_number_prefix": "INV-", "next_invoice_number": 2}
    )
    assert both.status_code == 409
    assert both.json()["error"]["message"] == "INV-2 already exists: the next free number is 7."
    # The prefix alone, with next number 2 in force: the same clash, said for the prefix.
    alone = await world.api("PATCH", "/api/settings", json={"invoice_number_prefix": "INV-"})
    assert alone.status_code == 409
    assert alone.json()["error"]["message"] == (
        "INV-2 already exists: with the prefix INV-, the next free number is 7."
    )
    settings = (await world.api("GET", "/api/settings")).json()
    assert (settings["invoice_number_prefix"], settings["next_invoice_number"]) == ("A-", 2)


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
    ("body", "field", "words"),
    [
        ({"name": "X", "currency": "XYZ"}, "currency", "ISO 4217"),
        ({"name": "X", "currency": "US"}, "currency", "ISO 4217"),
        ({"name": "X", "currency": "XXX"}, "currency", "not a currency a client is invoiced in"),
        ({"name": "X", "currency": "XAU"}, "currency", "not a currency a client is invoiced in"),
        ({"name": "   ", "currency": "USD"}, "name", "Name: fill it in"),
        ({"name": "x" * 201, "currency": "USD"}, "name", "Name: shorten it to 200"),
        ({"name": "X", "currency": "USD", "hourly_rate": "-5"}, "hourly_rate", "Hourly rate"),
        ({"name": "X", "currency": "USD", "hourly_rate": "10.001"}, "hourly_rate", "2 decimal"),
        ({"name": "X", "currency": "USD", "hourly_rate": "1e9"}, "hourly_rate", "at most"),
        ({"name": "X", "currency": "USD", "billing_email": "x"}, "billing_email", "email"),
        ({"name": "X", "currency": "USD", "address": "a" * 2001}, "address", "Address: shorten"),
        ({"currency": "USD"}, "name", "Name: fill it in"),
        ({"name": "X", "currency": "USD", "unknown": 1}, "unknown", "no such field"),
    ],
)
async def test_bad_clients_are_refused_with_the_field_named(
    world: World, installation: Any, body: dict[str, Any], field: str, words: str
) -> None:
    response = await world.api("POST", "/api/clients", json=body)
    assert response.status_code == 422, response.text
    assert words in response.json()["error"]["message"]
    assert response.json()["error"]["fields"] == [field]
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
