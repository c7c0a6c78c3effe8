"""Invoices over the API: generate from a budget, review the draft, finalize and lock.

The seeded site (see conftest) has, in November on ALPHA-1 "Build it": user-1 0.50 h on
Nov 1 and 1.50 h on Nov 15; this module adds Ada Admin's 2 h 10 min on ALPHA-2 on Nov 20.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.billing import invoices as invoices_service
from app.billing.lock_triggers import locked_refusal
from app.billing.models import Invoice
from app.db import transaction
from tests.app.billing.test_budgets import create_budget, read, worklog_id
from tests.support.world import World


async def add_admin_worklog(world: World) -> str:
    issue = world.site.add_issue("ALPHA", "Ship it")
    worklog = world.site.add_worklog(
        issue.id,
        "user-admin",
        started="2026-11-20T10:00:00.000+0000",
        time_spent_seconds=7800,
        comment="Release",
    )
    await world.settle()
    return worklog.id


async def generate(world: World, budget_id: int, **body: Any) -> dict[str, Any]:
    payload = {"period_start": "2026-11-01", "period_end": "2026-11-30", **body}
    response = await world.api("POST", f"/api/budgets/{budget_id}/invoices", json=payload)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def invoice_of(world: World, invoice_id: int) -> dict[str, Any]:
    response = await world.api("GET", f"/api/invoices/{invoice_id}", account_id="user-1")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def finalize(world: World, invoice_id: int) -> dict[str, Any]:
    response = await world.api("POST", f"/api/invoices/{invoice_id}/finalize")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed_worklogs(world: World, **params: Any) -> dict[str, dict[str, Any]]:
    response = await world.api("GET", "/api/worklogs", params=params)
    assert response.status_code == 200, response.text
    return {w["id"]: w for w in response.json()["items"]}


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_a_draft_has_a_line_per_issue_with_hours_rate_and_amount(world: World) -> None:
    admin_worklog = await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="120.00")

    invoice = await generate(world, budget["id"])

    assert invoice["status"] == "draft"
    assert invoice["number"] is None
    assert invoice["currency"] == "USD"
    assert invoice["client"]["name"] == "Acme"
    assert invoice["budget"] == {"id": budget["id"], "name": "November"}
    assert invoice["created_by"]["account_id"] == "user-admin"
    lines = invoice["lines"]
    assert [line["description"] for line in lines] == ["ALPHA-1 Build it", "ALPHA-2 Ship it"]
    assert [(x["actual_hours"], x["hours"], x["rate"], x["amount"]) for x in lines] == [
        ("2.00", "2.00", "120.00", "240.00"),
        ("2.17", "2.17", "120.00", "260.40"),
    ]
    assert sorted(lines[0]["worklog_ids"]) == sorted(
        [worklog_id(world, 1800), worklog_id(world, 5400)]
    )
    assert lines[1]["worklog_ids"] == [admin_worklog]
    assert invoice["total"] == "500.40"
    assert invoice["hours"] == "4.17"
    assert invoice["drift"] == []
    # The worklogs now name their invoice.
    listed = await listed_worklogs(world, budget_id=budget["id"])
    assert {w["invoice_id"] for w in listed.values()} == {invoice["id"]}


async def test_grouping_by_person_or_worklog(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00")

    by_person = await generate(world, budget["id"], group_by="author")
    assert [(x["description"], x["hours"]) for x in by_person["lines"]] == [
        ("Ada Admin", "2.17"),
        ("Mia Krystof", "2.00"),
    ]
    assert (await world.api("DELETE", f"/api/invoices/{by_person['id']}")).status_code == 204

    by_worklog = await generate(world, budget["id"], group_by="worklog")
    assert [x["description"] for x in by_worklog["lines"]] == [
        "ALPHA-1 Build it — Mia Krystof, 2026-11-01",
        "ALPHA-1 Build it — Mia Krystof, 2026-11-15",
        "ALPHA-2 Ship it — Ada Admin, 2026-11-20: Release",
    ]
    assert by_worklog["total"] == "417.00"


async def test_lines_are_in_reading_order(world: World) -> None:
    """By issue in natural key order (ALPHA-9 before ALPHA-10), by person by name whatever
    the case, by worklog by when it started."""
    issues = [world.site.add_issue("ALPHA", f"Task {n}") for n in range(2, 11)]
    assert [i.key for i in issues[-2:]] == ["ALPHA-9", "ALPHA-10"]
    world.site.add_worklog(
        issues[-1].id,
        "user-admin",
        started="2026-11-03T09:00:00.000+0000",
        time_spent_seconds=3600,
    )
    world.site.add_worklog(
        issues[-2].id,
        "user-admin",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=1800,
    )
    await world.settle()
    budget = await create_budget(world, hourly_rate="100.00")

    by_issue = await generate(world, budget["id"])
    assert [x["description"] for x in by_issue["lines"]] == [
        "ALPHA-1 Build it",
        "ALPHA-9 Task 9",
        "ALPHA-10 Task 10",
    ]
    assert (await world.api("DELETE", f"/api/invoices/{by_issue['id']}")).status_code == 204

    by_worklog = await generate(world, budget["id"], group_by="worklog")
    assert [x["description"][:8] for x in by_worklog["lines"]] == [
        "ALPHA-1 ",
        "ALPHA-9 ",
        "ALPHA-10",
        "ALPHA-1 ",
    ]


async def test_lines_come_page_by_page_in_invoice_order(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big invoice comes with its first page of lines and its figures for all of them;
    GET …/lines reads the rest, in the same order, with each line's worklogs."""
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00")
    monkeypatch.setattr(invoices_service, "LINES_PAGE", 2)

    invoice = await generate(world, budget["id"], group_by="worklog")

    assert (invoice["line_count"], invoice["worklog_count"]) == (3, 3)
    assert (invoice["hours"], invoice["actual_hours"], invoice["total"]) == (
        "4.17",
        "4.17",
        "417.00",
    )
    assert len(invoice["lines"]) == 2
    assert invoice["lines_next_cursor"]
    url = f"/api/invoices/{invoice['id']}/lines"
    rest = await world.api("GET", url, params={"cursor": invoice["lines_next_cursor"]})
    assert rest.status_code == 200, rest.text
    assert rest.json()["next_cursor"] is None
    walked, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await world.api("GET", url, params=params, account_id="user-1")).json()
        walked += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == invoice["lines"] + rest.json()["items"]
    assert [len(line["worklog_ids"]) for line in walked] == [1, 1, 1]
    assert sorted(i for line in walked for i in line["worklog_ids"]) == sorted(
        w["id"] for w in (await listed_worklogs(world, budget_id=budget["id"])).values()
    )
    for bad in ("x", "1", "1.2.3", "9" * 30):
        response = await world.api("GET", url, params={"cursor": bad})
        assert (response.status_code, error_code(response)) == (422, "invalid_cursor")
    assert (await world.api("GET", url, params={"limit": 0})).status_code == 422
    missing = await world.api("GET", "/api/invoices/999999/lines")
    assert (missing.status_code, error_code(missing)) == (404, "invoice_not_found")


async def test_a_rate_change_mid_period_gives_a_line_per_rate(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    rates = [{"account_id": "user-1", "hourly_rate": "150.00", "effective_from": "2026-11-10"}]
    assert (await world.api("PUT", f"/api/budgets/{budget['id']}/rates", json=rates)).is_success

    invoice = await generate(world, budget["id"])

    assert [(x["description"], x["hours"], x["rate"], x["amount"]) for x in invoice["lines"]] == [
        ("ALPHA-1 Build it", "0.50", "100.00", "50.00"),
        ("ALPHA-1 Build it", "1.50", "150.00", "225.00"),
    ]
    assert invoice["total"] == "275.00"


async def test_rounding_bills_each_worklog_up_and_keeps_actual_hours(world: World) -> None:
    await add_admin_worklog(world)  # 2 h 10 min
    settings = {"rounding_mode": "up", "rounding_minutes": 60}
    assert (await world.api("PATCH", "/api/settings", json=settings)).is_success
    budget = await create_budget(world, hourly_rate="10.00")

    invoice = await generate(world, budget["id"])

    # ALPHA-1: 0.5 h → 1 h and 1.5 h → 2 h; ALPHA-2: 2 h 10 → 3 h.
    assert [(x["actual_hours"], x["hours"], x["amount"]) for x in invoice["lines"]] == [
        ("2.00", "3.00", "30.00"),
        ("2.17", "3.00", "30.00"),
    ]
    assert (invoice["rounding_mode"], invoice["rounding_minutes"]) == ("up", 60)
    assert (invoice["actual_hours"], invoice["hours"], invoice["total"]) == (
        "4.17",
        "6.00",
        "60.00",
    )


async def test_only_billable_worklogs_of_the_period_not_on_another_invoice(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    nov_1, nov_15 = worklog_id(world, 1800), worklog_id(world, 5400)
    response = await world.api("PATCH", f"/api/worklogs/{nov_1}", json={"billable": False})
    assert response.is_success

    # Nov 1 is not billable and Nov 15 is outside the period: nothing to invoice.
    early = {"period_start": "2026-11-01", "period_end": "2026-11-14"}
    response = await world.api("POST", f"/api/budgets/{budget['id']}/invoices", json=early)
    assert response.status_code == 422
    assert error_code(response) == "nothing_to_invoice"
    assert "November" in response.json()["error"]["message"]
    # The days as the pages write them.
    assert "from 1 Nov 2026 to 14 Nov 2026" in response.json()["error"]["message"]
    # ...and no empty draft was left behind.
    assert (await world.api("GET", "/api/invoices")).json()["items"] == []

    invoice = await generate(world, budget["id"])
    assert [w for line in invoice["lines"] for w in line["worklog_ids"]] == [nov_15]
    # Generating again finds nothing new: a worklog is never on two invoices.
    response = await world.api(
        "POST",
        f"/api/budgets/{budget['id']}/invoices",
        json={"period_start": "2026-11-01", "period_end": "2026-11-30"},
    )
    assert error_code(response) == "nothing_to_invoice"


async def test_a_worklog_without_any_rate_is_refused_with_the_fix(world: World) -> None:
    budget = await create_budget(world)  # no budget, client or site rate

    response = await world.api(
        "POST",
        f"/api/budgets/{budget['id']}/invoices",
        json={"period_start": "2026-11-01", "period_end": "2026-11-30"},
    )

    assert response.status_code == 422
    assert error_code(response) == "rate_missing"
    message = response.json()["error"]["message"]
    assert "Settings" in message
    # The worklogs as people know them: the issue, the hours and the day, not Jira's ids.
    assert re.search(r"for example [A-Z]+-\d+'s worklog of \d+\.\d\d h on \d+ Nov 2026", message)
    assert not re.search(r"\b1\d{4}\b", message), message
    assert (await world.api("GET", "/api/invoices")).json()["items"] == []


async def test_reviewing_a_draft_edits_lines_and_keeps_the_total(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    line = invoice["lines"][0]
    url = f"/api/invoices/{invoice['id']}"

    edited = await world.api(
        "PATCH",
        f"{url}/lines/{line['id']}",
        json={"description": "Design work", "hours": "2.25", "rate": "90.00"},
    )
    assert edited.status_code == 200, edited.text
    [changed] = edited.json()["lines"]
    assert (changed["description"], changed["actual_hours"], changed["hours"]) == (
        "Design work",
        "2.00",
        "2.25",
    )
    assert (changed["rate"], changed["amount"]) == ("90.00", "202.50")

    added = await world.api(
        "POST", f"{url}/lines", json={"description": "Hosting", "hours": "1", "rate": "49.99"}
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert [x["kind"] for x in body["lines"]] == ["worklogs", "manual"]
    assert body["lines"][1]["actual_hours"] is None
    assert body["total"] == "252.49"

    dated = await world.api(
        "PATCH", url, json={"due_date": "2027-01-15", "notes": "Thank you for your business."}
    )
    assert dated.status_code == 200
    assert (dated.json()["due_date"], dated.json()["notes"]) == (
        "2027-01-15",
        "Thank you for your business.",
    )

    removed = await world.api("DELETE", f"{url}/lines/{body['lines'][1]['id']}")
    assert removed.json()["total"] == "202.50"


async def test_removing_a_line_or_deleting_the_draft_frees_its_worklogs(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    [line] = invoice["lines"]

    removed = await world.api("DELETE", f"/api/invoices/{invoice['id']}/lines/{line['id']}")
    assert removed.status_code == 200
    assert removed.json()["lines"] == []
    listed = await listed_worklogs(world, budget_id=budget["id"])
    assert {w["invoice_id"] for w in listed.values()} == {None}

    again = await generate(world, budget["id"])
    assert (await world.api("DELETE", f"/api/invoices/{again['id']}")).status_code == 204
    assert (await world.api("GET", f"/api/invoices/{again['id']}")).status_code == 404
    third = await generate(world, budget["id"])
    assert third["total"] == "200.00"


async def test_finalize_numbers_locks_and_is_idempotent(world: World) -> None:
    settings = {"invoice_number_prefix": "WL-", "next_invoice_number": 41}
    assert (await world.api("PATCH", "/api/settings", json=settings)).is_success
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])

    final = await finalize(world, invoice["id"])

    assert (final["status"], final["number"]) == ("finalized", "WL-41")
    assert final["finalized_by"]["account_id"] == "user-admin"
    assert final["finalized_at"] is not None
    assert (await finalize(world, invoice["id"]))["number"] == "WL-41"
    read = (await world.api("GET", "/api/settings")).json()
    assert read["next_invoice_number"] == 42

    url = f"/api/invoices/{invoice['id']}"
    line = final["lines"][0]["id"]
    for method, path, body in (
        ("PATCH", url, {"notes": "late change"}),
        ("DELETE", url, None),
        ("POST", f"{url}/lines", {"description": "x", "hours": "1", "rate": "1"}),
        ("PATCH", f"{url}/lines/{line}", {"hours": "9"}),
        ("DELETE", f"{url}/lines/{line}", None),
    ):
        response = await world.api(method, path, json=body)
        assert response.status_code == 409, (method, path)
        assert error_code(response) == "invoice_locked"
        assert "WL-41" in response.json()["error"]["message"]
    assert await invoice_of(world, invoice["id"]) == {**final}


async def test_the_database_itself_refuses_to_change_a_finalized_invoice(
    world: World,
) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    await finalize(world, invoice["id"])
    sessions = world.runtime.sessions

    for statement in (
        update(Invoice).where(Invoice.id == invoice["id"]).values(total=Decimal("1.00")),
        text("UPDATE invoice_lines SET amount = 1"),
        text("DELETE FROM invoice_lines"),
        text("DELETE FROM invoice_worklogs"),
        text("DELETE FROM invoices"),
    ):
        with pytest.raises(DBAPIError, match="invoice_locked"):
            async with transaction(sessions) as session:
                await session.execute(statement)
    assert (await invoice_of(world, invoice["id"]))["total"] == "200.00"


async def test_the_database_refuses_to_change_how_finalized_worklogs_bill(
    world: World,
) -> None:
    """The service answers 409 worklog_invoiced first; the database is the backstop for
    anything that gets past it. Jira's own changes are still mirrored (they are drift), and
    erasing the site still takes everything."""
    budget = await create_budget(world, hourly_rate="100.00")
    nov_1, nov_15 = int(worklog_id(world, 1800)), int(worklog_id(world, 5400))
    assign = {"budget_id": budget["id"], "worklog_ids": [str(nov_15)]}
    assert (await world.api("POST", "/api/worklogs/assign", json=assign)).is_success
    override = {"rate_override": "80.00"}
    assert (await world.api("PATCH", f"/api/worklogs/{nov_15}", json=override)).is_success
    await finalize(world, (await generate(world, budget["id"]))["id"])
    sessions = world.runtime.sessions
    async with transaction(sessions) as session:
        tenant_id = await session.scalar(text("SELECT id FROM tenants"))

    for statement in (
        "UPDATE worklogs SET billable = false WHERE id = :nov_1",
        "INSERT INTO worklog_assignments (tenant_id, worklog_id, budget_id, assigned_at)"
        " VALUES (:tenant, :nov_1, NULL, CURRENT_TIMESTAMP)",
        "INSERT INTO worklog_rate_overrides (tenant_id, worklog_id, hourly_rate, set_at)"
        " VALUES (:tenant, :nov_1, 1, CURRENT_TIMESTAMP)",
        "UPDATE worklog_assignments SET budget_id = NULL WHERE worklog_id = :nov_15",
        "DELETE FROM worklog_assignments WHERE worklog_id = :nov_15",
        "UPDATE worklog_rate_overrides SET hourly_rate = 1 WHERE worklog_id = :nov_15",
        "DELETE FROM worklog_rate_overrides WHERE worklog_id = :nov_15",
    ):
        with pytest.raises(DBAPIError, match="invoice_locked") as refused:
            async with transaction(sessions) as session:
                await session.execute(
                    text(statement), {"tenant": tenant_id, "nov_1": nov_1, "nov_15": nov_15}
                )
        # Should a change race past the service, the API answers as the service would.
        answer = locked_refusal(refused.value)
        assert answer is not None
        assert (answer.status_code, answer.code) == (409, "invoice_locked")

    async with transaction(sessions) as session:
        await session.execute(
            text("UPDATE worklogs SET time_spent_seconds = 60, billable = true WHERE id = :w"),
            {"w": nov_1},
        )
    listed = await listed_worklogs(world, budget_id=budget["id"])
    assert (listed[str(nov_1)]["billable"], listed[str(nov_1)]["hours"]) == (True, "0.02")
    assert listed[str(nov_15)]["rate"] == "80.00"
    async with transaction(sessions) as session:
        await session.execute(text("DELETE FROM tenants"))
        left = (
            await session.scalar(text("SELECT count(*) FROM worklog_assignments")),
            await session.scalar(text("SELECT count(*) FROM worklog_rate_overrides")),
        )
    assert left == (0, 0)


async def test_two_invoices_can_never_hold_the_same_worklog(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    sessions = world.runtime.sessions

    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO invoice_worklogs (tenant_id, worklog_id, invoice_id, group_key,"
                    " seconds, billed_seconds, rate, rate_source, jira_updated_at)"
                    " SELECT tenant_id, worklog_id, invoice_id, group_key, seconds,"
                    " billed_seconds, rate, rate_source, jira_updated_at FROM invoice_worklogs"
                )
            )
    assert len((await invoice_of(world, invoice["id"]))["lines"][0]["worklog_ids"]) == 2


async def test_lines_and_worklog_links_belong_to_an_invoice_and_go_with_it(world: World) -> None:
    """The database keeps every line and worklog link tied to an existing invoice (a
    foreign key on SQLite, per-statement triggers on PostgreSQL) and deletes them with it:
    with the draft, and with the site itself, finalized invoices included."""
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    sessions = world.runtime.sessions

    for statement in (
        "INSERT INTO invoice_lines (tenant_id, invoice_id, position, kind, description,"
        " hours, rate, amount) SELECT tenant_id, 999999, 1, 'manual', 'x', 1, 1, 1"
        " FROM invoice_lines",
        "UPDATE invoice_worklogs SET invoice_id = 999999",
        "UPDATE invoice_lines SET invoice_id = 999999",
    ):
        with pytest.raises(IntegrityError):
            async with transaction(sessions) as session:
                await session.execute(text(statement))
    assert (await invoice_of(world, draft["id"]))["worklog_count"] == 2

    async def children() -> tuple[int, int]:
        async with transaction(sessions) as session:
            lines = await session.scalar(text("SELECT count(*) FROM invoice_lines"))
            links = await session.scalar(text("SELECT count(*) FROM invoice_worklogs"))
        return int(lines or 0), int(links or 0)

    assert await children() == (1, 2)
    assert (await world.api("DELETE", f"/api/invoices/{draft['id']}")).status_code == 204
    assert await children() == (0, 0)

    await finalize(world, (await generate(world, budget["id"]))["id"])
    assert await children() == (1, 2)
    async with transaction(sessions) as session:
        await session.execute(text("DELETE FROM tenants"))
    assert await children() == (0, 0)


async def test_generating_at_once_never_claims_a_worklog_twice(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    body = {"period_start": "2026-11-01", "period_end": "2026-11-30"}

    responses = await asyncio.gather(
        *(world.api("POST", f"/api/budgets/{budget['id']}/invoices", json=body) for _ in range(5))
    )

    assert sorted(r.status_code for r in responses) == [201, 422, 422, 422, 422]
    claimed = [
        w
        for r in responses
        if r.status_code == 201
        for x in r.json()["lines"]
        for w in x["worklog_ids"]
    ]
    assert len(claimed) == len(set(claimed)) == 2


async def test_ten_finalize_calls_at_once_give_one_number(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])

    responses = await asyncio.gather(
        *(world.api("POST", f"/api/invoices/{invoice['id']}/finalize") for _ in range(10))
    )

    assert [r.status_code for r in responses] == [200] * 10
    assert {r.json()["number"] for r in responses} == {"INV-1"}
    assert (await world.api("GET", "/api/settings")).json()["next_invoice_number"] == 2


async def test_invoices_finalized_at_once_get_consecutive_numbers(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00")
    ids = []
    for group in ("author",):
        for period in (
            ("2026-11-01", "2026-11-10"),
            ("2026-11-11", "2026-11-18"),
            ("2026-11-19", "2026-11-30"),
        ):
            made = await generate(
                world, budget["id"], group_by=group, period_start=period[0], period_end=period[1]
            )
            ids.append(made["id"])

    responses = await asyncio.gather(
        *(world.api("POST", f"/api/invoices/{i}/finalize") for i in ids)
    )

    assert sorted(r.json()["number"] for r in responses) == ["INV-1", "INV-2", "INV-3"]


async def test_invoiced_worklogs_keep_their_budget_rate_and_billable_flag(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    other = await create_budget(world, client="Other", name="Other", project_keys=["BETA"])
    invoice = await generate(world, budget["id"])
    nov_15 = worklog_id(world, 5400)

    for method, path, body in (
        ("POST", "/api/worklogs/assign", {"budget_id": other["id"], "worklog_ids": [nov_15]}),
        ("POST", "/api/worklogs/unassign", {"worklog_ids": [nov_15]}),
        ("PATCH", f"/api/worklogs/{nov_15}", {"billable": False}),
        ("PATCH", f"/api/worklogs/{nov_15}", {"rate_override": "1.00"}),
    ):
        response = await world.api(method, path, json=body)
        assert response.status_code == 409, (path, response.text)
        assert error_code(response) == "worklog_invoiced"
        message = response.json()["error"]["message"]
        assert message.startswith(
            "ALPHA-1's worklog of 1.50 h on 15 Nov 2026 is on a draft invoice of the budget"
            " 'November': remove its line from the draft, or delete the draft"
        ), message
        assert f"invoice {invoice['id']}" not in message and nov_15 not in message


async def test_invoiced_worklogs_stay_in_their_budget_when_budgets_change(
    world: World,
) -> None:
    """Moving a budget's projects or period, or a newer budget over the same work, moves
    only what is not invoiced: an invoiced worklog stays with its invoice's budget."""
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await finalize(world, (await generate(world, budget["id"]))["id"])
    invoiced = {worklog_id(world, 1800), worklog_id(world, 5400)}
    before = await read(world, budget["id"])
    admin_worklog = await add_admin_worklog(world)  # not invoiced

    newer = await create_budget(world, client="Other", name="Late November", starts_on="2026-11-10")
    moved = {"project_keys": ["BETA"], "starts_on": "2026-12-01", "ends_on": "2026-12-31"}
    response = await world.api("PATCH", f"/api/budgets/{budget['id']}", json=moved)
    assert response.status_code == 200, response.text

    listed = await listed_worklogs(world)
    assert {i: listed[i]["budget_id"] for i in invoiced} == dict.fromkeys(invoiced, budget["id"])
    assert {listed[i]["invoice_id"] for i in invoiced} == {invoice["id"]}
    assert listed[admin_worklog]["budget_id"] == newer["id"]
    assert set(await listed_worklogs(world, budget_id=budget["id"])) == invoiced
    after = await read(world, budget["id"])
    assert (after["hours_logged"], after["hours_invoiced"]) == (
        before["hours_logged"],
        before["hours_invoiced"],
    )
    assert (await read(world, newer["id"]))["hours_logged"] == "2.17"


async def test_invoiced_worklogs_are_listed_at_the_rate_they_are_billed_at(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    admin_worklog = await add_admin_worklog(world)  # after the draft: not on it
    patch = {"hourly_rate": "500.00"}
    assert (await world.api("PATCH", f"/api/budgets/{budget['id']}", json=patch)).is_success

    listed = await listed_worklogs(world, budget_id=budget["id"])
    nov_1 = worklog_id(world, 1800)
    assert (listed[nov_1]["rate"], listed[nov_1]["rate_source"]) == ("100.00", "budget")
    assert listed[nov_1]["invoice_id"] == draft["id"]
    assert (listed[admin_worklog]["rate"], listed[admin_worklog]["rate_source"]) == (
        "500.00",
        "budget",
    )
    # Released with its draft, it is priced by today's rules again.
    assert (await world.api("DELETE", f"/api/invoices/{draft['id']}")).status_code == 204
    assert (await listed_worklogs(world, budget_id=budget["id"]))[nov_1]["rate"] == "500.00"


async def test_a_rate_change_after_finalizing_changes_nothing_on_the_invoice(
    world: World,
) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await finalize(world, (await generate(world, budget["id"]))["id"])

    patch = {"hourly_rate": "500.00"}
    assert (await world.api("PATCH", f"/api/budgets/{budget['id']}", json=patch)).is_success
    assert (
        await world.api("PATCH", "/api/settings", json={"default_hourly_rate": "9.00"})
    ).is_success

    assert await invoice_of(world, invoice["id"]) == invoice


async def test_changes_in_jira_after_finalizing_show_as_drift(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await finalize(world, (await generate(world, budget["id"]))["id"])
    nov_1, nov_15 = worklog_id(world, 1800), worklog_id(world, 5400)

    world.site.update_worklog(nov_1, time_spent_seconds=2700)
    world.site.delete_worklog(nov_15)
    await world.settle()

    read = await invoice_of(world, invoice["id"])
    assert sorted((d["worklog_id"], d["change"]) for d in read["drift"]) == sorted(
        [(nov_1, "updated"), (nov_15, "deleted")]
    )
    assert all(d["detected_at"] for d in read["drift"])
    # The invoice itself does not move.
    assert (read["total"], read["lines"]) == (invoice["total"], invoice["lines"])
    # The deleted worklog stays listed, marked, with its invoice.
    listed = await listed_worklogs(world, budget_id=budget["id"])
    assert listed[nov_15]["deleted_in_jira"] is True
    assert listed[nov_15]["invoice_id"] == invoice["id"]
    assert listed[nov_1]["hours"] == "0.75"


async def test_budget_figures_count_finalized_invoices(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00", amount_cap="1000.00")
    invoice = await generate(world, budget["id"])
    read = (await world.api("GET", f"/api/budgets/{budget['id']}")).json()
    assert (read["hours_invoiced"], read["amount_invoiced"]) == ("0.00", "0.00")

    await finalize(world, invoice["id"])

    read = (await world.api("GET", f"/api/budgets/{budget['id']}")).json()
    assert (read["hours_invoiced"], read["amount_invoiced"]) == ("2.00", "200.00")
    assert read["amount_remaining"] == "800.00"


async def test_a_client_with_invoices_cannot_be_deleted(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    await generate(world, budget["id"])

    response = await world.api("DELETE", f"/api/clients/{budget['client_id']}")

    assert response.status_code == 409
    assert error_code(response) == "client_has_invoices"
    assert "Acme" in response.json()["error"]["message"]


async def test_invoices_are_listed_newest_first_with_filters_and_pages(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00")
    first = await generate(world, budget["id"], period_end="2026-11-15")
    second = await generate(world, budget["id"], period_start="2026-11-16")
    await finalize(world, first["id"])

    page = (await world.api("GET", "/api/invoices", params={"limit": 1})).json()
    assert [i["id"] for i in page["items"]] == [second["id"]]
    rest = (await world.api("GET", "/api/invoices", params={"cursor": page["next_cursor"]})).json()
    assert [i["id"] for i in rest["items"]] == [first["id"]]
    assert rest["next_cursor"] is None
    finalized = (await world.api("GET", "/api/invoices", params={"status": "finalized"})).json()
    assert [(i["id"], i["number"], i["total"]) for i in finalized["items"]] == [
        (first["id"], "INV-1", "200.00")
    ]
    assert "lines" not in finalized["items"][0]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (
            "/invoices",
            {"period_start": "2026-11-30", "period_end": "2026-11-01"},
            422,
            "invalid_request",
        ),
        (
            "/invoices",
            {"period_start": "2026-11-01", "period_end": "2026-11-30", "group_by": "month"},
            422,
            "invalid_request",
        ),
        ("/invoices", {"period_start": "2026-11-01"}, 422, "invalid_request"),
        (
            "/invoices",
            {"period_start": "1900-01-01", "period_end": "2026-11-30"},
            422,
            "invalid_request",
        ),
    ],
)
async def test_bad_generate_requests_are_refused(
    world: World, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    response = await world.api("POST", f"/api/budgets/{budget['id']}{path}", json=body)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert (await world.api("GET", "/api/invoices")).json()["items"] == []


async def test_bad_review_input_is_refused_and_changes_nothing(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    url = f"/api/invoices/{invoice['id']}"
    line = f"{url}/lines/{invoice['lines'][0]['id']}"

    for method, path, body, status in (
        ("PATCH", line, {"rate": "-1"}, 422),
        ("PATCH", line, {"rate": "1000000.00"}, 422),
        ("PATCH", line, {"hours": "1.234"}, 422),
        ("PATCH", line, {"description": "   "}, 422),
        ("PATCH", line, {"description": "x" * 4001}, 422),
        ("PATCH", line, {}, 422),
        ("POST", f"{url}/lines", {"description": "x", "hours": "1"}, 422),
        ("PATCH", url, {"due_date": "2020-01-01"}, 422),
        ("PATCH", url, {"notes": "x" * 4001}, 422),
        ("PATCH", f"{url}/lines/999999", {"hours": "1"}, 404),
        (
            "POST",
            "/api/budgets/999999/invoices",
            {"period_start": "2026-11-01", "period_end": "2026-11-30"},
            404,
        ),
        ("POST", "/api/invoices/999999/finalize", None, 404),
    ):
        response = await world.api(method, path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert response.json()["error"]["message"]
    assert await invoice_of(world, invoice["id"]) == invoice


async def test_only_billing_editors_make_and_finalize_invoices(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    url = f"/api/invoices/{invoice['id']}"
    period = {"period_start": "2026-11-01", "period_end": "2026-11-30"}

    for method, path, body in (
        ("POST", f"/api/budgets/{budget['id']}/invoices", period),
        ("POST", f"{url}/finalize", None),
        ("PATCH", url, {"notes": "mine"}),
        ("POST", f"{url}/lines", {"description": "x", "hours": "1", "rate": "1"}),
        ("DELETE", url, None),
    ):
        response = await world.api(method, path, account_id="user-1", json=body)
        assert response.status_code == 403, (path, response.text)
        assert error_code(response) == "not_allowed"
    assert await invoice_of(world, invoice["id"]) == invoice


async def test_another_sites_invoice_is_a_404(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await generate(world, budget["id"])
    other = world.jira.add_site("https://other.atlassian.net")
    other.add_user("Olga Other", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)

    period = {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    for method, path, body in (
        ("GET", f"/api/invoices/{invoice['id']}", None),
        ("GET", f"/api/invoices/{invoice['id']}/lines", None),
        (
            "POST",
            f"/api/invoices/{invoice['id']}/finalize",
            {"expected_total": "200.00", "accept_over_cap": True},
        ),
        ("DELETE", f"/api/invoices/{invoice['id']}", None),
        ("POST", f"/api/budgets/{budget['id']}/invoices", period),
    ):
        response = await world.api(method, path, site=other, json=body)
        assert response.status_code == 404, (path, response.text)
    assert (await world.api("GET", "/api/invoices", site=other)).json()["items"] == []


async def test_each_invoice_takes_exactly_the_worklogs_listed_under_its_budget(
    world: World,
) -> None:
    """Overlapping budgets, a hand assignment and a hand "none": the invoice's own rules
    (plain conditions built from the budgets) agree with the Worklogs list's."""
    await add_admin_worklog(world)
    quarter = await create_budget(
        world, name="Q4", hourly_rate="100.00", starts_on="2026-10-01", ends_on="2026-12-31"
    )
    late = await create_budget(
        world, client="Late", name="Late Nov", hourly_rate="100.00", starts_on="2026-11-14"
    )
    same_day = await create_budget(
        world, client="Same", name="Same day", project_keys=["BETA"], starts_on="2026-10-01"
    )
    nov_1 = worklog_id(world, 1800)
    await world.api(
        "POST", "/api/worklogs/assign", json={"budget_id": late["id"], "worklog_ids": [nov_1]}
    )
    await world.api(
        "POST", "/api/worklogs/unassign", json={"worklog_ids": [worklog_id(world, 7200)]}
    )
    everything = {"period_start": "2026-01-01", "period_end": "2026-12-31"}

    for budget in (quarter, late, same_day):
        listed = await listed_worklogs(world, budget_id=budget["id"])
        response = await world.api("POST", f"/api/budgets/{budget['id']}/invoices", json=everything)
        if not listed:
            assert error_code(response) in ("nothing_to_invoice", "rate_missing")
            continue
        if budget is same_day:  # no rate anywhere: refused, naming the fix
            assert error_code(response) == "rate_missing"
            continue
        assert response.status_code == 201, response.text
        invoiced = {w for line in response.json()["lines"] for w in line["worklog_ids"]}
        assert invoiced == set(listed), budget["name"]
