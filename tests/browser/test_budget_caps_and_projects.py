"""Budgets in a real browser inside the emulated Jira: money-cap use on the list and on a
budget's page (past the cap in words, never a negative amount left), the burn chart's cap
labels clear of the lines, the client's currency beside budget money, and the budget form's
Jira projects: picked from the site's, refused by name when Jira has no such project, and
kept as typed (with a way to save again) when Jira does not answer."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import FrameLocator, Page, expect

from app.demo import Demo, DemoInBackground
from tests.browser.conftest import screenshot
from tests.browser.test_guide import api
from tests.browser.test_invoiced_work import invoice_work, log_work
from tests.browser.test_pages import open_app_page

SEARCH = "/rest/api/3/project/search"

# Whether any series line of each chart runs through its cap label's box (SVG units).
LABEL_CROSSINGS = """
figures => figures.filter(figure => figure.querySelector('.cap-label')).map(figure => {
  const label = figure.querySelector('.cap-label');
  const box = label.getBBox();
  const crossed = [];
  figure.querySelectorAll('polyline').forEach(line => {
    const points = line.getAttribute('points').trim().split(/\\s+/)
      .map(p => p.split(',').map(Number));
    for (let i = 0; i + 1 < points.length; i++) {
      const [[x0, y0], [x1, y1]] = [points[i], points[i + 1]];
      for (let t = 0; t <= 1; t += 0.02) {
        const x = x0 + (x1 - x0) * t, y = y0 + (y1 - y0) * t;
        if (x >= box.x && x <= box.x + box.width && y >= box.y - 1 && y <= box.y + box.height + 1) {
          crossed.push([x, y]);
          break;
        }
      }
    }
  });
  return { text: label.textContent, place: label.dataset.place, crossed: crossed.length };
})
"""


def faults(runner: DemoInBackground, **fail: Any) -> None:
    async def in_jira() -> None:
        if fail:
            runner.demo.site.faults.fail_next(**fail)
        else:
            runner.demo.site.faults.clear()

    runner.call(in_jira())


def test_money_caps_on_the_list_and_the_budget_say_over_the_cap_in_words(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    # 4 h at €120 = €480 invoiced: over a €400 cap and just over a 3.80 h cap; €480 of €1,000.
    over = log_work(
        demo_runner,
        "OVERCAP",
        [14_400],
        client="Capped Over",
        budget_fields={"amount_cap": "400.00", "hours_cap": "3.80"},
    )
    under = log_work(
        demo_runner,
        "UNDERCAP",
        [14_400],
        client="Capped Under",
        budget_fields={"amount_cap": "1000.00"},
    )
    for work in (over, under):
        invoice_work(demo_runner, work, finalize=True)
    assert api(demo_runner, "GET", f"/api/budgets/{over.budget_id}")["amount_remaining"] == "-80.00"

    app = open_app_page(page, demo, "worklog360-budgets")
    over_row = app.locator(f"#budgets-body tr[data-budget='{over.budget_id}']")
    under_row = app.locator(f"#budgets-body tr[data-budget='{under.budget_id}']")
    expect(over_row).to_contain_text("€80.00 over the cap of €400.00")
    expect(over_row).to_contain_text("0.20 h over the cap of 3.80 h")
    expect(over_row.locator(".progress.over")).to_have_count(2)
    expect(under_row).to_contain_text("€480.00 of €1,000.00 invoiced (48%)")
    expect(under_row.locator(".progress.over")).to_have_count(0)
    expect(under_row).to_contain_text("No hours cap")
    expect(app.get_by_role("columnheader", name="Money cap invoiced")).to_be_visible()
    expect(app.locator("#budgets-body")).not_to_contain_text("-€")
    screenshot(page, "budgets-money-caps")

    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(over.budget_id)})
    stats = app.locator("#detail-stats")
    invoiced = stats.locator(".stat", has_text="Amount invoiced")
    expect(invoiced).to_contain_text("€480.00")
    expect(invoiced).to_contain_text("€80.00 over the cap")
    expect(invoiced).to_have_class(re.compile(r"\bover\b"))
    expect(stats.locator(".stat", has_text="Hours over the cap")).to_contain_text("0.20 h")
    expect(stats).not_to_contain_text("-€")
    expect(stats).not_to_contain_text("-0.20")

    # The cap labels sit where no line runs through them (the line ends just past each cap,
    # right where the label used to be).
    charts = app.locator("#burn figure.chart")
    expect(charts).to_have_count(2)
    expect(charts.first.locator(".cap-label")).to_have_text("Hours cap 3.80 h")
    placed = charts.evaluate_all(LABEL_CROSSINGS)
    assert [p["crossed"] for p in placed] == [0, 0], placed
    assert all(p["place"] != "right-above" for p in placed), placed
    screenshot(page, "budget-over-cap")

    # Under the cap: the words of the list, on the budget's page too.
    app = open_app_page(page, demo, "worklog360-budgets", **{"ac.budget_id": str(under.budget_id)})
    expect(app.locator("#detail-stats .stat", has_text="Amount invoiced")).to_contain_text(
        "€520.00 of the cap left to invoice"
    )
    placed = app.locator("#burn figure.chart").evaluate_all(LABEL_CROSSINGS)
    assert [p["crossed"] for p in placed] == [0], placed
    # Budget money in the client's currency, the rate card's too.
    expect(app.locator("#rates-rate-header")).to_have_text("Hourly rate (EUR)")


def open_new_budget(app: FrameLocator) -> FrameLocator:
    app.get_by_role("button", name="Create budget").first.click()
    expect(app.locator("#budget-editor")).to_be_visible()
    return app


def test_the_budget_form_checks_projects_with_jira_and_keeps_what_was_typed(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    client = api(demo_runner, "POST", "/api/clients", {"name": "Picky Ltd", "currency": "GBP"})

    async def in_jira() -> None:
        demo_runner.demo.site.add_project("PICK", "Picked project")

    demo_runner.call(in_jira())
    app = open_new_budget(open_app_page(page, demo, "worklog360-budgets"))
    form = app.locator("#budget-form")
    form.get_by_label("Client").select_option(str(client["id"]))
    # The client's currency beside every money field; another client, another currency.
    expect(form.get_by_label("Hourly rate (GBP)")).to_be_visible()
    expect(form.get_by_label("Amount cap (GBP)")).to_be_visible()
    acme = api(demo_runner, "GET", "/api/clients?q=acme")["items"][0]
    form.get_by_label("Client").select_option(str(acme["id"]))
    expect(form.get_by_label(f"Hourly rate ({acme['currency']})")).to_be_visible()
    form.get_by_label("Client").select_option(str(client["id"]))

    # The site's projects to pick from; ticking one fills the keys in.
    picker = app.locator("#budget-project-picker")
    expect(picker.get_by_label(re.compile(r"^PICK Picked project"))).to_be_visible()
    expect(picker.get_by_label(re.compile(r"^GLX "))).to_be_visible()
    form.locator("#budget-name").fill("Picky retainer")
    keys = form.locator("#budget-projects")
    keys.fill("NOPE")
    keys.blur()
    expect(app.locator("#budget-projects-status")).to_contain_text(
        "Not among the site's projects: NOPE"
    )
    form.get_by_label("Hourly rate (GBP)").fill("95")

    # Jira has no NOPE: refused by name, the field marked, everything typed still there.
    app.get_by_role("button", name="Create budget").last.click()
    refused = app.locator("#budget-form-status [data-error-code=unknown_project]")
    expect(refused).to_contain_text("Jira has no project NOPE")
    expect(keys).to_have_attribute("aria-invalid", "true")
    expect(keys).to_be_focused()
    expect(keys).to_have_value("NOPE")
    expect(form.get_by_label("Hourly rate (GBP)")).to_have_value("95")
    assert not any(
        b["name"] == "Picky retainer" for b in api(demo_runner, "GET", "/api/budgets")["items"]
    )
    screenshot(page, "budget-unknown-project")

    keys.fill("")
    picker.get_by_label(re.compile(r"^PICK Picked project")).check()
    expect(keys).to_have_value("PICK")
    expect(keys).not_to_have_attribute("aria-invalid", "true")

    # Jira does not answer: said so, nothing saved, what was typed kept; Save again works.
    faults(demo_runner, count=5, status=503, retry_after=0, route=SEARCH)
    app.get_by_role("button", name="Create budget").last.click()
    down = app.locator("#budget-form-status [data-error-code=jira_unavailable]")
    expect(down).to_contain_text("Jira did not answer")
    expect(down).to_contain_text("What you typed is kept")
    expect(keys).to_have_value("PICK")
    expect(form.locator("#budget-name")).to_have_value("Picky retainer")
    expect(app.locator("#budget-editor")).to_be_visible()
    assert not any(
        b["name"] == "Picky retainer" for b in api(demo_runner, "GET", "/api/budgets")["items"]
    )
    faults(demo_runner)
    down.get_by_role("button", name="Save again").click()
    expect(app.locator("#page-status [role=status]")).to_contain_text("Picky retainer was created")
    made = [
        b for b in api(demo_runner, "GET", "/api/budgets")["items"] if b["name"] == "Picky retainer"
    ]
    assert [(b["project_keys"], b["hourly_rate"]) for b in made] == [(["PICK"], "95.00")]
