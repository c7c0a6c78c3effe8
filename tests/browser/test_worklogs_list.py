"""The Worklogs list in a real browser inside the emulated Jira: newest first, sorted by a
column header on the server (Load more continues the sort), totals of the whole filter, the
worklog just logged shown and highlighted, and worklogs on an invoice offering no control
that the API would refuse, with the invoice they are on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import FrameLocator, Page, expect

from app.demo import Demo, DemoInBackground
from tests.browser.conftest import screenshot
from tests.browser.test_guide import api
from tests.browser.test_invoiced_work import WORKER, invoice_work, log_work
from tests.browser.test_pages import open_app_page


def shown_ids(app: FrameLocator) -> list[str]:
    rows = app.locator("#worklogs-body tr[data-worklog]")
    return [str(rows.nth(n).get_attribute("data-worklog")) for n in range(rows.count())]


def api_ids(runner: DemoInBackground, pages: int, **params: str) -> list[str]:
    """The ids of the list's first `pages` pages of 100, as the API orders them."""
    ids: list[str] = []
    cursor = None
    for _ in range(pages):
        query = "&".join(f"{k}={v}" for k, v in {**params, "limit": "100"}.items())
        body = api(
            runner, "GET", "/api/worklogs?" + query + (f"&cursor={cursor}" if cursor else "")
        )
        ids += [w["id"] for w in body["items"]]
        cursor = body["next_cursor"]
    return ids


def summary_text(totals: dict[str, Any]) -> re.Pattern[str]:
    hours = f"{float(totals['hours']):,.2f}"
    billable = f"{float(totals['billable_hours']):,.2f}"
    return re.compile(
        rf"^{totals['worklogs']:,} worklogs · {hours} h in all · {billable} h billable"
    )


def test_newest_first_sortable_with_totals_of_the_whole_filter(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    app = open_app_page(page, demo, "worklog360-worklogs")
    rows = app.locator("#worklogs-body tr[data-worklog]")
    expect(rows).to_have_count(100)
    totals = api(demo_runner, "GET", "/api/worklogs/totals")
    assert totals["worklogs"] > 100
    summary = app.locator("#worklogs-summary")
    expect(summary).to_have_text(summary_text(totals))
    expect(summary).to_contain_text("showing 100, Load more for the rest")

    # Newest first: the API's own order, and the date header says so.
    assert shown_ids(app) == api_ids(demo_runner, 1)
    date_header = app.get_by_role("columnheader", name="Date")
    expect(date_header).to_have_attribute("aria-sort", "descending")
    newest = api(demo_runner, "GET", "/api/worklogs?limit=1")["items"][0]
    expect(rows.first).to_have_attribute("data-worklog", newest["id"])

    # Hours: largest first, then smallest first; Load more continues the same order.
    hours_header = app.get_by_role("columnheader", name="Hours")
    hours_header.get_by_role("button").click()
    expect(hours_header).to_have_attribute("aria-sort", "descending")
    expect(date_header).to_have_attribute("aria-sort", "none")
    expected = api_ids(demo_runner, 1, sort="hours", order="desc")
    expect(rows.first).to_have_attribute("data-worklog", expected[0])
    assert shown_ids(app) == expected
    hours_header.get_by_role("button").click()
    expect(hours_header).to_have_attribute("aria-sort", "ascending")
    expected = api_ids(demo_runner, 2, sort="hours", order="asc")
    expect(rows.first).to_have_attribute("data-worklog", expected[0])
    app.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(200)
    assert shown_ids(app) == expected
    # Sorting changes the order, never the totals.
    expect(summary).to_have_text(summary_text(totals))

    # Issue: A to Z by key number (ACME-9 before ACME-10).
    issue_header = app.get_by_role("columnheader", name="Issue")
    issue_header.get_by_role("button").click()
    expect(issue_header).to_have_attribute("aria-sort", "ascending")
    expected = api_ids(demo_runner, 1, sort="issue")
    expect(rows.first).to_have_attribute("data-worklog", expected[0])
    assert shown_ids(app) == expected
    screenshot(page, "worklogs-sorted-by-issue")

    # A filter: the totals are the filter's, whatever page is loaded.
    app.get_by_label("Project").select_option("GLX")
    app.get_by_role("button", name="Apply filters").click()
    glx = api(demo_runner, "GET", "/api/worklogs/totals?project_key=GLX")
    expect(summary).to_have_text(summary_text(glx))
    assert glx["worklogs"] < totals["worklogs"]
    expect(app.locator("#worklogs-body")).not_to_contain_text("ACME-")


def log_time(app: FrameLocator, issue_key: str, start: str, spent: str) -> None:
    if not app.locator("#log-time").is_visible():
        app.get_by_role("button", name="Log time").first.click()
    app.get_by_label("Issue key").fill(issue_key)
    app.locator("#log-date").fill(datetime.now(UTC).date().isoformat())
    app.get_by_label("Start time").fill(start)
    app.get_by_label("Time spent").fill(spent)
    app.locator("#log-submit").click()


def test_time_just_logged_is_at_the_top_and_highlighted(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    app = open_app_page(page, demo, "worklog360-worklogs")
    rows = app.locator("#worklogs-body tr[data-worklog]")
    expect(rows).to_have_count(100)
    before = api(demo_runner, "GET", "/api/worklogs/totals")["worklogs"]

    # The newest work of all: first in the newest-first list, highlighted, in view.
    log_time(app, "INI-2", "23:58", "25m")
    status = app.locator("#log-status")
    expect(status).to_contain_text("It is highlighted in the list", timeout=20_000)
    first = rows.first
    expect(first).to_have_class(re.compile(r"\bjust-logged\b"))
    expect(first).to_contain_text("INI-2")
    expect(first).to_contain_text("Just logged")
    expect(first).to_be_in_viewport()
    logged_id = first.get_attribute("data-worklog")
    expect(app.locator("#worklogs-summary")).to_contain_text(f"{before + 1:,} worklogs")
    assert api(demo_runner, "GET", "/api/worklogs?limit=1")["items"][0]["id"] == logged_id
    screenshot(page, "worklogs-just-logged")

    # Sorted by issue, a short entry on an issue far down the list: pinned at the top, and
    # not listed twice when Load more reaches it.
    app.get_by_role("columnheader", name="Issue").get_by_role("button").click()
    expect(app.get_by_role("columnheader", name="Issue")).to_have_attribute(
        "aria-sort", "ascending"
    )
    log_time(app, "OPS-3", "07:00", "5m")
    expect(status).to_contain_text("pinned at the top of the list", timeout=20_000)
    pinned = rows.first
    expect(pinned).to_have_class(re.compile(r"\bjust-logged\b"))
    expect(pinned).to_contain_text("OPS-3")
    pinned_id = pinned.get_attribute("data-worklog")
    assert pinned_id != logged_id
    expect(app.locator("#worklogs-body tr.just-logged")).to_have_count(1)
    ids = shown_ids(app)
    assert ids.count(str(pinned_id)) == 1


def test_worklogs_on_an_invoice_offer_no_change_and_name_the_invoice(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    final = log_work(demo_runner, "LOCKF", [3600], client="Locked Final")
    draft = log_work(demo_runner, "LOCKD", [1800], client="Locked Draft")
    free = log_work(demo_runner, "LOCKN", [2700], client="Not Locked")
    finalized = invoice_work(demo_runner, final, finalize=True)
    invoice_work(demo_runner, draft, finalize=False)
    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()

    app = open_app_page(page, demo, "worklog360-worklogs")
    app.get_by_label("Person").select_option(WORKER)
    app.get_by_label("From", exact=True).fill(day)
    app.get_by_label("To", exact=True).fill(day)
    app.get_by_role("button", name="Apply filters").click()
    body = app.locator("#worklogs-body")

    def row(worklog_id: str) -> Any:
        return body.locator(f"tr[data-worklog='{worklog_id}']")

    on_final, on_draft, loose = (
        row(final.worklog_ids[0]),
        row(draft.worklog_ids[0]),
        row(free.worklog_ids[0]),
    )
    expect(on_final).to_be_visible()
    for locked in (on_final, on_draft):
        expect(locked.locator(".row-select")).to_be_disabled()
        expect(locked.locator("input[data-worklog]")).to_be_disabled()
        expect(locked.get_by_role("button", name=re.compile("^Set rate"))).to_have_count(0)
    expect(on_final.get_by_role("link", name=f"On invoice {finalized['number']}")).to_be_visible()
    expect(on_draft.get_by_role("link", name="On a draft invoice")).to_be_visible()
    expect(on_final).to_contain_text("Billed at this rate")
    expect(loose.locator(".row-select")).to_be_enabled()
    expect(loose.locator("input[data-worklog]")).to_be_enabled()
    expect(loose.get_by_role("button", name=re.compile("^Set rate for LOCKN-1"))).to_be_visible()
    screenshot(page, "worklogs-invoiced-locked")

    # Select all takes only what can move; the Assign bar counts those.
    listed = api(demo_runner, "GET", f"/api/worklogs?author={WORKER}&from={day}&to={day}&limit=100")
    movable = [w for w in listed["items"] if w["invoice"] is None]
    assert 0 < len(movable) < len(listed["items"])
    app.get_by_label("Select all worklogs shown").check()
    expect(app.locator("#selection-count")).to_have_text(f"{len(movable)} selected")
    expect(on_final.locator(".row-select")).not_to_be_checked()
    expect(on_draft.locator(".row-select")).not_to_be_checked()
    # Only what can move is sent: the one free worklog, moved to another budget.
    app.get_by_label("Select all worklogs shown").uncheck()
    expect(app.locator("#selection-count")).to_have_text("0 selected")
    loose.locator(".row-select").check()
    expect(app.locator("#selection-count")).to_have_text("1 selected")
    app.get_by_label("Budget to assign the selected worklogs to").select_option(
        str(draft.budget_id)
    )
    app.get_by_role("button", name="Assign to budget").click()
    expect(app.locator("#page-status [role=status]")).to_contain_text(
        "1 worklog assigned to Locked Draft LOCKD"
    )
    moved = api(demo_runner, "GET", "/api/worklogs?project_key=LOCKN")["items"]
    assert [w["budget_id"] for w in moved] == [draft.budget_id]

    # Invoiced since the page was read (a second draft of that budget takes it): the toggle
    # is refused with the API's reason, and the row then shows its invoice, locked.
    invoice_work(demo_runner, draft, finalize=False)
    loose.locator("input[data-worklog]").uncheck(force=True)
    refused = app.locator("#page-status [data-error-code=worklog_invoiced]")
    expect(refused).to_contain_text("LOCKN-1's worklog of 0.75 h on")
    expect(refused).to_contain_text("is on a draft invoice of the budget 'Locked Draft LOCKD'")
    expect(loose.get_by_role("link", name="On a draft invoice")).to_be_visible()
    expect(loose.locator("input[data-worklog]")).to_be_disabled()
    expect(loose.locator("input[data-worklog]")).to_be_checked()
    expect(loose.locator(".row-select")).to_be_disabled()
    assert api(demo_runner, "GET", "/api/worklogs?project_key=LOCKN")["items"][0]["billable"]

    # The link opens the invoice.
    row(final.worklog_ids[0]).get_by_role("link", name=f"On invoice {finalized['number']}").click()
    invoices = page.frame_locator("#app-frame")
    expect(invoices.locator("#detail-title")).to_have_text(f"Invoice {finalized['number']}")
