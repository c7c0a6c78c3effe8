"""Budget caps: Generate warns with the figures when a draft would take its budget past a
cap; Finalize refuses it (409 `over_budget_cap`) unless the request accepts it on purpose.

November budget (ALPHA, see conftest): user-1 0.50 h on Nov 1 and 1.50 h on Nov 15, and
Ada Admin's 2.17 h on Nov 20 (added here): at $100.00 an hour, $50.00, $150.00 and $217.00.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tests.app.billing.test_budgets import create_budget
from tests.app.billing.test_invoices import add_admin_worklog, finalize, generate, invoice_of
from tests.support.world import World

EARLY = {"period_start": "2026-11-01", "period_end": "2026-11-14"}  # $50.00, 0.50 h
LATE = {"period_start": "2026-11-15", "period_end": "2026-11-30"}  # $367.00, 3.67 h


async def finalize_response(world: World, invoice_id: int, body: Any = None) -> Any:
    return await world.api("POST", f"/api/invoices/{invoice_id}/finalize", json=body)


async def next_number(world: World) -> int:
    settings = (await world.api("GET", "/api/settings")).json()
    return int(settings["next_invoice_number"])


async def test_a_draft_past_the_money_cap_carries_the_figures_and_finalize_refuses_it(
    world: World,
) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00", amount_cap="250.00")
    early = await generate(world, budget["id"], **EARLY)
    assert early["cap_warnings"] == []
    await finalize(world, early["id"])

    late = await generate(world, budget["id"], **LATE)

    assert late["total"] == "367.00"
    message = (
        "This invoice brings November to $417.00 of its $250.00 cap ($167.00 over): "
        "$50.00 on its finalized invoices plus $367.00 on this one."
    )
    assert late["cap_warnings"] == [
        {
            "kind": "amount",
            "currency": "USD",
            "cap": "250.00",
            "invoiced_before": "50.00",
            "this_invoice": "367.00",
            "after": "417.00",
            "over": "167.00",
            "message": message,
        }
    ]
    # Reading the draft again says the same.
    assert (await invoice_of(world, late["id"]))["cap_warnings"] == late["cap_warnings"]

    refused = await finalize_response(world, late["id"])
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "over_budget_cap"
    assert error["message"].startswith(message + " Confirm that this invoice may go over")
    # Nothing happened: still a draft, no number taken.
    still = await invoice_of(world, late["id"])
    assert (still["status"], still["number"]) == ("draft", None)
    assert await next_number(world) == 2
    refused_again = await finalize_response(world, late["id"], {"accept_over_cap": False})
    assert refused_again.status_code == 409

    accepted = await finalize_response(world, late["id"], {"accept_over_cap": True})

    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["status"], body["number"]) == ("finalized", "INV-2")
    # The finalized invoice still says what it did to the cap: the ones before it, plus it.
    assert body["cap_warnings"] == late["cap_warnings"]
    assert (await invoice_of(world, early["id"]))["cap_warnings"] == []
    budget_now = (await world.api("GET", f"/api/budgets/{budget['id']}")).json()
    assert budget_now["amount_invoiced"] == "417.00"
    # Finalizing again is still idempotent, flag or not.
    again = await finalize_response(world, late["id"])
    assert (again.status_code, again.json()["number"]) == (200, "INV-2")


async def test_the_hours_cap_counts_billed_hours(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00", hours_cap="3.00")
    await finalize(world, (await generate(world, budget["id"], **EARLY))["id"])

    late = await generate(world, budget["id"], **LATE)

    [warning] = late["cap_warnings"]
    assert {k: v for k, v in warning.items() if k != "message"} == {
        "kind": "hours",
        "currency": None,
        "cap": "3.00",
        "invoiced_before": "0.50",
        "this_invoice": "3.67",
        "after": "4.17",
        "over": "1.17",
    }
    assert warning["message"] == (
        "This invoice brings November to 4.17 hours of its 3.00-hour cap (1.17 hours over): "
        "0.50 hours on its finalized invoices plus 3.67 hours on this one."
    )
    refused = await finalize_response(world, late["id"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "over_budget_cap")
    assert "4.17 hours of its 3.00-hour cap" in refused.json()["error"]["message"]

    # Taking hours off the draft brings it within the cap: finalize needs no flag then.
    admin_line = next(x for x in late["lines"] if x["description"].startswith("ALPHA-2"))
    trimmed = await world.api(
        "PATCH", f"/api/invoices/{late['id']}/lines/{admin_line['id']}", json={"hours": "1.00"}
    )
    assert trimmed.status_code == 200, trimmed.text
    assert trimmed.json()["cap_warnings"] == []  # 0.50 + 1.50 + 1.00 = exactly the cap
    assert (await finalize(world, late["id"]))["number"] == "INV-2"


async def test_both_caps_are_named_and_drafts_do_not_count(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00", hours_cap="1.00", amount_cap="300.00")
    early = await generate(world, budget["id"], **EARLY)  # a draft: counts for nothing

    late = await generate(world, budget["id"], **LATE)

    assert [
        (w["kind"], w["invoiced_before"], w["after"], w["over"]) for w in late["cap_warnings"]
    ] == [("hours", "0.00", "3.67", "2.67"), ("amount", "0.00", "367.00", "67.00")]
    refused = await finalize_response(world, late["id"])
    message = refused.json()["error"]["message"]
    assert "3.67 hours of its 1.00-hour cap (2.67 hours over)" in message
    assert "$367.00 of its $300.00 cap ($67.00 over)" in message
    assert early["cap_warnings"] == []


async def test_a_budget_without_caps_never_warns(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00")

    invoice = await generate(world, budget["id"])

    assert invoice["cap_warnings"] == []
    assert (await finalize(world, invoice["id"]))["cap_warnings"] == []


async def test_the_money_cap_is_in_the_clients_currency(world: World) -> None:
    """A EUR client's cap reads in euros; after the client moves to USD, its EUR invoices
    no longer count towards the (now USD) cap."""
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00", amount_cap="100.00")
    client_url = f"/api/clients/{budget['client_id']}"
    assert (await world.api("PATCH", client_url, json={"currency": "EUR"})).is_success
    early = await generate(world, budget["id"], **EARLY)
    assert early["currency"] == "EUR"
    await finalize(world, early["id"])  # €50.00 of €100.00

    assert (await world.api("PATCH", client_url, json={"currency": "USD"})).is_success
    late = await generate(world, budget["id"], **LATE)

    assert late["currency"] == "USD"
    [warning] = late["cap_warnings"]
    assert (warning["currency"], warning["invoiced_before"], warning["after"]) == (
        "USD",
        "0.00",
        "367.00",
    )
    assert warning["message"].startswith("This invoice brings November to $367.00 of its $100.00")


async def test_drafts_finalized_at_once_cannot_pass_a_cap_together(world: World) -> None:
    """Each of these drafts fits the $200.00 cap alone ($50.00 and $150.00 + $217.00 split
    in two): finalized at the same moment, the later one sees the earlier and is refused."""
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00", amount_cap="200.00")
    first = await generate(world, budget["id"], period_start="2026-11-01", period_end="2026-11-14")
    second = await generate(world, budget["id"], period_start="2026-11-15", period_end="2026-11-19")
    assert (first["total"], second["total"]) == ("50.00", "150.00")
    assert first["cap_warnings"] == second["cap_warnings"] == []
    # A third, alone within the cap too once trimmed, makes the pair plus it too much.
    third = await generate(world, budget["id"], period_start="2026-11-20", period_end="2026-11-30")
    line = third["lines"][0]
    trimmed = await world.api(
        "PATCH", f"/api/invoices/{third['id']}/lines/{line['id']}", json={"hours": "0.50"}
    )
    assert trimmed.json()["total"] == "50.00"

    responses = await asyncio.gather(
        *(finalize_response(world, i["id"]) for i in (first, second, third))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 409], [r.text for r in responses]
    finalized = [r.json() for r in responses if r.status_code == 200]
    assert sum(Decimal(i["total"]) for i in finalized) <= Decimal("200.00")
    [refused] = [r for r in responses if r.status_code == 409]
    assert refused.json()["error"]["code"] == "over_budget_cap"


async def test_generates_preview_warns_of_the_cap_before_any_draft_exists(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00", amount_cap="250.00")
    await finalize(world, (await generate(world, budget["id"], **EARLY))["id"])

    preview = await world.api(
        "POST", f"/api/budgets/{budget['id']}/invoices/preview", json={**LATE, "group_by": "issue"}
    )

    assert preview.status_code == 200, preview.text
    assert preview.json()["total"] == "367.00"
    assert preview.json()["cap_warnings"] == [
        {
            "kind": "amount",
            "currency": "USD",
            "cap": "250.00",
            "invoiced_before": "50.00",
            "this_invoice": "367.00",
            "after": "417.00",
            "over": "167.00",
            "message": "This invoice brings November to $417.00 of its $250.00 cap ($167.00 "
            "over): $50.00 on its finalized invoices plus $367.00 on this one.",
        }
    ]
    # Only the finalized one exists: the preview made nothing.
    assert [i["status"] for i in (await world.api("GET", "/api/invoices")).json()["items"]] == [
        "finalized"
    ]
