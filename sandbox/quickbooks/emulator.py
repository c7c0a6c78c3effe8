"""`QuickBooksSandbox`: an in-process emulator of Intuit OAuth 2.0 and the QuickBooks Online
Accounting API for tests and the demo.

    qbo = QuickBooksSandbox(http=httpx.AsyncClient(transport=httpx.ASGITransport(app=our_app)))
    company = qbo.add_company("Acme Books")
    client = qbo.register_client(redirect_uris=["https://app.test/quickbooks/callback"])
    qbo_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=qbo.app),
                                 base_url="https://qbo.sandbox")

`qbo.app` serves every Intuit host at once (authorize, token, revoke and `/v3/company/...`),
so the app's four Intuit URLs can all point at one base URL. `qbo.http` is how Intuit
reaches the app (webhooks). The methods below act as the QuickBooks user and as Intuit's
developer portal; `/_sandbox/...` (see `control`) offers the same over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.quickbooks import api, control, customers, invoices, items, oauth, payments
from sandbox.quickbooks.authority import Authority, OAuthClient, WebhookFormat
from sandbox.quickbooks.calls import CallLog
from sandbox.quickbooks.clock import SandboxClock
from sandbox.quickbooks.company import Company, Preferences
from sandbox.quickbooks.entities import public
from sandbox.quickbooks.errors import (
    AuthFault,
    FaultError,
    OAuthError,
    QboFault,
    Throttled,
    malformed_request,
)
from sandbox.quickbooks.faults import FaultPlan
from sandbox.quickbooks.formats import QboJSONResponse, money, response_time
from sandbox.quickbooks.webhooks import DeliveryResult, WebhookEvent, WebhookOutbox, send


class QuickBooksSandbox:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        clock: SandboxClock | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        deliver_webhooks_immediately: bool = False,
        require_minorversion: bool = False,
    ) -> None:
        self._owns_http = http is None
        self.http = http if http is not None else httpx.AsyncClient(timeout=10.0)
        self.clock = clock if clock is not None else SandboxClock()
        self.sleep = sleep
        self.deliver_webhooks_immediately = deliver_webhooks_immediately
        self.require_minorversion = require_minorversion
        self.authority = Authority(self.clock)
        self.companies: dict[str, Company] = {}
        self.calls = CallLog()
        # Holds on Intuit's OAuth endpoints (a token refresh that takes as long as a test needs).
        self.oauth_faults = FaultPlan()
        self.outbox = WebhookOutbox()
        self._realm_numbers = itertools.count(1)
        self._client_numbers = itertools.count(1)
        self._delivery_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self.app: ASGIApp = IntuitTransactionId(_create_api(self))

    # --- companies and their data --------------------------------------------------------------

    def add_company(
        self,
        name: str = "Sandbox Company_US_1",
        *,
        realm_id: str | None = None,
        country: str = "US",
        home_currency: str = "USD",
        multicurrency: bool = False,
        custom_txn_numbers: bool = True,
        warn_duplicate_doc_num: bool = True,
        services_item: bool = True,
    ) -> Company:
        realm_id = realm_id or f"9341{next(self._realm_numbers):012d}"
        if realm_id in self.companies:
            raise ValueError(f"A company with realm {realm_id} already exists")
        company = Company(
            realm_id,
            name,
            clock=self.clock,
            country=country,
            preferences=Preferences(
                home_currency=home_currency,
                multicurrency=multicurrency,
                custom_txn_numbers=custom_txn_numbers,
                warn_duplicate_doc_num=warn_duplicate_doc_num,
            ),
            on_change=self._changed,
        )
        self.companies[realm_id] = company
        self.authority.realm_ids.append(realm_id)
        if services_item:
            account = next(
                a for a in company.entities["Account"].values() if a["Name"] == "Services"
            )
            items.create(
                company,
                {
                    "Name": "Services",
                    "Type": "Service",
                    "IncomeAccountRef": {"value": account["Id"]},
                },
            )
        return company

    def company(self, realm_id: str) -> Company:
        return self.companies[realm_id]

    def add_customer(
        self,
        realm_id: str,
        display_name: str,
        *,
        currency: str | None = None,
        email: str | None = None,
        active: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"DisplayName": display_name, **fields}
        if currency:
            body["CurrencyRef"] = {"value": currency}
        if email:
            body["PrimaryEmailAddr"] = {"Address": email}
        company = self.company(realm_id)
        customer = customers.create(company, body)
        if not active:
            self.set_customer_active(realm_id, customer["Id"], False)
        return public(company, "Customer", customer)

    def set_customer_active(self, realm_id: str, customer_id: str, active: bool) -> None:
        company = self.company(realm_id)
        customer = company.entities["Customer"][customer_id]
        customers.update(
            company,
            {
                "Id": customer_id,
                "SyncToken": customer["SyncToken"],
                "sparse": True,
                "Active": active,
            },
        )

    def add_item(
        self, realm_id: str, name: str = "Consulting hours", *, item_type: str = "Service"
    ) -> dict[str, Any]:
        company = self.company(realm_id)
        account = next(a for a in company.entities["Account"].values() if a["Name"] == "Services")
        return items.create(
            company, {"Name": name, "Type": item_type, "IncomeAccountRef": {"value": account["Id"]}}
        )

    def set_item_active(self, realm_id: str, item_id: str, active: bool) -> dict[str, Any]:
        """The user makes a product or service inactive (QBO's way of deleting one)."""
        company = self.company(realm_id)
        item = company.entities["Item"][item_id]
        return items.update(
            company,
            {"Id": item_id, "SyncToken": item["SyncToken"], "sparse": True, "Active": active},
        )

    def add_tax_code(
        self, realm_id: str, name: str, rate: Decimal | str = "0", *, active: bool = True
    ) -> dict[str, Any]:
        company = self.company(realm_id)
        return public(company, "TaxCode", company.add_tax_code(name, Decimal(rate), active=active))

    def services_item(self, realm_id: str) -> dict[str, Any]:
        return next(
            i for i in self.company(realm_id).entities["Item"].values() if i["Name"] == "Services"
        )

    def invoice(self, realm_id: str, invoice_id: str) -> dict[str, Any] | None:
        return self.company(realm_id).get("Invoice", invoice_id)

    def create_invoice(self, realm_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """An invoice the QuickBooks user made in QuickBooks (same rules as the API)."""
        return invoices.create(self.company(realm_id), body)

    def pay_invoice(
        self,
        realm_id: str,
        invoice_id: str,
        amount: Decimal | str | None = None,
        *,
        reference: str | None = None,
    ) -> dict[str, Any]:
        """The user records a payment of `amount` (default: the whole balance), with the
        reference they type in QuickBooks' "Reference no." (PaymentRefNum), if any."""
        company = self.company(realm_id)
        invoice = company.entities["Invoice"][invoice_id]
        paid = money(Decimal(amount)) if amount is not None else invoice["Balance"]
        body: dict[str, Any] = {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": paid,
            "CurrencyRef": invoice["CurrencyRef"],
            "Line": [{"Amount": paid, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
        }
        if reference is not None:
            body["PaymentRefNum"] = reference
        return payments.create(company, body)

    def send_invoice(self, realm_id: str, invoice_id: str, to: str | None = None) -> dict[str, Any]:
        return invoices.send(self.company(realm_id), invoice_id, to)

    def void_invoice(self, realm_id: str, invoice_id: str) -> dict[str, Any]:
        company = self.company(realm_id)
        invoice = company.entities["Invoice"][invoice_id]
        return invoices.void(company, {"Id": invoice_id, "SyncToken": invoice["SyncToken"]})

    def delete_invoice(self, realm_id: str, invoice_id: str) -> None:
        """Deletes the invoice, deleting first any payment applied to it (as the user would
        have to)."""
        company = self.company(realm_id)
        invoice = company.entities["Invoice"][invoice_id]
        for link in list(invoice.get("LinkedTxn", [])):
            payment = company.get("Payment", link["TxnId"])
            if link["TxnType"] == "Payment" and payment is not None:
                payments.delete(company, {"Id": payment["Id"], "SyncToken": payment["SyncToken"]})
        invoice = company.entities["Invoice"][invoice_id]
        invoices.delete(company, {"Id": invoice_id, "SyncToken": invoice["SyncToken"]})

    def add_invoice_line(
        self,
        realm_id: str,
        invoice_id: str,
        amount: Decimal | str,
        *,
        description: str = "Extra",
        item_id: str | None = None,
    ) -> dict[str, Any]:
        """The user edits the invoice in QuickBooks: one more line, so a new TotalAmt."""
        company = self.company(realm_id)
        invoice = company.entities["Invoice"][invoice_id]
        lines = [
            {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
            for line in invoice["Line"]
            if line["DetailType"] != "SubTotalLineDetail"
        ]
        value = money(Decimal(amount))
        item = item_id or self.services_item(realm_id)["Id"]
        lines.append(
            {
                "Amount": value,
                "Description": description,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item},
                    "Qty": Decimal(1),
                    "UnitPrice": value,
                    **({} if company.us else {"TaxCodeRef": {"value": "3"}}),
                },
            }
        )
        return invoices.update(
            company,
            {"Id": invoice_id, "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines},
        )

    def void_payment(self, realm_id: str, payment_id: str) -> dict[str, Any]:
        company = self.company(realm_id)
        payment = company.entities["Payment"][payment_id]
        return payments.void(company, {"Id": payment_id, "SyncToken": payment["SyncToken"]})

    # --- OAuth clients and connections ---------------------------------------------------------

    def register_client(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uris: list[str] | None = None,
        webhook_url: str | None = None,
        verifier_token: str | None = None,
        webhook_format: WebhookFormat = "legacy",
    ) -> OAuthClient:
        """An app on Intuit's developer portal: keys, redirect URIs, webhook endpoint."""
        number = next(self._client_numbers)
        client = OAuthClient(
            client_id=client_id or f"ABsandbox{number:04d}{secrets.token_hex(8)}",
            client_secret=client_secret or secrets.token_urlsafe(30),
            redirect_uris=list(redirect_uris or []),
            webhook_url=webhook_url,
            verifier_token=verifier_token or (secrets.token_hex(16) if webhook_url else None),
            webhook_format=webhook_format,
        )
        return self.authority.register_client(client)

    def approve_next_authorization(self, realm_id: str) -> None:
        """The consent screen connects this company (default: the first company)."""
        self.authority.consent.realm_id = realm_id
        self.authority.consent.deny = False

    def deny_next_authorization(self) -> None:
        """The user clicks Cancel: the redirect carries `error=access_denied`."""
        self.authority.consent.deny = True

    def connect(self, client_id: str, realm_id: str) -> dict[str, Any]:
        """Tokens as if the OAuth dance had just happened (for tests that skip it)."""
        client = self.authority.clients[client_id]
        if not client.redirect_uris:
            client.redirect_uris.append("https://localhost/quickbooks/callback")
        redirect = client.redirect_uris[0]
        self.approve_next_authorization(realm_id)
        location = self.authority.authorize(
            {
                "client_id": client_id,
                "redirect_uri": redirect,
                "response_type": "code",
                "scope": "com.intuit.quickbooks.accounting",
                "state": "sandbox",
            }
        )
        code = parse_qs(urlsplit(location).query)["code"][0]
        basic = base64.b64encode(f"{client_id}:{client.client_secret}".encode()).decode()
        return self.authority.token(
            f"Basic {basic}",
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        )

    def disconnect(self, realm_id: str) -> None:
        """The user disconnects the app in QuickBooks: tokens stop working at once."""
        self.authority.disconnect(realm_id)

    def fail_next_refresh(self, realm_id: str) -> None:
        self.authority.fail_next_refresh(realm_id)

    def expire_access_tokens(self, realm_id: str | None = None) -> None:
        self.authority.expire_access_tokens(realm_id)

    def expire_refresh_tokens(self, realm_id: str | None = None) -> None:
        self.authority.expire_refresh_tokens(realm_id)

    def refresh_count(self, realm_id: str | None = None) -> int:
        return self.authority.refresh_count(realm_id)

    # --- webhooks ------------------------------------------------------------------------------

    def _changed(
        self, company: Company, entity: str, entity_id: str, operation: str, at: datetime
    ) -> None:
        if entity not in ("Customer", "Item", "Invoice", "Payment"):
            return
        event = WebhookEvent(company.realm_id, entity, entity_id, operation, at)
        queued = False
        for client in self.authority.connected_clients(company.realm_id):
            if client.webhook_url:
                self.outbox.queue(client.client_id, event)
                queued = True
        if queued and self.deliver_webhooks_immediately:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            task = loop.create_task(self.deliver_webhooks())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def deliver_webhooks(self) -> list[DeliveryResult]:
        """Send every pending event: one signed POST per app."""
        results: list[DeliveryResult] = []
        async with self._delivery_lock:
            for client_id in list(self.outbox.pending):
                client = self.authority.clients.get(client_id)
                delivery = self.outbox.take(client) if client is not None else None
                if delivery is None:
                    continue
                result = await send(self.http, delivery)
                self.outbox.delivered.append(result)
                results.append(result)
        return results

    async def aclose(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._owns_http:
            await self.http.aclose()


class IntuitTransactionId:
    """ASGI middleware: every response carries an `intuit_tid` header, as Intuit's do."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        tid = f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"

        async def send_with_tid(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"intuit_tid", tid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_with_tid)


def _create_api(sandbox: QuickBooksSandbox) -> FastAPI:
    app = FastAPI(
        title="QuickBooks Online sandbox", openapi_url=None, docs_url=None, redoc_url=None
    )
    app.state.sandbox = sandbox
    app.include_router(oauth.router)
    app.include_router(api.router)
    app.include_router(control.router)

    def now() -> str:
        return response_time(sandbox.clock.now())

    @app.exception_handler(QboFault)
    async def qbo_fault(_: Request, fault: QboFault) -> Response:
        return QboJSONResponse(fault.body(now()), status_code=fault.status, headers=fault.headers)

    @app.exception_handler(AuthFault)
    async def auth_fault(_: Request, fault: AuthFault) -> Response:
        return QboJSONResponse(fault.body(now()), status_code=fault.status, headers=fault.headers)

    @app.exception_handler(Throttled)
    async def throttled(_: Request, fault: Throttled) -> Response:
        return Response(
            fault.xml(now()),
            status_code=429,
            media_type="application/xml",
            headers=fault.headers,
        )

    @app.exception_handler(OAuthError)
    async def oauth_error(_: Request, error: OAuthError) -> Response:
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> Response:
        fault = malformed_request("; ".join(str(e.get("msg", "")) for e in error.errors()))
        return QboJSONResponse(fault.body(now()), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> Response:
        fault = QboFault(
            error.status_code,
            FaultError("Unsupported Operation", str(error.detail), "500"),
            type="ValidationFault",
        )
        return QboJSONResponse(fault.body(now()), status_code=error.status_code)

    return app
