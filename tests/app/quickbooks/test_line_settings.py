"""Settings → Integrations' service item and tax code: offered from the QuickBooks
company's own lists (names shown, ids stored), and an id sent by hand checked against
QuickBooks before it is saved."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.world import World

ITEM = "/api/quickbooks/items"
TAX_CODES = "/api/quickbooks/tax-codes"


async def _listed(world: World, path: str, **kwargs: Any) -> dict[str, Any]:
    response = await world.api("GET", path, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _settings(world: World, **patch: Any) -> Any:
    return await world.api("PATCH", "/api/settings", json=patch)


async def _use_uk_company(world: World) -> str:
    uk = world.quickbooks.add_company("Acme UK", country="GB", home_currency="GBP")
    assert (await world.api("DELETE", "/api/quickbooks/connection")).status_code == 200
    assert (await world.connect_quickbooks(realm_id=uk.realm_id)).status_code == 200
    return uk.realm_id


async def test_the_companys_active_service_items_are_offered_by_name(connected: World) -> None:
    qbo, realm = connected.quickbooks, connected.realm_id
    consulting = qbo.add_item(realm, "Consulting hours")
    qbo.add_item(realm, "Printed manual", item_type="NonInventory")
    retired = qbo.add_item(realm, "Archived retainer")
    qbo.set_item_active(realm, retired["Id"], False)

    listed = await _listed(connected, ITEM, account_id="user-1")  # readers may look

    services = qbo.services_item(realm)
    assert listed["items"] == [
        {"id": consulting["Id"], "name": "Consulting hours", "description": None},
        {"id": services["Id"], "name": "Services", "description": None},
    ]


async def test_a_us_company_offers_taxable_and_not_taxable(connected: World) -> None:
    listed = await _listed(connected, TAX_CODES)

    assert listed == {
        "items": [
            {"id": "TAX", "name": "TAX", "description": "Taxable"},
            {"id": "NON", "name": "NON", "description": "Not taxable"},
        ],
        "required": False,
    }


async def test_a_non_us_company_offers_its_own_tax_codes(connected: World) -> None:
    realm = await _use_uk_company(connected)
    connected.quickbooks.add_tax_code(realm, "Old 17.5%", "17.5", active=False)
    reduced = connected.quickbooks.add_tax_code(realm, "5.0% R", "5")

    listed = await _listed(connected, TAX_CODES)

    assert listed["required"] is True
    assert [(c["id"], c["name"]) for c in listed["items"]] == [
        ("3", "0.0% Z"),
        ("2", "20.0% S"),
        (reduced["Id"], "5.0% R"),
    ]


async def test_a_chosen_item_and_tax_code_are_saved_as_ids(connected: World) -> None:
    item = connected.quickbooks.add_item(connected.realm_id, "Consulting hours")

    response = await _settings(
        connected, quickbooks_item_id=item["Id"], quickbooks_tax_code_id="NON"
    )

    assert response.status_code == 200, response.text
    saved = response.json()
    assert (saved["quickbooks_item_id"], saved["quickbooks_tax_code_id"]) == (item["Id"], "NON")


async def test_an_item_quickbooks_does_not_have_is_refused_and_nothing_changes(
    connected: World,
) -> None:
    qbo, realm = connected.quickbooks, connected.realm_id
    retired = qbo.add_item(realm, "Archived retainer")
    qbo.set_item_active(realm, retired["Id"], False)
    manual = qbo.add_item(realm, "Printed manual", item_type="NonInventory")

    cases = {
        "4242": (
            "quickbooks_item_not_found",
            "QuickBooks has no product or service with id 4242: choose the service item from "
            "the list.",
        ),
        "../1": ("quickbooks_item_not_found", None),
        retired["Id"]: (
            "quickbooks_item_unusable",
            "'Archived retainer' is inactive in QuickBooks, and invoice lines need an active "
            "service: choose the service item from the list.",
        ),
        manual["Id"]: ("quickbooks_item_unusable", None),
    }
    for item_id, (code, message) in cases.items():
        response = await _settings(connected, quickbooks_item_id=item_id, default_due_days=7)
        assert response.status_code == 422, (item_id, response.text)
        error = response.json()["error"]
        assert error["code"] == code, item_id
        if message:
            assert error["message"] == message

    kept = (await connected.api("GET", "/api/settings")).json()
    assert (kept["quickbooks_item_id"], kept["default_due_days"]) == (None, 30)


async def test_a_tax_code_quickbooks_does_not_have_is_refused(connected: World) -> None:
    us = await _settings(connected, quickbooks_tax_code_id="7")
    assert us.status_code == 422
    assert us.json()["error"] == {
        "code": "quickbooks_tax_code_not_found",
        "message": "QuickBooks has no tax code with id 7: choose the tax code from the list.",
    }
    realm = await _use_uk_company(connected)
    old = connected.quickbooks.add_tax_code(realm, "Old 17.5%", "17.5", active=False)

    for code in ("TAX", old["Id"]):  # TAX is a US company's; this one is inactive
        refused = await _settings(connected, quickbooks_tax_code_id=code)
        assert refused.status_code == 422, code
        assert refused.json()["error"]["code"] == "quickbooks_tax_code_not_found"
    assert (await _settings(connected, quickbooks_tax_code_id="2")).status_code == 200


async def test_without_a_connection_ids_cannot_be_checked_but_may_be_cleared(
    world: World,
) -> None:
    refused = await _settings(world, quickbooks_item_id="1")
    listed = await world.api("GET", ITEM)

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "quickbooks_not_connected"
    assert "products and services cannot be read" in refused.json()["error"]["message"]
    assert listed.status_code == 409
    cleared = await _settings(world, quickbooks_item_id=None, quickbooks_tax_code_id=None)
    assert cleared.status_code == 200, cleared.text


async def test_checking_ids_with_quickbooks_down_says_try_again(connected: World) -> None:
    item = connected.quickbooks.add_item(connected.realm_id, "Consulting hours")
    connected.quickbooks.company(connected.realm_id).faults.fail_next(10, status=503)

    response = await _settings(connected, quickbooks_item_id=item["Id"])

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "quickbooks_unavailable"
    assert (await connected.api("GET", "/api/settings")).json()["quickbooks_item_id"] is None


async def test_a_slow_quickbooks_check_holds_up_no_other_write(connected: World) -> None:
    """The ids are checked before the settings' write transaction opens: on SQLite that
    transaction would hold every other write of the site while QuickBooks answers."""
    item = connected.quickbooks.add_item(connected.realm_id, "Consulting hours")
    await _settings(connected, default_due_days=20)  # Jira's permission answer is remembered
    arrived, release = asyncio.Event(), asyncio.Event()

    async def quickbooks_is_slow(_seconds: float) -> None:
        arrived.set()
        await release.wait()

    connected.quickbooks.sleep = quickbooks_is_slow
    connected.quickbooks.company(connected.realm_id).faults.latency_seconds = 1
    slow = asyncio.create_task(_settings(connected, quickbooks_item_id=item["Id"]))
    try:
        await arrived.wait()
        meanwhile = await asyncio.wait_for(
            connected.api("POST", "/api/clients", json={"name": "Meanwhile", "currency": "USD"}),
            timeout=30,
        )
        assert meanwhile.status_code == 201, meanwhile.text
        assert not slow.done()
    finally:
        release.set()
    assert (await slow).status_code == 200
