"""The product guide, end to end, in a real browser inside the emulated Jira: connect
QuickBooks through Intuit's (emulated) authorize page, link a client, assign worklogs,
generate an invoice, review and edit it, finalize, sync, record payments in QuickBooks and
see Partially paid then Paid; and the guide's troubleshooting paths (an unlinked client, an
expired connection, a missing customer).

The tests of this module share the demo and run in order: the last one breaks the
QuickBooks connection and mends it by reconnecting."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import FrameLocator, Page, Route, expect

from app.billing import invoices as invoices_service
from app.demo import Demo, DemoInBackground
from tests.browser.conftest import pdf_text, screenshot, serve_pdfs
from tests.browser.test_pages import open_app_page


def api(runner: DemoInBackground, method: str, path: str, json: Any = None) -> Any:
    response = runner.call(runner.demo.api(method, path, json=json))
    assert response.status_code < 300, (method, path, response.text)
    return response.json() if response.content else None


def connect_quickbooks(page: Page, demo: Demo) -> FrameLocator:
    """Settings → Integrations → Connect to QuickBooks, through Intuit's window."""
    app = open_app_page(page, demo, "worklog360-settings-integrations")
    section = app.locator("[data-slot=quickbooks-connection]")
    button = section.get_by_role("button", name="Connect to QuickBooks")
    expect(button.or_(section.locator("#qbo-reconnect"))).to_be_visible()
    if not button.is_visible():
        return app  # connected already
    with page.expect_popup() as opened:
        button.click()
    popup = opened.value
    expect(app.locator("#qbo-status")).to_contain_text("QuickBooks is connected", timeout=20_000)
    if not popup.is_closed():  # it closes by itself once connected
        popup.wait_for_event("close", timeout=20_000)
    return app


def invoice_from_budget(runner: DemoInBackground, budget: str, *, finalize: bool) -> dict[str, Any]:
    demo = runner.demo
    start = api(runner, "GET", f"/api/budgets/{demo.budgets[budget]}")["starts_on"]
    today = datetime.now(UTC).date().isoformat()
    invoice: dict[str, Any] = api(
        runner,
        "POST",
        f"/api/budgets/{demo.budgets[budget]}/invoices",
        {"period_start": start, "period_end": today},
    )
    if finalize:
        invoice = api(runner, "POST", f"/api/invoices/{invoice['id']}/finalize")
    return invoice


def link_client(runner: DemoInBackground, client: str, customer: str) -> None:
    found = api(runner, "GET", f"/api/quickbooks/customers?q={customer}")["items"]
    customer_id = next(c["id"] for c in found if c["display_name"] == customer)
    api(
        runner,
        "PUT",
        f"/api/clients/{runner.demo.clients[client]}/quickbooks-customer",
        {"customer_id": customer_id},
    )


def pay_in_quickbooks(runner: DemoInBackground, qbo_invoice_id: str, amount: str) -> None:
    """The bookkeeper records a payment in QuickBooks (the emulator, on its own loop)."""
    demo = runner.demo

    async def pay() -> None:
        demo.qbo.pay_invoice(demo.company.realm_id, qbo_invoice_id, Decimal(amount))

    runner.call(pay())


def test_the_guide_end_to_end(page: Page, demo: Demo, demo_runner: DemoInBackground) -> None:
    # 1. Settings → Integrations → QuickBooks: Connect to QuickBooks.
    app = connect_quickbooks(page, demo)
    expect(app.locator("[data-connection-state=connected]")).to_be_visible()
    expect(app.locator("#qbo-company")).to_have_text("Worklog360 Demo Books")
    expect(app.locator("#qbo-expiry")).to_contain_text("days left")
    screenshot(page, "guide-1-quickbooks-connected")

    # 2. Manage → Clients: edit a client, QuickBooks, choose the customer, Save.
    app = open_app_page(page, demo, "worklog360-clients")
    app.get_by_role("button", name="Edit Acme Corporation").click()
    combobox = app.get_by_role("combobox", name="Link to QuickBooks customer")
    combobox.fill("acme")
    option = app.get_by_role("option", name="Acme Corporation")
    expect(option).to_be_visible()
    combobox.press("ArrowDown")
    combobox.press("Enter")
    expect(combobox).to_have_value("Acme Corporation")
    screenshot(page, "guide-2-client-customer-chosen")
    app.locator("#client-save").click()
    expect(app.locator("#page-status")).to_contain_text("Acme Corporation was saved")
    acme = app.locator("#clients-body tr", has_text="Acme Corporation")
    app.get_by_role("button", name="Edit Acme Corporation").click()
    expect(app.locator("#client-quickbooks-status")).to_contain_text("Linked")
    expect(app.locator("#client-quickbooks-status")).to_contain_text("Acme Corporation")
    screenshot(page, "guide-2-client-linked")
    app.get_by_role("button", name="Cancel").click()
    expect(acme).to_be_visible()

    # 3. Assign worklogs to the budget (two internal OPS worklogs billed to Acme).
    app = open_app_page(page, demo, "worklog360-worklogs")
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

    # 4. Financials → Invoices: generate an invoice from the budget.
    app = open_app_page(page, demo, "worklog360-invoices")
    app.get_by_role("button", name="New invoice").click()
    app.get_by_label("Budget", exact=True).select_option(label="Acme web shop (Acme Corporation)")
    app.get_by_role("button", name="Whole budget to date").click()
    app.get_by_label("One line per").select_option("issue")
    screenshot(page, "guide-4-new-invoice")
    app.get_by_role("button", name="Generate draft").click()
    expect(app.locator("#detail-status")).to_contain_text("Draft created")
    expect(app.locator("#detail-title")).to_contain_text("Draft invoice")
    lines = app.locator("#lines-body tr")
    expect(lines.first).to_be_visible()
    line_count = lines.count()
    assert line_count >= 3
    expect(app.locator("#lines-table thead")).to_contain_text("Actual hours")
    expect(app.locator("#lines-table thead")).to_contain_text("Billed hours")

    # 5. Review: edit a line, add a line, set the due date and notes.
    app.get_by_label("Billed hours of line 1", exact=True).fill("3.00")
    app.get_by_label("Rate of line 1", exact=True).fill("150.00")
    app.get_by_label("Billed hours of line 1", exact=True).press("Enter")
    expect(app.locator("#lines-status")).to_contain_text("Line 1 saved")
    expect(lines.first.locator("[data-amount]")).to_have_text("$450.00")
    app.get_by_label("New line").fill("Project management")
    app.get_by_label("Hours", exact=True).fill("2")
    app.get_by_label("Rate", exact=True).fill("150")
    app.get_by_role("button", name="Add line").click()
    expect(app.locator("#lines-status")).to_contain_text("Line added")
    expect(lines).to_have_count(line_count + 1)
    expect(app.locator("#lines-body")).to_contain_text("Added by hand")
    app.get_by_label("Notes", exact=True).fill("Thank you for your business — Grüße from the team.")
    app.get_by_role("button", name="Save dates and notes").click()
    expect(app.locator("#details-status")).to_contain_text("with notes")
    total = app.locator("#total-amount").inner_text()
    screenshot(page, "guide-5-draft-review")

    # 6. Finalize Invoice, with its confirmation.
    app.get_by_role("button", name="Finalize Invoice").click()
    dialog = app.get_by_role("alertdialog", name="Finalize this invoice?")
    expect(dialog).to_contain_text(total)
    screenshot(page, "guide-6-finalize-confirmation")
    dialog.get_by_role("button", name="Finalize Invoice").click()
    expect(app.locator("#detail-status")).to_contain_text("finalized")
    expect(app.locator("#detail-title")).to_contain_text("Invoice ")
    number = app.locator("#detail-title").inner_text().removeprefix("Invoice ")
    expect(app.locator("#detail-badges [data-status=finalized]")).to_be_visible()
    expect(app.get_by_label("Billed hours of line 1", exact=True)).to_have_count(0)  # locked
    invoice_id = next(
        i["id"]
        for i in api(demo_runner, "GET", "/api/invoices?status=finalized")["items"]
        if i["number"] == number
    )

    # 7. Sync with QB: progress, then the confirmation.
    app.get_by_role("button", name="Sync with QB").click()
    synced = app.locator("#qbo-sync-status [data-synced]")
    expect(synced).to_contain_text("is in QuickBooks for Acme Corporation", timeout=30_000)
    expect(app.locator("#qbo-doc-number")).to_have_text(number)
    expect(app.locator("#qbo-balance")).to_have_text(total)
    screenshot(page, "guide-7-synced")

    # The invoice as the customer sees it: QuickBooks' PDF in a tab of its own (from a
    # single-use link), and the invoice in QuickBooks' web app.
    served = serve_pdfs(page)
    with page.expect_popup() as opened:
        app.get_by_role("button", name="Download PDF").click()
    tab = opened.value
    status, headers, body = served.first(page)
    assert status == 200 and headers["content-type"] == "application/pdf"
    assert f"INVOICE {number}" in pdf_text(body) and "Bill to Acme Corporation" in pdf_text(body)
    tab.close()
    opener = app.get_by_role("link", name="Open in QuickBooks")
    expect(opener).to_have_attribute("target", "_blank")
    expect(opener).to_have_attribute(
        "href", re.compile(r"^https://app\.sandbox\.qbo\.intuit\.com/app/invoice\?txnId=\d+$")
    )

    # 8. A payment recorded in QuickBooks: Refresh status shows Partially paid…
    qbo_invoice = api(demo_runner, "GET", f"/api/invoices/{invoice_id}")["quickbooks"]
    pay_in_quickbooks(demo_runner, qbo_invoice["invoice_id"], "100.00")
    app.get_by_role("button", name="Refresh status").click()
    expect(app.locator("#qbo-status [data-qbo-status=partially_paid]")).to_be_visible()
    expect(app.locator("#qbo-paid")).to_have_text("$100.00")
    expect(app.locator("#payments-body tr")).to_have_count(1)
    screenshot(page, "guide-8-partially-paid")

    # …and the rest of it, Paid.
    pay_in_quickbooks(
        demo_runner, qbo_invoice["invoice_id"], str(Decimal(qbo_invoice["balance"]) - 100)
    )
    app.get_by_role("button", name="Refresh status").click()
    expect(app.locator("#qbo-status [data-qbo-status=paid]")).to_be_visible()
    expect(app.locator("#qbo-balance")).to_have_text("$0.00")
    expect(app.locator("#payments-body tr")).to_have_count(2)

    # The list shows it too: local and QuickBooks status, paid, balance.
    app.get_by_role("button", name="← All invoices").click()
    row = app.locator("#invoices-body tr", has_text=number)
    expect(row.locator("[data-status=finalized]")).to_be_visible()
    expect(row.locator("[data-qbo-status=paid]")).to_be_visible()
    expect(row).to_contain_text("$0.00")
    screenshot(page, "guide-9-invoices-paid")


def test_an_unlinked_client_cannot_sync_and_is_told_where_to_link_it(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    invoice = invoice_from_budget(demo_runner, "Initech migration", finalize=True)
    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(invoice["id"])})
    expect(app.locator("#detail-title")).to_have_text(f"Invoice {invoice['number']}")
    app.get_by_role("button", name="Sync with QB").click()
    error = app.locator("#qbo-sync-status [data-error-code=client_not_linked]")
    expect(error).to_contain_text("Link Initech to a QuickBooks customer in Manage → Clients")
    screenshot(page, "troubleshooting-client-not-linked")

    error.get_by_role("button", name="Link the client in Manage → Clients").click()
    app = page.frame_locator("#app-frame")
    expect(app.locator("#client-editor-title")).to_have_text("Edit Initech")
    expect(app.locator("#client-quickbooks-status")).to_contain_text("Not linked")


def test_customer_search_finds_apostrophes_and_shows_inactive_customers(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    api(demo_runner, "GET", "/api/quickbooks/customers")  # the list is read (and cached)

    async def add_customers() -> None:
        realm = demo.company.realm_id
        demo.qbo.add_customer(realm, "Zo\u00eb\u2019s Caf\u00e9 Ltd")
        demo.qbo.add_customer(realm, "Zeta Dormant Inc", active=False)

    demo_runner.call(add_customers())
    app = open_app_page(page, demo, "worklog360-clients")
    app.get_by_role("button", name="Edit Globex Ltd").click()
    combobox = app.get_by_role("combobox", name="Link to QuickBooks customer")

    # Added in QuickBooks since the list was read: typing finds nothing, and
    # "Refresh customers" reads QuickBooks again. A typed apostrophe finds a typographic one.
    combobox.fill("Zoë's")
    expect(app.locator("#qbo-customer-options")).to_contain_text("No customer matches")
    app.get_by_role("button", name="Refresh customers").click()
    expect(app.locator("#qbo-link-status")).to_contain_text("Customers refreshed")
    combobox.fill("zoë's caf")
    expect(app.get_by_role("option", name="Zo\u00eb\u2019s Caf\u00e9 Ltd")).to_be_visible()
    combobox.fill("Zeta")
    dormant = app.get_by_role("option", name="Zeta Dormant Inc")
    expect(dormant).to_have_attribute("aria-disabled", "true")
    expect(dormant).to_contain_text("Inactive")
    combobox.press("ArrowDown")
    combobox.press("Enter")
    expect(app.locator("#qbo-link-status")).to_contain_text("inactive in QuickBooks")

    # Acme's customer is taken: marked in the list, and what to do (the API refuses it too).
    link_client(demo_runner, "Acme Corporation", "Acme Corporation")
    combobox.fill("Acme Corp")
    taken = app.locator("#qbo-customer-options [role=option]", has_text="Acme Corporation")
    expect(taken).to_contain_text("Linked to Acme Corporation")
    taken.click(force=True)  # a click reaches it: it says why it cannot be chosen
    expect(app.locator("#qbo-link-status [data-refused-customer]")).to_contain_text(
        "Acme Corporation is linked to Acme Corporation, and a QuickBooks customer is linked "
        "to one client only."
    )
    expect(app.get_by_role("button", name="Link customer")).to_be_disabled()
    screenshot(page, "clients-quickbooks-customer-taken")

    combobox.fill("Globex")
    app.get_by_role("option", name="Globex Ltd").click()
    app.get_by_role("button", name="Link customer").click()
    expect(app.locator("#qbo-link-status")).to_contain_text("Globex Ltd is invoiced as Globex Ltd")
    app.get_by_role("button", name="Unlink").click()
    expect(app.locator("#qbo-link-status")).to_contain_text("no longer linked")


def test_a_late_search_answer_keeps_the_option_chosen_with_the_keyboard(
    page: Page, demo: Demo
) -> None:
    """Focusing the box lists every customer; the answer for what was typed comes later. A
    person who already moved to an option with the arrow keys keeps it: Enter chooses it."""
    connect_quickbooks(page, demo)
    held: list[Route] = []

    def hold_typed_search(route: Route) -> None:
        if "q=globex" in route.request.url.lower():
            held.append(route)  # answered below, after the arrow keys
        else:
            route.continue_()

    page.route("**/api/quickbooks/customers?*", hold_typed_search)
    try:
        app = open_app_page(page, demo, "worklog360-clients")
        app.get_by_role("button", name="Edit Globex Ltd").click()
        combobox = app.get_by_role("combobox", name="Link to QuickBooks customer")
        combobox.fill("globex")
        globex = app.get_by_role("option", name="Globex Ltd")
        expect(globex).to_be_visible()  # from the list read on focus
        for _ in range(30):
            if "active" in (globex.get_attribute("class") or ""):
                break
            combobox.press("ArrowDown")
        expect(globex).to_have_class(re.compile(r"\bactive\b"))
        for _ in range(200):  # Playwright dispatches the route while it waits
            if held:
                break
            page.wait_for_timeout(25)
        assert held, "the typed search never reached the network"
        held.pop().continue_()
        # The typed search's answer replaces the list: Globex only, still the active one.
        expect(app.locator("#qbo-customer-options [role=option]")).to_have_count(1)
        expect(globex).to_have_class(re.compile(r"\bactive\b"))
        combobox.press("Enter")
        expect(combobox).to_have_value("Globex Ltd")
    finally:
        for route in held:
            route.continue_()
        page.unroute("**/api/quickbooks/customers?*")


def test_invoice_pages_fit_a_narrow_iframe_and_filter(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    invoice_from_budget(demo_runner, "Globex data platform", finalize=False)
    page.set_viewport_size({"width": 600, "height": 900})
    app = open_app_page(page, demo, "worklog360-invoices")
    expect(app.locator("#invoices-body tr").first).to_be_visible()
    app.get_by_label("Status").select_option("draft")
    app.get_by_role("button", name="Apply filters").click()
    expect(app.locator("#invoices-body [data-status=finalized]")).to_have_count(0)
    expect(app.locator("#invoices-body [data-status=draft]").first).to_be_visible()
    assert app.locator("main").evaluate("m => m.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "invoices-narrow")

    app.locator("#invoices-body button[data-invoice]").first.click()
    expect(app.get_by_role("button", name="Finalize Invoice")).to_be_visible()
    assert app.locator("main").evaluate("m => m.scrollWidth <= window.innerWidth + 1")
    # A draft can be deleted, after a confirmation.
    app.get_by_role("button", name="Delete draft").click()
    app.get_by_role("alertdialog").get_by_role("button", name="Delete draft").click()
    expect(app.locator("#page-status")).to_contain_text("Draft deleted")

    # Nothing left to invoice in that period: the message says what to do.
    app.get_by_role("button", name="New invoice").click()
    app.get_by_label("Budget", exact=True).select_option(label="Globex data platform (Globex Ltd)")
    app.get_by_label("Period from").fill("2001-01-01")
    app.get_by_label("Period to").fill("2001-01-31")
    app.get_by_role("button", name="Generate draft").click()
    nothing = app.locator("#generator-status [data-error-code=nothing_to_invoice]")
    expect(nothing).to_contain_text("There is nothing to invoice")
    expect(nothing).to_contain_text("Choose a longer period")


def test_a_big_invoice_shows_its_first_lines_and_loads_the_rest(
    page: Page, demo: Demo, demo_runner: DemoInBackground, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invoice comes with its first page of lines (1,000; 3 here); the rest load on
    demand, and the counts and totals are the whole invoice's all along."""
    monkeypatch.setattr(invoices_service, "LINES_PAGE", 3)
    budget_id = demo.budgets["Globex data platform"]
    start = api(demo_runner, "GET", f"/api/budgets/{budget_id}")["starts_on"]
    invoice = api(
        demo_runner,
        "POST",
        f"/api/budgets/{budget_id}/invoices",
        {
            "period_start": start,
            "period_end": datetime.now(UTC).date().isoformat(),
            "group_by": "worklog",
        },
    )
    count = invoice["line_count"]
    assert count > 3 and len(invoice["lines"]) == 3
    try:
        app = open_app_page(page, demo, "worklog360-invoices")
        app.locator(f"#invoices-body button[data-invoice='{invoice['id']}']").click()
        rows = app.locator("#lines-body tr[data-line]")
        expect(rows).to_have_count(3)
        more = app.locator("#more-lines")
        expect(more).to_have_text(f"Show more lines (3 of {count} shown)")
        expect(app.locator("#total-amount")).to_contain_text(f"{Decimal(invoice['total']):,.2f}")
        more.click()
        # The next page is the API's usual 1,000 lines: all the rest of this one.
        expect(rows).to_have_count(count)
        expect(more).to_have_count(0)
        screenshot(page, "invoice-more-lines")
    finally:
        api(demo_runner, "DELETE", f"/api/invoices/{invoice['id']}")


def test_an_expired_connection_says_reconnect_and_reconnecting_mends_it(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    link_client(demo_runner, "Acme Corporation", "Acme Corporation")
    invoice = invoice_from_budget(demo_runner, "Acme mobile app retainer", finalize=True)

    async def expire() -> None:
        demo.qbo.expire_access_tokens(demo.company.realm_id)
        demo.qbo.expire_refresh_tokens(demo.company.realm_id)

    demo_runner.call(expire())
    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(invoice["id"])})
    app.get_by_role("button", name="Sync with QB").click()
    error = app.locator("#qbo-sync-status [data-error-code=quickbooks_reconnect_required]")
    expect(error).to_contain_text("Reconnect QuickBooks")
    screenshot(page, "troubleshooting-reconnect-required")

    error.get_by_role("button", name="Reconnect QuickBooks in Settings").click()
    app = page.frame_locator("#app-frame")
    expect(app.locator("[data-connection-state=expired]")).to_be_visible()
    expect(app.locator("[data-slot=quickbooks-connection]")).to_contain_text(
        "The QuickBooks connection has expired"
    )
    screenshot(page, "settings-quickbooks-expired")
    with page.expect_popup():
        app.get_by_role("button", name="Reconnect QuickBooks", exact=True).click()
    expect(app.locator("#qbo-status")).to_contain_text("QuickBooks is connected", timeout=20_000)
    expect(app.locator("[data-connection-state=connected]")).to_be_visible()

    # Connected again: the same invoice syncs.
    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(invoice["id"])})
    app.get_by_role("button", name="Sync with QB").click()
    expect(app.locator("#qbo-sync-status [data-synced]")).to_be_visible(timeout=30_000)
