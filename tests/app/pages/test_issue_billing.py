"""The issue glance's figures: hours logged on an issue, billed on finalized invoices, on
drafts, and not billed yet (GET /api/issues/{issue_id}/billing).

The seeded site (see conftest): ALPHA-1 has user-1's 1.00 h (Oct 31), 0.50 h (Nov 1),
1.50 h (Nov 15) and 2.00 h (Dec 2); BETA-1 has 0.25 h.
"""

from __future__ import annotations

from typing import Any

from tests.support.world import World


def issue_id(world: World, key: str) -> str:
    return next(i.id for i in world.site.issues.values() if i.key == key)


def worklog_id(world: World, seconds: int) -> str:
    return next(w.id for w in world.site.worklogs.values() if w.time_spent_seconds == seconds)


async def figures(world: World, key: str) -> dict[str, Any]:
    response = await world.api(
        "GET", f"/api/issues/{issue_id(world, key)}/billing", account_id="user-1"
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def november_invoice(world: World) -> dict[str, Any]:
    client = await world.api("POST", "/api/clients", json={"name": "Acme", "currency": "EUR"})
    assert client.status_code == 201, client.text
    budget = await world.api(
        "POST",
        "/api/budgets",
        json={
            "client_id": client.json()["id"],
            "name": "November",
            "project_keys": ["ALPHA"],
            "starts_on": "2026-11-01",
            "ends_on": "2026-11-30",
            "hourly_rate": "100.00",
        },
    )
    assert budget.status_code == 201, budget.text
    invoice = await world.api(
        "POST",
        f"/api/budgets/{budget.json()['id']}/invoices",
        json={"period_start": "2026-11-01", "period_end": "2026-11-30"},
    )
    assert invoice.status_code == 201, invoice.text
    body: dict[str, Any] = invoice.json()
    return body


async def test_an_issue_without_invoices_is_all_unbilled(world: World) -> None:
    alpha = await figures(world, "ALPHA-1")
    assert alpha["issue_key"] == "ALPHA-1"
    assert alpha["worklogs"] == 4
    assert (alpha["logged_hours"], alpha["billable_hours"]) == ("5.00", "5.00")
    assert (alpha["billed_hours"], alpha["draft_hours"], alpha["unbilled_hours"]) == (
        "0.00",
        "0.00",
        "5.00",
    )
    assert alpha["invoices"] == []
    assert (await figures(world, "BETA-1"))["logged_hours"] == "0.25"


async def test_draft_hours_are_unbilled_until_the_invoice_is_finalized(world: World) -> None:
    settings = {"rounding_mode": "up", "rounding_minutes": 60}
    assert (await world.api("PATCH", "/api/settings", json=settings)).status_code == 200
    draft = await november_invoice(world)

    on_draft = await figures(world, "ALPHA-1")
    assert (on_draft["draft_hours"], on_draft["billed_hours"]) == ("2.00", "0.00")
    assert on_draft["unbilled_hours"] == "5.00"
    assert [(i["id"], i["status"]) for i in on_draft["invoices"]] == [(draft["id"], "draft")]

    finalized = await world.api("POST", f"/api/invoices/{draft['id']}/finalize")
    assert finalized.status_code == 200, finalized.text
    after = await figures(world, "ALPHA-1")
    # Billed as invoiced: 0.50 h and 1.50 h each rounded up to the hour.
    assert (after["billed_hours"], after["draft_hours"]) == ("3.00", "0.00")
    assert after["unbilled_hours"] == "3.00"  # Oct 31 and Dec 2, as logged
    assert after["logged_hours"] == "5.00"
    assert after["invoices"][0]["number"] == finalized.json()["number"]
    assert after["invoices"][0]["hours"] == "3.00"


async def test_non_billable_work_is_logged_but_never_unbilled(world: World) -> None:
    dec_2 = worklog_id(world, 7200)
    patched = await world.api("PATCH", f"/api/worklogs/{dec_2}", json={"billable": False})
    assert patched.status_code == 200, patched.text
    alpha = await figures(world, "ALPHA-1")
    assert (alpha["logged_hours"], alpha["non_billable_hours"]) == ("5.00", "2.00")
    assert alpha["unbilled_hours"] == "3.00"


async def test_a_deleted_worklog_leaves_the_logged_hours_but_not_what_was_billed(
    world: World,
) -> None:
    draft = await november_invoice(world)
    assert (await world.api("POST", f"/api/invoices/{draft['id']}/finalize")).status_code == 200
    world.site.delete_worklog(worklog_id(world, 5400))
    await world.settle()
    alpha = await figures(world, "ALPHA-1")
    assert alpha["logged_hours"] == "3.50"
    assert alpha["billed_hours"] == "2.00"


async def test_unknown_issues_read_as_zero_and_other_sites_see_nothing(world: World) -> None:
    empty = await world.api("GET", "/api/issues/999999/billing")
    assert empty.status_code == 200, empty.text
    assert (empty.json()["logged_hours"], empty.json()["issue_key"]) == ("0.00", None)

    await november_invoice(world)
    other = world.jira.add_site("https://other.atlassian.net")
    other.add_user("Olga Other", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)
    seen = await world.api("GET", f"/api/issues/{issue_id(world, 'ALPHA-1')}/billing", site=other)
    assert seen.status_code == 200, seen.text
    assert seen.json()["logged_hours"] == "0.00"
    assert seen.json()["invoices"] == []
    assert (await world.api("GET", "/api/issues/1/billing", account_id=None)).status_code in (
        200,
        401,
    )
