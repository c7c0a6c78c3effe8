"""Where Sync with QB is for an invoice (`quickbooks.sync_state`), so that a page opened or
reloaded mid-sync shows the sync running rather than "not synced"; and how a payment is
shown (its reference and method, never QuickBooks' own payment id alone)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from app.db import transaction
from app.quickbooks.invoice_status import payment_rows
from app.quickbooks.models import QuickBooksInvoiceSync
from tests.app.quickbooks.invoicing import (
    INVOICE_ROUTE,
    block_of,
    error_of,
    finalized_invoice,
    invoicing_world,
    linked_client,
    qbo_invoices,
    refresh,
    sync,
    synced,
)
from tests.app.quickbooks.processes.harness import eventually
from tests.support.world import World, quickbooks_settings


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with invoicing_world(database_url, tmp_path) as world:
        yield world


async def test_a_sync_in_progress_shows_as_such_to_every_reader_until_it_ends(
    world: World,
) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    before = await block_of(world, invoice["id"])
    assert (before["sync_state"], before["sync_started_at"]) == ("not_started", None)
    faults = world.quickbooks.company(world.realm_id).faults
    hold = faults.hold(method="POST", route=INVOICE_ROUTE)
    running = asyncio.create_task(sync(world, invoice["id"]))
    try:
        await asyncio.wait_for(hold.arrived.wait(), timeout=10)

        during = await block_of(world, invoice["id"])
        assert during["sync_state"] == "in_progress"
        assert during["sync_started_at"] is not None
        assert during["status"] == "not_synced" and during["error"] is None
        listed = await world.api("GET", "/api/invoices", account_id="user-1")
        (item,) = [i for i in listed.json()["items"] if i["id"] == invoice["id"]]
        assert item["quickbooks"]["sync_state"] == "in_progress"
        # Another click meanwhile is told, and creates nothing.
        status, code, message = error_of(await sync(world, invoice["id"]))
        assert (status, code) == (409, "quickbooks_sync_in_progress")
        assert invoice["number"] in message
    finally:
        faults.release()
    response = await running

    assert response.status_code == 200, response.text
    after = await block_of(world, invoice["id"])
    assert (after["sync_state"], after["sync_started_at"]) == ("synced", None)
    assert after["status"] == "draft" and after["doc_number"] == invoice["number"]
    assert len(qbo_invoices(world)) == 1


async def test_a_failed_sync_reads_failed_with_its_reason(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    world.quickbooks.company(world.realm_id).faults.fail_next(
        5, status=503, method="POST", route=INVOICE_ROUTE
    )

    assert (await sync(world, invoice["id"])).status_code == 503

    block = await block_of(world, invoice["id"])
    assert block["sync_state"] == "failed"
    assert block["status"] == "not_synced"
    assert block["error"]["code"] == "quickbooks_unavailable"


async def test_a_claim_whose_request_died_reads_failed_and_says_syncing_again_is_safe(
    world: World,
) -> None:
    """A sync whose process died leaves its claim, which stops being renewed; once it
    lapses it is no longer in progress (the next Sync takes it over), and the page must
    say so."""
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    faults = world.quickbooks.company(world.realm_id).faults
    hold = faults.hold(method="POST", route=INVOICE_ROUTE)
    running = asyncio.create_task(sync(world, invoice["id"]))
    await asyncio.wait_for(hold.arrived.wait(), timeout=10)
    async with transaction(world.runtime.sessions) as session:
        await session.execute(
            update(QuickBooksInvoiceSync)
            .where(QuickBooksInvoiceSync.invoice_id == invoice["id"])
            .values(
                # As a process that died a minute into its claim leaves it: the last beat's
                # expiry passed 30 s ago.
                claimed_at=world.runtime.quickbooks.now() - timedelta(seconds=90),
                claim_expires_at=world.runtime.quickbooks.now() - timedelta(seconds=30),
            )
        )

    stale = await block_of(world, invoice["id"])

    assert stale["sync_state"] == "failed"
    assert stale["sync_started_at"] is None
    assert stale["error"]["code"] == "quickbooks_sync_interrupted"
    assert "a second one is never made" in stale["error"]["message"]
    faults.release()
    await running


async def test_payments_show_their_reference_and_method_not_quickbooks_ids(
    world: World,
) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    block = await synced(world, invoice["id"])
    world.quickbooks.pay_invoice(world.realm_id, block["invoice_id"], "70.00", reference="CHQ 4512")
    world.quickbooks.pay_invoice(world.realm_id, block["invoice_id"], "30.00")

    payments = (await refresh(world, invoice["id"]))["payments"]

    assert [(p["amount"], p["reference"], p["method"]) for p in payments] == [
        ("70.00", "CHQ 4512", None),
        ("30.00", None, None),
    ]


def test_a_payment_method_is_kept_when_quickbooks_names_it() -> None:
    payment = {
        "Id": "27",
        "TxnDate": "2026-11-20",
        "PaymentRefNum": "  ",
        "PaymentMethodRef": {"value": "3", "name": "Bank transfer"},
        "Line": [{"Amount": 50, "LinkedTxn": [{"TxnId": "9", "TxnType": "Invoice"}]}],
    }

    (row,) = payment_rows(1, payment, {"9": 4})

    assert (row["invoice_id"], row["reference"], row["method"]) == (4, None, "Bank transfer")
    unnamed = {**payment, "PaymentMethodRef": {"value": "3"}}
    assert payment_rows(1, unnamed, {"9": 4})[0]["method"] is None


async def test_a_sync_slower_than_a_claim_lives_keeps_its_claim_by_beating(
    database_url: str, tmp_path: Path
) -> None:
    """QuickBooks holds the create past W360_QBO_SYNC_CLAIM_STALE_SECONDS: the live process
    renews its claim, so a second click meanwhile is still told the sync is running and
    creates nothing."""
    async with invoicing_world(
        database_url,
        tmp_path,
        qbo=quickbooks_settings().model_copy(update={"sync_claim_stale_seconds": 3.0}),
    ) as world:
        client_id, _ = await linked_client(world)
        invoice = await finalized_invoice(world, client_id)
        faults = world.quickbooks.company(world.realm_id).faults
        hold = faults.hold(method="POST", route=INVOICE_ROUTE)
        running = asyncio.create_task(sync(world, invoice["id"]))
        try:
            await asyncio.wait_for(hold.arrived.wait(), timeout=10)
            first = await _claim_expiry(world, invoice["id"])

            async def renewed() -> bool:
                return await _claim_expiry(world, invoice["id"]) > first

            async def first_expiry_passed() -> bool:
                return world.runtime.quickbooks.now() > first

            await eventually(renewed, "the syncing process to renew its claim")
            await eventually(first_expiry_passed, "the first claim's expiry to pass")
            again = await sync(world, invoice["id"])
            assert again.status_code == 409, again.text
            assert again.json()["error"]["code"] == "quickbooks_sync_in_progress"
            assert (await block_of(world, invoice["id"]))["sync_state"] == "in_progress"
        finally:
            faults.release()
        done = await running
        assert done.status_code == 200, done.text
        assert len(qbo_invoices(world)) == 1


async def _claim_expiry(world: World, invoice_id: int) -> datetime:
    async with world.runtime.sessions() as session:
        row = await session.get(QuickBooksInvoiceSync, (1, invoice_id))
        assert row is not None and row.claim_expires_at is not None
        return row.claim_expires_at


async def test_a_claim_taken_by_the_previous_release_is_judged_by_its_rule(
    world: World,
) -> None:
    """Mid rolling upgrade, a process of the release before claim expiries takes a claim
    over: it moves `claimed_at` on and leaves the lapsed expiry of the claim it took. That
    claim is live for CLAIM_TIMEOUT, as that release expects, not lapsed."""
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    now = world.runtime.quickbooks.now()
    async with transaction(world.runtime.sessions) as session:
        session.add(
            QuickBooksInvoiceSync(
                tenant_id=1,
                invoice_id=invoice["id"],
                state="syncing",
                attempt=1,
                outcome_unknown=True,
                claim="claim-of-the-old-release",
                claimed_at=now - timedelta(seconds=5),
                claimed_by="web-7:4242",
                claim_expires_at=now - timedelta(minutes=2),
                realm_id=world.realm_id,
            )
        )

    block = await block_of(world, invoice["id"])
    again = await sync(world, invoice["id"])

    assert block["sync_state"] == "in_progress"
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "quickbooks_sync_in_progress"
    assert qbo_invoices(world) == []
