"""The Invoices list and budget caps in a real browser inside the emulated Jira: sorting by
a column header (on the server, page by page), searching by number, the totals row per
currency, the Due column's "Overdue by N days", money headers over their figures, and a
draft over its budget's cap whose figures are shown before Finalize.

Each test logs its own work in a project of its own (see test_invoiced_work.log_work), so
it takes nothing the guide's tests invoice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from playwright.sync_api import Locator, Page, expect

from app.demo import Demo, DemoInBackground
from tests.browser.conftest import screenshot
from tests.browser.test_guide import api, connect_quickbooks, pay_in_quickbooks
from tests.browser.test_invoiced_work import Work, invoice_work, log_work
from tests.browser.test_pages import open_app_page

HOUR = 3600


def finalize_overdue(runner: DemoInBackground, work: Work) -> dict[str, Any]:
    """An invoice of the work, dated a year and more ago and finalized: owed, past due."""
    draft = invoice_work(runner, work, finalize=False)
    api(
        runner,
        "PATCH",
        f"/api/invoices/{draft['id']}",
        {"issue_date": "2025-01-01", "due_date": "2025-01-31"},
    )
    finalized: dict[str, Any] = api(runner, "POST", f"/api/invoices/{draft['id']}/finalize")
    return finalized


def money(value: str, currency: str = "USD") -> str:
    symbol = {"USD": "$", "EUR": "€"}[currency]
    return f"{symbol}{Decimal(value):,.2f}"


def text_align(locator: Locator) -> str:
    align: str = locator.evaluate("e => getComputedStyle(e).textAlign")
    return align


def assert_money_headers_right_aligned(table: Locator, *names: str) -> None:
    for name in names:
        header = table.locator("thead th", has_text=name).first
        expect(header).to_be_visible()
        assert text_align(header) == "right", name


def test_sorting_search_totals_and_overdue_in_the_invoice_list(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    euros = log_work(demo_runner, "LEDGE", [2 * HOUR, HOUR], client="Ledger GmbH")
    dollars = log_work(demo_runner, "LEDGD", [5 * HOUR], client="Ledger Inc", currency="USD")
    overdue = finalize_overdue(demo_runner, euros)  # 3 h at 120: €360.00
    draft = invoice_work(demo_runner, dollars, finalize=False)  # $600.00
    late = (datetime.now(UTC).date() - date(2025, 1, 31)).days

    app = open_app_page(page, demo, "worklog360-invoices")
    table = app.locator("#invoices-table")
    expect(app.locator(f"#invoices-body tr[data-invoice='{draft['id']}']")).to_be_visible()

    # The totals row: every invoice of the filter, per currency, as the API sums them.
    totals = api(demo_runner, "GET", "/api/invoices?limit=1")["totals"]
    assert {t["currency"] for t in totals} >= {"EUR", "USD"}
    for t in totals:
        row = app.locator(f"#invoices-totals tr[data-currency={t['currency']}]")
        expect(row).to_contain_text(f"{t['count']} invoice")
        expect(row.locator("[data-totals-total]")).to_have_text(money(t["total"], t["currency"]))
        expect(row.locator("[data-totals-balance]")).to_contain_text(
            money(t["balance"], t["currency"])
        )
    # Money headers sit over their figures.
    assert_money_headers_right_aligned(table, "Total", "Balance")
    screenshot(page, "invoice-list-totals")

    # Overdue: the Due column counts the days.
    row = app.locator(f"#invoices-body tr[data-invoice='{overdue['id']}']")
    expect(row.locator("[data-overdue-days]")).to_have_text(f"Overdue by {late} days")

    # Sort by Total: ascending, then descending, as the server orders every page.
    total_header = table.locator("th[data-sort=total]")
    total_header.get_by_role("button").click()
    expect(total_header).to_have_attribute("aria-sort", "ascending")
    expect(table).not_to_have_attribute("aria-busy", "true")  # the sorted page is shown
    expected = api(demo_runner, "GET", "/api/invoices?sort=total&order=asc&limit=25")["items"]
    expect(app.locator("#invoices-body tr").first).to_have_attribute(
        "data-invoice", str(expected[0]["id"])
    )
    shown = [
        Decimal(v)
        for v in app.locator("#invoices-body [data-total]").evaluate_all(
            "cells => cells.map(c => c.dataset.total)"
        )
    ]
    assert shown == sorted(shown) and shown == [Decimal(i["total"]) for i in expected]
    total_header.get_by_role("button").click()
    expect(total_header).to_have_attribute("aria-sort", "descending")
    expect(table).not_to_have_attribute("aria-busy", "true")
    expected = api(demo_runner, "GET", "/api/invoices?sort=-total&limit=25")["items"]
    expect(app.locator("#invoices-body tr").first).to_have_attribute(
        "data-invoice", str(expected[0]["id"])
    )
    expect(app.locator("#invoices-caption")).to_have_text("Invoices by total, descending")
    screenshot(page, "invoice-list-sorted-by-total")

    # Sort by Due date: the overdue invoice (due 2025) comes first, ascending.
    due_header = table.locator("th[data-sort=due_date]")
    due_header.get_by_role("button").click()
    expect(due_header).to_have_attribute("aria-sort", "ascending")
    expect(table).not_to_have_attribute("aria-busy", "true")
    expect(total_header).to_have_attribute("aria-sort", "none")
    first_due = api(demo_runner, "GET", "/api/invoices?sort=due_date&limit=1")["items"][0]
    expect(app.locator("#invoices-body tr").first).to_have_attribute(
        "data-invoice", str(first_due["id"])
    )

    # Search by number, in any case: only that invoice, and the totals follow the filter.
    number = overdue["number"]
    app.get_by_label("Invoice number").fill(number.lower())
    app.get_by_label("Invoice number").press("Enter")
    found = api(demo_runner, "GET", f"/api/invoices?q={number}&limit=500")
    expect(app.locator("#invoices-body tr")).to_have_count(len(found["items"]))
    expect(row).to_be_visible()
    expect(app.locator("#invoices-totals tr")).to_have_count(len(found["totals"]))
    eur = app.locator("#invoices-totals tr[data-currency=EUR]")
    expect(eur.locator("[data-totals-total]")).to_contain_text("€")
    expect(due_header).to_have_attribute("aria-sort", "ascending")  # the sort stays
    screenshot(page, "invoice-list-search")

    # A number no invoice has: says so, and how to get the list back.
    app.get_by_label("Invoice number").fill("NO-SUCH-NUMBER")
    app.get_by_role("button", name="Apply filters").click()
    expect(app.locator("#invoices-empty")).to_contain_text("No invoices match these filters")
    expect(app.locator("#invoices-totals tr")).to_have_count(0)
    app.locator("#invoices-empty").get_by_role("button", name="Clear filters").click()
    expect(app.get_by_label("Invoice number")).to_have_value("")
    expect(row).to_be_visible()

    # The QuickBooks states are filters too: a finalized invoice never synced.
    app.get_by_label("Status").select_option(label="Not synced")
    app.get_by_role("button", name="Apply filters").click()
    expect(row).to_be_visible()
    expect(app.locator(f"#invoices-body tr[data-invoice='{draft['id']}']")).to_have_count(0)
    expect(app.locator("#invoices-body [data-status=draft]")).to_have_count(0)
    app.get_by_label("Status").select_option(label="Overdue (owed past the due date)")
    app.get_by_role("button", name="Apply filters").click()
    expect(row).to_be_visible()
    owed_late = api(demo_runner, "GET", "/api/invoices?overdue=true&limit=25")["items"]
    expect(app.locator("#invoices-body tr")).to_have_count(len(owed_late))
    expect(app.locator("#invoices-body [data-overdue-days]")).to_have_count(len(owed_late))

    # A double click on a header sorts one way, then the other: the page ends on the last.
    total_header.get_by_role("button").dblclick()
    expect(total_header).to_have_attribute("aria-sort", "descending")
    expect(table).not_to_have_attribute("aria-busy", "true")
    by_total = api(demo_runner, "GET", "/api/invoices?overdue=true&sort=-total&limit=25")
    shown_ids = app.locator("#invoices-body tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.invoice))"
    )
    assert shown_ids == [i["id"] for i in by_total["items"]]


def test_a_draft_over_its_cap_shows_the_figures_before_finalize(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(
        demo_runner,
        "CAPS",
        [10 * HOUR, 5 * HOUR],
        client="Capped Co",
        currency="USD",
        budget_fields={"amount_cap": "1000.00", "kind": "retainer"},
    )  # 15 h at $120.00: $1,800.00, $800.00 over
    message = (
        "This invoice brings Capped Co CAPS to $1,800.00 of its $1,000.00 cap ($800.00 over): "
        "$0.00 on its finalized invoices plus $1,800.00 on this one."
    )

    # Generate on the page: the draft says at once that it passes the cap, with figures.
    app = open_app_page(page, demo, "worklog360-invoices")
    app.get_by_role("button", name="New invoice").click()
    generator = app.locator("#generator-form")
    generator.get_by_label("Budget").select_option(label="Capped Co CAPS (Capped Co)")
    generator.get_by_role("button", name="Whole budget to date").click()
    generator.get_by_role("button", name="Generate draft").click()
    created = app.locator("#detail-status [data-cap-warning]")
    expect(created).to_contain_text("Draft created, over Capped Co CAPS's cap")
    expect(app.locator("#detail-caps [data-cap-warning]")).to_contain_text(message)
    expect(app.locator("#detail-status")).not_to_contain_text("$800.00 over")  # said once
    screenshot(page, "invoice-over-cap-draft")

    # Finalize: the confirmation shows the figures; Cancel changes nothing.
    app.get_by_role("button", name="Finalize Invoice").click()
    dialog = app.get_by_role("alertdialog", name="Finalize this invoice?")
    expect(dialog.locator("#confirm-caps")).to_contain_text(message)
    expect(dialog.get_by_role("button", name="Finalize over the cap")).to_be_visible()
    screenshot(page, "invoice-over-cap-confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    drafts = api(demo_runner, "GET", f"/api/invoices?budget_id={work.budget_id}")["items"]
    assert [(i["status"], i["number"]) for i in drafts] == [("draft", None)]

    # Confirmed: finalized over the cap on purpose, and it says so.
    app.get_by_role("button", name="Finalize Invoice").click()
    dialog.get_by_role("button", name="Finalize over the cap").click()
    expect(app.locator("#detail-status")).to_contain_text("finalized")
    expect(app.locator("#detail-badges [data-status=finalized]")).to_be_visible()
    expect(app.locator("#detail-caps")).to_contain_text(
        "This invoice took Capped Co CAPS past its cap"
    )
    expect(app.locator("#detail-caps")).to_contain_text(message)
    [invoice] = api(demo_runner, "GET", f"/api/invoices?budget_id={work.budget_id}")["items"]
    assert (invoice["status"], invoice["total"]) == ("finalized", "1800.00")
    screenshot(page, "invoice-over-cap-finalized")


def test_cap_figures_changed_since_the_page_read_them_are_shown_and_asked_again(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    """The page shows a draft within its cap; meanwhile another invoice of the budget is
    finalized. Finalize is refused with the new figures, and the confirmation comes back
    with them: nothing passes the cap unseen."""
    work = log_work(
        demo_runner,
        "CAPT",
        [4 * HOUR, 4 * HOUR],
        client="Tight Co",
        currency="USD",
        budget_fields={"amount_cap": "600.00"},
    )
    mine = invoice_work(demo_runner, work, finalize=False)  # two lines of $480.00
    freed = mine["lines"][1]
    api(demo_runner, "DELETE", f"/api/invoices/{mine['id']}/lines/{freed['id']}")
    other = invoice_work(demo_runner, work, finalize=False)  # the freed worklog, $480.00
    assert other["total"] == "480.00"

    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(mine["id"])})
    expect(app.locator("#total-amount")).to_have_text("$480.00")
    expect(app.locator("#detail-caps [data-cap-warning]")).to_have_count(0)
    api(demo_runner, "POST", f"/api/invoices/{other['id']}/finalize")

    app.get_by_role("button", name="Finalize Invoice").click()
    dialog = app.get_by_role("alertdialog", name="Finalize this invoice?")
    expect(dialog.locator("#confirm-caps")).to_have_count(0)
    dialog.get_by_role("button", name="Finalize Invoice").click()

    message = (
        "This invoice brings Tight Co CAPT to $960.00 of its $600.00 cap ($360.00 over): "
        "$480.00 on its finalized invoices plus $480.00 on this one."
    )
    expect(app.locator("#detail-status [data-error-code=over_budget_cap]")).to_contain_text(
        "the cap figures have changed"
    )
    expect(dialog.locator("#confirm-caps")).to_contain_text(message)
    assert api(demo_runner, "GET", f"/api/invoices/{mine['id']}")["status"] == "draft"
    screenshot(page, "invoice-cap-figures-changed")
    dialog.get_by_role("button", name="Finalize over the cap").click()
    expect(app.locator("#detail-badges [data-status=finalized]")).to_be_visible()


def test_money_headers_sit_over_their_figures_in_lines_and_payments(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    work = log_work(demo_runner, "PAYS", [2 * HOUR], client="Payments Ltd", currency="USD")
    realm = demo.company.realm_id

    async def customer() -> str:
        return str(demo.qbo.add_customer(realm, "Payments Ltd")["Id"])

    customer_id = demo_runner.call(customer())
    api(demo_runner, "GET", "/api/quickbooks/customers?refresh=true")
    api(
        demo_runner,
        "PUT",
        f"/api/clients/{work.client_id}/quickbooks-customer",
        {"customer_id": customer_id},
    )
    invoice = invoice_work(demo_runner, work, finalize=True)
    block = api(demo_runner, "POST", f"/api/invoices/{invoice['id']}/sync")["quickbooks"]
    pay_in_quickbooks(demo_runner, block["invoice_id"], "40.00")
    api(demo_runner, "POST", f"/api/invoices/{invoice['id']}/refresh")

    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(invoice["id"])})
    expect(app.locator("#payments-body tr")).to_have_count(1)

    assert_money_headers_right_aligned(
        app.locator("#lines-table"), "Actual hours", "Billed hours", "Rate", "Amount"
    )
    assert_money_headers_right_aligned(app.locator("#payments-table"), "Amount")
    screenshot(page, "invoice-payments-headers")
    app.get_by_role("button", name="← All invoices").click()
    row = app.locator(f"#invoices-body tr[data-invoice='{invoice['id']}']")
    expect(row.locator("td.numeric").nth(1)).to_have_text("$40.00")  # paid
    expect(row.locator("td.numeric").nth(2)).to_have_text("$200.00")  # balance
