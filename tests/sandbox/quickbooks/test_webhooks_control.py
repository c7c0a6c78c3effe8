"""Webhooks signed like Intuit's, in both payload formats, and the `/_sandbox` control API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.quickbooks import QuickBooksSandbox, SandboxClock
from tests.sandbox.quickbooks.conftest import NOW_S, invoice_body

VERIFIER = "verifier-token-123"
HOOK_URL = "https://app.example.com/webhooks/quickbooks"


class Receiver:
    """A stand-in app endpoint that keeps what arrived, byte for byte."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=200)

        self.asgi = Starlette(routes=[Route("/webhooks/quickbooks", hook, methods=["POST"])])

    def verified_payloads(self) -> list[Any]:
        out = []
        for headers, body in self.received:
            expected = base64.b64encode(
                hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest()
            ).decode()
            assert hmac.compare_digest(headers["intuit-signature"], expected)
            out.append(json.loads(body))
        return out


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def hooked(receiver: Receiver) -> AsyncIterator[QuickBooksSandbox]:
    to_app = httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.asgi))
    sandbox = QuickBooksSandbox(http=to_app, clock=SandboxClock(NOW_S))
    yield sandbox
    await sandbox.aclose()
    await to_app.aclose()


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
async def test_webhooks_are_signed_over_the_raw_body(
    hooked: QuickBooksSandbox, receiver: Receiver, fmt: str
) -> None:
    company = hooked.add_company("Acme Books")
    client = hooked.register_client(
        redirect_uris=["https://app.example.com/cb"],
        webhook_url=HOOK_URL,
        verifier_token=VERIFIER,
        webhook_format="cloudevents" if fmt == "cloudevents" else "legacy",
    )
    hooked.add_customer(company.realm_id, "Before the connection")  # nobody is told
    assert len(hooked.outbox) == 0
    hooked.connect(client.client_id, company.realm_id)
    customer = hooked.add_customer(company.realm_id, "Globex")
    item = hooked.services_item(company.realm_id)["Id"]
    invoice = hooked.create_invoice(company.realm_id, invoice_body(customer["Id"], item))
    hooked.pay_invoice(company.realm_id, invoice["Id"], "10.00")
    hooked.send_invoice(company.realm_id, invoice["Id"], "ap@globex.example")
    hooked.void_invoice(company.realm_id, invoice["Id"])
    assert receiver.received == []  # the outbox waits for a flush

    results = await hooked.deliver_webhooks()
    assert [r.ok for r in results] == [True]
    (payload,) = receiver.verified_payloads()
    seen: list[tuple[str, str, str]]
    if fmt == "legacy":
        (notification,) = payload["eventNotifications"]
        assert notification["realmId"] == company.realm_id
        entities = notification["dataChangeEvent"]["entities"]
        seen = [(e["name"], e["id"], e["operation"]) for e in entities]
        assert entities[0]["lastUpdated"] == "2026-11-03T09:00:00.000Z"
    else:
        assert isinstance(payload, list)
        assert {e["specversion"] for e in payload} == {"1.0"}
        assert {e["intuitaccountid"] for e in payload} == {company.realm_id}
        seen = [
            (e["type"].split(".")[1], e["intuitentityid"], e["type"].split(".")[2]) for e in payload
        ]
        assert payload[0]["type"] == "qbo.customer.created.v1"
    assert len(seen) == 7  # customer, invoice, payment (+invoice update), emailed, void
    assert seen[1][0].lower() == "invoice"
    assert seen[-1][2].lower() in ("void", "voided")

    assert await hooked.deliver_webhooks() == []


async def test_control_api_drives_the_sandbox(
    qbo: QuickBooksSandbox, http: httpx.AsyncClient
) -> None:
    created = await http.post(
        "/_sandbox/companies", json={"name": "Demo Co", "multicurrency": True}
    )
    assert created.status_code == 201
    realm = created.json()["realm_id"]
    client = await http.post(
        "/_sandbox/clients",
        json={"client_id": "demo", "client_secret": "s", "redirect_uris": ["https://a/cb"]},
    )
    assert client.status_code == 201
    customer = await http.post(
        f"/_sandbox/companies/{realm}/customers",
        json={"display_name": "Smith & Sons", "currency": "EUR"},
    )
    assert customer.json()["Customer"]["CurrencyRef"]["value"] == "EUR"
    customer_id = customer.json()["Customer"]["Id"]
    item = qbo.services_item(realm)["Id"]
    body = invoice_body(customer_id, item, CurrencyRef={"value": "EUR"})
    invoice = qbo.create_invoice(realm, body)

    paid = await http.post(
        f"/_sandbox/companies/{realm}/invoices/{invoice['Id']}/pay", json={"amount": "100.00"}
    )
    assert paid.status_code == 200
    read = await http.get(f"/_sandbox/companies/{realm}/invoices/{invoice['Id']}")
    assert read.json()["Invoice"]["Balance"] == 800.0
    sent = await http.post(f"/_sandbox/companies/{realm}/invoices/{invoice['Id']}/send", json={})
    assert sent.status_code == 400  # no email address anywhere
    sent = await http.post(
        f"/_sandbox/companies/{realm}/invoices/{invoice['Id']}/send", json={"to": "a@b.example"}
    )
    assert sent.json()["Invoice"]["EmailStatus"] == "EmailSent"
    deleted = await http.post(f"/_sandbox/companies/{realm}/invoices/{invoice['Id']}/delete")
    assert deleted.json()["Invoice"]["status"] == "Deleted"

    faults = await http.post(f"/_sandbox/companies/{realm}/faults", json={"count": 2})
    assert faults.json() == {"pending": 2}
    clock = await http.post("/_sandbox/clock", json={"advance_s": 60})
    assert clock.json()["now_s"] == NOW_S + 60
    action = await http.post(f"/_sandbox/companies/{realm}/connection/disconnect")
    assert action.status_code == 200
    calls = await http.get("/_sandbox/calls")
    assert calls.json()["token_refreshes"] == 0
