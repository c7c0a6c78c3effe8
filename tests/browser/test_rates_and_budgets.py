"""Dated rates and deleting budgets in a real browser inside the emulated Jira: a budget's,
a client's and the site's rate changes added, listed, refused where they were typed, and
removed; a budget deleted after confirming, or kept, with the API's reason, when an invoice
was made from it.

Each test makes its own clients and budgets (and logs its own work where it needs any), so
it changes nothing the other browser tests count on; the site's rate changes it adds, it
removes again."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from playwright.sync_api import FrameLocator, Locator, Page, expect

from app.demo import Demo, DemoInBackground
from app.timeutil import human_day
from tests.browser.conftest import screenshot
from tests.browser.test_guide import api
from tests.browser.test_invoiced_work import invoice_work, log_work
from tests.browser.test_pages import open_app_page


def days_from_today(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def make_budget(runner: DemoInBackground, client: str, project_key: str) -> dict[str, Any]:
    """A client at €100 an hour and a budget of its own at €120 over a new Jira project,
    with no work logged."""

    async def in_jira() -> None:
        runner.demo.site.add_project(project_key, f"{client} work")

    runner.call(in_jira())
    client_id = api(
        runner,
        "POST",
        "/api/clients",
        {"name": client, "currency": "EUR", "hourly_rate": "100.00"},
    )["id"]
    budget: dict[str, Any] = api(
        runner,
        "POST",
        "/api/budgets",
        {
            "client_id": client_id,
            "name": f"{client} {project_key}",
            "project_keys": [project_key],
            "hourly_rate": "120.00",
            "starts_on": days_from_today(-30),
        },
    )
    return budget


def rate_changes(app: FrameLocator) -> Locator:
    return app.get_by_role("region", name="Rate changes", exact=True)


def add_rate_change(section: Locator, n: int, day: str, rate: str) -> None:
    section.get_by_role("button", name="Add a rate change").click()
    effective = section.get_by_label(f"Rate change {n}: effective from")
    expect(effective).to_be_focused()
    effective.fill(day)
    section.get_by_label(f"Rate change {n}: rate an hour").fill(rate)


def test_a_budget_rate_change_is_saved_listed_and_bills_from_its_day(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    # Work logged three days ago, on a budget at €120 an hour.
    work = log_work(demo_runner, "DATED", [3600, 1800], client="Vandelay Industries")
    before_the_work, later = days_from_today(-5), days_from_today(30)
    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(work.budget_id)})
    expect(app.locator("#detail-title")).to_have_text("Vandelay Industries DATED")
    section = rate_changes(app)
    expect(section).to_contain_text(
        "work from that day on bills at the new rate, earlier work keeps the earlier one,"
        " and invoices already made never change"
    )
    expect(section).to_contain_text(
        "Before the first change, the budget's hourly rate applies: €120.00 an hour."
    )
    expect(section).to_contain_text("No rate changes")
    expect(section.get_by_role("columnheader", name="Rate an hour (EUR)")).to_be_visible()

    # From the keyboard: Add a rate change opens a row and puts the focus on its date.
    add = section.get_by_role("button", name="Add a rate change")
    add.focus()
    add.press("Enter")
    first = section.get_by_label("Rate change 1: effective from")
    expect(first).to_be_focused()
    first.fill(before_the_work)
    section.get_by_label("Rate change 1: rate an hour in EUR").fill("150")
    expect(section.locator("tr.rate-change-row").first).to_contain_text("€150.00 an hour from")
    add_rate_change(section, 2, later, "200")
    expect(section.get_by_text("Not saved yet")).to_be_visible()
    section.get_by_role("button", name="Save rate changes").click()
    expect(section.locator("#budget-rate-changes-status")).to_contain_text(
        "2 rate changes on Vandelay Industries DATED"
    )
    expect(section.get_by_text("Not saved yet")).to_be_hidden()

    # Listed again after a reload; the budget's rate today comes from the first change.
    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(work.budget_id)})
    expect(app.locator("#detail-title")).to_have_text("Vandelay Industries DATED")
    expect(app.locator("#detail-status")).to_be_empty()
    section = rate_changes(app)
    expect(section.locator("#budget-rate-changes-status")).not_to_contain_text("could not")
    rows = section.locator("tr.rate-change-row")
    expect(rows).to_have_count(2)
    expect(section.get_by_label("Rate change 1: effective from")).to_have_value(before_the_work)
    expect(section.get_by_label("Rate change 1: rate an hour in EUR")).to_have_value("150.00")
    expect(section.get_by_label("Rate change 2: effective from")).to_have_value(later)
    expect(section.get_by_label("Rate change 2: rate an hour in EUR")).to_have_value("200.00")
    expect(app.locator("#detail-meta")).to_contain_text(
        re.compile(r"€150\.00 an hour since .+ · €200\.00 an hour from ")
    )
    screenshot(page, "budget-rate-changes")

    saved = api(demo_runner, "GET", f"/api/budgets/{work.budget_id}/rate-changes")["items"]
    assert saved == [
        {"effective_from": before_the_work, "hourly_rate": "150.00"},
        {"effective_from": later, "hourly_rate": "200.00"},
    ]
    # The work (after the first change, before the second) bills at the new rate now.
    priced = api(demo_runner, "GET", "/api/worklogs?project_key=DATED")["items"]
    assert {(w["rate"], w["rate_source"]) for w in priced} == {("150.00", "budget")}


def test_rate_changes_refused_by_the_api_are_shown_where_they_were_typed(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    budget = make_budget(demo_runner, "Kramerica", "TWICE")
    day = days_from_today(-2)
    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(budget["id"])})
    section = rate_changes(app)
    expect(section).to_contain_text("No rate changes")
    status = section.locator("#budget-rate-changes-status")

    # A row with no rate: said before anything is sent.
    add_rate_change(section, 1, day, "")
    section.get_by_role("button", name="Save rate changes").click()
    expect(status.locator("[role=alert]")).to_contain_text(
        "Every rate change needs a date and a rate. Fill in Rate change 1: rate an hour in EUR"
    )
    rate_1 = section.get_by_label("Rate change 1: rate an hour in EUR")
    expect(rate_1).to_be_focused()
    expect(rate_1).to_have_attribute("aria-invalid", "true")

    # Two changes on one day: the API's duplicate_rate, both dates marked.
    rate_1.fill("130")
    expect(rate_1).not_to_have_attribute("aria-invalid", "true")
    add_rate_change(section, 2, day, "140")
    section.get_by_role("button", name="Save rate changes").click()
    duplicate = status.locator("[role=alert][data-error-code=duplicate_rate]")
    expect(duplicate).to_contain_text(
        f"Two rates start on {human_day(date.fromisoformat(day))}: one rate per day."
    )
    expect(duplicate).to_contain_text(
        "Check Rate change 1: effective from; Rate change 2: effective from."
    )
    expect(duplicate).to_contain_text("Change one of the dates, or remove one of the two.")
    date_1 = section.get_by_label("Rate change 1: effective from")
    date_2 = section.get_by_label("Rate change 2: effective from")
    expect(date_1).to_have_attribute("aria-invalid", "true")
    expect(date_2).to_have_attribute("aria-invalid", "true")
    expect(date_1).to_be_focused()
    expect(rate_1).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, "budget-rate-changes-duplicate")

    # A negative rate: the API's invalid_request, on that row's rate only.
    date_2.fill(days_from_today(-1))
    rate_2 = section.get_by_label("Rate change 2: rate an hour in EUR")
    rate_2.fill("-5")
    rate_2.press("Enter")
    invalid = status.locator("[role=alert][data-error-code=invalid_request]")
    expect(invalid).to_contain_text("Hourly rate in row 2: enter 0 or more.")
    expect(invalid).to_contain_text("Check Rate change 2: rate an hour in EUR.")
    expect(rate_2).to_have_attribute("aria-invalid", "true")
    expect(rate_2).to_be_focused()
    expect(rate_1).not_to_have_attribute("aria-invalid", "true")
    expect(date_1).not_to_have_attribute("aria-invalid", "true")
    # Nothing refused was saved; the budget's own form kept its rate field unmarked.
    assert api(demo_runner, "GET", f"/api/budgets/{budget['id']}/rate-changes")["items"] == []
    expect(app.locator("#budget-rate")).not_to_have_attribute("aria-invalid", "true")

    rate_2.fill("140")
    rate_2.press("Enter")
    expect(status.locator("[role=status]")).to_contain_text("2 rate changes on Kramerica TWICE")
    saved = api(demo_runner, "GET", f"/api/budgets/{budget['id']}/rate-changes")["items"]
    assert [c["hourly_rate"] for c in saved] == ["130.00", "140.00"]


def test_a_client_rate_change_is_added_and_removed(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    client = api(
        demo_runner,
        "POST",
        "/api/clients",
        {"name": "Pendant Publishing", "currency": "GBP", "hourly_rate": "90.00"},
    )
    path = f"/api/clients/{client['id']}/rate-changes"
    first_day, second_day = days_from_today(-60), days_from_today(-10)
    api(demo_runner, "PUT", path, [{"effective_from": first_day, "hourly_rate": "95.00"}])

    def edit_client() -> Locator:
        app = open_app_page(page, demo, "worklog360-clients")
        row = app.locator("#clients-body tr", has_text="Pendant Publishing")
        row.get_by_role("button", name="Edit Pendant Publishing").click()
        section = rate_changes(app)
        expect(section).to_be_visible()
        return section

    section = edit_client()
    status = section.locator("#client-rate-changes-status")
    expect(section).to_contain_text(
        "Before the first change, the client's hourly rate applies: £90.00 an hour."
    )
    rows = section.locator("tr.rate-change-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("£95.00 an hour from")
    expect(section.get_by_label("Rate change 1: rate an hour in GBP")).to_have_value("95.00")

    add_rate_change(section, 2, second_day, "99.50")
    section.get_by_role("button", name="Save rate changes").click()
    expect(status).to_contain_text("2 rate changes on Pendant Publishing")
    assert [c["hourly_rate"] for c in api(demo_runner, "GET", path)["items"]] == [
        "95.00",
        "99.50",
    ]
    screenshot(page, "client-rate-changes")

    # Removing the first: the focus moves on to the next change's Remove, then saved.
    section.get_by_role("button", name="Remove rate change 1").click()
    expect(rows).to_have_count(1)
    expect(section.get_by_role("button", name="Remove rate change 1")).to_be_focused()
    expect(section.get_by_label("Rate change 1: effective from")).to_have_value(second_day)
    section.get_by_role("button", name="Save rate changes").click()
    expect(status).to_contain_text("1 rate change on Pendant Publishing")
    assert api(demo_runner, "GET", path)["items"] == [
        {"effective_from": second_day, "hourly_rate": "99.50"}
    ]

    # After a reload, the one left; removed too, none.
    section = edit_client()
    expect(rows).to_have_count(1)
    section.get_by_role("button", name="Remove rate change 1").click()
    expect(section.get_by_role("button", name="Add a rate change")).to_be_focused()
    expect(section).to_contain_text("No rate changes")
    section.get_by_role("button", name="Save rate changes").click()
    expect(status).to_contain_text("No rate changes on Pendant Publishing")
    assert api(demo_runner, "GET", path)["items"] == []


def test_the_site_default_rate_change_is_added_and_removed(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    assert api(demo_runner, "GET", "/api/settings/rate-changes")["items"] == []
    day = days_from_today(-400)
    app = open_app_page(page, demo, "worklog360-settings-integrations")
    section = rate_changes(app)
    status = section.locator("#site-rate-changes-status")
    expect(section).to_contain_text("Before the first change, the default hourly rate above")
    expect(section).to_contain_text("No rate changes")
    # The default rate has no currency, as in the settings form above.
    expect(section.get_by_role("columnheader", name="Rate an hour", exact=True)).to_be_visible()

    add_rate_change(section, 1, day, "175")
    expect(section.locator("tr.rate-change-row").first).to_contain_text(
        re.compile(r"^175\.00 an hour from ")
    )
    section.get_by_role("button", name="Save rate changes").click()
    expect(status).to_contain_text("1 rate change on the default hourly rate")
    assert api(demo_runner, "GET", "/api/settings/rate-changes")["items"] == [
        {"effective_from": day, "hourly_rate": "175.00"}
    ]

    app = open_app_page(page, demo, "worklog360-settings-integrations")
    section = rate_changes(app)
    expect(section.get_by_label("Rate change 1: rate an hour", exact=True)).to_have_value("175.00")
    screenshot(page, "settings-rate-changes")
    section.get_by_role("button", name="Remove rate change 1").click()
    section.get_by_role("button", name="Save rate changes").click()
    expect(status).to_contain_text("No rate changes on the default hourly rate")
    assert api(demo_runner, "GET", "/api/settings/rate-changes")["items"] == []


def test_a_budget_without_invoices_is_deleted_after_confirming(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    budget = make_budget(demo_runner, "Monk's Diner", "GONE")
    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(budget["id"])})
    expect(app.locator("#detail-title")).to_have_text("Monk's Diner GONE")

    # Asked first; Escape keeps it and gives the focus back.
    delete = app.get_by_role("button", name="Delete budget")
    delete.click()
    dialog = app.get_by_role("alertdialog", name="Delete Monk's Diner GONE?")
    expect(dialog).to_contain_text("its rate card and its rate changes")
    expect(dialog.get_by_role("button", name="Delete budget")).to_be_focused()
    screenshot(page, "budget-delete-confirm")
    dialog.get_by_role("button", name="Delete budget").press("Escape")
    expect(dialog).to_have_count(0)
    expect(delete).to_be_focused()
    assert api(demo_runner, "GET", f"/api/budgets/{budget['id']}")["name"] == "Monk's Diner GONE"

    delete.click()
    dialog.get_by_role("button", name="Delete budget").click()
    expect(app.locator("#page-status [role=status]")).to_contain_text(
        "Monk's Diner GONE was deleted"
    )
    expect(app.locator("#budget-list")).to_be_visible()
    expect(app.locator("#budget-detail")).to_be_hidden()
    expect(app.locator("#budgets-body")).to_contain_text("Globex data platform")
    expect(app.locator("#budgets-body")).not_to_contain_text("Monk's Diner GONE")
    expect(app.get_by_role("button", name="Create budget").first).to_be_focused()
    gone = demo_runner.call(demo.api("GET", f"/api/budgets/{budget['id']}"))
    assert gone.status_code == 404


def test_a_budget_with_a_draft_invoice_is_kept_and_the_api_says_why(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "KEPT", [3600], client="Bania Comedy")
    invoice_work(demo_runner, work, finalize=False)
    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(work.budget_id)})
    expect(app.locator("#detail-title")).to_have_text("Bania Comedy KEPT")
    app.get_by_role("button", name="Delete budget").click()
    app.get_by_role("alertdialog").get_by_role("button", name="Delete budget").click()

    refused = app.locator("#detail-status [role=alert][data-error-code=budget_has_invoices]")
    expect(refused).to_contain_text("Bania Comedy KEPT was not deleted")
    expect(refused).to_contain_text(
        "Invoices were made from 'Bania Comedy KEPT', so it cannot be deleted: delete its drafts"
        " first"
    )
    expect(refused.get_by_role("button", name="Show its invoices")).to_be_visible()
    expect(app.get_by_role("alertdialog")).to_have_count(0)
    expect(app.get_by_role("button", name="Delete budget")).to_be_focused()
    expect(app.locator("#detail-title")).to_have_text("Bania Comedy KEPT")
    screenshot(page, "budget-delete-refused")
    assert api(demo_runner, "GET", f"/api/budgets/{work.budget_id}")["name"] == "Bania Comedy KEPT"
