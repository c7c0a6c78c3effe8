"""Readers (neither Jira administrators nor in the billing group) see billing data without
the controls that would change it, and one line saying who can; editors still see them.
The host page's `as` parameter chooses who is signed in to the emulated Jira."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.demo import Demo
from tests.browser.conftest import screenshot
from tests.browser.test_pages import open_app_page

READER = "demo-mia"  # no global permission, not in the demo's billing group
GROUP_MEMBER = "demo-grace"  # in "billing-team", the demo's billing group
NOTE = "changing it needs a billing editor"


def test_a_reader_sees_clients_without_editing_controls(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-clients", **{"as": READER})
    expect(app.locator("[data-reader-note]")).to_contain_text(NOTE)
    expect(app.locator("#clients-body tr").first).to_be_visible()
    expect(app.get_by_role("button", name="Create client")).to_have_count(0)
    expect(app.locator("#clients-body").get_by_role("button", name="Edit")).to_have_count(0)
    expect(app.locator("#clients-body").get_by_role("button", name="Delete")).to_have_count(0)
    screenshot(page, "clients-reader")


def test_a_reader_sees_worklogs_and_rates_but_cannot_assign_or_set_them(
    page: Page, demo: Demo
) -> None:
    app = open_app_page(page, demo, "worklog360-worklogs", **{"as": READER})
    expect(app.locator("[data-reader-note]")).to_contain_text(NOTE)
    first = app.locator("#worklogs-body tr").first
    expect(first).to_be_visible()
    expect(app.get_by_role("button", name="Assign to budget")).to_be_hidden()
    expect(app.get_by_role("button", name="Set rate")).to_have_count(0)
    expect(first.locator("input[data-worklog]")).to_be_disabled()
    expect(first.locator(".row-select")).to_be_hidden()
    # Logging time writes to Jira as the person, not billing data: still offered.
    expect(app.get_by_role("button", name="Log time").first).to_be_visible()
    screenshot(page, "worklogs-reader")


def test_a_reader_sees_a_budget_its_rate_card_and_rate_changes_read_only(
    page: Page, demo: Demo
) -> None:
    budget_id = str(demo.budgets["Globex data platform"])
    app = open_app_page(
        page, demo, "worklog360-budgets", **{"as": READER, "ac.budget_id": budget_id}
    )
    expect(app.locator("#detail-title")).to_have_text("Globex data platform")
    expect(app.locator("[data-reader-note]")).to_contain_text(NOTE)
    for name in ("Edit budget", "Delete budget", "Save rate card", "Add rate", "Create budget"):
        expect(app.get_by_role("button", name=name)).to_have_count(0)
    rate_card = app.locator("#rates-body tr")
    expect(rate_card.first).to_be_visible()
    expect(rate_card.first.locator("input[name=hourly_rate]")).to_be_disabled()
    expect(app.get_by_role("button", name="Save rate changes")).to_have_count(0)
    screenshot(page, "budget-reader")


def test_a_reader_sees_settings_values_without_a_save_button(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-settings-integrations", **{"as": READER})
    expect(app.locator("[data-reader-note]")).to_contain_text(NOTE)
    expect(app.get_by_label("Invoice number prefix")).not_to_have_value("")
    expect(app.get_by_label("Invoice number prefix")).to_be_disabled()
    expect(app.get_by_role("button", name="Save settings")).to_have_count(0)


def test_an_editor_still_sees_the_editing_controls(page: Page, demo: Demo) -> None:
    app = open_app_page(page, demo, "worklog360-clients")  # the demo's Jira administrator
    expect(app.locator("#clients-body tr").first).to_be_visible()
    expect(app.locator("#clients-body").get_by_role("button", name="Edit").first).to_be_visible()
    expect(app.get_by_role("button", name="Create client")).to_be_visible()
    expect(app.locator("[data-reader-note]")).to_be_hidden()


def test_a_billing_group_member_sees_the_editing_controls(page: Page, demo: Demo) -> None:
    budget_id = str(demo.budgets["Globex data platform"])
    app = open_app_page(
        page, demo, "worklog360-budgets", **{"as": GROUP_MEMBER, "ac.budget_id": budget_id}
    )
    expect(app.locator("#detail-title")).to_have_text("Globex data platform")
    expect(app.get_by_role("button", name="Edit budget")).to_be_visible()
    expect(app.get_by_role("button", name="Save rate card")).to_be_visible()
    expect(app.locator("[data-reader-note]")).to_be_hidden()
