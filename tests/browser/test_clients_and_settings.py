"""Manage → Clients and Settings → Integrations in a real browser: the QuickBooks customer
picker (currency beside each customer, customers of other clients marked, Refresh
customers), the way back to an invoice after linking from its sync error, the Connect
window closing itself, the service item and tax code chosen by name, the Currency picker,
a next invoice number already taken, long names, who sees the QuickBooks controls, and
money hidden from readers.

Each test makes its own clients, customers and work (a project of its own), and puts back
any setting it changes, so the guide's tests find the demo as they expect it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect

from app.demo import Demo, DemoInBackground
from tests.browser.conftest import screenshot
from tests.browser.test_guide import api, connect_quickbooks
from tests.browser.test_invoiced_work import invoice_work, log_work
from tests.browser.test_pages import open_app_page
from tests.browser.test_readers import GROUP_MEMBER, READER


def add_customer(runner: DemoInBackground, name: str) -> str:
    """A customer made in QuickBooks, then read again by the app (Refresh customers)."""
    demo = runner.demo

    async def in_quickbooks() -> dict[str, Any]:
        return demo.qbo.add_customer(demo.company.realm_id, name)

    customer = runner.call(in_quickbooks())
    api(runner, "GET", "/api/quickbooks/customers?refresh=true")
    return str(customer["Id"])


def new_client(runner: DemoInBackground, name: str, currency: str = "USD") -> int:
    client: dict[str, Any] = api(
        runner, "POST", "/api/clients", {"name": name, "currency": currency}
    )
    return int(client["id"])


def edit_client(app: FrameLocator, name: str) -> Locator:
    """Open the client's form; the customer combobox of its QuickBooks part."""
    app.get_by_role("button", name=f"Edit {name}", exact=True).click()
    expect(app.locator("#client-editor-title")).to_have_text(f"Edit {name}")
    return app.get_by_role("combobox", name="Link to QuickBooks customer")


def test_only_customers_in_the_clients_currency_can_be_chosen(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    add_customer(demo_runner, "Euro Widgets Inc")  # the demo company bills in USD
    new_client(demo_runner, "Euro Widgets", currency="EUR")

    app = open_app_page(page, demo, "worklog360-clients")
    combobox = edit_client(app, "Euro Widgets")
    combobox.fill("Euro Widgets")
    option = app.get_by_role("option", name=re.compile("Euro Widgets Inc"))
    expect(option).to_have_attribute("aria-disabled", "true")
    expect(option.locator("[data-currency=USD]")).to_have_class(re.compile("mismatch"))
    screenshot(page, "clients-customer-in-another-currency")

    option.click(force=True)  # a click reaches it: it says why it cannot be chosen

    refusal = app.locator("#qbo-link-status [data-refused-customer]")
    expect(refusal).to_contain_text(
        "Euro Widgets bills in EUR, but the QuickBooks customer Euro Widgets Inc is in USD: "
        "choose a EUR customer, or change the client's currency."
    )
    expect(app.get_by_role("button", name="Link customer")).to_be_disabled()
    # Nothing was linked; and the API refuses it too, whatever a page sends.
    euro = next(
        c for c in api(demo_runner, "GET", "/api/clients")["items"] if c["name"] == "Euro Widgets"
    )
    assert euro["quickbooks"] is None


def test_a_customer_of_another_client_is_marked_and_refresh_keeps_the_list_closed(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    umbrella = add_customer(demo_runner, "Umbrella Corporation")
    holder = new_client(demo_runner, "Umbrella")
    api(
        demo_runner,
        "PUT",
        f"/api/clients/{holder}/quickbooks-customer",
        {"customer_id": umbrella},
    )
    new_client(demo_runner, "Umbrella Europe")

    app = open_app_page(page, demo, "worklog360-clients")
    combobox = edit_client(app, "Umbrella Europe")
    combobox.fill("Umbrella")
    option = app.get_by_role("option", name=re.compile("Umbrella Corporation"))
    expect(option).to_contain_text("Linked to Umbrella")
    expect(option).to_have_attribute("aria-disabled", "true")
    # The answer for what was typed is in (not the one for the field's focus, unfiltered).
    expect(app.locator("#qbo-customer-options [role=option]")).to_have_count(1)
    combobox.press("ArrowDown")
    combobox.press("Enter")
    expect(app.locator("#qbo-link-status")).to_contain_text(
        "Umbrella Corporation is linked to Umbrella, and a QuickBooks customer is linked to one "
        "client only."
    )
    expect(combobox).to_have_value("Umbrella")

    # Refresh customers (twice, quickly): its confirmation shows, not covered by the list.
    refresh = app.get_by_role("button", name="Refresh customers")
    refresh.dblclick()
    confirmation = app.locator("#qbo-link-status .message-success")
    expect(confirmation).to_contain_text("The customer list was read from QuickBooks again")
    expect(refresh).to_be_enabled()
    expect(refresh).to_be_focused()  # not the field, whose focus would open the list again
    expect(app.locator("#qbo-customer-options")).to_be_hidden()
    screenshot(page, "clients-customers-refreshed")
    # The list comes back when the person goes back to the field.
    combobox.focus()
    expect(option).to_be_visible()


def test_after_linking_from_a_sync_error_the_invoice_is_one_click_away(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    connect_quickbooks(page, demo)
    work = log_work(demo_runner, "RTRIP", [3600], client="Return Trip", currency="USD")
    invoice = invoice_work(demo_runner, work, finalize=True)
    add_customer(demo_runner, "Return Trip LLC")

    app = open_app_page(page, demo, "worklog360-invoices", **{"ac.invoice_id": str(invoice["id"])})
    app.get_by_role("button", name="Sync with QB").click()
    error = app.locator("#qbo-sync-status [data-error-code=client_not_linked]")
    error.get_by_role("button", name="Link the client in Manage → Clients").click()

    app = page.frame_locator("#app-frame")
    expect(app.locator("#client-editor-title")).to_have_text("Edit Return Trip")
    combobox = app.get_by_role("combobox", name="Link to QuickBooks customer")
    combobox.fill("Return Trip")
    expect(app.get_by_role("option", name=re.compile("Return Trip LLC"))).to_be_visible()
    combobox.press("ArrowDown")
    combobox.press("Enter")
    app.get_by_role("button", name="Link customer").click()
    back = app.get_by_role("button", name=f"Back to invoice {invoice['number']}")
    expect(back).to_be_visible()
    screenshot(page, "clients-linked-back-to-invoice")

    back.click()

    app = page.frame_locator("#app-frame")
    expect(app.locator("#detail-title")).to_have_text(f"Invoice {invoice['number']}")
    app.get_by_role("button", name="Sync with QB").click()
    expect(app.locator("#qbo-sync-status [data-synced]")).to_contain_text(
        "is in QuickBooks for Return Trip", timeout=30_000
    )


def test_the_connect_window_closes_itself_once_connected(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    """Even when the window's opener is cut on the way, as a Cross-Origin-Opener-Policy on
    a sign-in page does: the callback page cannot tell the Settings page (which notices by
    itself), and must close all the same."""
    connect_quickbooks(page, demo)
    api(demo_runner, "DELETE", "/api/quickbooks/connection")
    page.context.add_init_script("Object.defineProperty(window, 'opener', { get: () => null })")
    app = open_app_page(page, demo, "worklog360-settings-integrations")

    with page.expect_popup() as opened:
        app.get_by_role("button", name="Connect to QuickBooks").click()
    popup = opened.value
    popup.wait_for_event("close", timeout=20_000)

    expect(app.locator("#qbo-status")).to_contain_text("QuickBooks is connected")
    expect(app.locator("[data-connection-state=connected]")).to_be_visible()


@pytest.fixture
def clean_line_settings(demo_runner: DemoInBackground) -> Iterator[None]:
    yield
    api(
        demo_runner,
        "PATCH",
        "/api/settings",
        {"quickbooks_item_id": None, "quickbooks_tax_code_id": None},
    )


def test_the_service_item_and_tax_code_are_chosen_by_name(
    page: Page, demo: Demo, demo_runner: DemoInBackground, clean_line_settings: None
) -> None:
    connect_quickbooks(page, demo)

    async def in_quickbooks() -> dict[str, Any]:
        return demo.qbo.add_item(demo.company.realm_id, "Consulting hours")

    item = demo_runner.call(in_quickbooks())
    app = open_app_page(page, demo, "worklog360-settings-integrations")
    service = app.get_by_label("Service item")
    expect(service.locator("option", has_text="Consulting hours")).to_have_count(1)
    expect(app.get_by_label("Tax code").locator("option", has_text="NON")).to_have_count(1)
    expect(app.locator("#qbo-tax-help")).to_contain_text("A US company")

    service.select_option(label="Consulting hours")
    app.get_by_label("Tax code").select_option("NON")
    app.get_by_role("button", name="Save QuickBooks settings").click()

    expect(app.locator("#qbo-preferences-status")).to_contain_text(
        "Invoices synced from now on are billed as Consulting hours, with the tax code NON."
    )
    screenshot(page, "settings-quickbooks-item-and-tax-code")
    saved = api(demo_runner, "GET", "/api/settings")
    assert (saved["quickbooks_item_id"], saved["quickbooks_tax_code_id"]) == (item["Id"], "NON")
    # Shown by name again after a reload.
    app = open_app_page(page, demo, "worklog360-settings-integrations")
    expect(app.get_by_label("Service item").locator("option:checked")).to_have_text(
        "Consulting hours"
    )


def test_a_next_invoice_number_already_taken_is_refused_on_the_settings_page(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    work = log_work(demo_runner, "NEXTN", [1800], client="Next Number Co", currency="USD")
    number = invoice_work(demo_runner, work, finalize=True)["number"]
    settings = api(demo_runner, "GET", "/api/settings")
    taken = number.removeprefix(settings["invoice_number_prefix"])
    free = settings["next_invoice_number"]

    app = open_app_page(page, demo, "worklog360-settings-integrations")
    field = app.get_by_label("Next invoice number")
    expect(field).to_have_value(str(free))  # the saved settings are in the form
    field.fill(taken)
    app.get_by_role("button", name="Save settings").click()

    expect(app.locator("#settings-status [data-error-code=invoice_number_taken]")).to_have_text(
        re.compile(f"{re.escape(number)} already exists: the next free number is {free}\\.")
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    screenshot(page, "settings-next-number-taken")
    assert api(demo_runner, "GET", "/api/settings")["next_invoice_number"] == free


def test_the_currency_is_picked_from_iso_codes_and_the_default_rate_says_whose(
    page: Page, demo: Demo, demo_runner: DemoInBackground
) -> None:
    app = open_app_page(page, demo, "worklog360-clients")
    app.get_by_role("button", name="Create client").first.click()
    app.get_by_label("Name").fill("Zloty Partners")
    currency = app.get_by_label("Currency")
    expect(currency.locator("option[value=PLN]")).to_have_text("PLN \u2013 Zloty")
    expect(currency.locator("option[value=XAU]")).to_have_count(0)  # gold is not money billed
    currency.select_option("PLN")
    app.locator("#client-save").click()
    expect(app.locator("#page-status")).to_contain_text("Zloty Partners was created")
    expect(app.locator("#clients-body tr", has_text="Zloty Partners")).to_contain_text("PLN")

    app = open_app_page(page, demo, "worklog360-settings-integrations")
    expect(app.locator("#s-rate-help")).to_contain_text("In each client's own currency")


def row_fits(page: Page, app: FrameLocator, name: str) -> None:
    frame = page.locator("#app-frame").bounding_box()
    row = app.locator("#clients-body tr", has=app.get_by_title(name, exact=True))
    for label in ("Edit", "Delete"):
        button = row.get_by_role("button", name=f"{label} {name}")
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert frame is not None and box is not None
        assert box["x"] >= frame["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"], (
            label,
            box,
            frame,
        )


def test_a_long_name_without_spaces_keeps_the_rows_buttons_in_the_frame(
    browser: Browser, demo: Demo, demo_runner: DemoInBackground
) -> None:
    name = "Supercalifragilisticexpialidocious" * 5 + "Holdings" * 3 + "Ltd"
    assert len(name) <= 200 and " " not in name
    client_id = new_client(demo_runner, name)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        app = open_app_page(page, demo, "worklog360-clients")
        cell = app.get_by_title(name, exact=True)
        expect(cell).to_be_visible()  # the whole name is there, on hover
        row_fits(page, app, name)
        screenshot(page, "clients-long-name-1280")
        page.set_viewport_size({"width": 800, "height": 900})
        row_fits(page, app, name)
        screenshot(page, "clients-long-name-800")
    finally:
        context.close()
        api(demo_runner, "DELETE", f"/api/clients/{client_id}")


def test_only_a_jira_administrator_is_offered_connect_and_disconnect(
    page: Page, demo: Demo
) -> None:
    connect_quickbooks(page, demo)
    app = open_app_page(page, demo, "worklog360-settings-integrations", **{"as": GROUP_MEMBER})
    expect(app.locator("#qbo-admin-note")).to_have_text(
        "Only a Jira administrator can connect or disconnect QuickBooks."
    )
    expect(app.locator("#qbo-company")).to_be_visible()
    for name in ("Reconnect", "Disconnect", "Connect to QuickBooks"):
        expect(app.get_by_role("button", name=name, exact=True)).to_have_count(0)
    # A billing-group member still changes billing settings.
    expect(app.get_by_role("button", name="Save settings")).to_be_visible()
    screenshot(page, "settings-billing-group-member")

    app = open_app_page(page, demo, "worklog360-settings-integrations")  # Ada, an admin
    expect(app.get_by_role("button", name="Reconnect", exact=True)).to_be_visible()
    expect(app.get_by_role("button", name="Disconnect", exact=True)).to_be_visible()
    expect(app.locator("#qbo-admin-note")).to_have_count(0)


@pytest.fixture
def money_shown_again(demo_runner: DemoInBackground) -> Iterator[None]:
    yield
    api(demo_runner, "PATCH", "/api/settings", {"readers_see_money": True})


def test_readers_see_hidden_where_money_would_be_when_the_site_says_so(
    page: Page, demo: Demo, demo_runner: DemoInBackground, money_shown_again: None
) -> None:
    work = log_work(demo_runner, "HIDDN", [3600], client="Hidden Figures", currency="USD")
    invoice = invoice_work(demo_runner, work, finalize=True)
    app = open_app_page(page, demo, "worklog360-settings-integrations")
    toggle = app.get_by_label("Everyone who may read billing data sees rates and amounts")
    expect(toggle).to_be_checked()
    app.locator("label[for=s-readers-money]").click()  # the toggle, as a person clicks it
    expect(toggle).not_to_be_checked()
    app.get_by_role("button", name="Save settings").click()
    expect(app.locator("#settings-status")).to_contain_text("1 setting changed")

    app = open_app_page(page, demo, "worklog360-worklogs", **{"as": READER})
    first = app.locator("#worklogs-body tr").first
    expect(first).to_contain_text("Hidden")
    expect(first).not_to_contain_text("$")
    screenshot(page, "worklogs-reader-money-hidden")

    budget_id = str(demo.budgets["Globex data platform"])
    app = open_app_page(
        page, demo, "worklog360-budgets", **{"as": READER, "ac.budget_id": budget_id}
    )
    expect(app.locator("#burn-money-hidden")).to_contain_text("Money against the cap: hidden")
    expect(app.locator("#detail-stats")).not_to_contain_text("$")
    screenshot(page, "budget-reader-money-hidden")

    # The list: a budget with a money cap says its figures are hidden, not that it has none.
    app = open_app_page(page, demo, "worklog360-budgets", **{"as": READER})
    retainer = app.locator("#budgets-body tr", has_text="Acme mobile app retainer")
    expect(retainer).to_contain_text("Hidden")
    expect(retainer).not_to_contain_text("No money cap")
    expect(retainer).not_to_contain_text("$")

    app = open_app_page(page, demo, "worklog360-invoices", **{"as": READER})
    listed = app.locator("#invoices-body tr", has_text=invoice["number"])
    expect(listed).to_contain_text("Hidden")
    listed.get_by_role("button", name=invoice["number"]).click()
    expect(app.locator("#detail-total")).to_have_text("Hidden")  # no currency after it
    expect(app.locator("#lines-body")).to_contain_text("1.00 h")  # hours stay
    screenshot(page, "invoice-reader-money-hidden")

    # A billing editor still sees the money.
    app = open_app_page(page, demo, "worklog360-worklogs", **{"as": GROUP_MEMBER})
    expect(app.locator("#worklogs-body tr").first).to_contain_text("$")
