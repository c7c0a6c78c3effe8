"""What an invoice shows beside its figures: the worklogs behind a line ("2 worklogs"),
drift described by issue, person and day, and Generate's preview, which creates nothing.

The seeded site (see conftest) has, in November on ALPHA-1 "Build it": Mia Krystof's
0.50 h on Nov 1 (00:30 at +01:00) and 1.50 h on Nov 15; Ada Admin's 2 h 10 min on ALPHA-2
on Nov 20 is added here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.billing.models import Invoice, InvoiceWorklog
from tests.app.billing.test_budgets import create_budget, worklog_id
from tests.app.billing.test_invoices import (
    add_admin_worklog,
    error_code,
    finalize,
    generate,
    invoice_of,
    listed_worklogs,
)
from tests.support.world import World

NOVEMBER = {"period_start": "2026-11-01", "period_end": "2026-11-30"}


async def line_worklogs(world: World, invoice_id: int, line_id: int, **params: Any) -> Any:
    return await world.api(
        "GET",
        f"/api/invoices/{invoice_id}/lines/{line_id}/worklogs",
        params=params,
        account_id="user-1",
    )


# --- a line's worklogs -----------------------------------------------------------------------


async def test_a_line_lists_its_worklogs_as_done_page_by_page(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="120.00")
    invoice = await generate(world, budget["id"])
    build = invoice["lines"][0]
    assert build["description"] == "ALPHA-1 Build it"
    nov_1, nov_15 = worklog_id(world, 1800), worklog_id(world, 5400)

    first = await line_worklogs(world, invoice["id"], build["id"], limit=1)

    assert first.status_code == 200, first.text
    page = first.json()
    assert page["items"] == [
        {
            "id": nov_1,
            "issue_key": "ALPHA-1",
            "issue_summary": "Build it",
            "author": {"account_id": "user-1", "display_name": "Mia Krystof"},
            "started": "2026-11-01T00:30:00.000+01:00",
            "started_on": "2026-11-01",
            "actual_hours": "0.50",
            "hours": "0.50",
            "comment": "",
            "deleted_in_jira": False,
        }
    ]
    assert page["next_cursor"]
    second = (
        await line_worklogs(world, invoice["id"], build["id"], limit=1, cursor=page["next_cursor"])
    ).json()
    assert [w["id"] for w in second["items"]] == [nov_15]
    assert second["items"][0]["actual_hours"] == "1.50"
    assert second["next_cursor"] is None
    whole = (await line_worklogs(world, invoice["id"], build["id"])).json()
    assert [w["id"] for w in whole["items"]] == [nov_1, nov_15]
    assert sorted(build["worklog_ids"]) == sorted([nov_1, nov_15])
    ship = (await line_worklogs(world, invoice["id"], invoice["lines"][1]["id"])).json()
    assert [(w["issue_key"], w["author"]["display_name"], w["comment"]) for w in ship["items"]] == [
        ("ALPHA-2", "Ada Admin", "Release")
    ]


async def test_billed_hours_of_a_worklog_follow_the_invoices_rounding(world: World) -> None:
    changed = await world.api(
        "PATCH", "/api/settings", json={"rounding_mode": "up", "rounding_minutes": 60}
    )
    assert changed.status_code == 200, changed.text
    budget = await create_budget(world, hourly_rate="120.00")
    invoice = await generate(world, budget["id"])

    items = (await line_worklogs(world, invoice["id"], invoice["lines"][0]["id"])).json()["items"]

    assert [(w["actual_hours"], w["hours"]) for w in items] == [("0.50", "1.00"), ("1.50", "2.00")]


async def test_a_line_added_by_hand_has_no_worklogs_and_others_lines_are_not_found(
    world: World,
) -> None:
    budget = await create_budget(world, hourly_rate="120.00")
    invoice = await generate(world, budget["id"])
    added = await world.api(
        "POST",
        f"/api/invoices/{invoice['id']}/lines",
        json={"description": "Travel", "hours": "1.00", "rate": "50.00"},
    )
    manual = next(line for line in added.json()["lines"] if line["kind"] == "manual")
    assert (await line_worklogs(world, invoice["id"], manual["id"])).json() == {
        "items": [],
        "next_cursor": None,
    }

    december = await create_budget(
        world,
        client="Later",
        name="December",
        hourly_rate="100.00",
        starts_on="2026-12-01",
        ends_on="2026-12-31",
    )
    other = await generate(
        world, december["id"], period_start="2026-12-01", period_end="2026-12-31"
    )
    line_id = invoice["lines"][0]["id"]
    for invoice_id, wrong_line in (
        (invoice["id"], other["lines"][0]["id"]),
        (other["id"], line_id),
    ):
        missing = await line_worklogs(world, invoice_id, wrong_line)
        assert (missing.status_code, error_code(missing)) == (404, "invoice_line_not_found")
    for cursor in ("yesterday", "9999999999999999999.1", "1.9999999999999999999"):
        bad = await line_worklogs(world, invoice["id"], line_id, cursor=cursor)
        assert (bad.status_code, error_code(bad)) == (422, "invalid_cursor"), cursor

    site = world.jira.add_site("https://other.atlassian.net")
    site.add_user("Olga Other", account_id="user-1")
    await world.install(site)
    foreign = await world.api(
        "GET", f"/api/invoices/{invoice['id']}/lines/{line_id}/worklogs", site=site
    )
    assert (foreign.status_code, error_code(foreign)) == (404, "invoice_not_found")


# --- drift, as people know the work ----------------------------------------------------------


async def test_drift_names_the_issue_the_person_the_day_and_the_hours(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    invoice = await finalize(world, (await generate(world, budget["id"]))["id"])
    nov_1, nov_15 = worklog_id(world, 1800), worklog_id(world, 5400)
    world.site.update_worklog(nov_1, time_spent_seconds=2700)
    world.site.delete_worklog(nov_15)
    await world.settle()

    drift = {d["worklog_id"]: d for d in (await invoice_of(world, invoice["id"]))["drift"]}

    changed, deleted = drift[nov_1], drift[nov_15]
    assert (changed["change"], changed["issue_key"], changed["started_on"]) == (
        "updated",
        "ALPHA-1",
        "2026-11-01",
    )
    assert changed["author"] == {"account_id": "user-1", "display_name": "Mia Krystof"}
    assert (changed["hours"], changed["hours_now"]) == ("0.50", "0.75")
    assert (deleted["change"], deleted["issue_key"], deleted["started_on"]) == (
        "deleted",
        "ALPHA-1",
        "2026-11-15",
    )
    assert (deleted["hours"], deleted["hours_now"]) == ("1.50", None)


# --- Generate's preview ----------------------------------------------------------------------


async def invoice_rows(world: World) -> tuple[int, int]:
    async with world.runtime.sessions() as session:
        invoices = await session.scalar(select(func.count()).select_from(Invoice))
        claimed = await session.scalar(select(func.count()).select_from(InvoiceWorklog))
    return int(invoices or 0), int(claimed or 0)


async def test_the_preview_gives_generates_figures_and_creates_nothing(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="120.00")
    before = await invoice_rows(world)

    response = await world.api(
        "POST", f"/api/budgets/{budget['id']}/invoices/preview", json=NOVEMBER
    )

    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview == {
        "line_count": 2,
        "worklog_count": 3,
        "hours": "4.17",
        "actual_hours": "4.17",
        "total": "500.40",
        "currency": "USD",
        "cap_warnings": [],  # no cap on this budget
    }
    assert await invoice_rows(world) == before
    assert (await world.api("GET", "/api/invoices")).json()["items"] == []
    listed = await listed_worklogs(world, budget_id=budget["id"])
    assert {w["invoice_id"] for w in listed.values()} == {None}
    # Generate then makes exactly that.
    invoice = await generate(world, budget["id"])
    assert (
        invoice["line_count"],
        invoice["worklog_count"],
        invoice["hours"],
        invoice["actual_hours"],
        invoice["total"],
    ) == (2, 3, "4.17", "4.17", "500.40")
    # With the worklogs taken, the preview says so as Generate would.
    again = await world.api("POST", f"/api/budgets/{budget['id']}/invoices/preview", json=NOVEMBER)
    assert (again.status_code, error_code(again)) == (422, "nothing_to_invoice")


async def test_the_preview_groups_as_asked_and_is_for_billing_editors(world: World) -> None:
    await add_admin_worklog(world)
    budget = await create_budget(world, hourly_rate="100.00")
    url = f"/api/budgets/{budget['id']}/invoices/preview"

    by_worklog = await world.api("POST", url, json={**NOVEMBER, "group_by": "worklog"})

    assert by_worklog.json()["line_count"] == 3
    assert by_worklog.json()["total"] == "417.00"
    reader = await world.api("POST", url, json=NOVEMBER, account_id="user-1")
    assert reader.status_code == 403
    site = world.jira.add_site("https://other.atlassian.net")
    site.add_user("Olga Other", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(site)
    foreign = await world.api("POST", url, json=NOVEMBER, site=site)
    assert (foreign.status_code, error_code(foreign)) == (404, "budget_not_found")
    backwards = await world.api(
        "POST", url, json={"period_start": "2026-11-30", "period_end": "2026-11-01"}
    )
    assert backwards.status_code == 422
    assert await invoice_rows(world) == (0, 0)


# --- the total confirmed is the total locked -------------------------------------------------


async def test_finalize_refuses_when_the_total_changed_since_it_was_confirmed(
    world: World,
) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    assert draft["total"] == "200.00"
    line = draft["lines"][0]
    edited = await world.api(
        "PATCH", f"/api/invoices/{draft['id']}/lines/{line['id']}", json={"hours": "3.00"}
    )
    assert edited.json()["total"] == "300.00"  # changed in another tab after the dialog opened

    stale = await world.api(
        "POST", f"/api/invoices/{draft['id']}/finalize", json={"expected_total": "200.00"}
    )

    assert (stale.status_code, error_code(stale)) == (409, "invoice_total_changed")
    message = stale.json()["error"]["message"]
    assert "300.00 USD now, not the 200.00 USD you confirmed" in message
    assert (await invoice_of(world, draft["id"]))["status"] == "draft"
    settings = (await world.api("GET", "/api/settings")).json()
    assert settings["next_invoice_number"] == 1  # no number taken

    confirmed = await world.api(
        "POST", f"/api/invoices/{draft['id']}/finalize", json={"expected_total": "300.00"}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["total"]) == ("finalized", "300.00")
