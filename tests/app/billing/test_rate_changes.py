"""Dated rates for a budget, a client and the site: a rate from a day on, the base rate
before it. The seeded site has user-1's 0.50 h on Nov 1 and 1.50 h on Nov 15 (ALPHA), and
0.25 h on BETA; see conftest."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from app.db import transaction
from tests.app.billing.test_budgets import create_budget, worklog_id
from tests.app.billing.test_invoices import finalize, generate, invoice_of
from tests.app.billing.test_worklog_rates import rate_of
from tests.support.world import World

FROM_NOV_10 = [{"effective_from": "2026-11-10", "hourly_rate": "150.00"}]


async def put_changes(world: World, path: str, changes: list[dict[str, str]]) -> Any:
    response = await world.api("PUT", f"{path}/rate-changes", json=changes)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.parametrize("level", ["budget", "client", "site"])
async def test_a_rate_change_bills_work_from_its_day_on(world: World, level: str) -> None:
    """Each level on its own: the worklog list and the invoice agree, day by day."""
    budget = await create_budget(world)
    path, base = {
        "budget": (f"/api/budgets/{budget['id']}", {"hourly_rate": "100.00"}),
        "client": (f"/api/clients/{budget['client_id']}", {"hourly_rate": "100.00"}),
        "site": ("/api/settings", {"default_hourly_rate": "100.00"}),
    }[level]
    assert (await world.api("PATCH", path, json=base)).is_success
    source = "site_default" if level == "site" else level

    saved = await put_changes(world, path, FROM_NOV_10)

    assert saved == FROM_NOV_10
    assert (await world.api("GET", f"{path}/rate-changes")).json()["items"] == saved
    assert await rate_of(world, 1800) == ("100.00", source)  # Nov 1: the base rate
    assert await rate_of(world, 5400) == ("150.00", source)  # Nov 15: the change
    invoice = await generate(world, budget["id"], group_by="worklog")
    assert [(line["rate"], line["amount"]) for line in invoice["lines"]] == [
        ("100.00", "50.00"),
        ("150.00", "225.00"),
    ]


async def test_without_a_base_rate_the_change_prices_only_work_after_it(world: World) -> None:
    budget = await create_budget(world)  # no budget, client or site rate
    await put_changes(world, f"/api/budgets/{budget['id']}", FROM_NOV_10)

    assert await rate_of(world, 1800) == (None, None)
    payload = {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    response = await world.api("POST", f"/api/budgets/{budget['id']}/invoices", json=payload)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "rate_missing"
    # The unpriced worklog (Nov 1, before the change) by its issue and day, not Jira's id.
    message = response.json()["error"]["message"]
    assert "worklog of 0.50 h on 1 Nov 2026" in message
    assert worklog_id(world, 1800) not in message

    invoice = await generate(world, budget["id"], period_start="2026-11-10")
    assert invoice["total"] == "225.00"


async def test_levels_keep_their_order_whatever_the_dates(world: World) -> None:
    """A budget's change beats the client's, which beats the site's; a person's rate on the
    budget beats them all, from its own day."""
    budget = await create_budget(world)
    await put_changes(
        world, "/api/settings", [{"effective_from": "2026-11-01", "hourly_rate": "1"}]
    )
    client_path = f"/api/clients/{budget['client_id']}"
    await put_changes(world, client_path, [{"effective_from": "2026-11-01", "hourly_rate": "2"}])
    assert await rate_of(world, 1800) == ("2.00", "client")
    await put_changes(
        world,
        f"/api/budgets/{budget['id']}",
        [{"effective_from": "2026-11-12", "hourly_rate": "3"}],
    )
    assert await rate_of(world, 1800) == ("2.00", "client")
    assert await rate_of(world, 5400) == ("3.00", "budget")
    card = [{"account_id": "user-1", "hourly_rate": "4.00", "effective_from": "2026-11-14"}]
    assert (await world.api("PUT", f"/api/budgets/{budget['id']}/rates", json=card)).is_success
    assert await rate_of(world, 5400) == ("4.00", "budget_member")


async def test_a_rate_change_never_reaches_an_invoice_already_made(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await finalize(world, (await generate(world, budget["id"]))["id"])

    await put_changes(world, f"/api/budgets/{budget['id']}", FROM_NOV_10)

    assert await invoice_of(world, invoice["id"]) == invoice
    assert await rate_of(world, 5400) == ("100.00", "budget")  # as its invoice bills it


async def test_the_whole_list_is_replaced_and_can_be_emptied(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    path = f"/api/budgets/{budget['id']}"
    changes = [
        {"effective_from": "2026-12-01", "hourly_rate": "170.00"},
        {"effective_from": "2026-11-10", "hourly_rate": "150.00"},
    ]
    assert [c["effective_from"] for c in await put_changes(world, path, changes)] == [
        "2026-11-10",
        "2026-12-01",
    ]
    assert await put_changes(world, path, []) == []
    assert await rate_of(world, 5400) == ("100.00", "budget")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (FROM_NOV_10 * 2, "duplicate_rate"),
        ([{"effective_from": "2026-11-10", "hourly_rate": "-1"}], "invalid_request"),
        ([{"effective_from": "2026-11-10", "hourly_rate": "1.001"}], "invalid_request"),
        ([{"effective_from": "not a day", "hourly_rate": "1"}], "invalid_request"),
        ([{"effective_from": "2026-11-10"}], "invalid_request"),
        ([{"effective_from": "2026-11-10", "hourly_rate": "1", "x": 1}], "invalid_request"),
        (FROM_NOV_10 * 201, "invalid_request"),
    ],
)
async def test_bad_rate_changes_are_refused_and_change_nothing(
    world: World, changes: list[dict[str, str]], code: str
) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    path = f"/api/budgets/{budget['id']}/rate-changes"
    await put_changes(world, f"/api/budgets/{budget['id']}", FROM_NOV_10)

    response = await world.api("PUT", path, json=changes)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert (await world.api("GET", path)).json()["items"] == FROM_NOV_10


async def test_rate_changes_of_unknown_foreign_or_deleted_owners(world: World) -> None:
    budget = await create_budget(world)
    for path in ("/api/budgets/999999/rate-changes", "/api/clients/999999/rate-changes"):
        assert (await world.api("GET", path)).status_code == 404
        assert (await world.api("PUT", path, json=FROM_NOV_10)).status_code == 404
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Globex Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)
    path = f"/api/budgets/{budget['id']}/rate-changes"
    assert (await world.api("PUT", path, json=FROM_NOV_10, site=other)).status_code == 404
    assert (await world.api("GET", "/api/settings/rate-changes", site=other)).json() == {
        "items": []
    }

    await put_changes(world, f"/api/budgets/{budget['id']}", FROM_NOV_10)
    await put_changes(world, f"/api/clients/{budget['client_id']}", FROM_NOV_10)
    assert (await world.api("DELETE", f"/api/budgets/{budget['id']}")).status_code == 204
    assert (await world.api("DELETE", f"/api/clients/{budget['client_id']}")).status_code == 204
    async with transaction(world.runtime.sessions) as session:
        assert await session.scalar(text("SELECT count(*) FROM dated_rates")) == 0


async def test_only_billing_editors_change_rates(world: World) -> None:
    budget = await create_budget(world)
    for path in (
        f"/api/budgets/{budget['id']}/rate-changes",
        f"/api/clients/{budget['client_id']}/rate-changes",
        "/api/settings/rate-changes",
    ):
        response = await world.api("PUT", path, json=FROM_NOV_10, account_id="user-1")
        assert response.status_code == 403, path
        assert (await world.api("GET", path, account_id="user-1")).json() == {"items": []}


async def test_replacements_at_once_take_turns(world: World) -> None:
    """Each PUT replaces the whole list: at once, one wins whole, none fails or merges."""
    budget = await create_budget(world, hourly_rate="100.00")
    path = f"/api/budgets/{budget['id']}/rate-changes"
    lists = [
        [
            {"effective_from": "2026-11-10", "hourly_rate": f"{100 + n}.00"},
            {"effective_from": f"2026-12-{n + 1:02d}", "hourly_rate": "1.00"},
        ]
        for n in range(6)
    ]

    answers = await asyncio.gather(*(world.api("PUT", path, json=body) for body in lists))

    assert [a.status_code for a in answers] == [200] * 6
    assert (await world.api("GET", path)).json()["items"] in lists


async def test_a_day_given_twice_is_named_with_the_rows_that_give_it(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    changes = [
        {"effective_from": "2026-11-10", "hourly_rate": "110.00"},
        {"effective_from": "2026-11-20", "hourly_rate": "120.00"},
        {"effective_from": "2026-11-10", "hourly_rate": "130.00"},
    ]
    response = await world.api("PUT", f"/api/budgets/{budget['id']}/rate-changes", json=changes)
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "duplicate_rate",
        "message": "Two rates start on 10 Nov 2026: one rate per day. Change one of the dates,"
        " or remove one of the two.",
        "fields": ["0.effective_from", "2.effective_from"],
    }
