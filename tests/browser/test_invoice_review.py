"""Reviewing, finalizing and syncing one invoice in a real browser, where finance people
lost things without a word: line edits typed without Enter, bad figures on a line, notes
that never reached QuickBooks, a sync in progress that a reload forgot.

Each test logs its own work in a project of its own (see test_invoiced_work.log_work), so
it takes nothing the guide's tests invoice."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from playwright.sync_api import Dialog, FrameLocator, Page, expect

from app.demo import Demo, DemoInBackground
from sandbox.faults import Hold
from tests.browser.conftest import screenshot
from tests.browser.test_guide import api, connect_quickbooks
from tests.browser.test_invoiced_work import Work, invoice_work, log_work
from tests.browser.test_pages import open_app_page

INVOICE_ROUTE = "/v3/company/{realmId}/invoice"


def open_invoice(page: Page, demo: Demo, invoice_id: int) -> FrameLocator:
    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(invoice_id)})
    expect(app.locator("#detail-title")).not_to_be_empty()
    return app


def saved_lines(runner: DemoInBackground, invoice_id: int) -> list[tuple[str, str, str]]:
    body = api(runner, "GET", f"/api/invoices/{invoice_id}")
    return [(line["hours"], line["rate"], line["amount"]) for line in body["lines"]]


# --- item 2: nothing typed is lost -----------------------------------------------------------


def test_finalize_saves_what_was_typed_first_and_locks_the_total_it_shows(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    # 1 h and 2 h at 120: one line each, $360.00.
    work = log_work(demo_runner, "PEND", [3600, 7200], client="Pendant", currency="USD")
    draft = invoice_work(demo_runner, work, finalize=False)
    assert draft["total"] == "360.00"
    app = open_invoice(page, demo, draft["id"])

    # Typed without Enter: the row says it is not saved, the total stays the saved one.
    app.get_by_label("Billed hours of line 1").fill("3.00")
    app.get_by_label("Notes", exact=True).fill("Thanks!")
    first = app.locator("#lines-body tr[data-line]").first
    expect(first.locator("[data-amount-text]")).to_have_text("$360.00")
    expect(first.locator("[data-saved-amount]")).to_have_text("Not saved · saved: $120.00")
    expect(app.locator("#total-amount")).to_have_text("$360.00")

    app.get_by_role("button", name="Finalize Invoice").click()
    ask = app.get_by_role("alertdialog", name="Save your changes first?")
    expect(ask.locator("#unsaved-list li")).to_have_text(
        ["Line 1: billed hours 1.00 h → “3.00”", "Dates and notes: notes"]
    )
    screenshot(page, "finalize-unsaved-changes")
    ask.get_by_role("button", name="Save and continue").click()

    # The confirmation shows the total with the change: what will be locked.
    dialog = app.get_by_role("alertdialog", name="Finalize this invoice?")
    expect(dialog.locator("#finalize-total")).to_have_text("Total: $600.00 for 5.00 h")
    expect(dialog.locator("#saved-first")).to_contain_text("Your changes were saved")
    # Nothing can be typed while it is open.
    expect(app.get_by_label("Billed hours of line 2")).to_be_disabled()
    screenshot(page, "finalize-saved-total")
    dialog.get_by_role("button", name="Finalize Invoice").click()
    expect(app.locator("#detail-status")).to_contain_text("It is locked now, at $600.00")

    finalized = api(demo_runner, "GET", f"/api/invoices/{draft['id']}")
    assert (finalized["status"], finalized["total"], finalized["notes"]) == (
        "finalized",
        "600.00",
        "Thanks!",
    )
    assert saved_lines(demo_runner, draft["id"]) == [
        ("3.00", "120.00", "360.00"),
        ("2.00", "120.00", "240.00"),
    ]


def test_finalize_refuses_what_cannot_be_saved_and_says_which_line(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "PENDX", [3600, 7200], client="Pendant X", currency="USD")
    draft = invoice_work(demo_runner, work, finalize=False)
    app = open_invoice(page, demo, draft["id"])

    app.get_by_label("Rate of line 2").fill("abc")
    app.get_by_role("button", name="Finalize Invoice").click()

    refused = app.locator("#detail-status [data-error-code=unsaved_changes_invalid]")
    expect(refused).to_contain_text("Not finalized")
    expect(refused.locator("#finalize-problems li")).to_have_text(
        [
            "Line 2's rate: “abc” is not a number. "
            "Type digits with at most 2 decimals (for example 150.00)."
        ]
    )
    expect(app.get_by_role("alertdialog")).to_have_count(0)
    expect(app.get_by_label("Rate of line 2")).to_have_attribute("aria-invalid", "true")
    expect(app.get_by_label("Rate of line 2")).to_be_focused()
    assert api(demo_runner, "GET", f"/api/invoices/{draft['id']}")["status"] == "draft"

    # A total changed elsewhere after the confirmation opened: refused, nothing locked.
    app.get_by_label("Rate of line 2").press("Escape")
    app.get_by_role("button", name="Finalize Invoice").click()
    dialog = app.get_by_role("alertdialog", name="Finalize this invoice?")
    expect(dialog.locator("#finalize-total")).to_have_text("Total: $360.00 for 3.00 h")
    line = draft["lines"][0]
    api(demo_runner, "PATCH", f"/api/invoices/{draft['id']}/lines/{line['id']}", {"hours": "4.00"})
    dialog.get_by_role("button", name="Finalize Invoice").click()
    changed = app.locator("#detail-status [data-error-code=invoice_total_changed]")
    expect(changed).to_contain_text("not the 360.00 USD you confirmed")
    expect(changed).not_to_contain_text("Reload")  # the page reads the draft again itself
    expect(app.locator("#total-amount")).to_have_text("$720.00")
    assert api(demo_runner, "GET", f"/api/invoices/{draft['id']}")["status"] == "draft"


def test_leaving_with_unsaved_changes_asks_first(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "LEAVE", [3600], client="Leaver", currency="USD")
    draft = invoice_work(demo_runner, work, finalize=False)
    app = open_invoice(page, demo, draft["id"])
    hours = app.get_by_label("Billed hours of line 1")

    # A line saved while another is typed keeps the other one typed.
    app.get_by_label("New line").fill("Travel")
    app.get_by_label("Hours", exact=True).fill("1")
    app.get_by_label("Rate", exact=True).fill("50")
    app.get_by_role("button", name="Add line").click()
    expect(app.locator("#lines-status")).to_contain_text("Line added")
    hours.fill("4.50")
    app.get_by_label("Description of line 2").fill("Travel to the client")
    app.get_by_label("Description of line 2").press("Enter")
    expect(app.locator("#lines-status")).to_contain_text("Line 2 saved")
    expect(hours).to_have_value("4.50")

    app.get_by_role("button", name="← All invoices").click()
    leave = app.get_by_role("alertdialog", name="Leave without saving?")
    expect(leave.locator("#unsaved-list li")).to_have_text(["Line 1: billed hours 1.00 h → “4.50”"])
    leave.get_by_role("button", name="Stay").click()
    expect(hours).to_have_value("4.50")
    expect(app.locator("#invoice-detail")).to_be_visible()

    # New invoice would replace the draft on the page: asked too.
    app.get_by_role("button", name="New invoice").click()
    expect(app.get_by_role("alertdialog", name="Leave without saving?")).to_be_visible()
    expect(app.locator("#invoice-generator")).to_be_hidden()
    app.get_by_role("button", name="Stay").click()

    # Closing or reloading the page: the browser's own question.
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    with page.expect_event("dialog"):
        page.close(run_before_unload=True)
    assert asked == ["beforeunload"]
    assert not page.is_closed()
    expect(hours).to_have_value("4.50")
    page.remove_listener("dialog", answer)

    app.get_by_role("button", name="← All invoices").click()
    app.get_by_role("alertdialog").get_by_role("button", name="Leave without saving").click()
    expect(app.locator("#invoice-list")).to_be_visible()
    assert saved_lines(demo_runner, draft["id"])[0][0] == "1.00"


# --- item 8: bad figures on a draft line -----------------------------------------------------


def test_bad_figures_on_a_line_are_refused_in_words_and_only_that_box_is_marked(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "BADV", [3600, 7200], client="Bad Values", currency="USD")
    draft = invoice_work(demo_runner, work, finalize=False)
    app = open_invoice(page, demo, draft["id"])
    hours = app.get_by_label("Billed hours of line 1")
    row = app.locator("#lines-body tr[data-line]").first
    status = app.locator("#lines-status [data-error-code=invalid_line]")
    cases = {
        "-7": "Line 1's billed hours cannot be negative (“-7”): type 0 or more.",
        "1e12": "Line 1's billed hours: “1e12” is not a number.",
        "1.234": "Line 1's billed hours: “1.234” has 3 decimals; use at most 2 (for example 1.23).",
        "abc": "Line 1's billed hours: “abc” is not a number.",
        "1000000000000": "1,000,000,000,000 is more than 100,000 hours",
        "1,5": "has a comma: type a dot for decimals (1.5)",
    }
    for typed, said in cases.items():
        hours.fill(typed)
        # Never an amount from a figure that cannot be saved; the saved one beside it.
        expect(row.locator("[data-amount-text]")).to_have_text("—")
        expect(row.locator("[data-saved-amount]")).to_have_text("Saved: $120.00")
        hours.press("Enter")
        expect(status).to_contain_text(said)
        expect(hours).to_have_attribute("aria-invalid", "true")
        expect(app.locator("#lines-body [aria-invalid=true]")).to_have_count(1)
        expect(app.locator("#total-amount")).to_have_text("$360.00")
        expect(hours).to_have_value(typed)  # kept for correcting
    screenshot(page, "line-bad-figure")
    assert saved_lines(demo_runner, draft["id"])[0] == ("1.00", "120.00", "120.00")

    # Corrected: saved, marks gone, row and total agree.
    hours.fill("1.25")
    expect(hours).not_to_have_attribute("aria-invalid", "true")
    expect(row.locator("[data-amount-text]")).to_have_text("$150.00")
    hours.press("Enter")
    expect(app.locator("#lines-status")).to_contain_text("Line 1 saved")
    expect(app.locator("#total-amount")).to_have_text("$390.00")
    expect(row.locator("[data-amount-text]")).to_have_text("$150.00")


def test_a_refusal_from_the_api_marks_that_rows_box_and_shows_the_saved_amount(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "REFUSE", [3600, 7200], client="Refuser", currency="USD")
    draft = invoice_work(demo_runner, work, finalize=False)
    app = open_invoice(page, demo, draft["id"])
    line = draft["lines"][1]

    def refuse(route: Any) -> None:
        route.fulfill(
            status=422,
            content_type="application/json",
            # Today's wording of a 422; `fields` is what the coordinator's adds.
            body='{"error": {"code": "invalid_request", "message": "The request is invalid: '
            'rate: Decimal input should have no more than 2 decimal places.", '
            '"fields": ["rate"]}}',
        )

    page.route(f"**/api/invoices/{draft['id']}/lines/{line['id']}", refuse)
    try:
        rate = app.get_by_label("Rate of line 2")
        rate.fill("99.99")
        rate.press("Enter")
        error = app.locator("#lines-status [data-error-code=invalid_request]")
        expect(error).to_contain_text("Line 2 was not saved")
        expect(error).to_contain_text("no more than 2 decimal places")
        expect(rate).to_have_attribute("aria-invalid", "true")
        # Only that box: not line 1's rate, not the new line's.
        expect(app.locator("#invoice-detail [aria-invalid=true]")).to_have_count(1)
        second = app.locator("#lines-body tr[data-line]").nth(1)
        expect(second.locator("[data-amount-text]")).to_have_text("—")
        expect(second.locator("[data-saved-amount]")).to_have_text("Saved: $240.00")
        expect(app.locator("#total-amount")).to_have_text("$360.00")
    finally:
        page.unroute(f"**/api/invoices/{draft['id']}/lines/{line['id']}")


# --- item 15: values that are almost always a typo ------------------------------------------


def test_a_zero_line_and_a_far_issue_date_are_asked_about_and_warned_at_finalize(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "ODD", [3600, 7200], client="Oddities", currency="USD")
    draft = invoice_work(demo_runner, work, finalize=False)
    app = open_invoice(page, demo, draft["id"])

    app.get_by_label("Billed hours of line 1").fill("0")
    app.get_by_label("Billed hours of line 1").press("Enter")
    ask = app.locator("#lines-status [data-ask]")
    expect(ask).to_contain_text("Line 1 would bill nothing: 0.00 h at $120.00. Save anyway?")
    ask.get_by_role("button", name="Change it").click()
    assert saved_lines(demo_runner, draft["id"])[0][0] == "1.00"
    app.get_by_label("Billed hours of line 1").press("Enter")
    app.locator("#lines-status [data-ask]").get_by_role("button", name="Save anyway").click()
    expect(app.locator("#lines-status")).to_contain_text("Line 1 saved")
    assert saved_lines(demo_runner, draft["id"])[0] == ("0.00", "120.00", "0.00")

    app.get_by_label("Issue date").fill("2099-01-01")
    app.get_by_label("Due date").fill("2099-01-31")
    app.get_by_role("button", name="Save dates and notes").click()
    dates = app.locator("#details-status [data-ask]")
    expect(dates).to_contain_text(re.compile(r"The issue date 1 Jan 2099 is \d+ years from now"))
    screenshot(page, "issue-date-far-ahead")
    dates.get_by_role("button", name="Change it").click()
    assert api(demo_runner, "GET", f"/api/invoices/{draft['id']}")["issue_date"] != "2099-01-01"
    app.get_by_label("Issue date").fill(draft["issue_date"])
    app.get_by_label("Due date").fill(draft["due_date"])

    app.get_by_role("button", name="Finalize Invoice").click()
    dialog = app.get_by_role("alertdialog", name="Finalize this invoice?")
    expect(dialog.locator("#zero-lines")).to_contain_text("1 line bills nothing")
    expect(dialog.locator("#zero-lines li")).to_have_text(
        [re.compile(r"^Line 1 “ODD-1 Oddities task 1”: 0\.00 h at \$120\.00 = \$0\.00$")]
    )
    dialog.get_by_role("button", name="Cancel").click()
    expect(app.get_by_label("Billed hours of line 2")).to_be_enabled()


# --- items 3 and 9, 10: notes, QuickBooks' status and one error ------------------------------


def link_to_new_customer(runner: DemoInBackground, work: Work, name: str) -> None:
    demo = runner.demo

    async def add() -> None:
        demo.qbo.add_customer(demo.company.realm_id, name)

    runner.call(add())
    found = api(runner, "GET", f"/api/quickbooks/customers?refresh=true&q={name}")["items"]
    customer = next(c for c in found if c["display_name"] == name)
    api(
        runner,
        "PUT",
        f"/api/clients/{work.client_id}/quickbooks-customer",
        {"customer_id": customer["id"]},
    )


def hold_creates(runner: DemoInBackground) -> Hold:
    demo = runner.demo

    async def hold() -> Hold:
        return demo.qbo.company(demo.company.realm_id).faults.hold(
            method="POST", route=INVOICE_ROUTE
        )

    return runner.call(hold())


def wait_until_held(runner: DemoInBackground, hold: Hold) -> None:
    runner.call(asyncio.wait_for(hold.arrived.wait(), timeout=20))


def release(runner: DemoInBackground) -> None:
    demo = runner.demo

    async def go() -> None:
        demo.qbo.company(demo.company.realm_id).faults.release()

    runner.call(go())


def test_a_sync_in_progress_shows_after_a_reload_and_ends_by_itself(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    work = log_work(demo_runner, "SLOW", [3600], client="Slowpoke", currency="USD")
    link_to_new_customer(demo_runner, work, "Slowpoke Inc")
    invoice = invoice_work(demo_runner, work, finalize=True)
    hold = hold_creates(demo_runner)
    try:
        app = open_invoice(page, demo, invoice["id"])
        app.get_by_role("button", name="Sync with QB").click()
        wait_until_held(demo_runner, hold)

        # Reloaded mid-sync: the sync shows as running, Sync cannot be clicked again.
        app = open_invoice(page, demo, invoice["id"])
        running = app.locator("#qbo-sync-status [data-syncing]")
        expect(running).to_contain_text("Syncing with QuickBooks…")
        expect(running).to_contain_text("is still running")
        expect(app.locator("#sync")).to_be_disabled()
        expect(app.locator("#qbo-sync-status [role=alert]")).to_have_count(0)
        screenshot(page, "sync-in-progress-after-reload")
    finally:
        release(demo_runner)
    # It ends by itself: no reload, no click.
    expect(app.locator("#qbo-sync-status [data-synced]")).to_contain_text(
        f"Invoice {invoice['number']} is in QuickBooks for Slowpoke", timeout=20_000
    )
    # QuickBooks' status is labelled as QuickBooks'; Sync is done, Refresh status is left.
    expect(app.locator("#detail-badges")).to_have_text(re.compile(r"Finalized\s*QuickBooks: Draft"))
    expect(app.get_by_role("button", name="Sync with QB")).to_have_count(0)
    expect(app.locator("#refresh-status")).to_have_class(re.compile(r"\bbtn-primary\b"))
    screenshot(page, "sync-ended-by-itself")

    # Paid, with a reference: the payment shows it, never QuickBooks' payment id.
    qbo_id = api(demo_runner, "GET", f"/api/invoices/{invoice['id']}")["quickbooks"]["invoice_id"]

    async def pay() -> dict[str, Any]:
        return demo.qbo.pay_invoice(demo.company.realm_id, qbo_id, reference="CHQ 4512")

    payment = demo_runner.call(pay())
    app.get_by_role("button", name="Refresh status").click()
    expect(app.locator("#qbo-status [data-qbo-status=paid]")).to_have_text("QuickBooks: Paid")
    expect(app.locator("#payments-body tr")).to_have_text(
        [re.compile(r"\$120\.00\s*Ref\. CHQ 4512$")]
    )
    expect(app.locator("#payments-body")).not_to_contain_text(f"payment {payment['Id']}")
    expect(app.locator("#refresh-status")).not_to_have_class(re.compile(r"\bbtn-primary\b"))
    # The list's QuickBooks column says whose status it is too.
    app.get_by_role("button", name="← All invoices").click()
    row = app.locator("#invoices-body tr", has_text=invoice["number"])
    expect(row.locator("[data-qbo-status=paid]")).to_have_text("QuickBooks: Paid")


def test_clicking_sync_while_another_sync_runs_follows_it_instead_of_failing(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    work = log_work(demo_runner, "TWIN", [3600], client="Twin Tabs", currency="USD")
    link_to_new_customer(demo_runner, work, "Twin Tabs Inc")
    invoice = invoice_work(demo_runner, work, finalize=True)
    app = open_invoice(page, demo, invoice["id"])
    expect(app.get_by_role("button", name="Sync with QB")).to_be_enabled()
    hold = hold_creates(demo_runner)
    elsewhere: Future[Any]
    with ThreadPoolExecutor(1) as pool:
        try:
            # Another tab syncs it first.
            elsewhere = pool.submit(
                demo_runner.call, demo.api("POST", f"/api/invoices/{invoice['id']}/sync")
            )
            wait_until_held(demo_runner, hold)
            app.get_by_role("button", name="Sync with QB").click()
            expect(app.locator("#qbo-sync-status [data-syncing]")).to_contain_text(
                "is still running"
            )
            expect(app.locator("#qbo-sync-status [role=alert]")).to_have_count(0)
        finally:
            release(demo_runner)
        assert elsewhere.result(30).status_code == 200
    expect(app.locator("#qbo-sync-status [data-synced]")).to_be_visible(timeout=20_000)
    expect(app.locator("#invoice-detail [role=alert]")).to_have_count(0)


def test_notes_reach_quickbooks_and_the_internal_note_stays(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    work = log_work(demo_runner, "MEMO", [3600], client="Memo Makers", currency="USD")
    link_to_new_customer(demo_runner, work, "Memo Makers Inc")
    draft = invoice_work(demo_runner, work, finalize=False)
    app = open_invoice(page, demo, draft["id"])
    notes = app.get_by_label("Notes", exact=True)

    notes.fill("x" * 1001)
    expect(app.locator("#d-notes-count")).to_have_text("1,001 of 1,000 characters")
    app.get_by_role("button", name="Save dates and notes").click()
    refused = app.locator("#details-status [data-error-code=invalid_details]")
    expect(refused).to_contain_text("The notes are 1,001 characters")
    expect(refused).to_contain_text("shorten them by 1")
    expect(notes).to_have_attribute("aria-invalid", "true")
    expect(app.locator("#invoice-detail [aria-invalid=true]")).to_have_count(1)

    notes.fill("Payable within 30 days. Thank you!")
    app.get_by_label("Internal note").fill("Ada promised a discount next time")
    app.get_by_role("button", name="Save dates and notes").click()
    expect(app.locator("#details-status")).to_contain_text("with notes")
    app.get_by_role("button", name="Finalize Invoice").click()
    app.get_by_role("alertdialog").get_by_role("button", name="Finalize Invoice").click()
    expect(app.locator("#detail-title")).to_contain_text("Invoice ")
    expect(app.get_by_label("Internal note")).to_have_value("Ada promised a discount next time")
    expect(app.get_by_label("Internal note")).to_be_disabled()
    expect(app.locator("#qbo-summary")).to_contain_text(
        "and the notes as the message to the customer"
    )
    app.get_by_role("button", name="Sync with QB").click()
    expect(app.locator("#qbo-sync-status [data-synced]")).to_be_visible(timeout=20_000)
    screenshot(page, "invoice-notes-synced")

    qbo_id = api(demo_runner, "GET", f"/api/invoices/{draft['id']}")["quickbooks"]["invoice_id"]

    async def in_quickbooks() -> dict[str, Any]:
        return dict(demo.qbo.company(demo.company.realm_id).entities["Invoice"][qbo_id])

    created = demo_runner.call(in_quickbooks())
    assert created["CustomerMemo"] == {"value": "Payable within 30 days. Thank you!"}
    assert "discount" not in str(created)


def test_a_sync_error_shows_once(page: Page, demo: Demo, demo_runner: DemoInBackground) -> None:
    connect_quickbooks(page, demo)
    work = log_work(demo_runner, "ONCE", [3600], client="Said Once", currency="USD")
    invoice = invoice_work(demo_runner, work, finalize=True)  # the client is not linked
    app = open_invoice(page, demo, invoice["id"])

    app.get_by_role("button", name="Sync with QB").click()

    error = app.locator("#qbo-sync-status [data-error-code=client_not_linked]")
    expect(error).to_contain_text("Link Said Once to a QuickBooks customer")
    expect(app.locator("#invoice-detail [role=alert]")).to_have_count(1)
    expect(app.locator("#invoice-detail")).to_contain_text("is not linked to a QuickBooks customer")
    assert app.locator("#invoice-detail").inner_text().count("not linked to a QuickBooks") == 1
    expect(page.locator("#flags")).not_to_contain_text("Not synced")

    # A failure QuickBooks gave, read again after a reload: once, too.
    link_to_new_customer(demo_runner, work, "Said Once Inc")

    async def down() -> None:
        faults = demo.qbo.company(demo.company.realm_id).faults
        faults.fail_next(5, status=503, method="POST", route=INVOICE_ROUTE)

    demo_runner.call(down())
    app.get_by_role("button", name="Sync with QB").click()
    expect(app.locator("#qbo-sync-status [data-error-code=quickbooks_unavailable]")).to_be_visible(
        timeout=30_000
    )
    expect(app.locator("#invoice-detail [role=alert]")).to_have_count(1)
    app = open_invoice(page, demo, invoice["id"])
    stored = app.locator("#qbo-sync-status [data-error-code=quickbooks_unavailable]")
    expect(stored).to_contain_text("The last sync with QuickBooks did not finish")
    expect(app.locator("#invoice-detail [role=alert]")).to_have_count(1)
    app.get_by_role("button", name="Sync with QB").click()
    expect(app.locator("#qbo-sync-status [data-synced]")).to_be_visible(timeout=20_000)
    expect(app.locator("#invoice-detail [role=alert]")).to_have_count(0)


# --- item 14: the worklogs behind a line -----------------------------------------------------


def test_a_lines_worklogs_open_under_it(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "BEHIND", [3600, 1800, 5400], client="Behind It", currency="USD")
    invoice = api(
        demo_runner,
        "POST",
        f"/api/budgets/{work.budget_id}/invoices",
        {
            "period_start": work.starts_on,
            "period_end": datetime.now(UTC).date().isoformat(),
            "group_by": "author",
        },
    )
    assert invoice["line_count"] == 1 and invoice["worklog_count"] == 3
    app = open_invoice(page, demo, invoice["id"])

    toggle = app.get_by_role("button", name="Show the 3 worklogs of line 1")
    expect(toggle).to_have_text("3 worklogs")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    listed = app.locator("#lines-body tr.line-worklogs tbody tr")
    expect(listed).to_have_count(3)
    expect(listed.nth(0)).to_contain_text("BEHIND-1")
    expect(listed.nth(0)).to_contain_text("Lena Fischer")
    expect(listed.nth(0)).to_contain_text("1.00 h")
    expect(listed.nth(2)).to_contain_text("BEHIND-3")
    expect(listed.nth(2)).to_contain_text("1.50 h")
    screenshot(page, "line-worklogs")
    toggle.click()
    expect(listed).to_have_count(0)
    assert Decimal(invoice["hours"]) == Decimal("3.00")


def test_the_generator_previews_what_generate_would_make_and_creates_nothing(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    # 1 h, 2 h and 30 min at 120: three lines, $420.00.
    work = log_work(demo_runner, "PREV", [3600, 7200, 1800], client="Preview Co", currency="USD")
    before = api(demo_runner, "GET", f"/api/invoices?budget_id={work.budget_id}")["items"]
    app = open_app_page(page, demo, "worklog360-invoices")
    app.locator("#new-invoice").click()
    # The generator's own select: get_by_label("Budget", exact=True) is the list filter's.
    app.locator("#gen-budget").select_option(label="Preview Co PREV (Preview Co)")
    app.get_by_role("button", name="Whole budget to date").click()

    shown = app.locator("#generator-preview [data-preview]")
    expect(shown).to_have_text(
        "Generate draft would make 3 lines (one per issue) from 3 worklogs: 3.50 h billed "
        "(3.50 h logged), $420.00. Nothing is created until you click it."
    )
    app.get_by_label("One line per").select_option("author")
    expect(shown).to_contain_text("1 line (one per person) from 3 worklogs")
    screenshot(page, "generator-preview")
    assert api(demo_runner, "GET", f"/api/invoices?budget_id={work.budget_id}")["items"] == before

    app.get_by_label("Period from").fill("2001-01-01")
    app.get_by_label("Period to").fill("2001-01-31")
    expect(
        app.locator("#generator-preview [data-preview-error=nothing_to_invoice]")
    ).to_contain_text("Nothing to invoice in this period")
    app.get_by_role("button", name="Whole budget to date").click()
    expect(shown).to_contain_text("$420.00")
    app.get_by_role("button", name="Generate draft").click()
    expect(app.locator("#detail-status")).to_contain_text("Draft created")
    expect(app.locator("#total-amount")).to_have_text("$420.00")
    expect(app.locator("#lines-body tr[data-line]")).to_have_count(1)


def test_the_preview_warns_of_a_cap_before_the_draft_exists(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    # 3 h at 120 is $360.00 against a $300.00 cap.
    work = log_work(
        demo_runner,
        "PCAP",
        [3600, 7200],
        client="Preview Cap Co",
        currency="USD",
        budget_fields={"amount_cap": "300.00"},
    )
    app = open_app_page(page, demo, "worklog360-invoices")
    app.locator("#new-invoice").click()
    app.locator("#gen-budget").select_option(label="Preview Cap Co PCAP (Preview Cap Co)")
    app.get_by_role("button", name="Whole budget to date").click()
    caps = app.locator("#generator-preview [data-preview-caps] [data-cap-kind=amount]")
    expect(caps).to_have_text(
        "This invoice brings Preview Cap Co PCAP to $360.00 of its $300.00 cap ($60.00 over):"
        " $0.00 on its finalized invoices plus $360.00 on this one."
    )
    assert api(demo_runner, "GET", f"/api/invoices?budget_id={work.budget_id}")["items"] == []


def test_a_typed_line_shows_the_amount_the_server_will_save_to_the_cent(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    # 7.05 h at 123.10 is 867.855: half up to 867.86, as the server rounds (floats say .85).
    work = log_work(demo_runner, "CENT", [3600], client="Cent Co", currency="USD")
    draft = invoice_work(demo_runner, work, finalize=False)
    app = open_invoice(page, demo, draft["id"])
    app.get_by_label("Billed hours of line 1", exact=True).fill("7.05")
    app.get_by_label("Rate of line 1", exact=True).fill("123.10")
    row = app.locator("#lines-body tr[data-line]").first
    expect(row.locator("[data-amount]")).to_contain_text("$867.86")
    app.get_by_label("Rate of line 1", exact=True).press("Enter")
    expect(app.locator("#lines-status")).to_contain_text("Line 1 saved")
    assert saved_lines(demo_runner, draft["id"])[0] == ("7.05", "123.10", "867.86")
