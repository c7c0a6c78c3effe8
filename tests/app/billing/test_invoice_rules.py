"""Invoice rules that refuse a request: each answers its own error code and changes nothing.

The seeded site (see conftest) has, in a November budget on ALPHA: user-1's 0.50 h on Nov 1
and 1.50 h on Nov 15, both on ALPHA-1; Dec 2 (2.00 h) is outside the budget.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import update

from app.billing.models import BillingSettings
from app.db import transaction
from tests.app.billing.test_budgets import create_budget, worklog_id
from tests.app.billing.test_invoices import error_code, finalize, generate, invoice_of
from tests.support.world import World

FIRST_HALF = {"period_start": "2026-11-01", "period_end": "2026-11-14"}
SECOND_HALF = {"period_start": "2026-11-15", "period_end": "2026-11-30"}


async def two_drafts(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two drafts of one budget: Nov 1 (0.50 h) and Nov 15 (1.50 h)."""
    budget = await create_budget(world, hourly_rate="100.00")
    return await generate(world, budget["id"], **FIRST_HALF), await generate(
        world, budget["id"], **SECOND_HALF
    )


async def settings_of(world: World) -> dict[str, Any]:
    response = await world.api("GET", "/api/settings")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def change_settings(world: World, **changes: Any) -> None:
    response = await world.api("PATCH", "/api/settings", json=changes)
    assert response.status_code == 200, response.text


async def store_settings(world: World, **changes: Any) -> None:
    """Numbering Settings would now refuse (it checks the number is free), as a site may
    have saved it before: finalize must still never issue a number twice."""
    await settings_of(world)  # the row exists
    async with transaction(world.runtime.sessions) as session:
        await session.execute(update(BillingSettings).values(**changes))


async def all_worklogs(world: World) -> list[dict[str, Any]]:
    response = await world.api("GET", "/api/worklogs")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- finalize ---------------------------------------------------------------------------------


async def test_invoice_number_too_long_is_refused_and_nothing_is_written(world: World) -> None:
    """A 12-character prefix and the last 9-digit sequence make 21 characters, QuickBooks'
    most; the sequence after it would make 22."""
    await change_settings(
        world, invoice_number_prefix="ABCDEFGHIJKL", next_invoice_number=999_999_999
    )
    first, second = await two_drafts(world)
    assert (await finalize(world, first["id"]))["number"] == "ABCDEFGHIJKL999999999"
    assert (await settings_of(world))["next_invoice_number"] == 1_000_000_000

    response = await world.api("POST", f"/api/invoices/{second['id']}/finalize")

    assert (response.status_code, error_code(response)) == (422, "invoice_number_too_long")
    # Past the last 9-digit number, a shorter prefix would not help: the fix is a new series.
    assert "new prefix, and the next number back at 1" in response.json()["error"]["message"]
    assert await invoice_of(world, second["id"]) == second
    assert (await settings_of(world))["next_invoice_number"] == 1_000_000_000


async def test_invoice_number_taken_is_refused_and_nothing_is_written(world: World) -> None:
    first, second = await two_drafts(world)
    assert (await finalize(world, first["id"]))["number"] == "INV-1"
    refused = await world.api("PATCH", "/api/settings", json={"next_invoice_number": 1})
    assert (refused.status_code, error_code(refused)) == (409, "invoice_number_taken")
    await store_settings(world, next_invoice_number=1)  # moved back to a number in use

    response = await world.api("POST", f"/api/invoices/{second['id']}/finalize")

    assert (response.status_code, error_code(response)) == (409, "invoice_number_taken")
    assert "INV-1" in response.json()["error"]["message"]
    assert await invoice_of(world, second["id"]) == second
    assert (await settings_of(world))["next_invoice_number"] == 1
    # Moving the sequence past it is the fix.
    await change_settings(world, next_invoice_number=2)
    assert (await finalize(world, second["id"]))["number"] == "INV-2"


async def test_invoice_number_taken_compares_the_whole_number_across_prefixes(
    world: World,
) -> None:
    """Prefix "INV-" with 11 and prefix "INV-1" with 1 both make "INV-11"."""
    await change_settings(world, next_invoice_number=11)
    first, second = await two_drafts(world)
    assert (await finalize(world, first["id"]))["number"] == "INV-11"
    refused = await world.api(
        "PATCH", "/api/settings", json={"invoice_number_prefix": "INV-1", "next_invoice_number": 1}
    )
    assert refused.json()["error"]["message"] == "INV-11 already exists: the next free number is 2."
    await store_settings(world, invoice_number_prefix="INV-1", next_invoice_number=1)

    response = await world.api("POST", f"/api/invoices/{second['id']}/finalize")

    assert (response.status_code, error_code(response)) == (409, "invoice_number_taken")
    assert await invoice_of(world, second["id"]) == second


async def test_invoice_empty_when_every_line_was_removed(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    url = f"/api/invoices/{invoice['id']}"
    for line in invoice["lines"]:
        assert (await world.api("DELETE", f"{url}/lines/{line['id']}")).status_code == 200
    emptied = await invoice_of(world, invoice["id"])
    assert (emptied["lines"], emptied["total"]) == ([], "0.00")

    response = await world.api("POST", f"{url}/finalize")

    assert (response.status_code, error_code(response)) == (422, "invoice_empty")
    assert await invoice_of(world, invoice["id"]) == emptied
    assert (await settings_of(world))["next_invoice_number"] == 1


# --- worklogs of a finalized invoice ---------------------------------------------------------


async def test_worklog_invoiced_on_a_finalized_invoice_and_nothing_changes(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await finalize(world, (await generate(world, budget["id"]))["id"])
    other = await create_budget(world, client="Other", name="Other", project_keys=["BETA"])
    nov_15, dec_2 = worklog_id(world, 5400), worklog_id(world, 7200)  # Dec 2 is on no invoice
    before = await all_worklogs(world)
    budget_before = (await world.api("GET", f"/api/budgets/{budget['id']}")).json()

    for method, path, body in (
        ("POST", "/api/worklogs/assign", {"budget_id": other["id"], "worklog_ids": [nov_15]}),
        (
            "POST",
            "/api/worklogs/assign",
            {"budget_id": other["id"], "worklog_ids": [dec_2, nov_15]},
        ),
        ("POST", "/api/worklogs/unassign", {"worklog_ids": [nov_15]}),
        ("PATCH", f"/api/worklogs/{nov_15}", {"billable": False}),
        ("PATCH", f"/api/worklogs/{nov_15}", {"rate_override": "1.00"}),
        ("PATCH", f"/api/worklogs/{nov_15}", {"rate_override": None}),
    ):
        response = await world.api(method, path, json=body)
        assert (response.status_code, error_code(response)) == (409, "worklog_invoiced"), (
            path,
            body,
            response.text,
        )
        message = response.json()["error"]["message"]
        assert message.startswith("ALPHA-1's worklog of 1.50 h on 15 Nov 2026"), message
        assert "is on invoice INV-1, which is finalized" in message
        assert nov_15 not in message  # people know issue keys, not worklog ids

    assert await all_worklogs(world) == before
    assert (await world.api("GET", f"/api/budgets/{budget['id']}")).json() == budget_before
    assert await invoice_of(world, invoice["id"]) == invoice


# --- reviewing a draft ------------------------------------------------------------------------


async def test_invalid_due_date_before_the_issue_date(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    issued = date.fromisoformat(invoice["issue_date"])
    due = date.fromisoformat(invoice["due_date"])
    url = f"/api/invoices/{invoice['id']}"

    for body in (
        {"due_date": str(issued - timedelta(days=1))},
        {"issue_date": str(due + timedelta(days=1))},
        {"issue_date": "2027-02-01", "due_date": "2027-01-31"},
    ):
        response = await world.api("PATCH", url, json=body)
        assert (response.status_code, error_code(response)) == (422, "invalid_due_date"), body
    assert await invoice_of(world, invoice["id"]) == invoice

    same_day = await world.api("PATCH", url, json={"due_date": str(issued)})
    assert same_day.status_code == 200, same_day.text
    assert same_day.json()["due_date"] == str(issued)


async def test_invoice_line_not_found_for_a_missing_line_or_another_invoices_line(
    world: World,
) -> None:
    first, second = await two_drafts(world)
    url = f"/api/invoices/{first['id']}/lines"
    missing = max(line["id"] for line in first["lines"] + second["lines"]) + 1000
    foreign = second["lines"][0]["id"]

    for method, line_id, body in (
        ("PATCH", missing, {"hours": "1.00"}),
        ("DELETE", missing, None),
        ("PATCH", foreign, {"hours": "1.00"}),
        ("DELETE", foreign, None),
    ):
        response = await world.api(method, f"{url}/{line_id}", json=body)
        assert (response.status_code, error_code(response)) == (404, "invoice_line_not_found"), (
            method,
            line_id,
        )
    assert await invoice_of(world, first["id"]) == first
    assert await invoice_of(world, second["id"]) == second
