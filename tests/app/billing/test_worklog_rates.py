"""The Worklogs list: each worklog's budget, the rate it bills at and where that rate comes
from; and what a person may change on a worklog."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.billing.test_budgets import create_budget, worklog_id
from tests.support.world import World


async def listed(world: World, **params: Any) -> dict[str, dict[str, Any]]:
    response = await world.api("GET", "/api/worklogs", params=params, account_id="user-1")
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


async def rate_of(world: World, seconds: int) -> tuple[str | None, str | None]:
    item = (await listed(world))[worklog_id(world, seconds)]
    return item["rate"], item["rate_source"]


async def test_without_any_rate_a_worklog_has_none(world: World) -> None:
    assert await rate_of(world, 900) == (None, None)
    item = (await listed(world))[worklog_id(world, 900)]
    assert item["budget_id"] is None


async def test_rates_resolve_from_the_most_specific(world: World) -> None:
    await world.api("PATCH", "/api/settings", json={"default_hourly_rate": "50.00"})
    assert await rate_of(world, 900) == ("50.00", "site_default")  # BETA: no budget

    budget = await create_budget(world)  # client without a rate, budget without a rate
    assert await rate_of(world, 5400) == ("50.00", "site_default")

    await world.api("PATCH", f"/api/clients/{budget['client_id']}", json={"hourly_rate": "80"})
    assert await rate_of(world, 5400) == ("80.00", "client")

    await world.api("PATCH", f"/api/budgets/{budget['id']}", json={"hourly_rate": "95.00"})
    assert await rate_of(world, 5400) == ("95.00", "budget")

    card = [
        {"account_id": "user-1", "hourly_rate": "100.00", "effective_from": "2026-11-01"},
        {"account_id": "user-1", "hourly_rate": "110.00", "effective_from": "2026-11-15"},
        {"account_id": "user-admin", "hourly_rate": "500.00", "effective_from": "2026-01-01"},
    ]
    assert (
        await world.api("PUT", f"/api/budgets/{budget['id']}/rates", json=card)
    ).status_code == 200
    assert await rate_of(world, 1800) == ("100.00", "budget_member")  # worked Nov 1
    assert await rate_of(world, 5400) == ("110.00", "budget_member")  # worked Nov 15

    changed = await world.api(
        "PATCH", f"/api/worklogs/{worklog_id(world, 5400)}", json={"rate_override": "75.50"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["rate"], changed.json()["rate_source"]) == ("75.50", "worklog")
    assert await rate_of(world, 5400) == ("75.50", "worklog")

    cleared = await world.api(
        "PATCH", f"/api/worklogs/{worklog_id(world, 5400)}", json={"rate_override": None}
    )
    assert (cleared.json()["rate"], cleared.json()["rate_source"]) == ("110.00", "budget_member")


async def test_a_member_rate_starting_later_does_not_reach_earlier_work(world: World) -> None:
    budget = await create_budget(world, hourly_rate="90.00")
    card = [{"account_id": "user-1", "hourly_rate": "120.00", "effective_from": "2026-11-10"}]
    await world.api("PUT", f"/api/budgets/{budget['id']}/rates", json=card)
    assert await rate_of(world, 1800) == ("90.00", "budget")  # Nov 1: before the new rate
    assert await rate_of(world, 5400) == ("120.00", "budget_member")  # Nov 15


async def test_filter_by_budget_and_unassigned(world: World) -> None:
    november = await create_budget(world)
    in_budget = await listed(world, budget_id=november["id"])
    assert set(in_budget) == {worklog_id(world, 1800), worklog_id(world, 5400)}
    assert all(item["budget_id"] == november["id"] for item in in_budget.values())
    unassigned = await listed(world, unassigned="true")
    assert set(unassigned) == {
        worklog_id(world, 3600),
        worklog_id(world, 7200),
        worklog_id(world, 900),
    }
    await world.api(
        "POST", "/api/worklogs/unassign", json={"worklog_ids": [worklog_id(world, 1800)]}
    )
    assert worklog_id(world, 1800) in await listed(world, unassigned="true")


async def test_marking_a_worklog_not_billable(world: World) -> None:
    budget = await create_budget(world)
    target = worklog_id(world, 1800)
    response = await world.api("PATCH", f"/api/worklogs/{target}", json={"billable": False})
    assert response.status_code == 200
    assert response.json()["billable"] is False
    assert (await listed(world))[target]["billable"] is False
    figures = (await world.api("GET", f"/api/budgets/{budget['id']}")).json()
    assert (figures["hours_logged"], figures["hours_billable"]) == ("2.00", "1.50")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid_request"),
        ({"billable": None}, 422, "invalid_request"),
        ({"billable": "maybe"}, 422, "invalid_request"),
        ({"rate_override": "-1"}, 422, "invalid_request"),
        ({"rate_override": "12.345"}, 422, "invalid_request"),
        ({"comment": "no"}, 422, "invalid_request"),
    ],
)
async def test_bad_worklog_changes_are_refused(
    world: World, body: dict[str, Any], status: int, code: str
) -> None:
    target = worklog_id(world, 1800)
    before = (await listed(world))[target]
    response = await world.api("PATCH", f"/api/worklogs/{target}", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert (await listed(world))[target] == before


async def test_unknown_foreign_or_deleted_worklogs_are_404(world: World) -> None:
    assert (
        await world.api("PATCH", "/api/worklogs/987654321", json={"billable": False})
    ).status_code == 404
    gone = worklog_id(world, 900)
    world.site.delete_worklog(gone)
    await world.settle()
    response = await world.api("PATCH", f"/api/worklogs/{gone}", json={"billable": False})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "worklog_not_found"
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Globex Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)
    mine = worklog_id(world, 1800)
    foreign = await world.api(
        "PATCH", f"/api/worklogs/{mine}", json={"billable": False}, site=other
    )
    assert foreign.status_code == 404
    assert (await listed(world))[mine]["billable"] is True


async def test_only_billing_editors_change_worklogs(world: World) -> None:
    target = worklog_id(world, 1800)
    response = await world.api(
        "PATCH", f"/api/worklogs/{target}", json={"billable": False}, account_id="user-1"
    )
    assert response.status_code == 403
    assert (await listed(world))[target]["billable"] is True
