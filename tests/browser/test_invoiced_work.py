"""Rates and invoiced work in a real browser inside the emulated Jira: a worklog's own hourly
rate set and cleared on the Worklogs page, what a budget has invoiced, who finalized an
invoice, and the banner of work changed in Jira after finalizing.

Each test logs its own work in a project of its own (in the Jira emulator, delivered to the
app by webhook like any other), with its own client and budget, so it takes nothing the
guide's tests invoice and leaves their worklogs as they were."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from app.demo import Demo, DemoInBackground
from app.timeutil import human_day
from tests.browser.conftest import screenshot
from tests.browser.test_guide import api
from tests.browser.test_pages import open_app_page

WORKER = "demo-lena"  # Lena Fischer


@dataclass(frozen=True, slots=True)
class Work:
    """A project's worklogs as the app mirrors them, and the budget they fall into."""

    project_key: str
    worklog_ids: list[str]
    client_id: int
    budget_id: int
    starts_on: str


def log_work(
    runner: DemoInBackground,
    project_key: str,
    seconds: list[int],
    *,
    client: str,
    currency: str = "EUR",
    budget_fields: dict[str, Any] | None = None,
) -> Work:
    """Work logged in Jira on a new project (one issue per worklog, a few days ago), mirrored
    by the app; then a client and a budget of that project, at 120 an hour."""
    demo = runner.demo
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)

    async def in_jira() -> list[str]:
        demo.site.add_project(project_key, f"{client} work")
        ids = []
        for n, spent in enumerate(seconds):
            issue = demo.site.add_issue(project_key, f"{client} task {n + 1}")
            worklog = demo.site.add_worklog(
                issue.key, WORKER, started=day + timedelta(hours=n), time_spent_seconds=spent
            )
            ids.append(worklog.id)
        return ids

    worklog_ids = runner.call(in_jira())
    mirrored = wait_for(
        runner,
        f"/api/worklogs?project_key={project_key}",
        lambda body: (
            len(body["items"]) == len(seconds) and all(w["issue_key"] for w in body["items"])
        ),
    )
    assert sorted(w["id"] for w in mirrored["items"]) == sorted(worklog_ids)
    client_id = api(runner, "POST", "/api/clients", {"name": client, "currency": currency})["id"]
    starts_on = (day - timedelta(days=7)).date().isoformat()
    budget = api(
        runner,
        "POST",
        "/api/budgets",
        {
            "client_id": client_id,
            "name": f"{client} {project_key}",
            "project_keys": [project_key],
            "hourly_rate": "120.00",
            "starts_on": starts_on,
            **(budget_fields or {}),
        },
    )
    return Work(project_key, worklog_ids, client_id, budget["id"], starts_on)


def shown_day(iso_day: str) -> str:
    """A day as the pages write it, in every locale: "29 Nov 2026"."""
    return human_day(date.fromisoformat(iso_day))


def wait_for(runner: DemoInBackground, path: str, done: Any, timeout: float = 60.0) -> Any:
    """GET `path` until `done(body)` (webhooks and the issue sweep run in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        body = api(runner, "GET", path)
        if done(body):
            return body
        assert time.monotonic() < deadline, f"{path} never got there: {body}"
        time.sleep(0.2)


def invoice_work(runner: DemoInBackground, work: Work, *, finalize: bool) -> dict[str, Any]:
    invoice: dict[str, Any] = api(
        runner,
        "POST",
        f"/api/budgets/{work.budget_id}/invoices",
        {"period_start": work.starts_on, "period_end": datetime.now(UTC).date().isoformat()},
    )
    if finalize:
        # As a person who confirmed the figures: past the budget's cap too, if it goes there.
        invoice = api(
            runner, "POST", f"/api/invoices/{invoice['id']}/finalize", {"accept_over_cap": True}
        )
    return invoice


def test_a_worklog_gets_its_own_rate_and_loses_it_again(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "RATE", [7200, 3600], client="Hooli")
    app = open_app_page(page, demo, "worklog360-worklogs")
    app.get_by_label("Project").select_option("RATE")
    app.get_by_role("button", name="Apply filters").click()
    rows = app.locator("#worklogs-body tr[data-worklog]")
    expect(rows).to_have_count(2)
    row = app.locator(f"#worklogs-body tr[data-worklog='{work.worklog_ids[0]}']")
    expect(row).to_contain_text("€120.00")
    expect(row).to_contain_text("Budget rate")

    # The control is a labelled button; the editor opens and closes from the keyboard.
    set_rate = row.get_by_role("button", name=re.compile(r"^Set rate for RATE-1 on "))
    set_rate.focus()
    set_rate.press("Enter")
    expect(set_rate).to_have_attribute("aria-expanded", "true")
    rate = app.get_by_label(re.compile(r"^Hourly rate for RATE-1 on .*\(EUR\)"))
    expect(rate).to_be_focused()
    rate.press("Escape")
    expect(rate).to_have_count(0)
    expect(set_rate).to_be_focused()
    expect(set_rate).to_have_attribute("aria-expanded", "false")

    # A negative rate: the API's 422, shown where the rate is typed, the field marked.
    set_rate.press("Enter")
    rate.fill("-5")
    rate.press("Enter")
    status = app.locator(f"#rate-status-{work.worklog_ids[0]}")
    invalid = status.locator("[role=alert][data-error-code=invalid_request]")
    expect(invalid).to_contain_text("Rate: enter 0 or more.")
    expect(invalid).not_to_contain_text("rate_override")
    expect(rate).to_have_attribute("aria-invalid", "true")
    screenshot(page, "worklogs-rate-invalid")

    # A good one: the row shows it, set on this worklog; so does the API.
    rate.fill("95.50")
    rate.press("Enter")
    expect(row).to_contain_text("€95.50")
    expect(row).to_contain_text("Set on this worklog")
    expect(app.locator("#page-status")).to_contain_text("RATE-1 bills at €95.50 an hour now")
    expect(rate).to_have_count(0)
    listed = api(demo_runner, "GET", "/api/worklogs?project_key=RATE")["items"]
    mine = next(w for w in listed if w["id"] == work.worklog_ids[0])
    assert (mine["rate"], mine["rate_source"]) == ("95.50", "worklog")
    other = app.locator(f"#worklogs-body tr[data-worklog='{work.worklog_ids[1]}']")
    expect(other).to_contain_text("€120.00")
    screenshot(page, "worklogs-rate-override")

    # Cleared: back to the budget's rate.
    set_rate = row.get_by_role("button", name=re.compile(r"^Set rate for RATE-1 on "))
    set_rate.click()
    expect(rate).to_have_value("95.50")
    app.get_by_role("button", name="Clear override").click()
    expect(row).to_contain_text("€120.00")
    expect(row).to_contain_text("Budget rate")
    expect(app.locator("#page-status")).to_contain_text("Rate override cleared")
    mine = next(
        w
        for w in api(demo_runner, "GET", "/api/worklogs?project_key=RATE")["items"]
        if w["id"] == work.worklog_ids[0]
    )
    assert (mine["rate"], mine["rate_source"]) == ("120.00", "budget")

    # On a finalized invoice the rate is locked: no Set rate any more, and the invoice named.
    invoice = invoice_work(demo_runner, work, finalize=True)
    app.get_by_role("button", name="Apply filters").click()
    expect(row.get_by_role("link", name=f"On invoice {invoice['number']}")).to_be_visible()
    expect(row.get_by_role("button", name=re.compile(r"^Set rate"))).to_have_count(0)
    expect(row).to_contain_text("€120.00")
    expect(row).to_contain_text("Billed at this rate")
    screenshot(page, "worklogs-rate-locked")


def test_a_budget_shows_what_its_finalized_invoices_billed(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    # 2 h + 1.5 h at €120: whole quarters, so the demo's rounding (up to 15 min) keeps them.
    work = log_work(
        demo_runner,
        "PIPER",
        [7200, 5400],
        client="Pied Piper",
        budget_fields={"amount_cap": "1000.00"},
    )
    draft = invoice_work(demo_runner, work, finalize=False)
    assert (draft["hours"], draft["total"]) == ("3.50", "420.00")

    def stat(label: str) -> Any:
        return app.locator("#detail-stats .stat", has_text=label).locator("dd")

    # A draft bills nothing yet.
    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(work.budget_id)})
    expect(app.locator("#detail-title")).to_have_text("Pied Piper PIPER")
    expect(stat("Hours invoiced")).to_contain_text("0.00 h")
    expect(stat("Amount invoiced")).to_contain_text("€0.00")

    # Finalized (in the browser, as Ada): the invoice says by whom, the budget what it billed.
    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(draft["id"])})
    app.get_by_role("button", name="Finalize Invoice").click()
    app.get_by_role("alertdialog").get_by_role("button", name="Finalize Invoice").click()
    expect(app.locator("#detail-status")).to_contain_text("finalized")
    expect(app.locator("#detail-finalized")).to_contain_text(f"by {demo.admin.display_name}")
    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(draft["id"])})
    expect(app.locator("#detail-finalized")).to_contain_text(f"by {demo.admin.display_name}")
    screenshot(page, "invoice-finalized-by")

    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(work.budget_id)})
    expect(stat("Hours invoiced")).to_have_text(re.compile(r"^3\.50 h"))
    expect(stat("Amount invoiced")).to_have_text(re.compile(r"^€420\.00"))
    expect(stat("Amount invoiced")).to_contain_text("€580.00 of the cap left to invoice")
    budget = api(demo_runner, "GET", f"/api/budgets/{work.budget_id}")
    assert (budget["hours_invoiced"], budget["amount_invoiced"]) == ("3.50", "420.00")
    screenshot(page, "budget-invoiced")


def test_work_changed_in_jira_after_finalizing_is_flagged_on_the_invoice(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "DRIFT", [3600, 1800, 2700], client="Initrode")
    invoice = invoice_work(demo_runner, work, finalize=True)
    changed, deleted, untouched = work.worklog_ids
    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(invoice["id"])})
    expect(app.locator("#detail-title")).to_have_text(f"Invoice {invoice['number']}")
    expect(app.locator("#detail-drift")).to_be_empty()

    async def in_jira() -> None:
        demo.site.update_worklog(changed, time_spent_seconds=5400)
        demo.site.delete_worklog(deleted)

    demo_runner.call(in_jira())
    drift = wait_for(
        demo_runner,
        f"/api/invoices/{invoice['id']}",
        lambda body: len(body["drift"]) == 2,
    )["drift"]
    days = {d["worklog_id"]: re.escape(shown_day(d["started_on"])) for d in drift}

    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(invoice["id"])})
    banner = app.locator("#detail-drift [data-drift='2']")
    expect(banner).to_contain_text(
        "Changed in Jira after finalizing: 1 worklog changed, 1 worklog deleted"
    )
    expect(banner).to_contain_text("This invoice stays as it was finalized")
    # Named as people know the work (issue, person, hours, day), never by a worklog id.
    expect(banner.locator(f"li[data-worklog='{changed}']")).to_have_text(
        re.compile(
            rf"^DRIFT-1, Lena Fischer's 1\.00 h on {days[changed]}, was changed in Jira: "
            r"1\.50 h now \(line “DRIFT-1 Initrode task 1”; noticed .+\)\.$"
        )
    )
    expect(banner.locator(f"li[data-worklog='{deleted}']")).to_have_text(
        re.compile(
            rf"^DRIFT-2, Lena Fischer's 0\.50 h on {days[deleted]}, was deleted in Jira "
            r"\(line “DRIFT-2 Initrode task 2”; noticed .+\)\.$"
        )
    )
    expect(banner).not_to_contain_text(changed)
    expect(banner.locator(f"li[data-worklog='{untouched}']")).to_have_count(0)
    # Nothing on the invoice itself moved.
    expect(app.locator("#total-amount")).to_have_text(f"€{invoice['total']}")
    screenshot(page, "invoice-drift")
