"""Status and payments of synced invoices, read back from QuickBooks: on demand (Refresh),
by QuickBooks webhooks (both formats) and by change data capture, never one read per
invoice."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from app.billing.models import Invoice
from app.db import transaction
from app.quickbooks import changes
from app.quickbooks.jobs import follow_all
from app.quickbooks.models import QuickBooksInvoiceSync
from app.settings import QuickBooksSettings
from app.tenants import repository as tenants
from sandbox.quickbooks import sign
from tests.app.quickbooks.invoicing import (
    CDC_ROUTE,
    QUERY_ROUTE,
    block_of,
    finalized_invoice,
    invoicing_world,
    linked_client,
    refresh,
    synced,
)
from tests.support.world import QBO_VERIFIER_TOKEN, World, quickbooks_settings

READ_ROUTE = "/v3/company/{realmId}/invoice/{entityId}"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with invoicing_world(database_url, tmp_path) as world:
        yield world


async def synced_invoice(world: World, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id, **kwargs)
    return invoice["id"], await synced(world, invoice["id"])


async def test_status_follows_quickbooks_from_draft_to_paid(world: World) -> None:
    invoice_id, block = await synced_invoice(world)
    qbo, realm, qbo_id = world.quickbooks, world.realm_id, block["invoice_id"]
    assert block["status"] == "draft"
    qbo.calls.reset()

    qbo.send_invoice(realm, qbo_id)
    sent = await refresh(world, invoice_id)
    assert sent["status"] == "sent"

    payment = qbo.pay_invoice(realm, qbo_id, "100.00")
    partly = await refresh(world, invoice_id)
    assert partly["status"] == "partially_paid"
    assert (partly["total"], partly["paid"], partly["balance"]) == ("270.00", "100.00", "170.00")
    assert partly["payments"] == [
        {
            "id": payment["Id"],
            "date": payment["TxnDate"],
            "amount": "100.00",
            "reference": None,
            "method": None,
        }
    ]

    qbo.pay_invoice(realm, qbo_id)
    paid = await refresh(world, invoice_id)
    assert paid["status"] == "paid"
    assert (paid["paid"], paid["balance"]) == ("270.00", "0.00")
    assert [p["amount"] for p in paid["payments"]] == ["100.00", "170.00"]
    assert paid["refreshed_at"] >= partly["refreshed_at"]
    # One read per refresh, plus one query for payments it had not seen.
    assert qbo.calls.count("GET", READ_ROUTE) == 3
    assert qbo.calls.count("POST", QUERY_ROUTE) == 2


async def test_a_voided_payment_reopens_the_invoice(world: World) -> None:
    invoice_id, block = await synced_invoice(world)
    payment = world.quickbooks.pay_invoice(world.realm_id, block["invoice_id"])
    assert (await refresh(world, invoice_id))["status"] == "paid"

    world.quickbooks.void_payment(world.realm_id, payment["Id"])

    reopened = await refresh(world, invoice_id)
    assert reopened["status"] == "draft"
    assert reopened["balance"] == "270.00"
    assert reopened["payments"] == []


async def test_voided_and_deleted_invoices(world: World) -> None:
    client_id, _ = await linked_client(world)
    voided = await finalized_invoice(world, client_id, month=10)
    deleted = await finalized_invoice(world, client_id, month=11)
    voided_qbo = (await synced(world, voided["id"]))["invoice_id"]
    deleted_qbo = (await synced(world, deleted["id"]))["invoice_id"]
    world.quickbooks.pay_invoice(world.realm_id, voided_qbo, "50.00")

    world.quickbooks.void_invoice(world.realm_id, voided_qbo)
    world.quickbooks.delete_invoice(world.realm_id, deleted_qbo)

    after_void = await refresh(world, voided["id"])
    assert after_void["status"] == "voided"
    assert (after_void["total"], after_void["balance"]) == ("0.00", "0.00")
    assert after_void["total_changed_in_quickbooks"] is False
    after_delete = await refresh(world, deleted["id"])
    assert after_delete["status"] == "deleted"
    assert after_delete["invoice_id"] == deleted_qbo


async def test_an_unpaid_invoice_past_its_due_date_is_overdue(world: World) -> None:
    invoice_id, block = await synced_invoice(world, dates=("2026-01-01", "2026-01-31"))
    assert block["status"] == "overdue"
    assert block["due_date"] == "2026-01-31"

    world.quickbooks.pay_invoice(world.realm_id, block["invoice_id"], "70.00")
    assert (await refresh(world, invoice_id))["status"] == "overdue"  # before partially_paid

    world.quickbooks.pay_invoice(world.realm_id, block["invoice_id"])
    assert (await refresh(world, invoice_id))["status"] == "paid"


async def test_a_total_changed_in_quickbooks_is_flagged(world: World) -> None:
    invoice_id, block = await synced_invoice(world)

    world.quickbooks.add_invoice_line(world.realm_id, block["invoice_id"], "30.00")

    changed = await refresh(world, invoice_id)
    assert changed["total"] == "300.00"
    assert changed["total_changed_in_quickbooks"] is True
    listed = await world.api("GET", "/api/invoices", account_id="user-1")
    (item,) = [i for i in listed.json()["items"] if i["id"] == invoice_id]
    assert item["quickbooks"]["total_changed_in_quickbooks"] is True
    assert item["total"] == "270.00"


async def test_invoices_never_synced_say_so(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)

    block = await block_of(world, invoice["id"])

    assert block["status"] == "not_synced"
    assert block["invoice_id"] is None and block["total"] is None
    refreshed = await world.api("POST", f"/api/invoices/{invoice['id']}/refresh")
    assert refreshed.status_code == 409
    assert refreshed.json()["error"]["code"] == "quickbooks_not_synced"


async def test_clients_show_their_quickbooks_customer(world: World) -> None:
    client_id, customer_id = await linked_client(world)

    read = await world.api("GET", f"/api/clients/{client_id}", account_id="user-1")
    listed = await world.api("GET", "/api/clients", account_id="user-1")

    assert read.json()["quickbooks"] == {
        "customer_id": customer_id,
        "display_name": "Acme Customer",
        "active": True,
    }
    assert [c["quickbooks"] for c in listed.json()["items"]] == [read.json()["quickbooks"]]


# --- webhooks --------------------------------------------------------------------------------


@pytest.mark.parametrize("webhook_format", ["legacy", "cloudevents"])
async def test_webhooks_bring_payments_in_after_answering(
    world: World, webhook_format: str
) -> None:
    assert world.qbo_client is not None
    world.qbo_client.webhook_format = webhook_format  # type: ignore[assignment]
    invoice_id, block = await synced_invoice(world)
    world.quickbooks.outbox.clear()
    world.quickbooks.pay_invoice(world.realm_id, block["invoice_id"], "20.00")
    # QuickBooks answers slowly from now on: the webhook must not wait for it.
    gate = asyncio.Event()

    async def slow(_seconds: float) -> None:
        await gate.wait()

    world.quickbooks.sleep = slow
    world.quickbooks.company(world.realm_id).faults.latency_seconds = 1.0

    (delivery,) = await world.quickbooks.deliver_webhooks()

    assert delivery.status_code == 200
    assert isinstance(delivery.delivery.payload(), list) == (webhook_format == "cloudevents")
    assert (await block_of(world, invoice_id))["status"] == "draft"  # not yet processed
    gate.set()
    await world.runtime.jobs.drain()
    after = await block_of(world, invoice_id)
    assert after["status"] == "partially_paid"
    assert after["paid"] == "20.00"
    assert [p["amount"] for p in after["payments"]] == ["20.00"]
    # One change-data-capture call, no read of the invoice.
    assert world.quickbooks.calls.count("GET", CDC_ROUTE) == 1
    assert world.quickbooks.calls.count("GET", READ_ROUTE) == 0


async def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    world: World,
) -> None:
    """QuickBooks' own notification of a payment, posted unsigned, wrongly signed or with its
    body changed: refused, and nothing is read from QuickBooks or changed on the invoice.
    The same notification, as signed, brings the payment in."""
    invoice_id, block = await synced_invoice(world)
    world.quickbooks.outbox.clear()
    world.quickbooks.pay_invoice(world.realm_id, block["invoice_id"], "20.00")
    (client_id,) = list(world.quickbooks.outbox.pending)
    delivery = world.quickbooks.outbox.take(world.quickbooks.authority.clients[client_id])
    assert delivery is not None
    body = delivery.body
    before = await block_of(world, invoice_id)
    changes_read = world.quickbooks.calls.count("GET", CDC_ROUTE)

    for signature, sent in (
        ("", body),
        (sign("not-the-token", body), body),
        (delivery.signature, body + b" "),
    ):
        response = await world.client.post(
            "/webhooks/quickbooks",
            content=sent,
            headers={"intuit-signature": signature, "Content-Type": "application/json"},
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_signature"
    await world.runtime.jobs.drain()
    assert world.quickbooks.calls.count("GET", CDC_ROUTE) == changes_read
    assert await block_of(world, invoice_id) == before
    assert before["paid"] in (None, "0.00") and before["payments"] == []

    good = await world.client.post("/webhooks/quickbooks", content=body, headers=delivery.headers)
    assert good.status_code == 200
    await world.runtime.jobs.drain()
    after = await block_of(world, invoice_id)
    assert after["paid"] == "20.00"
    assert [p["amount"] for p in after["payments"]] == ["20.00"]


async def test_a_blank_verifier_token_leaves_quickbooks_webhooks_closed(
    database_url: str, tmp_path: Path
) -> None:
    """`W360_QBO_WEBHOOK_VERIFIER_TOKEN=` (as compose passes an unset one) is no token: a
    body signed with the empty key is not taken."""
    body = json.dumps({"eventNotifications": []}).encode()
    blank = {**quickbooks_settings().model_dump(), "webhook_verifier_token": "  "}
    async with invoicing_world(database_url, tmp_path, qbo=QuickBooksSettings(**blank)) as world:
        response = await world.client.post(
            "/webhooks/quickbooks", content=body, headers={"intuit-signature": sign("", body)}
        )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "quickbooks_webhooks_not_configured"


async def test_a_burst_of_webhooks_is_one_change_data_capture_run(world: World) -> None:
    client_id, _ = await linked_client(world)
    ids = []
    for month in (8, 9, 10, 11):
        invoice = await finalized_invoice(world, client_id, month=month)
        ids.append((invoice["id"], (await synced(world, invoice["id"]))["invoice_id"]))
    # QuickBooks answers the first change run only when the whole burst has arrived, so
    # what is counted is the coalescing, not how fast the event loop happened to be.
    gate = asyncio.Event()

    async def held(_seconds: float) -> None:
        await gate.wait()

    world.quickbooks.sleep = held
    world.quickbooks.company(world.realm_id).faults.latency_seconds = 1.0
    for _, qbo_id in ids:
        world.quickbooks.send_invoice(world.realm_id, qbo_id)
        world.quickbooks.outbox.reverse()  # and out of order
        await world.quickbooks.deliver_webhooks()
    gate.set()
    await world.runtime.jobs.drain()

    assert {(await block_of(world, i))["status"] for i, _ in ids} == {"sent"}
    assert world.quickbooks.calls.count("GET", CDC_ROUTE) <= 2
    assert world.quickbooks.calls.count("GET", READ_ROUTE) == 0


async def test_a_webhook_for_an_unknown_company_is_acknowledged(world: World) -> None:
    payload = [
        {
            "specversion": "1.0",
            "id": "x",
            "type": "qbo.invoice.updated.v1",
            "intuitentityid": "1",
            "intuitaccountid": "999999",
            "data": {},
        }
    ]
    body = json.dumps(payload).encode()

    response = await world.client.post(
        "/webhooks/quickbooks",
        content=body,
        headers={"intuit-signature": sign(QBO_VERIFIER_TOKEN, body)},
    )

    assert response.status_code == 200
    await world.runtime.jobs.drain()
    assert world.quickbooks.calls.count("GET", CDC_ROUTE) == 0


# --- change data capture ---------------------------------------------------------------------


async def test_the_periodic_run_covers_every_synced_invoice_in_few_calls(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoices = {}
    for month in range(1, 13):
        invoice = await finalized_invoice(world, client_id, month=month)
        invoices[invoice["id"]] = (await synced(world, invoice["id"]))["invoice_id"]
    qbo, realm = world.quickbooks, world.realm_id
    by_month = list(invoices.items())
    qbo.send_invoice(realm, by_month[0][1])
    qbo.pay_invoice(realm, by_month[1][1], "10.00")
    qbo.pay_invoice(realm, by_month[2][1])
    qbo.void_invoice(realm, by_month[3][1])
    qbo.delete_invoice(realm, by_month[4][1])
    qbo.calls.reset()

    await follow_all(world.runtime)
    await world.runtime.jobs.drain()

    statuses = [(await block_of(world, i))["status"] for i, _ in by_month[:6]]
    assert statuses == ["sent", "partially_paid", "paid", "voided", "deleted", "draft"]
    assert qbo.calls.total() == 1  # one CDC call, whatever the number of invoices
    assert qbo.calls.count("GET", CDC_ROUTE) == 1


async def test_many_changed_invoices_cost_one_call_per_thousand(world: World) -> None:
    """2,500 synced invoices; 1,500 change (1,200 sent, 300 paid, with their payments)."""
    template_id, _ = await synced_invoice(world)
    qbo, realm = world.quickbooks, world.realm_id
    runtime = world.runtime
    pairs = await _bulk_synced(world, template_id, 2500)
    qbo.clock.advance(15 * 60)
    await changes.run_changes(runtime, await _tenant_id(world))  # caught up with the creates
    qbo.clock.advance(15 * 60)  # the next periodic run, a while later
    for _, qbo_id in pairs[:1200]:
        qbo.send_invoice(realm, qbo_id)
    for _, qbo_id in pairs[1200:1500]:
        qbo.pay_invoice(realm, qbo_id)
    qbo.calls.reset()

    result = await changes.run_changes(runtime, await _tenant_id(world))

    assert result is not None
    changed = 1500 + 300
    assert qbo.calls.total() == result.calls <= math.ceil(changed / 1000) + 1
    assert result.invoices == 1500
    blocks = await _blocks(world, [i for i, _ in pairs])
    statuses = [blocks[i]["status"] for i, _ in pairs]
    assert statuses == ["sent"] * 1200 + ["paid"] * 300 + ["draft"] * 1000
    assert all(len(blocks[i]["payments"]) == 1 for i, _ in pairs[1200:1500])


async def test_a_cursor_older_than_thirty_days_falls_back_to_reading_by_id(
    world: World,
) -> None:
    invoice_id, block = await synced_invoice(world)
    await changes.run_changes(world.runtime, await _tenant_id(world))
    world.quickbooks.send_invoice(world.realm_id, block["invoice_id"])
    world.quickbooks.clock.advance(days=31)
    world.quickbooks.calls.reset()

    result = await changes.run_changes(world.runtime, await _tenant_id(world))

    assert result is not None and result.full_sweep
    assert world.quickbooks.calls.count("GET", CDC_ROUTE) == 0
    assert world.quickbooks.calls.count("POST", QUERY_ROUTE) == 1
    assert (await block_of(world, invoice_id))["status"] == "sent"


# --- helpers ---------------------------------------------------------------------------------


async def _tenant_id(world: World) -> int:
    (installation,) = world.site.installations.values()
    async with world.runtime.sessions() as session:
        tenant = await tenants.get_by_client_key(session, installation.client_key)
        assert tenant is not None
        return tenant.id


async def _blocks(world: World, ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = (await world.api("GET", "/api/invoices", params=params)).json()
        found.update({i["id"]: i["quickbooks"] for i in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return {i: found[i] for i in ids}


async def _bulk_synced(world: World, template_id: int, count: int) -> list[tuple[int, str]]:
    """`count` finalized invoices like the template, each in QuickBooks and synced (made in
    bulk: through the API this would take minutes)."""
    qbo, realm = world.quickbooks, world.realm_id
    now = world.runtime.quickbooks.now()
    async with transaction(world.runtime.sessions) as session:
        template = await session.get(Invoice, template_id)
        assert template is not None
        ours = await session.get(QuickBooksInvoiceSync, (template.tenant_id, template_id))
        assert ours is not None
        columns = [
            c.key for c in Invoice.__table__.columns if c.key not in ("id", "number", "sequence")
        ]
        clones = [
            Invoice(**{c: getattr(template, c) for c in columns}, number=f"B-{n}")
            for n in range(count)
        ]
        session.add_all(clones)
        await session.flush()
        item = qbo.services_item(realm)["Id"]
        rows: list[dict[str, Any]] = []
        for clone in clones:
            created = qbo.create_invoice(
                realm,
                {
                    "CustomerRef": {"value": ours.customer_id},
                    "DocNumber": clone.number,
                    "DueDate": "2027-12-31",
                    "BillEmail": {"Address": "billing@acme.test"},
                    "Line": [
                        {
                            "Amount": Decimal("270.00"),
                            "DetailType": "SalesItemLineDetail",
                            "SalesItemLineDetail": {"ItemRef": {"value": item}},
                        }
                    ],
                },
            )
            rows.append(
                {
                    "tenant_id": template.tenant_id,
                    "invoice_id": clone.id,
                    "state": "synced",
                    "attempt": 1,
                    "outcome_unknown": False,
                    "realm_id": realm,
                    "customer_id": ours.customer_id,
                    "qbo_id": created["Id"],
                    "doc_number": clone.number,
                    "sync_token": created["SyncToken"],
                    "invoice_total": Decimal("270.00"),
                    "total": Decimal("270.00"),
                    "balance": Decimal("270.00"),
                    "due_date": date(2027, 12, 31),
                    "sent": False,
                    "voided": False,
                    "deleted": False,
                    "synced_at": now,
                    "refreshed_at": now,
                    "updated_at": now,
                }
            )
        await session.execute(insert(QuickBooksInvoiceSync), rows)
    return [(int(str(r["invoice_id"])), str(r["qbo_id"])) for r in rows]
