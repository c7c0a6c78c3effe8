"""The Worklogs list over the API: newest first, sorted by a column on the server with a
cursor that keeps the sort, totals of the whole filter (not of one page), and the invoice
each worklog is on.

Adds GAMMA (twelve issues, so GAMMA-9 and GAMMA-10 meet) with work by three people, ties
on purpose (the same start, the same length), a worklog that is not billable, one deleted
in Jira while a finalized invoice bills it and one deleted before anything billed it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests.app.billing.test_budgets import create_budget
from tests.app.billing.test_invoices import finalize, generate
from tests.support.world import World

SORTS = ("started", "issue", "person", "hours")


@dataclass(frozen=True, slots=True)
class Listed:
    """Every worklog the list shows, in the order the pages gave them, and the totals
    `GET /api/worklogs/totals` gives for the same filters."""

    ids: list[str]
    items: dict[str, dict[str, Any]]
    totals: dict[str, Any]
    pages: int


async def list_all(world: World, *, limit: int = 7, **params: Any) -> Listed:
    ids: list[str] = []
    items: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = await world.api("GET", "/api/worklogs", params=query, account_id="user-1")
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        for item in body["items"]:
            assert item["id"] not in items, f"{item['id']} listed twice"
            ids.append(item["id"])
            items[item["id"]] = item
        cursor = body["next_cursor"]
        if cursor is None:
            filters = {k: v for k, v in params.items() if k not in {"sort", "order"}}
            totals = await world.api(
                "GET", "/api/worklogs/totals", params=filters, account_id="user-1"
            )
            assert totals.status_code == 200, totals.text
            return Listed(ids, items, totals.json(), pages)


def hours_of(seconds: int) -> str:
    return str((Decimal(seconds) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def summed(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The totals, summed here from the items themselves."""
    return {
        "worklogs": len(items),
        "hours": hours_of(sum(i["time_spent_seconds"] for i in items)),
        "billable_hours": hours_of(sum(i["time_spent_seconds"] for i in items if i["billable"])),
    }


@pytest.fixture
async def gamma(world: World) -> World:
    site = world.site
    site.add_user("zoë Abara", account_id="user-2")
    site.add_user("Bram Ortiz", account_id="user-3")
    site.add_project("GAMMA", "Gamma")
    issues = [site.add_issue("GAMMA", f"Gamma task {n}").id for n in range(1, 13)]
    people = ("user-1", "user-2", "user-3")
    for n in range(36):
        # Days 1-18 of November; every third pair starts at the same moment.
        day, hour = 1 + n // 2, 9 if n % 3 else 14
        site.add_worklog(
            issues[(n * 5) % 12],
            people[n % 3],
            started=f"2026-11-{day:02d}T{hour:02d}:00:00.000+0000",
            time_spent_seconds=900 * (1 + n % 4),  # many worklogs share a length
        )
    # Two at exactly the same moment on the same issue by the same person: only the id
    # tells them apart.
    for _ in range(2):
        site.add_worklog(
            issues[9],
            "user-2",
            started="2026-11-20T10:00:00.000+0000",
            time_spent_seconds=1800,
        )
    await world.settle()
    return world


def expected_order(items: dict[str, dict[str, Any]], sort: str, order: str) -> list[str]:
    """The order the list must have, worked out here: Python's stable sort, last key first."""

    def started(item: dict[str, Any]) -> str:
        return item["started_utc"]

    rows = [
        {
            **item,
            "started_utc": _utc(item["started"]),
            "n": int(item["id"]),
        }
        for item in items.values()
    ]
    descending = order == "desc"
    key: Callable[[dict[str, Any]], Any]
    if sort == "started":
        rows.sort(key=lambda r: (started(r), r["n"]), reverse=descending)
        return [r["id"] for r in rows]
    rows.sort(key=lambda r: (started(r), r["n"]), reverse=True)  # newest first within a tie
    if sort == "issue":
        key = lambda r: (r["project_key"] or "", int(r["issue_key"].rsplit("-", 1)[1]))  # noqa: E731
    elif sort == "person":
        key = lambda r: (r["author"]["display_name"] or r["author"]["account_id"]).lower()  # noqa: E731
    else:
        key = lambda r: r["time_spent_seconds"]  # noqa: E731
    rows.sort(key=key, reverse=descending)
    return [r["id"] for r in rows]


def _utc(started: str) -> str:
    return datetime.fromisoformat(started).astimezone(UTC).isoformat()


async def test_the_list_is_newest_first_by_default_across_pages(gamma: World) -> None:
    listed = await list_all(gamma, limit=6)
    assert listed.pages > 5
    assert len(listed.ids) == len(gamma.site.worklogs)
    assert listed.ids == expected_order(listed.items, "started", "desc")
    assert listed.items[listed.ids[0]]["started"] == "2026-12-02T09:00:00.000+00:00"
    # The two identical worklogs come next, the later id first.
    twins = [i for i in listed.ids if listed.items[i]["started"].startswith("2026-11-20T10:00")]
    assert twins == listed.ids[1:3]
    assert int(twins[0]) > int(twins[1])


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", SORTS)
async def test_each_sort_holds_across_pages(gamma: World, sort: str, order: str) -> None:
    listed = await list_all(gamma, limit=5, sort=sort, order=order)
    assert len(listed.ids) == len(gamma.site.worklogs)
    assert listed.ids == expected_order(listed.items, sort, order)


async def test_issues_sort_by_their_number_and_people_by_name_whatever_the_case(
    gamma: World,
) -> None:
    by_issue = await list_all(gamma, limit=500, sort="issue", project_key="GAMMA")
    keys = list(dict.fromkeys(by_issue.items[i]["issue_key"] for i in by_issue.ids))
    assert keys == [f"GAMMA-{n}" for n in range(1, 13)]
    by_person = await list_all(gamma, limit=500, sort="person", order="asc")
    names = list(dict.fromkeys(by_person.items[i]["author"]["display_name"] for i in by_person.ids))
    assert names == ["Bram Ortiz", "Mia Krystof", "zoë Abara"]


async def test_totals_count_the_whole_filter_not_the_page(gamma: World) -> None:
    world = gamma
    # ALPHA's November budget, invoiced and finalized; then one of its worklogs is deleted
    # in Jira (still billed, so still listed and counted), a GAMMA one is deleted before
    # anything billed it (gone from the list and the totals), another is not billable.
    budget = await create_budget(world, hourly_rate="100.00")
    await finalize(world, (await generate(world, budget["id"]))["id"])
    alpha = [
        w
        for w in world.site.worklogs.values()
        if world.site.issues[w.issue_id].key.startswith("ALPHA")
    ]
    billed_then_deleted = next(w.id for w in alpha if w.time_spent_seconds == 5400)
    gamma_ids = [w.id for w in world.site.worklogs.values() if w.id not in {a.id for a in alpha}]
    world.site.delete_worklog(billed_then_deleted)
    world.site.delete_worklog(gamma_ids[0])
    await world.settle()
    not_billable = gamma_ids[1]
    patched = await world.api("PATCH", f"/api/worklogs/{not_billable}", json={"billable": False})
    assert patched.status_code == 200, patched.text

    everything = await list_all(world, limit=8)
    assert billed_then_deleted in everything.items
    assert everything.items[billed_then_deleted]["deleted_in_jira"] is True
    assert gamma_ids[0] not in everything.items
    assert everything.totals == summed(list(everything.items.values()))
    assert everything.totals["worklogs"] == len(world.site.worklogs) + 1
    assert everything.totals["hours"] != everything.totals["billable_hours"]

    for params in (
        {"project_key": "GAMMA"},
        {"author": "user-2", "from": "2026-11-05", "to": "2026-11-15"},
        {"budget_id": budget["id"]},
        {"unassigned": "true"},
        {"issue_key": "GAMMA-10", "sort": "hours"},
        {"budget_id": budget["id"], "from": "2026-11-10"},
        {"project_key": "NOPE"},
    ):
        listed = await list_all(world, limit=4, **params)
        assert listed.totals == summed(list(listed.items.values())), params
    in_budget = await list_all(world, budget_id=budget["id"])
    assert billed_then_deleted in in_budget.ids
    # November's two ALPHA worklogs (0.50 h, and 1.50 h deleted in Jira since).
    assert in_budget.totals == {"worklogs": 2, "hours": "2.00", "billable_hours": "2.00"}


async def test_the_invoice_a_worklog_is_on_is_named(gamma: World) -> None:
    world = gamma
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    listed = await list_all(world, budget_id=budget["id"])
    on_draft = [i for i in listed.items.values() if i["invoice_id"]]
    assert on_draft and all(
        i["invoice"] == {"id": draft["id"], "number": None, "status": "draft"} for i in on_draft
    )
    final = await finalize(world, draft["id"])
    listed = await list_all(world, budget_id=budget["id"])
    on_final = [i for i in listed.items.values() if i["invoice_id"]]
    assert {i["id"] for i in on_final} == {i["id"] for i in on_draft}
    assert all(
        i["invoice"] == {"id": final["id"], "number": final["number"], "status": "finalized"}
        for i in on_final
    )
    free = [i for i in (await list_all(world, project_key="GAMMA")).items.values()]
    assert all(i["invoice"] is None and i["invoice_id"] is None for i in free)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"sort": "rate"}, "invalid_request"),
        ({"sort": "STARTED"}, "invalid_request"),
        ({"order": "newest"}, "invalid_request"),
    ],
)
async def test_unknown_sorts_are_refused(world: World, params: dict[str, str], code: str) -> None:
    response = await world.api("GET", "/api/worklogs", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


async def test_a_cursor_only_continues_the_sort_it_came_from(gamma: World) -> None:
    first = await gamma.api("GET", "/api/worklogs", params={"limit": 3, "sort": "hours"})
    cursor = first.json()["next_cursor"]
    assert cursor
    same = await gamma.api(
        "GET", "/api/worklogs", params={"limit": 3, "sort": "hours", "cursor": cursor}
    )
    assert same.status_code == 200
    for other in ({"sort": "hours", "order": "asc"}, {"sort": "person"}, {}):
        response = await gamma.api(
            "GET", "/api/worklogs", params={"limit": 3, "cursor": cursor, **other}
        )
        assert response.status_code == 422, other
        error = response.json()["error"]
        assert error["code"] == "invalid_cursor"
        assert "sorted another way" in error["message"]


async def test_totals_refuse_what_the_list_refuses(world: World) -> None:
    backwards = {"from": "2026-11-05", "to": "2026-11-01"}
    for path in ("/api/worklogs", "/api/worklogs/totals"):
        response = await world.api("GET", path, params=backwards)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_period"
        assert "To date is before the From date" in response.json()["error"]["message"]
    response = await world.api("GET", "/api/worklogs/totals", params={"budget_id": "0"})
    assert response.status_code == 422
