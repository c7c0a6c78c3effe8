""" "Sync with QB" across processes on one PostgreSQL: many Syncs of one invoice at once in
two processes make one QuickBooks invoice; a Sync whose process is killed (`kill -9`) while
QuickBooks holds its create does not leave the invoice "being synced" for minutes, and the
retry makes no second QuickBooks invoice, whatever the dead process's create does after."""

from __future__ import annotations

import os
import signal
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.billing.models import BillingSettings, Budget, Client, Invoice, InvoiceLine
from app.db import transaction
from app.errors import AppError
from app.quickbooks import invoice_sync, service
from app.quickbooks.models import (
    QuickBooksCustomer,
    QuickBooksCustomerLink,
    QuickBooksInvoiceSync,
)
from app.quickbooks.sync_repository import SYNCED, SYNCING
from tests.app.quickbooks.processes.conftest import Setup
from tests.app.quickbooks.processes.harness import eventually, wait_until

INVOICE_ROUTE = "/v3/company/{realmId}/invoice"
# Short enough for a test, long enough that the checks right after the kill come first on a
# loaded machine (the dead process's last beat was at most a third of it before its death).
STALE_SECONDS = 10


async def _finalized_invoice(setup: Setup) -> int:
    """A linked client's finalized invoice of one line, written as billing leaves one."""
    customer = setup.qbo.control(
        "POST", f"/companies/{setup.qbo.realm_id}/customers", json={"display_name": "Acme"}
    )
    customer_id = str(customer["Customer"]["Id"])
    tid = setup.tenant_id
    async with transaction(setup.runtime.sessions) as session:
        session.add(BillingSettings(tenant_id=tid))
        client = Client(tenant_id=tid, name="Acme", name_key="acme", currency="USD")
        session.add(client)
        await session.flush()
        budget = Budget(
            tenant_id=tid,
            client_id=client.id,
            name="2026",
            kind="time_and_materials",
            hourly_rate=Decimal("120.00"),
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
        )
        session.add(budget)
        session.add(
            QuickBooksCustomer(
                tenant_id=tid,
                id=customer_id,
                display_name="Acme",
                search_key="acme",
                currency="USD",
                active=True,
            )
        )
        session.add(
            QuickBooksCustomerLink(
                tenant_id=tid, client_id=client.id, customer_id=customer_id, display_name="Acme"
            )
        )
        await session.flush()
        invoice = Invoice(
            tenant_id=tid,
            client_id=client.id,
            budget_id=budget.id,
            status="draft",
            currency="USD",
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 30),
            group_by="issue",
            rounding_minutes=0,
            rounding_mode="none",
            issue_date=date(2026, 12, 1),
            due_date=date(2026, 12, 31),
            total=Decimal("240.00"),
        )
        session.add(invoice)
        await session.flush()
        session.add(
            InvoiceLine(
                tenant_id=tid,
                invoice_id=invoice.id,
                position=1,
                kind="issue",
                description="ALPHA-1 Build it",
                hours=Decimal("2.00"),
                rate=Decimal("120.00"),
                amount=Decimal("240.00"),
            )
        )
        await session.flush()
        invoice.status = "finalized"
        invoice.number = "INV-1"
        invoice.sequence = 1
        invoice.finalized_at = setup.runtime.quickbooks.now()
        invoice.finalized_by = "user-1"
        return invoice.id


async def _sync_row(setup: Setup, invoice_id: int) -> QuickBooksInvoiceSync | None:
    async with setup.runtime.sessions() as session:
        return (
            await session.execute(
                select(QuickBooksInvoiceSync).where(QuickBooksInvoiceSync.invoice_id == invoice_id)
            )
        ).scalar_one_or_none()


def _company(setup: Setup) -> dict[str, Any]:
    company: dict[str, Any] = setup.qbo.control("GET", f"/companies/{setup.qbo.realm_id}")
    return company


@pytest.mark.parametrize("dead_create_lands", ["before the retry", "after the retry"])
async def test_a_sync_killed_mid_create_is_taken_over_soon_and_makes_one_invoice(
    setup: Setup, tmp_path: Path, dead_create_lands: str
) -> None:
    """The killed process's create is held at QuickBooks; QuickBooks then carries it out
    either before the retry (the retry must adopt it) or after it (a slow QuickBooks: the
    retry's create and the dead one carry one requestid, so QuickBooks makes one)."""
    qbo = setup.qbo
    realm = qbo.realm_id
    invoice_id = await _finalized_invoice(setup)
    # A company that lets two invoices share a number (its admin's choice in QuickBooks):
    # only the requestid stands between a retried create and a second invoice.
    qbo.control("PATCH", f"/companies/{realm}/preferences", json={"warn_duplicate_doc_num": False})
    setup.runtime.settings.qbo.sync_claim_stale_seconds = STALE_SECONDS
    qbo.control(
        "POST",
        f"/companies/{realm}/holds",
        json={"method": "POST", "route": INVOICE_ROUTE, "count": 1},
    )
    children = setup.children(tmp_path)
    children.env = {**setup.env, "W360_QBO_SYNC_CLAIM_STALE_SECONDS": str(STALE_SECONDS)}
    try:
        children.start(
            "doomed", "--tenant", str(setup.tenant_id), "sync", "--invoice", str(invoice_id)
        )
        children.release_when_ready()
        wait_until(
            lambda: qbo.control("GET", f"/companies/{realm}/holds")["waiting"] == 1,
            "the doomed process's create to reach QuickBooks",
        )
        doomed = children.processes["doomed"]
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        children.kill_all()

    # Until the dead process's claim lapses, another click is told the sync is running.
    left = await _sync_row(setup, invoice_id)
    assert left is not None and left.state == SYNCING
    assert left.claimed_by is not None and left.claimed_by.endswith(f":{doomed.pid}")
    with pytest.raises(AppError) as refused:
        await invoice_sync.sync_invoice(setup.runtime, setup.tenant_id, invoice_id)
    assert refused.value.code == "quickbooks_sync_in_progress"

    def dead_create_answered() -> bool:
        return int(_company(setup)["limits"]["in_flight"]) == 0

    if dead_create_lands == "before the retry":
        qbo.control("DELETE", f"/companies/{realm}/holds")
        wait_until(dead_create_answered, "QuickBooks to finish the dead process's create")
        assert _company(setup)["counts"].get("Invoice", 0) == 1

    async def taken_over() -> bool:
        try:
            await invoice_sync.sync_invoice(setup.runtime, setup.tenant_id, invoice_id)
        except AppError as exc:
            assert exc.code == "quickbooks_sync_in_progress", exc.message
            return False
        return True

    # STALE_SECONDS after the dead process's last beat; eventually() gives up at 60 s.
    await eventually(taken_over, "the dead process's claim to lapse")
    if dead_create_lands == "after the retry":
        qbo.control("DELETE", f"/companies/{realm}/holds")
        wait_until(dead_create_answered, "QuickBooks to finish the dead process's create")

    done = await _sync_row(setup, invoice_id)
    assert done is not None and done.state == SYNCED and done.qbo_id is not None
    assert done.claim is None and done.claim_expires_at is None
    assert _company(setup)["counts"]["Invoice"] == 1
    api = await service.authorized_api(setup.runtime, setup.tenant_id)
    found = await api.find_invoices_by_doc_number("INV-1")
    assert [i["Id"] for i in found] == [done.qbo_id]
    assert Decimal(str(found[0]["TotalAmt"])) == Decimal("240.00")


async def test_fifty_syncs_at_once_in_two_processes_make_one_invoice(
    setup: Setup, tmp_path: Path
) -> None:
    qbo = setup.qbo
    realm = qbo.realm_id
    invoice_id = await _finalized_invoice(setup)
    # QuickBooks slow to create, so the Syncs overlap (the first holds the claim meanwhile).
    qbo.control("POST", f"/companies/{realm}/latency", json={"seconds": 0.5})
    qbo.control("PATCH", f"/companies/{realm}/preferences", json={"warn_duplicate_doc_num": False})
    children = setup.children(tmp_path)
    try:
        for name in ("web-1", "web-2"):
            children.start(
                name,
                "--tenant",
                str(setup.tenant_id),
                "sync",
                "--invoice",
                str(invoice_id),
                "--count",
                "25",
            )
        children.release_when_ready()
        results = children.results()
    finally:
        children.kill_all()

    outcomes: dict[str, int] = {}
    for result in results.values():
        for code, count in result.items():
            outcomes[code] = outcomes.get(code, 0) + count
    assert sum(outcomes.values()) == 50
    assert set(outcomes) <= {"ok", "quickbooks_sync_in_progress"}
    assert outcomes["ok"] >= 1
    assert qbo.route_count("POST", INVOICE_ROUTE) == 1
    assert _company(setup)["counts"]["Invoice"] == 1
    done = await _sync_row(setup, invoice_id)
    assert done is not None and done.state == SYNCED


async def test_a_create_whose_answers_time_out_is_not_made_twice(
    setup: Setup, tmp_path: Path
) -> None:
    """QuickBooks makes the invoice but its answer never comes in time, on every try, and
    its query does not see the new invoice yet. The Sync says QuickBooks is unavailable;
    the next Sync looks, finds nothing, creates with the same requestid, and QuickBooks
    answers from its replay: one invoice, recorded as synced."""
    qbo = setup.qbo
    realm = qbo.realm_id
    invoice_id = await _finalized_invoice(setup)
    qbo.control("PATCH", f"/companies/{realm}/preferences", json={"warn_duplicate_doc_num": False})
    tries = 5  # the client's attempts at one call
    qbo.control(
        "POST",
        f"/companies/{realm}/holds",
        json={"method": "POST", "route": INVOICE_ROUTE, "count": tries, "after": True},
    )
    children = setup.children(tmp_path)
    children.env = {**setup.env, "W360_QBO_TIMEOUT_SECONDS": "1"}
    try:
        children.start(
            "web", "--tenant", str(setup.tenant_id), "sync", "--invoice", str(invoice_id)
        )
        children.release_when_ready()
        wait_until(
            lambda: _company(setup)["counts"].get("Invoice", 0) == 1,
            "QuickBooks to make the invoice whose answer it holds",
        )
        qbo.control("PUT", f"/companies/{realm}/query-lag", json={"seconds": 600})
        results = children.results()
    finally:
        children.kill_all()
        qbo.control("DELETE", f"/companies/{realm}/holds")

    assert results["web"] == {"quickbooks_unavailable": 1}
    left = await _sync_row(setup, invoice_id)
    assert left is not None and left.state != SYNCED and left.outcome_unknown
    assert qbo.route_count("POST", INVOICE_ROUTE) == tries

    await invoice_sync.sync_invoice(setup.runtime, setup.tenant_id, invoice_id)

    done = await _sync_row(setup, invoice_id)
    assert done is not None and done.state == SYNCED
    assert _company(setup)["counts"]["Invoice"] == 1
    assert qbo.route_count("POST", INVOICE_ROUTE) == tries + 1
    invoice = qbo.control("GET", f"/companies/{realm}/invoices/{done.qbo_id}")["Invoice"]
    assert invoice["DocNumber"] == "INV-1"
    assert Decimal(str(invoice["TotalAmt"])) == Decimal("240.00")
