"""The control API adds items as QuickBooks shows them (the public JSON, no private keys)."""

from __future__ import annotations

import httpx

from sandbox.quickbooks import Company, OAuthClient, QuickBooksSandbox
from tests.sandbox.quickbooks.conftest import Api, fault


async def test_an_item_added_over_http_comes_back_as_json(
    company: Company, http: httpx.AsyncClient
) -> None:
    response = await http.post(
        f"/_sandbox/companies/{company.realm_id}/items", json={"name": "Consulting hours"}
    )

    assert response.status_code == 201
    item = response.json()["Item"]
    assert item["Name"] == "Consulting hours"
    assert item["Type"] == "Service"
    assert not any(key.startswith("_") for key in item)
    assert company.get("Item", item["Id"]) is not None


async def test_the_query_lists_active_service_items_only(
    qbo: QuickBooksSandbox, api: Api, company: Company
) -> None:
    consulting = qbo.add_item(company.realm_id, "Consulting hours")
    qbo.add_item(company.realm_id, "Printed manual", item_type="NonInventory")
    retired = qbo.add_item(company.realm_id, "Old retainer")
    qbo.set_item_active(company.realm_id, retired["Id"], False)

    response = await api.query("SELECT * FROM Item WHERE Type = 'Service' MAXRESULTS 1000")

    assert response.status_code == 200, response.text
    found = response.json()["QueryResponse"]["Item"]
    assert [i["Name"] for i in found] == ["Services", "Consulting hours"]
    assert found[1]["Id"] == consulting["Id"] and found[1]["Active"] is True
    # Read by id, an inactive item is still there, marked inactive.
    read = await api.get(f"item/{retired['Id']}")
    assert read.json()["Item"]["Active"] is False


async def test_a_non_us_company_lists_its_tax_codes_as_qbo_does(
    qbo: QuickBooksSandbox, api: Api, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    uk = qbo.add_company("Acme UK", country="GB", home_currency="GBP")
    tokens = qbo.connect(client.client_id, uk.realm_id)
    uk_api = Api(http, uk.realm_id, str(tokens["access_token"]))
    reduced = qbo.add_tax_code(uk.realm_id, "5.0% R", "5")
    qbo.add_tax_code(uk.realm_id, "Old 17.5%", "17.5", active=False)

    listed = await uk_api.query("SELECT * FROM TaxCode")

    codes = listed.json()["QueryResponse"]["TaxCode"]
    assert [(c["Id"], c["Name"]) for c in codes] == [
        ("2", "20.0% S"),
        ("3", "0.0% Z"),
        (reduced["Id"], "5.0% R"),
    ]
    assert set(codes[0]) == {
        "Id", "Name", "Description", "Active", "Hidden", "Taxable", "TaxGroup",
        "SyncToken", "domain", "sparse", "MetaData",
    }  # fmt: skip
    assert (await uk_api.get(f"taxcode/{reduced['Id']}")).json()["TaxCode"]["Name"] == "5.0% R"
    fault(await uk_api.get("taxcode/999"), 400, "610")
    # A US company has no codes of its own: its lines use QBO's pseudo codes TAX and NON.
    us = await api.query("SELECT * FROM TaxCode")
    assert us.json()["QueryResponse"] == {}
