"""The figures the pages draw: a budget's burn day by day, and the Worklogs filters."""

from __future__ import annotations

from typing import Any

from tests.support.world import World

NOVEMBER = {"project_keys": ["ALPHA"], "starts_on": "2026-11-01", "ends_on": "2026-11-30"}


async def make_budget(world: World, **fields: Any) -> int:
    client = await world.api(
        "POST", "/api/clients", json={"name": fields.pop("client", "Acme"), "currency": "EUR"}
    )
    assert client.status_code == 201, client.text
    body = {"client_id": client.json()["id"], "name": "November", **NOVEMBER, **fields}
    response = await world.api("POST", "/api/budgets", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def burn(world: World, budget_id: int) -> dict[str, Any]:
    response = await world.api("GET", f"/api/budgets/{budget_id}/burn", account_id="user-1")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def on(figures: dict[str, Any], day: str) -> dict[str, Any]:
    return next(p for p in figures["points"] if p["date"] == day)


async def test_burn_is_cumulative_per_local_work_day_with_caps(world: World) -> None:
    budget = await make_budget(world, hourly_rate="100.00", hours_cap="10.00", amount_cap="900")
    figures = await burn(world, budget)

    assert figures["currency"] == "EUR"
    assert (figures["hours_cap"], figures["amount_cap"]) == ("10.00", "900.00")
    assert figures["points"][0]["date"] == "2026-11-01"  # from the budget's first day
    assert figures["points"][-1]["date"] <= "2026-11-30"  # never past its end
    # 00:30+01:00 on Nov 1 counts on Nov 1 (where it was logged), Oct 31 23:30-02:00 not at all.
    assert on(figures, "2026-11-01") == {
        "date": "2026-11-01",
        "hours": "0.50",
        "billable_hours": "0.50",
        "amount": "50.00",
    }
    assert on(figures, "2026-11-14")["hours"] == "0.50"
    assert on(figures, "2026-11-15")["hours"] == "2.00"
    assert on(figures, "2026-11-15")["amount"] == "200.00"
    assert (figures["hours_logged"], figures["amount"]) == ("2.00", "200.00")
    assert figures["unpriced_hours"] == "0.00"
    days = [p["date"] for p in figures["points"]]
    assert days == sorted(days) and len(days) == len(set(days))


async def test_burn_prices_like_the_rate_rule_and_rounds_like_invoices(world: World) -> None:
    budget = await make_budget(world, hourly_rate="100.00")
    rates = [{"account_id": "user-1", "hourly_rate": "150.00", "effective_from": "2026-11-10"}]
    assert (await world.api("PUT", f"/api/budgets/{budget}/rates", json=rates)).status_code == 200
    settings = {"rounding_mode": "up", "rounding_minutes": 60}
    assert (await world.api("PATCH", "/api/settings", json=settings)).status_code == 200

    figures = await burn(world, budget)

    # Nov 1: 0.50 h billed as 1 h at the budget's 100; Nov 15: 1.50 h as 2 h at Mia's 150.
    assert on(figures, "2026-11-01")["billable_hours"] == "1.00"
    assert on(figures, "2026-11-01")["amount"] == "100.00"
    assert on(figures, "2026-11-15")["billable_hours"] == "3.00"
    assert on(figures, "2026-11-15")["amount"] == "400.00"
    assert figures["hours_logged"] == "2.00"


async def test_invoiced_work_burns_what_its_invoice_bills(world: World) -> None:
    """Rates and rounding changed after invoicing reach only the work not invoiced."""
    budget = await make_budget(world, hourly_rate="100.00")
    payload = {"period_start": "2026-11-01", "period_end": "2026-11-10"}
    draft = await world.api("POST", f"/api/budgets/{budget}/invoices", json=payload)
    assert draft.status_code == 201, draft.text  # Nov 1: 0.50 h at 100
    later = {"rounding_mode": "up", "rounding_minutes": 60}
    assert (await world.api("PATCH", "/api/settings", json=later)).status_code == 200
    raised = {"hourly_rate": "300.00"}
    assert (await world.api("PATCH", f"/api/budgets/{budget}", json=raised)).status_code == 200

    figures = await burn(world, budget)

    # Nov 1 as invoiced (0.50 h at 100); Nov 15 by today's rules (1.50 h billed as 2 h at 300).
    assert on(figures, "2026-11-01")["billable_hours"] == "0.50"
    assert on(figures, "2026-11-01")["amount"] == "50.00"
    assert on(figures, "2026-11-15")["billable_hours"] == "2.50"
    assert on(figures, "2026-11-15")["amount"] == "650.00"

    # Deleted in Jira once invoiced, it is still billed: it still burns.
    nov_1 = next(w.id for w in world.site.worklogs.values() if w.time_spent_seconds == 1800)
    world.site.delete_worklog(nov_1)
    await world.settle()
    assert (await burn(world, budget))["amount"] == figures["amount"]


async def test_non_billable_work_burns_hours_but_no_money(world: World) -> None:
    budget = await make_budget(world, hourly_rate="100.00")
    nov15 = next(w.id for w in world.site.worklogs.values() if w.time_spent_seconds == 5400)
    patched = await world.api("PATCH", f"/api/worklogs/{nov15}", json={"billable": False})
    assert patched.status_code == 200, patched.text

    figures = await burn(world, budget)

    assert (figures["hours_logged"], figures["billable_hours"]) == ("2.00", "0.50")
    assert figures["amount"] == "50.00"


async def test_hours_without_any_rate_are_counted_as_unpriced(world: World) -> None:
    figures = await burn(world, await make_budget(world))
    assert figures["amount"] == "0.00"
    assert figures["unpriced_hours"] == "2.00"


async def test_another_sites_budget_is_not_found(world: World) -> None:
    budget = await make_budget(world)
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Gus", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)
    response = await world.api("GET", f"/api/budgets/{budget}/burn", site=other)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "budget_not_found"


async def test_worklog_facets_list_projects_and_people_with_worklogs(world: World) -> None:
    response = await world.api("GET", "/api/worklogs/facets", account_id="user-1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["project_keys"] == ["ALPHA", "BETA"]
    assert body["people"] == [{"account_id": "user-1", "display_name": "Mia Krystof"}]


async def test_reading_figures_needs_a_jira_token(world: World) -> None:
    response = await world.client.get("/api/worklogs/facets")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_token"
