"""Sync with QB: a finalized invoice of a linked client becomes exactly one QuickBooks
invoice, with our number, dates, lines and currency; every refusal says what to do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text, update

from app.billing.models import BillingSettings
from app.db import transaction
from app.quickbooks.invoice_sync import MAX_LINES
from tests.app.quickbooks.invoicing import (
    INVOICE_ROUTE,
    QUERY_ROUTE,
    draft_invoice,
    error_of,
    finalized_invoice,
    invoicing_world,
    linked_client,
    qbo_invoices,
    sync,
    synced,
    unlinked_client,
)
from tests.support.world import World


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with invoicing_world(database_url, tmp_path) as world:
        yield world


def creates(world: World) -> int:
    return world.quickbooks.calls.count("POST", INVOICE_ROUTE)


async def test_a_finalized_invoice_becomes_one_quickbooks_invoice(world: World) -> None:
    client_id, customer_id = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)

    response = await sync(world, invoice["id"])

    assert response.status_code == 200, response.text
    block = response.json()["quickbooks"]
    (created,) = qbo_invoices(world)
    assert block["invoice_id"] == created["Id"]
    assert block["doc_number"] == invoice["number"] == created["DocNumber"]
    assert block["status"] == "draft"
    assert (block["total"], block["paid"], block["balance"]) == ("270.00", "0.00", "270.00")
    assert block["synced_at"] is not None and block["refreshed_at"] is not None
    assert block["total_changed_in_quickbooks"] is False
    assert block["payments"] == [] and block["error"] is None
    assert created["CustomerRef"]["value"] == customer_id
    assert created["TxnDate"] == invoice["issue_date"]
    assert created["DueDate"] == invoice["due_date"]
    assert created["CurrencyRef"]["value"] == "USD"
    assert created["BillEmail"] == {"Address": "billing@acme.test"}
    services = world.quickbooks.services_item(world.realm_id)["Id"]
    lines = [line for line in created["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert [
        (
            line["Description"],
            line["SalesItemLineDetail"]["Qty"],
            line["SalesItemLineDetail"]["UnitPrice"],
            line["Amount"],
            line["SalesItemLineDetail"]["ItemRef"]["value"],
        )
        for line in lines
    ] == [
        ("ALPHA-1 Build it", Decimal("1.50"), Decimal("120.00"), Decimal("180.00"), services),
        ("ALPHA-2 Review it", Decimal("0.75"), Decimal("120.00"), Decimal("90.00"), services),
    ]
    assert created["TotalAmt"] == Decimal("270.00")
    assert world.quickbooks.calls.without_minorversion() == []
    # The create's answer is what is stored: QuickBooks is not read again after it.
    assert world.quickbooks.calls.count("GET", "/v3/company/{realmId}/invoice/{entityId}") == 0


async def test_syncing_again_returns_the_same_quickbooks_invoice(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    first = await synced(world, invoice["id"])
    calls = world.quickbooks.calls.total()

    again = await synced(world, invoice["id"])

    assert again["invoice_id"] == first["invoice_id"]
    assert len(qbo_invoices(world)) == 1
    assert world.quickbooks.calls.total() == calls  # answered from what we hold


async def test_the_configured_item_and_tax_code_are_used(world: World) -> None:
    item = world.quickbooks.add_item(world.realm_id, "Consulting hours")
    settings = await world.api(
        "PATCH",
        "/api/settings",
        json={"quickbooks_item_id": item["Id"], "quickbooks_tax_code_id": "NON"},
    )
    assert settings.status_code == 200, settings.text
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)

    await synced(world, invoice["id"])

    (created,) = qbo_invoices(world)
    details = [
        line["SalesItemLineDetail"]
        for line in created["Line"]
        if line["DetailType"] == "SalesItemLineDetail"
    ]
    assert {d["ItemRef"]["value"] for d in details} == {item["Id"]}
    assert {d["TaxCodeRef"]["value"] for d in details} == {"NON"}


async def test_a_foreign_currency_invoice_carries_its_currency(world: World) -> None:
    world.quickbooks.company(world.realm_id).preferences.multicurrency = True
    client_id, _ = await linked_client(world, "Euro GmbH", currency="EUR", customer_currency="EUR")
    invoice = await finalized_invoice(world, client_id)

    block = await synced(world, invoice["id"])

    (created,) = qbo_invoices(world)
    assert created["CurrencyRef"]["value"] == "EUR"
    assert block["total"] == "270.00"


async def test_ten_concurrent_syncs_create_one_quickbooks_invoice(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)

    responses = await asyncio.gather(*(sync(world, invoice["id"]) for _ in range(10)))

    assert {r.status_code for r in responses} <= {200, 409}
    assert any(r.status_code == 200 for r in responses)
    for response in responses:
        if response.status_code == 409:
            assert error_of(response)[1] == "quickbooks_sync_in_progress"
    assert len(qbo_invoices(world)) == 1
    assert creates(world) == 1
    after = await synced(world, invoice["id"])
    assert after["invoice_id"] == qbo_invoices(world)[0]["Id"]


# --- refusals before QuickBooks is called ----------------------------------------------------


async def test_a_draft_cannot_be_synced(world: World) -> None:
    client_id, _ = await linked_client(world)
    draft = await draft_invoice(world, client_id)

    response = await sync(world, draft["id"])

    status, code, message = error_of(response)
    assert (status, code) == (409, "invoice_not_finalized")
    assert "Finalize" in message
    assert world.quickbooks.calls.count("POST", INVOICE_ROUTE) == 0


async def test_an_unlinked_client_is_refused_with_the_guide_hint(world: World) -> None:
    invoice = await finalized_invoice(world, await unlinked_client(world))

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "client_not_linked")
    assert "Link the client to a QuickBooks customer in Manage → Clients" in message


async def test_without_a_connection_the_user_is_told_to_connect(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    assert (await world.api("DELETE", "/api/quickbooks/connection")).status_code == 200

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "quickbooks_not_connected")
    assert "Settings → Integrations" in message


async def test_an_expired_connection_asks_for_a_reconnect(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    world.quickbooks.expire_access_tokens(world.realm_id)
    world.quickbooks.expire_refresh_tokens(world.realm_id)

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "quickbooks_reconnect_required")
    assert "Reconnect QuickBooks in Settings → Integrations" in message
    assert creates(world) == 0


async def test_an_inactive_customer_is_refused_before_calling_quickbooks(world: World) -> None:
    client_id, customer_id = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    world.quickbooks.set_customer_active(world.realm_id, customer_id, False)
    await world.api("GET", "/api/quickbooks/customers", params={"refresh": "true"})

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "quickbooks_customer_inactive")
    assert "inactive" in message and "Manage → Clients" in message
    assert creates(world) == 0


async def test_a_customer_made_inactive_since_the_list_was_read_is_explained(
    world: World,
) -> None:
    client_id, customer_id = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    world.quickbooks.set_customer_active(world.realm_id, customer_id, False)

    status, code, _ = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "quickbooks_customer_inactive")
    block = (await world.api("GET", f"/api/invoices/{invoice['id']}")).json()["quickbooks"]
    assert block["status"] == "not_synced"
    assert block["error"]["code"] == "quickbooks_customer_inactive"
    # The customer list now says so too; the next click is refused without calling QBO.
    calls = creates(world)
    assert error_of(await sync(world, invoice["id"]))[1] == "quickbooks_customer_inactive"
    assert creates(world) == calls


async def test_a_currency_mismatch_is_refused_before_calling_quickbooks(world: World) -> None:
    """Linking checks the currency; an invoice finalized in EUR before the client moved to
    USD and was linked to a USD customer still cannot go to that customer."""
    client_id = await unlinked_client(world, "Euro GmbH", currency="EUR")
    invoice = await finalized_invoice(world, client_id)
    moved = await world.api("PATCH", f"/api/clients/{client_id}", json={"currency": "USD"})
    assert moved.status_code == 200, moved.text
    customer = world.quickbooks.add_customer(world.realm_id, "Euro GmbH Customer")
    await world.api("GET", "/api/quickbooks/customers", params={"refresh": "true"})
    linked = await world.api(
        "PUT",
        f"/api/clients/{client_id}/quickbooks-customer",
        json={"customer_id": str(customer["Id"])},
    )
    assert linked.status_code == 200, linked.text

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "currency_mismatch")
    assert "EUR" in message and "USD" in message
    assert world.quickbooks.calls.count("POST", INVOICE_ROUTE) == 0


async def test_only_billing_editors_may_sync(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)

    response = await sync(world, invoice["id"], account_id="user-1")

    assert response.status_code == 403
    assert creates(world) == 0


# --- QuickBooks' refusals --------------------------------------------------------------------


async def test_a_duplicate_doc_number_of_another_customer_is_explained(world: World) -> None:
    client_id, _ = await linked_client(world)
    other = world.quickbooks.add_customer(world.realm_id, "Someone Else")
    invoice = await finalized_invoice(world, client_id)
    world.quickbooks.create_invoice(
        world.realm_id,
        {
            "CustomerRef": {"value": other["Id"]},
            "DocNumber": invoice["number"],
            "Line": [
                {
                    "Amount": Decimal("10.00"),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": world.quickbooks.services_item(world.realm_id)["Id"]}
                    },
                }
            ],
        },
    )

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "quickbooks_duplicate_doc_number")
    assert invoice["number"] in message and "Renumber or delete" in message
    assert len(qbo_invoices(world)) == 1


async def test_an_invoice_already_in_quickbooks_for_the_customer_is_adopted(
    world: World,
) -> None:
    client_id, customer_id = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    existing = world.quickbooks.create_invoice(
        world.realm_id,
        {
            "CustomerRef": {"value": customer_id},
            "DocNumber": invoice["number"],
            "Line": [
                {
                    "Amount": Decimal("270.00"),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": world.quickbooks.services_item(world.realm_id)["Id"]}
                    },
                }
            ],
        },
    )

    block = await synced(world, invoice["id"])

    assert block["invoice_id"] == existing["Id"]
    assert len(qbo_invoices(world)) == 1


async def test_a_non_us_company_needs_a_tax_code(database_url: str, tmp_path: Path) -> None:
    async with invoicing_world(database_url, tmp_path) as world:
        uk = world.quickbooks.add_company("Acme UK", country="GB", home_currency="GBP")
        assert (await world.api("DELETE", "/api/quickbooks/connection")).status_code == 200
        assert (await world.connect_quickbooks(realm_id=uk.realm_id)).status_code == 200
        world.qbo_company = uk
        client_id, _ = await linked_client(world, "Brit Ltd", currency="GBP")
        invoice = await finalized_invoice(world, client_id)

        status, code, message = error_of(await sync(world, invoice["id"]))
        assert (status, code) == (409, "quickbooks_tax_code_required")
        assert "Settings → Integrations" in message
        assert creates(world) == 0

        await world.api("PATCH", "/api/settings", json={"quickbooks_tax_code_id": "2"})
        block = await synced(world, invoice["id"])
        # QuickBooks adds VAT at 20%: its total differs from ours, and that is shown.
        assert block["total"] == "324.00"
        assert block["total_changed_in_quickbooks"] is True


async def test_an_unknown_tax_code_is_explained(world: World) -> None:
    # Saved before Settings checked tax codes against QuickBooks (it now refuses "77").
    assert (await world.api("GET", "/api/settings")).status_code == 200
    async with transaction(world.runtime.sessions) as session:
        await session.execute(update(BillingSettings).values(quickbooks_tax_code_id="77"))
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "quickbooks_tax_code_invalid")
    assert "tax code" in message
    # A certain refusal: the next attempt uses a new requestid, so it is not replayed.
    await world.api("PATCH", "/api/settings", json={"quickbooks_tax_code_id": "NON"})
    assert (await synced(world, invoice["id"]))["status"] == "draft"
    requestids = [c.requestid for c in world.quickbooks.calls.calls if c.route == INVOICE_ROUTE]
    assert len(set(requestids)) == 2


async def test_an_inactive_item_is_explained(world: World) -> None:
    item = world.quickbooks.add_item(world.realm_id, "Old service")
    await world.api("PATCH", "/api/settings", json={"quickbooks_item_id": item["Id"]})
    company = world.quickbooks.company(world.realm_id)
    company.entities["Item"][item["Id"]]["Active"] = False
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "quickbooks_item_unavailable")
    assert "Settings → Integrations" in message


async def test_throttling_with_an_xml_body_says_try_again(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    await synced(world, (await finalized_invoice(world, client_id, month=10))["id"])
    world.quickbooks.company(world.realm_id).faults.fail_next(
        10, status=429, method="POST", route=INVOICE_ROUTE
    )

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (503, "quickbooks_throttled")
    assert "Try again in a minute" in message
    world.quickbooks.company(world.realm_id).faults.clear()
    assert (await synced(world, invoice["id"]))["status"] == "draft"
    assert len(qbo_invoices(world)) == 2


async def test_a_rejected_token_asks_for_a_reconnect(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    world.quickbooks.disconnect(world.realm_id)

    status, code, message = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (409, "quickbooks_reconnect_required")
    assert "Reconnect QuickBooks" in message


async def test_quickbooks_down_keeps_the_requestid_and_the_retry_creates_once(
    world: World,
) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    await synced(world, (await finalized_invoice(world, client_id, month=10))["id"])
    world.quickbooks.company(world.realm_id).faults.fail_next(
        5, status=503, method="POST", route=INVOICE_ROUTE
    )

    status, code, _ = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (503, "quickbooks_unavailable")
    block = await synced(world, invoice["id"])
    assert block["status"] == "draft"
    assert len(qbo_invoices(world)) == 2
    # The outcome was unknown, so the retry looked the DocNumber up first.
    assert world.quickbooks.calls.count("POST", QUERY_ROUTE) >= 1


def create_requestids(world: World) -> list[str | None]:
    return [c.requestid for c in world.quickbooks.calls.calls if c.route == INVOICE_ROUTE]


async def test_an_answer_lost_after_quickbooks_created_the_invoice_makes_no_second_one(
    world: World,
) -> None:
    """QuickBooks makes the invoice, then every answer to it is a 503 (a gateway losing it),
    and its query does not see the new invoice yet, so looking the DocNumber up finds
    nothing: only the requestid, the same on every retry and on the next Sync, stands
    between the user's second click and a second invoice."""
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    company = world.quickbooks.company(world.realm_id)
    company.preferences.warn_duplicate_doc_num = False  # no 6140 to catch a second one
    world.quickbooks.clock.advance(120)  # what the setup made is visible to queries
    company.query_lag_seconds = 60
    company.faults.fail_next(5, status=503, method="POST", route=INVOICE_ROUTE, after=True)

    status, code, _ = error_of(await sync(world, invoice["id"]))

    assert (status, code) == (503, "quickbooks_unavailable")
    (made,) = qbo_invoices(world)  # QuickBooks has it; Worklog360 could not know
    lookups = world.quickbooks.calls.count("POST", QUERY_ROUTE) + world.quickbooks.calls.count(
        "GET", QUERY_ROUTE
    )

    block = await synced(world, invoice["id"])

    # The retry looked first, found nothing (the query lags), created with the same
    # requestid, and QuickBooks answered from its replay: the one invoice, now recorded.
    looked = world.quickbooks.calls.count("POST", QUERY_ROUTE) + world.quickbooks.calls.count(
        "GET", QUERY_ROUTE
    )
    assert looked > lookups
    assert [i["Id"] for i in qbo_invoices(world)] == [made["Id"]]
    assert block["invoice_id"] == made["Id"]
    assert block["doc_number"] == invoice["number"]
    assert block["total"] == "270.00"
    requestids = create_requestids(world)
    assert len(requestids) == 6  # five tries of the first Sync, one of the second
    assert requestids[0] is not None and set(requestids) == {requestids[0]}


# --- a crash between QuickBooks' create and our commit ---------------------------------------


async def _fail_commits(world: World, condition: str) -> None:
    """Make our database refuse to record the sync (as if the process died right there)."""
    async with world.runtime.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            await conn.execute(
                text(
                    "CREATE TRIGGER crash_after_create BEFORE UPDATE ON quickbooks_invoice_syncs "
                    f"FOR EACH ROW WHEN {condition} BEGIN SELECT RAISE(ABORT, 'crash'); END"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE FUNCTION crash_after_create() RETURNS trigger LANGUAGE plpgsql AS "
                    f"$$ BEGIN IF {condition} THEN RAISE EXCEPTION 'crash'; END IF; "
                    "RETURN NEW; END $$"
                )
            )
            await conn.execute(
                text(
                    "CREATE TRIGGER crash_after_create BEFORE UPDATE ON quickbooks_invoice_syncs "
                    "FOR EACH ROW EXECUTE FUNCTION crash_after_create()"
                )
            )


async def _recover_commits(world: World) -> None:
    async with world.runtime.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            await conn.execute(text("DROP TRIGGER crash_after_create"))
        else:
            await conn.execute(text("DROP TRIGGER crash_after_create ON quickbooks_invoice_syncs"))
            await conn.execute(text("DROP FUNCTION crash_after_create()"))


async def test_a_failed_commit_after_the_create_is_recovered_by_doc_number(
    world: World,
) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    await _fail_commits(world, "NEW.state = 'synced'")
    try:
        status, code, _ = error_of(await sync(world, invoice["id"]))
    finally:
        await _recover_commits(world)
    assert (status, code) == (503, "quickbooks_sync_incomplete")
    assert len(qbo_invoices(world)) == 1

    block = await synced(world, invoice["id"])

    assert block["invoice_id"] == qbo_invoices(world)[0]["Id"]
    assert len(qbo_invoices(world)) == 1
    assert creates(world) == 1  # adopted by DocNumber, never created again


async def test_a_crash_leaving_the_claim_is_taken_over_after_it_expires(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    # Nothing after the create is recorded: the claim stays, as after a killed process.
    await _fail_commits(world, "NEW.state <> 'syncing'")
    try:
        assert (await sync(world, invoice["id"])).status_code == 503
    finally:
        await _recover_commits(world)
    assert len(qbo_invoices(world)) == 1

    status, code, _ = error_of(await sync(world, invoice["id"]))
    assert (status, code) == (409, "quickbooks_sync_in_progress")
    world.quickbooks.clock.advance(6 * 60)

    block = await synced(world, invoice["id"])

    assert block["invoice_id"] == qbo_invoices(world)[0]["Id"]
    assert len(qbo_invoices(world)) == 1
    assert creates(world) == 1


async def _add_manual_lines(world: World, invoice_id: int, count: int) -> None:
    """Many lines at once, written straight into the draft (one API call per line would be
    hundreds of calls); one API edit then totals the draft as the service does."""
    async with world.runtime.sessions() as session:
        await session.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
                " INSERT INTO invoice_lines (tenant_id, invoice_id, position, kind, description,"
                " hours, rate, amount)"
                " SELECT tenant_id, id, 1000 + n.i, 'manual', 'Support', 1, 10, 10"
                " FROM invoices, n WHERE id = :invoice"
            ),
            {"count": count, "invoice": invoice_id},
        )
        await session.commit()
    lines = (await world.api("GET", f"/api/invoices/{invoice_id}")).json()["lines"]
    edited = await world.api(
        "PATCH", f"/api/invoices/{invoice_id}/lines/{lines[-1]['id']}", json={"hours": "1"}
    )
    assert edited.status_code == 200, edited.text


async def test_an_invoice_quickbooks_cannot_take_is_stopped_before_it_is_locked(
    world: World,
) -> None:
    """QuickBooks takes at most 750 lines on an invoice (when it carries tax): finalizing
    says so while the draft can still be regrouped, and 750 lines go through."""
    client_id, _ = await linked_client(world)
    draft = await draft_invoice(world, client_id)
    await _add_manual_lines(world, draft["id"], MAX_LINES + 1 - len(draft["lines"]))

    status, code, message = error_of(
        await world.api("POST", f"/api/invoices/{draft['id']}/finalize")
    )
    assert (status, code) == (409, "too_many_lines")
    assert "751 lines and QuickBooks takes at most 750" in message
    assert "grouped by issue or by person" in message
    invoice = (await world.api("GET", f"/api/invoices/{draft['id']}")).json()
    assert (invoice["status"], invoice["line_count"]) == ("draft", 751)

    one = invoice["lines"][-1]["id"]
    assert (await world.api("DELETE", f"/api/invoices/{draft['id']}/lines/{one}")).is_success
    assert (await world.api("POST", f"/api/invoices/{draft['id']}/finalize")).is_success
    await synced(world, draft["id"])
    (created,) = qbo_invoices(world)
    sales = [x for x in created["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    assert len(sales) == MAX_LINES


async def test_syncing_an_invoice_over_the_line_limit_is_refused_before_any_call(
    world: World,
) -> None:
    """An invoice finalized while the site had no QuickBooks connection is not checked at
    finalizing; syncing it says why it cannot go, without calling QuickBooks."""
    client_id, _ = await linked_client(world)
    draft = await draft_invoice(world, client_id)
    await _add_manual_lines(world, draft["id"], MAX_LINES + 1 - len(draft["lines"]))
    async with world.runtime.sessions() as session:
        await session.execute(text("DELETE FROM quickbooks_connections"))
        await session.commit()
    assert (await world.api("POST", f"/api/invoices/{draft['id']}/finalize")).is_success
    assert (await world.connect_quickbooks()).status_code == 200
    world.quickbooks.calls.reset()

    status, code, message = error_of(await sync(world, draft["id"]))

    assert (status, code) == (409, "quickbooks_too_many_lines")
    assert "751 lines" in message
    assert world.quickbooks.calls.total() == 0
