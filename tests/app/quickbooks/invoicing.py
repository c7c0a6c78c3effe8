"""Arranging invoices for the QuickBooks sync and status tests: a site whose worklogs were
backfilled from the Jira emulator, QuickBooks connected, and helpers that make a client
linked to a customer and a finalized invoice through the API, as a user would.

Worklogs (user-1 on ALPHA, 2026): one of 1.50 h on the 10th of each month, and one of
0.75 h on the 20th; an invoice for a month takes that month's two worklogs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.support.world import World, jira_world

INVOICE_ROUTE = "/v3/company/{realmId}/invoice"
QUERY_ROUTE = "/v3/company/{realmId}/query"
CDC_ROUTE = "/v3/company/{realmId}/cdc"


@asynccontextmanager
async def invoicing_world(
    database_url: str, tmp_path: Path, **settings: Any
) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path, **settings) as world:
        site = world.site
        site.add_project("ALPHA", "Alpha")
        build = site.add_issue("ALPHA", "Build it").id
        review = site.add_issue("ALPHA", "Review it").id
        for month in range(1, 13):
            site.add_worklog(
                build,
                "user-1",
                started=f"2026-{month:02d}-10T09:00:00.000+0000",
                time_spent_seconds=5400,
                notify=False,
            )
            site.add_worklog(
                review,
                "user-1",
                started=f"2026-{month:02d}-20T09:00:00.000+0000",
                time_spent_seconds=2700,
                notify=False,
            )
        world.jira.clock.advance(61)
        await world.install()
        await world.settle()
        connected = await world.connect_quickbooks()
        assert connected.status_code == 200, connected.text
        yield world


async def linked_client(
    world: World,
    name: str = "Acme",
    *,
    currency: str = "USD",
    customer_currency: str | None = None,
    billing_email: str | None = "billing@acme.test",
) -> tuple[int, str]:
    """A client linked to a new QuickBooks customer of the same name; (client, customer)."""
    customer = world.quickbooks.add_customer(
        world.realm_id, f"{name} Customer", currency=customer_currency
    )
    refreshed = await world.api("GET", "/api/quickbooks/customers", params={"refresh": "true"})
    assert refreshed.status_code == 200, refreshed.text
    body: dict[str, Any] = {"name": name, "currency": currency}
    if billing_email:
        body["billing_email"] = billing_email
    created = await world.api("POST", "/api/clients", json=body)
    assert created.status_code == 201, created.text
    client_id = int(created.json()["id"])
    linked = await world.api(
        "PUT",
        f"/api/clients/{client_id}/quickbooks-customer",
        json={"customer_id": str(customer["Id"])},
    )
    assert linked.status_code == 200, linked.text
    return client_id, str(customer["Id"])


async def unlinked_client(world: World, name: str = "Loose Ends", currency: str = "USD") -> int:
    created = await world.api("POST", "/api/clients", json={"name": name, "currency": currency})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def draft_invoice(
    world: World, client_id: int, *, month: int = 11, rate: str = "120.00"
) -> dict[str, Any]:
    budget = await world.api(
        "POST",
        "/api/budgets",
        json={
            "client_id": client_id,
            "name": f"Month {month}",
            "project_keys": ["ALPHA"],
            "starts_on": f"2026-{month:02d}-01",
            "ends_on": f"2026-{month:02d}-28",
            "hourly_rate": rate,
        },
    )
    assert budget.status_code == 201, budget.text
    generated = await world.api(
        "POST",
        f"/api/budgets/{budget.json()['id']}/invoices",
        json={"period_start": f"2026-{month:02d}-01", "period_end": f"2026-{month:02d}-28"},
    )
    assert generated.status_code == 201, generated.text
    draft: dict[str, Any] = generated.json()
    return draft


async def finalized_invoice(
    world: World,
    client_id: int,
    *,
    month: int = 11,
    rate: str = "120.00",
    dates: tuple[str, str] | None = None,
) -> dict[str, Any]:
    draft = await draft_invoice(world, client_id, month=month, rate=rate)
    if dates is not None:
        changed = await world.api(
            "PATCH",
            f"/api/invoices/{draft['id']}",
            json={"issue_date": dates[0], "due_date": dates[1]},
        )
        assert changed.status_code == 200, changed.text
    finalized = await world.api("POST", f"/api/invoices/{draft['id']}/finalize")
    assert finalized.status_code == 200, finalized.text
    invoice: dict[str, Any] = finalized.json()
    return invoice


async def sync(world: World, invoice_id: int, **kwargs: Any) -> Any:
    return await world.api("POST", f"/api/invoices/{invoice_id}/sync", **kwargs)


async def synced(world: World, invoice_id: int) -> dict[str, Any]:
    response = await sync(world, invoice_id)
    assert response.status_code == 200, response.text
    block: dict[str, Any] = response.json()["quickbooks"]
    return block


async def refresh(world: World, invoice_id: int) -> dict[str, Any]:
    response = await world.api("POST", f"/api/invoices/{invoice_id}/refresh", account_id="user-1")
    assert response.status_code == 200, response.text
    block: dict[str, Any] = response.json()["quickbooks"]
    return block


async def block_of(world: World, invoice_id: int) -> dict[str, Any]:
    response = await world.api("GET", f"/api/invoices/{invoice_id}", account_id="user-1")
    assert response.status_code == 200, response.text
    block: dict[str, Any] = response.json()["quickbooks"]
    return block


def error_of(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def qbo_invoices(world: World) -> list[dict[str, Any]]:
    return list(world.quickbooks.company(world.realm_id).entities["Invoice"].values())
