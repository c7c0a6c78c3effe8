"""The control API adds items as QuickBooks shows them (the public JSON, no private keys)."""

from __future__ import annotations

import httpx

from sandbox.quickbooks import Company


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
