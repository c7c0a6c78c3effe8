"""Budgets: which worklogs fall into them by themselves, which by hand, and their figures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import update

from app.worklogs.models import Worklog
from tests.support.world import World


async def client_id(world: World, name: str = "Acme") -> int:
    response = await world.api("POST", "/api/clients", json={"name": name, "currency": "USD"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def create_budget(world: World, **fields: Any) -> dict[str, Any]:
    body = {
        "client_id": await client_id(world, fields.pop("client", "Acme")),
        "name": "November",
        "project_keys": ["ALPHA"],
        "starts_on": "2026-11-01",
        "ends_on": "2026-11-30",
        **fields,
    }
    response = await world.api("POST", "/api/budgets", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def read(world: World, budget_id: int) -> dict[str, Any]:
    response = await world.api("GET", f"/api/budgets/{budget_id}", account_id="user-1")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def worklog_id(world: World, seconds: int) -> str:
    return next(w.id for w in world.site.worklogs.values() if w.time_spent_seconds == seconds)


async def test_worklogs_fall_into_a_budget_by_project_and_local_work_day(world: World) -> None:
    budget = await create_budget(world, hourly_rate="120.00", hours_cap="10.00")
    assert budget["project_keys"] == ["ALPHA"]
    assert budget["kind"] == "time_and_materials"
    assert budget["hourly_rate"] == "120.00"
    # Nov 1 (00:30+01:00) and Nov 15 count; Oct 31, Dec 2 and BETA do not.
    assert budget["hours_logged"] == "2.00"
    assert budget["hours_billable"] == "2.00"
    assert budget["hours_remaining"] == "8.00"


async def test_when_budgets_overlap_the_one_that_started_last_wins(world: World) -> None:
    whole_quarter = await create_budget(
        world, name="Q4", starts_on="2026-10-01", ends_on="2026-12-31"
    )
    mid_month = await create_budget(
        world, client="Other", name="From the 10th", starts_on="2026-11-10", ends_on=None
    )
    assert (await read(world, mid_month["id"]))["hours_logged"] == "3.50"  # Nov 15 + Dec 2
    assert (await read(world, whole_quarter["id"]))["hours_logged"] == "1.50"  # Oct 31 + Nov 1


async def test_assigning_by_hand_moves_worklogs_and_unassigning_takes_them_out(
    world: World,
) -> None:
    november = await create_budget(world)
    beta = await create_budget(world, client="Beta Inc", name="Beta", project_keys=["BETA"])
    moved = worklog_id(world, 5400)
    response = await world.api(
        "POST", "/api/worklogs/assign", json={"budget_id": beta["id"], "worklog_ids": [moved]}
    )
    assert response.status_code == 200, response.text
    assert (await read(world, november["id"]))["hours_logged"] == "0.50"
    assert (await read(world, beta["id"]))["hours_logged"] == "1.75"

    out = await world.api("POST", "/api/worklogs/unassign", json={"worklog_ids": [moved]})
    assert out.status_code == 200
    # Taken out by hand: the automatic match no longer applies either.
    assert (await read(world, november["id"]))["hours_logged"] == "0.50"
    assert (await read(world, beta["id"]))["hours_logged"] == "0.25"


async def test_non_billable_and_deleted_worklogs(world: World) -> None:
    budget = await create_budget(world)
    async with world.runtime.sessions() as session:
        await session.execute(
            update(Worklog).where(Worklog.time_spent_seconds == 1800).values(billable=False)
        )
        await session.commit()
    figures = await read(world, budget["id"])
    assert (figures["hours_logged"], figures["hours_billable"]) == ("2.00", "1.50")
    world.site.delete_worklog(worklog_id(world, 5400))
    await world.settle()
    assert (await read(world, budget["id"]))["hours_logged"] == "0.50"


async def test_changing_a_budgets_period_or_projects_changes_what_falls_in(world: World) -> None:
    budget = await create_budget(world)
    response = await world.api(
        "PATCH",
        f"/api/budgets/{budget['id']}",
        json={"project_keys": ["ALPHA", "BETA"], "ends_on": "2026-12-31", "kind": "retainer"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["project_keys"] == ["ALPHA", "BETA"]
    assert response.json()["kind"] == "retainer"
    assert response.json()["hours_logged"] == "4.25"


async def test_rate_card_is_dated_and_replaced_whole(world: World) -> None:
    budget = await create_budget(world)
    card = [
        {"account_id": "user-1", "hourly_rate": "100.00", "effective_from": "2026-11-01"},
        {"account_id": "user-1", "hourly_rate": "110.00", "effective_from": "2026-11-16"},
    ]
    response = await world.api("PUT", f"/api/budgets/{budget['id']}/rates", json=card)
    assert response.status_code == 200, response.text
    read_back = await world.api("GET", f"/api/budgets/{budget['id']}/rates")
    assert read_back.json()["items"] == card
    duplicate = await world.api(
        "PUT", f"/api/budgets/{budget['id']}/rates", json=[card[0], card[0]]
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["error"]["code"] == "duplicate_rate"
    # Both rows are named, for the page to mark their dates; the person by name (from Jira,
    # as their worklogs carry it), not an account id.
    assert duplicate.json()["error"]["fields"] == ["0.effective_from", "1.effective_from"]
    assert duplicate.json()["error"]["message"] == (
        "Two rates for Mia Krystof start on 1 Nov 2026: keep one of them, or give it another date."
    )
    assert (await world.api("GET", f"/api/budgets/{budget['id']}/rates")).json()["items"] == card


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"ends_on": "2026-10-01"}, 422, "invalid_request"),
        ({"project_keys": []}, 422, "invalid_request"),
        ({"project_keys": ["alpha"]}, 422, "invalid_request"),
        ({"hours_cap": "-1"}, 422, "invalid_request"),
        ({"amount_cap": "1.001"}, 422, "invalid_request"),
        ({"kind": "fixed"}, 422, "invalid_request"),
        ({"client_id": 999999}, 404, "client_not_found"),
    ],
)
async def test_bad_budgets_are_refused(
    world: World, change: dict[str, Any], status: int, code: str
) -> None:
    body = {
        "client_id": await client_id(world),
        "name": "Bad",
        "project_keys": ["ALPHA"],
        "starts_on": "2026-11-01",
        **change,
    }
    response = await world.api("POST", "/api/budgets", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert (await world.api("GET", "/api/budgets")).json()["items"] == []


async def test_a_patch_may_not_put_the_end_before_the_start(world: World) -> None:
    budget = await create_budget(world)
    response = await world.api(
        "PATCH", f"/api/budgets/{budget['id']}", json={"starts_on": "2026-12-15"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_period"
    assert response.json()["error"]["message"].startswith(
        "Ends on (30 Nov 2026) is before Starts on (15 Dec 2026): pick an end on or after"
    )
    assert (await read(world, budget["id"]))["starts_on"] == "2026-11-01"


async def test_assigning_unknown_worklogs_changes_nothing(world: World) -> None:
    budget = await create_budget(world)
    real = worklog_id(world, 900)
    response = await world.api(
        "POST",
        "/api/worklogs/assign",
        json={"budget_id": budget["id"], "worklog_ids": [real, "987654321"]},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "worklog_not_found"
    message = response.json()["error"]["message"]
    assert message.startswith("1 selected worklog is not on this site, so nothing was changed")
    assert "987654321" not in message  # an id means nothing to people
    assert (await read(world, budget["id"]))["hours_logged"] == "2.00"

    # One deleted in Jira since the list was read: named by its issue and day.
    gone = worklog_id(world, 5400)
    world.site.delete_worklog(gone)
    await world.settle()
    response = await world.api(
        "POST", "/api/worklogs/assign", json={"budget_id": budget["id"], "worklog_ids": [gone]}
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith(
        "ALPHA-1's worklog of 1.50 h on 15 Nov 2026 was deleted in Jira, so nothing was changed."
    )


async def test_a_client_with_budgets_cannot_be_deleted(world: World) -> None:
    budget = await create_budget(world)
    response = await world.api("DELETE", f"/api/clients/{budget['client_id']}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "client_has_budgets"


async def test_a_budget_without_invoices_can_be_deleted_and_then_its_client(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    later = await create_budget(world, client="Other", name="Later", starts_on="2026-11-10")
    nov_15 = worklog_id(world, 5400)
    assign = {"budget_id": budget["id"], "worklog_ids": [nov_15]}
    assert (await world.api("POST", "/api/worklogs/assign", json=assign)).is_success
    rates = [{"account_id": "user-1", "hourly_rate": "90.00", "effective_from": "2026-11-01"}]
    assert (await world.api("PUT", f"/api/budgets/{budget['id']}/rates", json=rates)).is_success

    response = await world.api("DELETE", f"/api/budgets/{budget['id']}")

    assert response.status_code == 204, response.text
    assert (await world.api("GET", f"/api/budgets/{budget['id']}")).status_code == 404
    # The hand-made assignment went with it: the worklog falls where it matches now.
    worklogs = (await world.api("GET", "/api/worklogs")).json()["items"]
    assert next(w for w in worklogs if w["id"] == nov_15)["budget_id"] == later["id"]
    response = await world.api("DELETE", f"/api/clients/{budget['client_id']}")
    assert response.status_code == 204, response.text


async def test_a_budget_invoices_were_made_from_cannot_be_deleted(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    payload = {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    draft = (await world.api("POST", f"/api/budgets/{budget['id']}/invoices", json=payload)).json()

    response = await world.api("DELETE", f"/api/budgets/{budget['id']}")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "budget_has_invoices"
    assert "'November'" in response.json()["error"]["message"]
    assert (await read(world, budget["id"]))["hours_logged"] == "2.00"
    assert (await world.api("DELETE", f"/api/invoices/{draft['id']}")).status_code == 204
    assert (await world.api("DELETE", f"/api/budgets/{budget['id']}")).status_code == 204


async def test_deleting_a_budget_while_an_invoice_is_made_from_it(world: World) -> None:
    """At once, either the invoice is made first (the delete answers 409) or the budget goes
    first (generating answers 404); never a server error, never an invoice without budget."""
    budget = await create_budget(world, hourly_rate="100.00")
    payload = {"period_start": "2026-11-01", "period_end": "2026-11-30"}

    made, deleted = await asyncio.gather(
        world.api("POST", f"/api/budgets/{budget['id']}/invoices", json=payload),
        world.api("DELETE", f"/api/budgets/{budget['id']}"),
    )

    assert (made.status_code, deleted.status_code) in ((201, 409), (404, 204))
    invoices = (await world.api("GET", "/api/invoices")).json()["items"]
    assert len(invoices) == (1 if made.status_code == 201 else 0)


async def test_ids_out_of_range_are_refused_not_a_server_error(world: World) -> None:
    budget = await create_budget(world)
    huge = "99999999999999999999"
    for method, path, body in (
        ("GET", f"/api/budgets/{huge}", None),
        ("DELETE", f"/api/budgets/{huge}", None),
        ("GET", f"/api/budgets/{huge}/burn", None),
        ("GET", f"/api/clients/{huge}", None),
        ("GET", f"/api/budgets?client_id={huge}", None),
        ("GET", f"/api/worklogs?budget_id={huge}", None),
        ("POST", "/api/budgets", {**_budget_body(budget), "client_id": int(huge)}),
        ("POST", "/api/worklogs/assign", {"budget_id": int(huge), "worklog_ids": ["1"]}),
        ("PUT", f"/api/clients/{huge}/quickbooks-customer", {"customer_id": "1"}),
    ):
        response = await world.api(method, path, json=body)
        assert response.status_code == 422, (method, path, response.text)
        assert response.json()["error"]["code"] == "invalid_request", (method, path)


def _budget_body(budget: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_id": budget["client_id"],
        "name": "Another",
        "project_keys": ["ALPHA"],
        "starts_on": "2026-11-01",
    }


async def test_only_billing_editors_change_budgets_and_assignments(world: World) -> None:
    budget = await create_budget(world)
    for method, path, body in (
        (
            "POST",
            "/api/budgets",
            {
                "client_id": budget["client_id"],
                "name": "X",
                "project_keys": ["ALPHA"],
                "starts_on": "2026-11-01",
            },
        ),
        ("PATCH", f"/api/budgets/{budget['id']}", {"name": "Y"}),
        ("DELETE", f"/api/budgets/{budget['id']}", None),
        ("PUT", f"/api/budgets/{budget['id']}/rates", []),
        (
            "POST",
            "/api/worklogs/assign",
            {"budget_id": budget["id"], "worklog_ids": [worklog_id(world, 900)]},
        ),
    ):
        response = await world.api(method, path, json=body, account_id="user-1")
        assert response.status_code == 403, (method, path)
    assert (await read(world, budget["id"]))["name"] == "November"


async def test_another_sites_budget_is_a_404(world: World) -> None:
    budget = await create_budget(world)
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Globex Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)
    response = await world.api("GET", f"/api/budgets/{budget['id']}", site=other)
    assert response.status_code == 404
    assign = await world.api(
        "POST",
        "/api/worklogs/assign",
        site=other,
        json={"budget_id": budget["id"], "worklog_ids": [worklog_id(world, 900)]},
    )
    assert assign.status_code == 404
