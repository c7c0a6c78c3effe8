"""The product guide through the Forge door, in a real browser: the same pages as the Connect
door's, now a Custom UI inside the emulated Jira, every API call an invokeRemote. Connect
QuickBooks (a single-use link the API issues, opened by Jira after it asks), link a client's
customer, assign worklogs, New invoice → Generate draft, edit a line, Finalize, Sync with QB, a
payment, Refresh status; moving between the subpages from Jira's sidebar, the browser's Back
and the pages' own links; the issue glance; logging time as the person; a reader's view; an
API error shown as the API says it.

The tests of this module share the demo and run in order (QuickBooks is connected first)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from playwright.sync_api import FrameLocator, Page, expect

from app.demo import Demo, DemoInBackground
from tests.browser.conftest import pdf_text, serve_pdfs
from tests.browser.forge.conftest import FRAME, open_forge_page, shot

READER = "demo-mia"


def api(runner: DemoInBackground, method: str, path: str, json: Any = None) -> Any:
    """The app's API as the demo's Jira administrator, through the Forge bridge."""
    response = runner.call(runner.demo.api(method, path, json=json))
    assert response.status_code < 300, (method, path, response.text)
    return response.json() if response.content else None


def connect_quickbooks(page: Page, demo: Demo) -> FrameLocator:
    app = open_forge_page(page, demo, "configure")
    section = app.locator("[data-slot=quickbooks-connection]")
    button = section.get_by_role("button", name="Connect to QuickBooks")
    expect(button.or_(section.locator("#qbo-reconnect"))).to_be_visible()
    if not button.is_visible():
        return app  # connected already
    button.click()
    leave = page.get_by_role("dialog", name="Open an external link?")
    expect(leave).to_contain_text(f"{demo.app_url}/quickbooks/connect")
    with page.context.expect_page() as opened:
        leave.get_by_role("button", name="Open link").click()
    tab = opened.value
    expect(app.locator("#qbo-status")).to_contain_text("QuickBooks is connected", timeout=20_000)
    tab.close()
    return app


def test_the_guide_end_to_end_through_the_forge_door(
    page: Page, forge_demo: Demo, forge_demo_runner: DemoInBackground
) -> None:
    demo, runner = forge_demo, forge_demo_runner
    # 1. Settings (Jira's Configure page for the app) → Connect to QuickBooks. The page asks
    # for a link and Jira asks the person before opening it; declined, nothing happens.
    app = open_forge_page(page, demo, "configure")
    expect(page.get_by_role("link", name="Configure Worklog360")).to_have_attribute(
        "aria-current", "page"
    )
    app.get_by_role("button", name="Connect to QuickBooks").click()
    leave = page.get_by_role("dialog", name="Open an external link?")
    expect(leave).to_contain_text(f"{demo.app_url}/quickbooks/connect")
    shot(page, "1-connect-asks-to-leave-jira")
    leave.get_by_role("button", name="Cancel").click()
    expect(app.locator("#qbo-status")).to_contain_text("QuickBooks was not opened")
    app = connect_quickbooks(page, demo)
    expect(app.locator("[data-connection-state=connected]")).to_be_visible()
    expect(app.locator("#qbo-company")).to_have_text("Worklog360 Demo Books")
    # Said once, in the page (no Jira flag repeating it over the page).
    expect(app.locator("#qbo-status")).to_contain_text("Worklog360 Demo Books")
    expect(page.locator("#flags .flag")).to_have_count(0)
    shot(page, "1-quickbooks-connected")

    # 2. Manage Clients (from Jira's sidebar) → edit Acme → link its QuickBooks customer.
    page.get_by_role("link", name="Manage Clients").click()
    expect(app.locator("h1")).to_have_text("Clients")
    app.get_by_role("button", name="Edit Acme Corporation").click()
    combobox = app.get_by_role("combobox", name="Link to QuickBooks customer")
    combobox.fill("acme")
    expect(app.get_by_role("option", name="Acme Corporation")).to_be_visible()
    combobox.press("ArrowDown")
    combobox.press("Enter")
    expect(combobox).to_have_value("Acme Corporation")
    app.locator("#client-save").click()
    expect(app.locator("#page-status")).to_contain_text("Acme Corporation was saved")
    shot(page, "2-client-linked")

    # 3. Worklogs: assign two internal OPS worklogs to Acme's budget.
    app = open_forge_page(page, demo, "worklogs")
    app.get_by_label("Project").select_option("OPS")
    app.get_by_label("Unassigned only").check()
    app.get_by_role("button", name="Apply filters").click()
    expect(app.locator("#worklogs-body")).not_to_have_attribute("aria-busy", "true")
    rows = app.locator("#worklogs-body tr")
    expect(rows.first).to_be_visible()
    rows.nth(0).locator(".row-select").check()
    rows.nth(1).locator(".row-select").check()
    app.get_by_label("Budget to assign the selected worklogs to").select_option(
        str(demo.budgets["Acme web shop"])
    )
    app.get_by_role("button", name="Assign to budget").click()
    expect(app.locator("#page-status")).to_contain_text("2 worklogs assigned to Acme web shop")
    expect(page.locator("#flags .flag")).to_have_count(0)
    shot(page, "3-worklogs-assigned")

    # 4. Financials / Invoices → New invoice → Generate draft.
    page.get_by_role("link", name="Financials / Invoices").click()
    # As a person would: the list is there before they start a new invoice.
    expect(app.locator("h1")).to_have_text("Invoices")
    expect(app.locator("#invoices-status")).not_to_contain_text("Loading")
    expect(app.locator("#invoices-table")).not_to_have_attribute("aria-busy", "true")
    app.get_by_role("button", name="New invoice").click()
    expect(app.locator("#invoice-generator")).to_be_visible()
    app.get_by_label("Budget", exact=True).select_option(label="Acme web shop (Acme Corporation)")
    app.get_by_role("button", name="Whole budget to date").click()
    app.get_by_label("One line per").select_option("issue")
    app.get_by_role("button", name="Generate draft").click()
    expect(app.locator("#detail-status")).to_contain_text("Draft created")
    lines = app.locator("#lines-body tr")
    expect(lines.first).to_be_visible()

    # 5. Edit a line.
    app.get_by_label("Billed hours of line 1", exact=True).fill("3.00")
    app.get_by_label("Rate of line 1", exact=True).fill("150.00")
    app.get_by_label("Billed hours of line 1", exact=True).press("Enter")
    expect(app.locator("#lines-status")).to_contain_text("Line 1 saved")
    expect(lines.first.locator("[data-amount]")).to_have_text("$450.00")
    total = app.locator("#total-amount").inner_text()
    shot(page, "5-draft-review")

    # 6. Finalize Invoice, with its confirmation.
    app.get_by_role("button", name="Finalize Invoice").click()
    dialog = app.get_by_role("alertdialog", name="Finalize this invoice?")
    expect(dialog).to_contain_text(total)
    dialog.get_by_role("button", name="Finalize Invoice").click()
    expect(app.locator("#detail-status")).to_contain_text("finalized")
    number = app.locator("#detail-title").inner_text().removeprefix("Invoice ")
    expect(app.locator("#detail-badges [data-status=finalized]")).to_be_visible()

    # 7. Sync with QB.
    app.get_by_role("button", name="Sync with QB").click()
    synced = app.locator("#qbo-sync-status [data-synced]")
    expect(synced).to_contain_text("is in QuickBooks for Acme Corporation", timeout=30_000)
    expect(app.locator("#qbo-doc-number")).to_have_text(number)
    shot(page, "7-synced")

    # The invoice as the customer sees it: Download PDF asks the API for a single-use link,
    # and Jira asks before opening it outside; Open in QuickBooks goes through Jira too.
    served = serve_pdfs(page)
    app.get_by_role("button", name="Download PDF").click()
    leave = page.get_by_role("dialog", name="Open an external link?")
    expect(leave).to_contain_text(f"{demo.app_url}/quickbooks/invoice-pdf")
    shot(page, "7-pdf-asks-to-leave-jira")
    with page.context.expect_page() as opened:
        leave.get_by_role("button", name="Open link").click()
    status, headers, body = served.first(page)
    assert status == 200 and headers["content-type"] == "application/pdf"
    assert f"INVOICE {number}" in pdf_text(body)
    opened.value.close()
    app.get_by_role("link", name="Open in QuickBooks").click()
    leave = page.get_by_role("dialog", name="Open an external link?")
    expect(leave).to_contain_text("https://app.sandbox.qbo.intuit.com/app/invoice")
    leave.get_by_role("button", name="Cancel").click()
    expect(leave).to_be_hidden()

    # 8. A payment in QuickBooks, then Refresh status: Partially paid.
    invoice = next(
        i
        for i in api(runner, "GET", "/api/invoices?status=finalized")["items"]
        if i["number"] == number
    )
    qbo_invoice = api(runner, "GET", f"/api/invoices/{invoice['id']}")["quickbooks"]

    async def pay(amount: Decimal) -> None:
        demo.qbo.pay_invoice(demo.company.realm_id, qbo_invoice["invoice_id"], amount)

    runner.call(pay(Decimal("100.00")))
    app.get_by_role("button", name="Refresh status").click()
    expect(app.locator("#qbo-status [data-qbo-status=partially_paid]")).to_be_visible()
    expect(app.locator("#qbo-paid")).to_have_text("$100.00")
    runner.call(pay(Decimal(qbo_invoice["balance"]) - 100))
    app.get_by_role("button", name="Refresh status").click()
    expect(app.locator("#qbo-status [data-qbo-status=paid]")).to_be_visible()
    expect(app.locator("#qbo-balance")).to_have_text("$0.00")
    shot(page, "8-paid")
    app.get_by_role("button", name="← All invoices").click()
    row = app.locator("#invoices-body tr", has_text=number)
    expect(row.locator("[data-qbo-status=paid]")).to_be_visible()


def test_the_subpages_are_reached_from_jiras_sidebar_back_and_the_pages_own_links(
    page: Page, forge_demo: Demo, forge_demo_runner: DemoInBackground
) -> None:
    demo, runner = forge_demo, forge_demo_runner
    app = open_forge_page(page, demo, "worklogs")
    expect(app.locator("#worklogs-body tr").first).to_be_visible()

    # Jira's sidebar changes Jira's URL; the app follows its route (no page load of Jira's).
    page.evaluate("window.__sameJiraPage = true")
    page.get_by_role("link", name="Budgets").click()
    expect(app.locator("h1")).to_have_text("Budgets")
    assert page.url.split("?")[0].endswith("/budgets")
    expect(page.get_by_role("link", name="Budgets")).to_have_attribute("aria-current", "page")
    assert page.evaluate("window.__sameJiraPage === true")
    page.go_back()
    expect(app.locator("h1")).to_have_text("Worklogs")
    expect(page.get_by_role("link", name="Worklogs")).to_have_attribute("aria-current", "page")

    # A page's own link, with its parameters: Sync of an unlinked client's invoice says where
    # to link it, and its button opens the Clients page on that client.
    invoice = _invoice_of_budget_to_date(runner, demo, "Initech migration")
    app = open_forge_page(page, demo, "invoices", invoice_id=str(invoice["id"]))
    expect(app.locator("#detail-title")).to_have_text(f"Invoice {invoice['number']}")
    app.get_by_role("button", name="Sync with QB").click()
    error = app.locator("#qbo-sync-status [data-error-code=client_not_linked]")
    expect(error).to_contain_text("Link Initech to a QuickBooks customer in Manage → Clients")
    shot(page, "troubleshooting-client-not-linked")
    error.get_by_role("button", name="Link the client in Manage → Clients").click()
    expect(app.locator("#client-editor-title")).to_have_text("Edit Initech")
    assert re.search(r"/clients\?.*client_id=", page.url), page.url
    expect(page.get_by_role("link", name="Manage Clients")).to_have_attribute(
        "aria-current", "page"
    )
    shot(page, "clients-from-a-link")


def _finalized_invoice(runner: DemoInBackground, demo: Demo, budget: str) -> Any:
    """The budget's finalized invoice: the guide's, or (when this test runs on a demo of its
    own) one made and finalized through the API now."""
    for status in ("finalized", "draft"):
        for invoice in api(runner, "GET", f"/api/invoices?status={status}")["items"]:
            if invoice["budget"]["name"] == budget:
                if status == "draft":
                    return api(runner, "POST", f"/api/invoices/{invoice['id']}/finalize")
                return invoice
    return _invoice_of_budget_to_date(runner, demo, budget)


def _invoice_of_budget_to_date(runner: DemoInBackground, demo: Demo, budget: str) -> Any:
    """The budget's invoice from its start to today, generated and finalized."""
    starts = api(runner, "GET", f"/api/budgets/{demo.budgets[budget]}")["starts_on"]
    draft = api(
        runner,
        "POST",
        f"/api/budgets/{demo.budgets[budget]}/invoices",
        {"period_start": starts, "period_end": datetime.now(UTC).date().isoformat()},
    )
    return api(runner, "POST", f"/api/invoices/{draft['id']}/finalize")


def test_the_issue_glance_shows_the_issues_billing_and_opens_its_invoice(
    page: Page, forge_demo: Demo, forge_demo_runner: DemoInBackground
) -> None:
    demo, runner = forge_demo, forge_demo_runner
    billed = _finalized_invoice(runner, demo, "Acme web shop")
    line = api(runner, "GET", f"/api/invoices/{billed['id']}")["lines"][0]
    issue_key = line["description"].split(" ", 1)[0].rstrip(":")
    page.goto(demo.issue_url(issue_key))
    page.get_by_role("button", name=re.compile("Billing")).click()
    glance = page.frame_locator(FRAME)
    expect(glance.locator("#glance-figures")).to_be_visible()
    expect(glance.locator("#glance-billed")).not_to_have_text("0.00 h")
    expect(glance.locator("#glance-invoices")).to_contain_text(billed["number"])
    shot(page, "issue-glance")
    glance.get_by_role("button", name=billed["number"]).click()
    app = page.frame_locator(FRAME)
    expect(app.locator("#detail-title")).to_have_text(f"Invoice {billed['number']}")
    assert "/invoices?" in page.url


def test_logging_time_writes_the_worklog_to_jira_as_the_person(
    page: Page, forge_demo: Demo
) -> None:
    demo = forge_demo
    app = open_forge_page(page, demo, "worklogs", **{"as": "demo-grace"})
    expect(app.locator("#worklogs-body tr").first).to_be_visible()
    app.get_by_role("button", name="Log time").first.click()
    today = datetime.now(UTC).date().isoformat()
    app.get_by_label("Issue key").fill("GLX-2")
    app.locator("#log-date").fill(today)
    app.get_by_label("Time spent").fill("1h 45m")
    app.locator("#log-submit").click()
    expect(app.locator("#log-status")).to_contain_text(
        "It is highlighted in the list", timeout=20_000
    )
    logged = [
        w
        for w in demo.site.issue_worklogs("GLX-2")
        if w.time_spent_seconds == 6300 and w.started.startswith(today)
    ]
    assert [w.author_id for w in logged] == ["demo-grace"]  # the person's, not the app's
    shot(page, "worklogs-log-time")


def test_a_reader_sees_billing_data_without_editing_controls(page: Page, forge_demo: Demo) -> None:
    app = open_forge_page(page, forge_demo, "clients", **{"as": READER})
    expect(app.locator("[data-reader-note]")).to_contain_text("changing it needs a billing editor")
    expect(app.locator("#clients-body tr").first).to_be_visible()
    expect(app.get_by_role("button", name="Create client")).to_have_count(0)
    expect(app.locator("#clients-body").get_by_role("button", name="Edit")).to_have_count(0)
    shot(page, "clients-reader")

    app = open_forge_page(page, forge_demo, "configure", **{"as": READER})
    expect(app.get_by_label("Invoice number prefix")).to_be_disabled()
    expect(app.get_by_role("button", name="Connect to QuickBooks")).to_have_count(0)
    expect(app.get_by_role("button", name="Save settings")).to_have_count(0)


def test_an_api_error_is_shown_as_the_api_says_it(page: Page, forge_demo: Demo) -> None:
    app = open_forge_page(page, forge_demo, "invoices")
    app.get_by_role("button", name="New invoice").click()
    app.get_by_label("Budget", exact=True).select_option(label="Globex data platform (Globex Ltd)")
    app.get_by_label("Period from").fill("2001-01-01")
    app.get_by_label("Period to").fill("2001-01-31")
    app.get_by_role("button", name="Generate draft").click()
    nothing = app.locator("#generator-status [data-error-code=nothing_to_invoice]")
    expect(nothing).to_contain_text("There is nothing to invoice")
    expect(nothing).to_contain_text("Choose a longer period")
    shot(page, "error-nothing-to-invoice")
