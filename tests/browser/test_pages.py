"""The app's pages in a real browser, inside the emulated Jira: the guide's steps on the
Worklogs, Clients, Budgets and Settings pages, and an error shown as the API says it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import FrameLocator, Page, expect

from app.demo import Demo, DemoInBackground
from tests.browser.conftest import screenshot


def open_app_page(page: Page, demo: Demo, module_key: str, **params: str) -> FrameLocator:
    page.goto(demo.page_url(module_key, **params))
    expect(page.locator("#app-frame")).to_be_visible()
    return page.frame_locator("#app-frame")


def test_worklogs_filter_select_assign_and_toggle_billable(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-worklogs")
    expect(app.locator("#worklogs-body tr").first).to_be_visible()
    screenshot(page, "worklogs")

    # OPS has no budget: its worklogs are unassigned until someone assigns them.
    app.get_by_label("Project").select_option("OPS")
    app.get_by_label("Unassigned only").check()
    app.get_by_role("button", name="Apply filters").click()
    rows = app.locator("#worklogs-body tr")
    expect(rows.first).to_be_visible()
    expect(app.locator("#worklogs-body")).not_to_contain_text("ACME-")
    expect(rows.first.locator("td").nth(7)).to_contain_text("Unassigned")
    first_issue = rows.first.locator("td").nth(2).inner_text()
    assert first_issue.startswith("OPS-")

    rows.nth(0).locator(".row-select").check()
    rows.nth(1).locator(".row-select").check()
    expect(app.locator("#selection-count")).to_have_text("2 selected")
    app.get_by_label("Budget to assign the selected worklogs to").select_option(
        str(demo.budgets["Initech migration"])
    )
    app.get_by_role("button", name="Assign to budget").click()
    expect(app.locator("#page-status")).to_contain_text("2 worklogs assigned to Initech migration")
    # Said once, where it happened: no Jira flag repeats it over the page's content.
    expect(page.locator("#flags .flag")).to_have_count(0)

    # The filter still says "unassigned only": the two assigned ones are gone from it.
    app.get_by_label("Unassigned only").uncheck()
    app.get_by_label("Budget", exact=True).select_option(label="Initech migration")
    app.get_by_label("Project").select_option("OPS")
    app.get_by_role("button", name="Apply filters").click()
    expect(app.locator("#worklogs-body tr")).to_have_count(2)
    expect(app.locator("#worklogs-body")).to_contain_text("Initech migration")

    toggle = app.locator("#worklogs-body tr").first.locator("input[data-worklog]")
    expect(toggle).to_be_checked()
    toggle.uncheck(force=True)
    expect(app.locator("#page-status")).to_contain_text("is not billable now")
    app.get_by_role("button", name="Apply filters").click()
    expect(
        app.locator("#worklogs-body tr").first.locator("input[data-worklog]")
    ).not_to_be_checked()
    screenshot(page, "worklogs-assigned")


def test_worklogs_show_rate_and_its_source(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-worklogs")
    app.get_by_label("Budget", exact=True).select_option(label="Globex data platform")
    app.get_by_label("Person").select_option(label="Mia Krystof")
    app.get_by_role("button", name="Apply filters").click()
    first = app.locator("#worklogs-body tr").first
    expect(first).to_contain_text("$155.00")
    expect(first).to_contain_text("Person's rate on the budget")
    expect(first).to_contain_text("Globex data platform")


def test_log_time_creates_the_worklog_in_jira_as_the_current_user(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-worklogs")
    expect(app.locator("#worklogs-body tr").first).to_be_visible()
    app.get_by_role("button", name="Log time").first.click()
    today = datetime.now(UTC).date().isoformat()
    app.get_by_label("Issue key").fill("ACME-3")
    app.locator("#log-date").fill(today)
    app.get_by_label("Time spent").fill("1h 15m")
    app.get_by_label("What did you do?").fill("Browser test: checkout review")
    app.locator("#log-submit").click()
    expect(app.locator("#log-status")).to_contain_text(
        "It is highlighted in the list", timeout=20_000
    )

    logged = [
        w
        for w in demo.site.issue_worklogs("ACME-3")
        if w.time_spent_seconds == 4500 and w.started.startswith(today)
    ]
    assert len(logged) == 1
    assert logged[0].author_id == demo.admin.account_id  # the person, not the app
    screenshot(page, "worklogs-log-time")


def test_log_time_on_an_unknown_issue_says_so(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-worklogs")
    app.get_by_role("button", name="Log time").first.click()
    app.get_by_label("Issue key").fill("NOPE-999")
    app.get_by_label("Time spent").fill("30m")
    app.locator("#log-submit").click()
    expect(app.locator("#log-status")).to_contain_text("Jira has no issue NOPE-999")


def test_create_edit_and_fail_to_delete_a_client(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-clients")
    expect(app.locator("#clients-body")).to_contain_text("Acme Corporation")
    screenshot(page, "clients")

    app.get_by_role("button", name="Create client").first.click()
    app.get_by_label("Name").fill("Umbrella Health")
    app.get_by_label("Currency").select_option("EUR")
    app.get_by_label("Hourly rate").fill("110")
    app.get_by_label("Billing email").fill("invoices@umbrella.example")
    app.locator("#client-save").click()
    expect(app.locator("#page-status")).to_contain_text("Umbrella Health was created")
    row = app.locator("#clients-body tr", has_text="Umbrella Health")
    expect(row).to_contain_text("€110.00")

    row.get_by_role("button", name="Edit Umbrella Health").click()
    expect(app.locator("#client-editor-title")).to_have_text("Edit Umbrella Health")
    expect(app.locator("[data-slot=client-quickbooks]")).to_be_visible()
    app.get_by_label("Hourly rate").fill("125.50")
    app.locator("#client-save").click()
    expect(app.locator("#page-status")).to_contain_text("Umbrella Health was saved")
    expect(row).to_contain_text("€125.50")

    # A duplicate name: the API's own message, and what to do next.
    app.get_by_role("button", name="Create client").first.click()
    app.get_by_label("Name").fill("umbrella health")
    app.locator("#client-save").click()
    error = app.locator("#client-form-status [data-error-code=client_name_taken]")
    expect(error).to_contain_text(
        "A client named 'Umbrella Health' already exists: choose another name, or edit that client"
        " instead."
    )
    expect(error).not_to_contain_text("Reload")
    expect(app.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    app.get_by_role("button", name="Cancel").click()

    acme = app.locator("#clients-body tr", has_text="Acme Corporation")
    acme.get_by_role("button", name="Delete Acme Corporation").click()
    acme.get_by_role("button", name="Delete", exact=True).click()
    # Refused: Acme has budgets (and, once the guide's tests have run, invoices too).
    refused = app.locator(
        "#page-status :is([data-error-code=client_has_budgets],"
        " [data-error-code=client_has_invoices])"
    )
    expect(refused).to_contain_text(
        re.compile(r"'Acme Corporation' (still has budgets|has invoices)")
    )
    expect(app.locator("#clients-body")).to_contain_text("Acme Corporation")
    screenshot(page, "clients-error")


def test_budget_detail_shows_burn_chart_and_saves_the_rate_card(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    app = open_app_page(page, demo, "worklog360-budgets")
    expect(app.locator("#budgets-body")).to_contain_text("Globex data platform")
    screenshot(page, "budgets")

    app.get_by_role("button", name="Globex data platform").click()
    expect(app.locator("#detail-title")).to_have_text("Globex data platform")
    charts = app.locator("#burn figure.chart")
    expect(charts).to_have_count(2)
    expect(charts.first.locator("svg polyline.series")).to_have_count(1)
    expect(charts.first.locator(".cap-label")).to_contain_text("Hours cap 350.00 h")
    expect(charts.nth(1).locator(".cap-label")).to_contain_text("Amount cap")
    expect(app.locator("#detail-stats")).to_contain_text("Hours logged")

    rate_rows = app.locator("#rates-body tr")
    expect(rate_rows).to_have_count(2)
    app.get_by_role("button", name="Add rate").click()
    new_row = rate_rows.nth(2)
    new_row.get_by_label("Person").select_option(label="Lena Fischer")
    new_row.get_by_label("Hourly rate").fill("99.50")
    app.get_by_role("button", name="Save rate card").click()
    expect(app.locator("#rates-status")).to_contain_text("3 personal rates on Globex data platform")
    screenshot(page, "budget-detail")

    budget_id = demo.budgets["Globex data platform"]
    saved = demo_runner.call(demo.api("GET", f"/api/budgets/{budget_id}/rates")).json()["items"]
    assert {r["account_id"]: r["hourly_rate"] for r in saved}["demo-lena"] == "99.50"


def test_change_billing_settings(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-settings-integrations")
    expect(app.get_by_label("Invoice number prefix")).to_have_value("INV-")
    screenshot(page, "settings")
    app.get_by_label("Invoice number prefix").fill("W360-")
    app.get_by_label("Next invoice number").fill("1001")
    expect(app.locator("#s-number-preview")).to_have_text("The next invoice will be W360-1001.")
    app.get_by_label("Payment due after (days)").fill("14")
    app.get_by_role("button", name="Save settings").click()
    expect(app.locator("#settings-status")).to_contain_text("3 settings changed")

    app = open_app_page(page, demo, "worklog360-settings-integrations")
    expect(app.get_by_label("Invoice number prefix")).to_have_value("W360-")
    expect(app.get_by_label("Payment due after (days)")).to_have_value("14")

    # Rounding "up" with no step is refused by the API, which says why.
    app.get_by_label("Rounding step (minutes)").fill("0")
    app.get_by_role("button", name="Save settings").click()
    expect(app.locator("#settings-status [role=alert]")).to_contain_text(
        "Round up needs a rounding step: set Rounding step (minutes) above 0, or choose No "
        "rounding."
    )
    expect(app.locator("[data-slot=quickbooks-connection]")).to_be_visible()


def test_someone_without_billing_rights_is_told_who_can(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-settings-integrations", **{"as": "demo-mia"})
    expect(app.get_by_label("Invoice number prefix")).not_to_have_value("")
    # Told before trying, not by a 403 on saving: the form is read-only, with no Save.
    expect(app.locator("[data-reader-note]")).to_contain_text("ask a Jira administrator")
    expect(app.get_by_label("Payment due after (days)")).to_be_disabled()
    expect(app.get_by_role("button", name="Save settings")).to_have_count(0)


def test_pages_fit_a_narrow_jira_iframe(browser: object, demo: Demo) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 840, "height": 900})
    try:
        page = context.new_page()
        app = open_app_page(page, demo, "worklog360-worklogs")
        expect(app.locator("#worklogs-body tr").first).to_be_visible()
        # The host's nav hides below 800px, so the iframe is ~840px; the app copes down to 600.
        page.set_viewport_size({"width": 600, "height": 900})
        expect(app.get_by_role("button", name="Apply filters")).to_be_visible()
        width = app.locator("main").evaluate("m => m.scrollWidth <= window.innerWidth + 1")
        assert width, "the page scrolls sideways at 600px"
        screenshot(page, "worklogs-narrow")
    finally:
        context.close()


def test_a_page_loads_when_jiras_own_script_starts_after_the_iframe(page: Page, demo: Demo) -> None:
    """A reload can run the app's iframe (cached) before the Jira page's script listens:
    the page's first AP call must wait for the handshake instead of being lost, as with
    Atlassian's bridge. Held here on purpose: Jira's script is served only once the
    iframe's page has started and asked for its token."""
    held: list[object] = []
    page.route("**/_host/assets/host.js", lambda route: held.append(route))
    page.goto(demo.page_url("worklog360-budgets"), wait_until="commit")
    app = page.frame_locator("#app-frame")
    # The iframe's page is up and waiting on its first API call's token, which it asked
    # for before anything on the Jira page listened (Jira's script is still held).
    expect(app.locator("#budgets-status")).to_contain_text("Loading budgets")
    assert len(held) == 1
    held[0].continue_()  # type: ignore[attr-defined]
    expect(app.locator("#budgets-body tr").first).to_be_visible()
    expect(app.locator("#budgets-status")).not_to_contain_text("Loading")
