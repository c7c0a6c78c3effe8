"""A site may hide rates and amounts from people who may only read billing data
(`readers_see_money`, on by default). Hidden in the API itself: this walks every route a
reader can call, with every kind of money in place (rates at each level, caps, a finalized
invoice synced to QuickBooks with a payment), and finds not one figure of money."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tests.app.billing.test_budgets import create_budget
from tests.support.world import World

READER, EDITOR = "user-1", "user-admin"
# What a reader may call: every GET of the API, and Refresh status (it changes nothing).
READER_POSTS = {"/api/invoices/{invoice_id}/refresh"}
MONEY_KEY = re.compile(r"(^|_)(rate|amount|total|paid|balance|price|credited)(_|$)")
NOT_MONEY = {"rate_source"}
# Money-sounding fields that count something else.
COUNTS = {"GET /api/sync/worklogs": {"total"}}  # worklogs to read


async def arrange_money_everywhere(world: World) -> dict[str, str]:
    """Every kind of money the API carries, and the path parameters that reach it."""

    async def ok(method: str, path: str, body: Any = None) -> Any:
        response = await world.api(method, path, json=body)
        assert response.status_code < 300, (method, path, response.text)
        return response.json() if response.content else None

    await ok("PATCH", "/api/settings", {"default_hourly_rate": "90.00"})
    await ok("PUT", "/api/settings/rate-changes", [rate_change("95.00")])
    # The invoice below goes past the money cap: its warning's figures are money too.
    budget = await create_budget(
        world, hourly_rate="120.00", amount_cap="100.00", hours_cap="40.00"
    )
    client = await ok("PATCH", f"/api/clients/{budget['client_id']}", {"hourly_rate": "150.00"})
    await ok("PUT", f"/api/clients/{client['id']}/rate-changes", [rate_change("155.00")])
    await ok("PUT", f"/api/budgets/{budget['id']}/rate-changes", [rate_change("125.00")])
    await ok(
        "PUT",
        f"/api/budgets/{budget['id']}/rates",
        [{"account_id": READER, "hourly_rate": "130.00", "effective_from": "2026-11-01"}],
    )
    draft = await ok(
        "POST",
        f"/api/budgets/{budget['id']}/invoices",
        {"period_start": "2026-11-01", "period_end": "2026-11-30"},
    )
    invoice = await ok("POST", f"/api/invoices/{draft['id']}/finalize", {"accept_over_cap": True})
    assert [w["kind"] for w in invoice["cap_warnings"]] == ["amount"]
    # In QuickBooks, with a payment: total, paid, balance and the payment's amount.
    assert (await world.connect_quickbooks()).status_code == 200
    customer = world.quickbooks.add_customer(world.realm_id, "Acme Corporation")
    await ok("GET", "/api/quickbooks/customers?refresh=true")
    await ok(
        "PUT", f"/api/clients/{client['id']}/quickbooks-customer", {"customer_id": customer["Id"]}
    )
    synced = await ok("POST", f"/api/invoices/{invoice['id']}/sync")
    world.quickbooks.pay_invoice(world.realm_id, synced["quickbooks"]["invoice_id"], "10.00")
    await ok("POST", f"/api/invoices/{invoice['id']}/refresh")
    worklog = (await ok("GET", "/api/worklogs"))["items"][0]
    return {
        "client_id": str(client["id"]),
        "budget_id": str(budget["id"]),
        "invoice_id": str(invoice["id"]),
        "line_id": str(invoice["lines"][0]["id"]),
        "issue_id": worklog["issue_id"],
    }


def rate_change(rate: str) -> dict[str, str]:
    return {"effective_from": "2026-11-20", "hourly_rate": rate}


# Answers that are no JSON to search: QuickBooks' PDF cannot hide its figures, so it is
# refused to a reader who may not see money (tests/app/quickbooks/test_invoice_pdf.py).
NOT_JSON = frozenset({"/api/invoices/{invoice_id}/pdf"})


def reader_routes(world: World) -> list[tuple[str, str]]:
    """Every (method, path) of the API a reader may call, from the app's own route table:
    a route added later is walked too."""
    paths = world.app.openapi()["paths"]
    found = [
        ("GET", path)
        for path, ops in paths.items()
        if path.startswith("/api/") and "get" in ops and path not in NOT_JSON
    ]
    found += [("POST", path) for path in sorted(READER_POSTS)]
    return found


def money_seen(body: Any, where: str = "", *, counts: frozenset[str] = frozenset()) -> list[str]:
    """Where `body` shows a figure of money: a money-named field that holds a value."""
    seen: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            here = f"{where}.{key}"
            if isinstance(value, dict | list):
                seen += money_seen(value, here, counts=counts)
            elif (
                MONEY_KEY.search(key)
                and key not in NOT_MONEY | counts
                and value is not None
                and not isinstance(value, bool)
            ):
                seen.append(f"{here}={value}")
    elif isinstance(body, list):
        for n, value in enumerate(body):
            seen += money_seen(value, f"{where}[{n}]", counts=counts)
    return seen


async def walk(world: World, ids: dict[str, str], account_id: str) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for method, path in reader_routes(world):
        url = path.format(**ids)
        response = await world.api(method, url, account_id=account_id)
        assert response.status_code == 200, (method, url, response.text)
        answers[f"{method} {path}"] = response
    return answers


async def test_readers_see_no_rate_or_amount_anywhere_when_the_site_hides_money(
    world: World,
) -> None:
    ids = await arrange_money_everywhere(world)
    shown = await walk(world, ids, READER)  # money shown to readers: the default
    patched = await world.api("PATCH", "/api/settings", json={"readers_see_money": False})
    assert patched.status_code == 200, patched.text

    hidden = await walk(world, ids, READER)

    def money_in(route: str, response: Any) -> list[str]:
        return money_seen(response.json(), counts=frozenset(COUNTS.get(route, ())))

    leaks = {route: money_in(route, r) for route, r in hidden.items() if money_in(route, r)}
    assert leaks == {}
    # A money cap's warning says its figures in words too: gone with them.
    invoice_route = "GET /api/invoices/{invoice_id}"
    assert [w["kind"] for w in shown[invoice_route].json()["cap_warnings"]] == ["amount"]
    assert hidden[invoice_route].json()["cap_warnings"] == []
    # Not an empty walk: the same routes showed money before, on every money route.
    before = {route for route, r in shown.items() if money_in(route, r)}
    assert before == {
        "GET /api/settings",
        "GET /api/settings/rate-changes",
        "GET /api/clients",
        "GET /api/clients/{client_id}",
        "GET /api/clients/{client_id}/rate-changes",
        "GET /api/budgets",
        "GET /api/budgets/{budget_id}",
        "GET /api/budgets/{budget_id}/rates",
        "GET /api/budgets/{budget_id}/rate-changes",
        "GET /api/budgets/{budget_id}/burn",
        "GET /api/worklogs",
        "GET /api/invoices",
        "GET /api/invoices/{invoice_id}",
        "GET /api/invoices/{invoice_id}/lines",
        "POST /api/invoices/{invoice_id}/refresh",
    }
    # The pages are told, so they write "Hidden" rather than a dash.
    assert {
        route for route, r in hidden.items() if r.headers.get("x-w360-money") == "hidden"
    } >= before
    # Hours stay: they are not money.
    invoice = hidden["GET /api/invoices/{invoice_id}"].json()
    assert invoice["hours"] == shown["GET /api/invoices/{invoice_id}"].json()["hours"]
    assert invoice["lines"][0]["hours"] is not None
    budget = hidden["GET /api/budgets/{budget_id}"].json()
    assert (budget["hours_cap"], budget["hours_logged"]) == ("40.00", "2.00")


async def test_billing_editors_still_see_money_when_readers_do_not(world: World) -> None:
    ids = await arrange_money_everywhere(world)
    await world.api("PATCH", "/api/settings", json={"readers_see_money": False})

    seen = await walk(world, ids, EDITOR)

    invoice = seen["GET /api/invoices/{invoice_id}"].json()
    assert Decimal(invoice["total"]) > 0
    assert invoice["quickbooks"]["paid"] == "10.00"
    assert invoice["quickbooks"]["payments"][0]["amount"] == "10.00"
    assert seen["GET /api/clients/{client_id}"].json()["hourly_rate"] == "150.00"
    assert "x-w360-money" not in seen["GET /api/invoices/{invoice_id}"].headers


async def test_jira_away_keeps_pages_readable_with_the_money_hidden(world: World) -> None:
    """Hiding money asks Jira who the caller is; when Jira cannot say, reading goes on with
    the money hidden (the safe side) instead of every page failing."""
    await world.install()
    budget = await create_budget(world, hourly_rate="120.00")
    assert (
        await world.api("PATCH", "/api/settings", json={"readers_see_money": False})
    ).status_code == 200
    world.site.faults.fail_next(50, status=503, route="/rest/api/3/permissions/check")

    response = await world.api("GET", f"/api/budgets/{budget['id']}", account_id="user-9")

    assert response.status_code == 200, response.text
    assert response.json()["name"] == budget["name"]
    assert response.json()["hourly_rate"] is None
    assert response.headers["X-W360-Money"] == "hidden"
