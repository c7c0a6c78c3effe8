"""The sandbox's own HTTP API under `/_sandbox`: what tests do through the Python API, for
the demo and end-to-end tests that only speak HTTP. Never part of Intuit's contract."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from sandbox.quickbooks.authority import OAuthClient
from sandbox.quickbooks.company import Company
from sandbox.quickbooks.entities import public
from sandbox.quickbooks.formats import QboJSONResponse
from sandbox.quickbooks.oauth import TOKEN_PATH
from sandbox.quickbooks.webhooks import DeliveryResult

if TYPE_CHECKING:
    from sandbox.quickbooks.emulator import QuickBooksSandbox

router = APIRouter(prefix="/_sandbox")


def _sandbox(request: Request) -> QuickBooksSandbox:
    sandbox: QuickBooksSandbox = request.app.state.sandbox
    return sandbox


def _company(request: Request, realm_id: str) -> Company:
    company = _sandbox(request).companies.get(realm_id)
    if company is None:
        raise HTTPException(404, f"No sandbox company with realm {realm_id}")
    return company


def company_json(company: Company) -> dict[str, Any]:
    return {
        "realm_id": company.realm_id,
        "name": company.name,
        "country": company.country,
        "preferences": asdict(company.preferences),
        "counts": {t: len(e) for t, e in company.entities.items()},
        "limits": {
            "per_minute": company.limits.per_minute,
            "batch_per_minute": company.limits.batch_per_minute,
            "concurrent": company.limits.concurrent,
            "throttled": company.limits.throttled,
            "in_flight": company.limits.in_flight,
        },
    }


def client_json(client: OAuthClient) -> dict[str, Any]:
    return asdict(client)


def _delivery_json(result: DeliveryResult) -> dict[str, Any]:
    return {
        "id": result.delivery.id,
        "client_id": result.delivery.client_id,
        "url": result.delivery.url,
        "format": result.delivery.format,
        "payload": result.delivery.payload(),
        "status_code": result.status_code,
        "error": result.error,
    }


class CompanyIn(BaseModel):
    name: str = "Sandbox Company_US_1"
    realm_id: str | None = None
    country: str = "US"
    home_currency: str = "USD"
    multicurrency: bool = False
    custom_txn_numbers: bool = True
    warn_duplicate_doc_num: bool = True


class ClientIn(BaseModel):
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uris: list[str] = Field(default_factory=list)
    webhook_url: str | None = None
    verifier_token: str | None = None
    webhook_format: Literal["legacy", "cloudevents"] = "legacy"


class CustomerIn(BaseModel):
    display_name: str
    currency: str | None = None
    email: str | None = None
    active: bool = True


class ActiveIn(BaseModel):
    active: bool


class ItemIn(BaseModel):
    name: str
    type: Literal["Service", "NonInventory"] = "Service"


class AmountIn(BaseModel):
    amount: Decimal | None = None
    description: str = "Extra"
    reference: str | None = None


class SendIn(BaseModel):
    to: str | None = None


class FaultIn(BaseModel):
    count: int = 1
    status: int = 429
    retry_after: str | None = None
    method: str | None = None
    route: str | None = None
    # The write is done (its requestid's replay kept), then the answer is this fault.
    after: bool = False


class LatencyIn(BaseModel):
    seconds: float


class QueryLagIn(BaseModel):
    seconds: float = Field(ge=0)


class HoldIn(BaseModel):
    method: str | None = None
    route: str | None = None
    count: int | None = Field(default=None, ge=1)
    after: bool = False  # hold the answer of a write that is done


class LimitsIn(BaseModel):
    per_minute: int | None = 500
    batch_per_minute: int | None = 40
    concurrent: int | None = 10
    retry_after: str | None = None


class ConsentIn(BaseModel):
    realm_id: str | None = None
    deny: bool = False


class ClockIn(BaseModel):
    now_s: float | None = None
    advance_s: float | None = None
    frozen: bool | None = None


class SettingsIn(BaseModel):
    deliver_webhooks_immediately: bool | None = None
    require_minorversion: bool | None = None


# --- sandbox-wide ----------------------------------------------------------------------------


@router.get("/companies")
async def list_companies(request: Request) -> list[dict[str, Any]]:
    return [company_json(c) for c in _sandbox(request).companies.values()]


@router.post("/companies", status_code=201)
async def add_company(body: CompanyIn, request: Request) -> dict[str, Any]:
    try:
        company = _sandbox(request).add_company(**body.model_dump())
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    return company_json(company)


@router.get("/companies/{realm_id}")
async def get_company(realm_id: str, request: Request) -> dict[str, Any]:
    return company_json(_company(request, realm_id))


@router.get("/clients")
async def list_clients(request: Request) -> list[dict[str, Any]]:
    return [client_json(c) for c in _sandbox(request).authority.clients.values()]


@router.post("/clients", status_code=201)
async def register_client(body: ClientIn, request: Request) -> dict[str, Any]:
    return client_json(_sandbox(request).register_client(**body.model_dump()))


@router.post("/consent")
async def consent(body: ConsentIn, request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    if body.realm_id is not None:
        _company(request, body.realm_id)
        sandbox.approve_next_authorization(body.realm_id)
    if body.deny:
        sandbox.deny_next_authorization()
    return {"realm_id": sandbox.authority.consent.realm_id, "deny": sandbox.authority.consent.deny}


@router.get("/clock")
async def get_clock(request: Request) -> dict[str, Any]:
    clock = _sandbox(request).clock
    return {"now_s": clock.now_s(), "frozen": clock.frozen}


@router.post("/clock")
async def set_clock(body: ClockIn, request: Request) -> dict[str, Any]:
    clock = _sandbox(request).clock
    if body.frozen is True:
        clock.freeze()
    elif body.frozen is False:
        clock.unfreeze()
    if body.now_s is not None:
        clock.set(body.now_s)
    if body.advance_s is not None:
        clock.advance(body.advance_s)
    return {"now_s": clock.now_s(), "frozen": clock.frozen}


@router.patch("/settings")
async def change_settings(body: SettingsIn, request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    if body.deliver_webhooks_immediately is not None:
        sandbox.deliver_webhooks_immediately = body.deliver_webhooks_immediately
    if body.require_minorversion is not None:
        sandbox.require_minorversion = body.require_minorversion
    return {
        "deliver_webhooks_immediately": sandbox.deliver_webhooks_immediately,
        "require_minorversion": sandbox.require_minorversion,
    }


@router.get("/calls")
async def calls(request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    return {
        "total": sandbox.calls.total(),
        "routes": [
            {"method": m, "route": r, "count": n} for (m, r), n in sandbox.calls.snapshot().items()
        ],
        "per_realm": sandbox.calls.per_realm(),
        "without_minorversion": len(sandbox.calls.without_minorversion()),
        "token_refreshes": sandbox.refresh_count(),
    }


@router.delete("/calls", status_code=204)
async def reset_calls(request: Request) -> None:
    _sandbox(request).calls.reset()


@router.get("/webhooks")
async def pending_webhooks(request: Request) -> dict[str, Any]:
    outbox = _sandbox(request).outbox
    return {
        "pending": [
            {
                "client_id": client_id,
                "realm_id": e.realm_id,
                "entity": e.entity,
                "id": e.entity_id,
                "operation": e.operation,
            }
            for client_id, events in outbox.pending.items()
            for e in events
        ],
        "delivered": [_delivery_json(r) for r in outbox.delivered],
    }


@router.post("/webhooks/deliver")
async def deliver_webhooks(request: Request) -> list[dict[str, Any]]:
    return [_delivery_json(r) for r in await _sandbox(request).deliver_webhooks()]


# --- one company -----------------------------------------------------------------------------


@router.post("/companies/{realm_id}/customers", status_code=201)
async def add_customer(realm_id: str, body: CustomerIn, request: Request) -> QboJSONResponse:
    _company(request, realm_id)
    customer = _sandbox(request).add_customer(
        realm_id, body.display_name, currency=body.currency, email=body.email, active=body.active
    )
    return QboJSONResponse({"Customer": customer}, status_code=201)


@router.patch("/companies/{realm_id}/customers/{customer_id}")
async def set_customer_active(
    realm_id: str, customer_id: str, body: ActiveIn, request: Request
) -> QboJSONResponse:
    company = _company(request, realm_id)
    if company.get("Customer", customer_id) is None:
        raise HTTPException(404, f"No customer {customer_id}")
    _sandbox(request).set_customer_active(realm_id, customer_id, body.active)
    entity = company.entities["Customer"][customer_id]
    return QboJSONResponse({"Customer": public(company, "Customer", entity)})


@router.post("/companies/{realm_id}/items", status_code=201)
async def add_item(realm_id: str, body: ItemIn, request: Request) -> QboJSONResponse:
    company = _company(request, realm_id)
    item = _sandbox(request).add_item(realm_id, body.name, item_type=body.type)
    return QboJSONResponse({"Item": public(company, "Item", item)}, status_code=201)


def _invoice(request: Request, realm_id: str, invoice_id: str) -> Company:
    company = _company(request, realm_id)
    if company.get("Invoice", invoice_id) is None:
        raise HTTPException(404, f"No invoice {invoice_id}")
    return company


def _invoice_json(company: Company, invoice_id: str) -> QboJSONResponse:
    entity = company.get("Invoice", invoice_id)
    if entity is None:
        return QboJSONResponse({"Invoice": {"Id": invoice_id, "status": "Deleted"}})
    return QboJSONResponse({"Invoice": public(company, "Invoice", entity)})


@router.get("/companies/{realm_id}/invoices/{invoice_id}")
async def get_invoice(realm_id: str, invoice_id: str, request: Request) -> QboJSONResponse:
    return _invoice_json(_invoice(request, realm_id, invoice_id), invoice_id)


@router.post("/companies/{realm_id}/invoices/{invoice_id}/pay")
async def pay_invoice(
    realm_id: str, invoice_id: str, body: AmountIn, request: Request
) -> QboJSONResponse:
    company = _invoice(request, realm_id, invoice_id)
    payment = _sandbox(request).pay_invoice(
        realm_id, invoice_id, body.amount, reference=body.reference
    )
    return QboJSONResponse({"Payment": public(company, "Payment", payment)})


@router.post("/companies/{realm_id}/invoices/{invoice_id}/send")
async def send_invoice(
    realm_id: str, invoice_id: str, body: SendIn, request: Request
) -> QboJSONResponse:
    company = _invoice(request, realm_id, invoice_id)
    _sandbox(request).send_invoice(realm_id, invoice_id, body.to)
    return _invoice_json(company, invoice_id)


@router.post("/companies/{realm_id}/invoices/{invoice_id}/void")
async def void_invoice(realm_id: str, invoice_id: str, request: Request) -> QboJSONResponse:
    company = _invoice(request, realm_id, invoice_id)
    _sandbox(request).void_invoice(realm_id, invoice_id)
    return _invoice_json(company, invoice_id)


@router.post("/companies/{realm_id}/invoices/{invoice_id}/delete")
async def delete_invoice(realm_id: str, invoice_id: str, request: Request) -> QboJSONResponse:
    company = _invoice(request, realm_id, invoice_id)
    _sandbox(request).delete_invoice(realm_id, invoice_id)
    return _invoice_json(company, invoice_id)


@router.post("/companies/{realm_id}/invoices/{invoice_id}/lines")
async def add_invoice_line(
    realm_id: str, invoice_id: str, body: AmountIn, request: Request
) -> QboJSONResponse:
    company = _invoice(request, realm_id, invoice_id)
    if body.amount is None:
        raise HTTPException(400, "amount is required")
    _sandbox(request).add_invoice_line(
        realm_id, invoice_id, body.amount, description=body.description
    )
    return _invoice_json(company, invoice_id)


@router.post("/companies/{realm_id}/faults")
async def inject_faults(realm_id: str, body: FaultIn, request: Request) -> dict[str, Any]:
    company = _company(request, realm_id)
    try:
        company.faults.fail_next(
            body.count,
            status=body.status,
            retry_after=body.retry_after,
            method=body.method,
            route=body.route,
            after=body.after,
        )
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"pending": company.faults.pending}


class PreferencesIn(BaseModel):
    warn_duplicate_doc_num: bool | None = None
    custom_txn_numbers: bool | None = None


@router.patch("/companies/{realm_id}/preferences")
async def change_preferences(
    realm_id: str, body: PreferencesIn, request: Request
) -> dict[str, Any]:
    """A company's settings its admin may change in QuickBooks (Account and Settings)."""
    preferences = _company(request, realm_id).preferences
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(preferences, name, value)
    return asdict(preferences)


@router.post("/companies/{realm_id}/latency")
async def set_latency(realm_id: str, body: LatencyIn, request: Request) -> dict[str, Any]:
    company = _company(request, realm_id)
    company.faults.latency_seconds = body.seconds
    return {"seconds": body.seconds}


@router.put("/companies/{realm_id}/query-lag")
async def set_query_lag(realm_id: str, body: QueryLagIn, request: Request) -> dict[str, Any]:
    """Queries (and batch queries) miss entities created less than `seconds` ago, as Intuit's
    trailing query index may: only a read by id, or the write's own answer, shows them."""
    _company(request, realm_id).query_lag_seconds = body.seconds
    return {"seconds": body.seconds}


@router.post("/companies/{realm_id}/holds", status_code=201)
async def hold_calls(realm_id: str, body: HoldIn, request: Request) -> dict[str, Any]:
    """Matching API calls wait, unanswered, until `DELETE …/holds` releases them."""
    company = _company(request, realm_id)
    company.faults.hold(method=body.method, route=body.route, count=body.count, after=body.after)
    return {"holds": len(company.faults.holds), "waiting": company.faults.waiting}


@router.get("/companies/{realm_id}/holds")
async def read_holds(realm_id: str, request: Request) -> dict[str, Any]:
    company = _company(request, realm_id)
    return {"holds": len(company.faults.holds), "waiting": company.faults.waiting}


@router.delete("/companies/{realm_id}/holds")
async def release_calls(realm_id: str, request: Request) -> dict[str, Any]:
    return {"released": _company(request, realm_id).faults.release()}


@router.post("/oauth/holds", status_code=201)
async def hold_token_calls(request: Request) -> dict[str, Any]:
    """Calls to the token endpoint wait, unanswered, until `DELETE /_sandbox/oauth/holds`."""
    faults = _sandbox(request).oauth_faults
    faults.hold(method="POST", route=TOKEN_PATH)
    return {"holds": len(faults.holds), "waiting": faults.waiting}


@router.get("/oauth/holds")
async def read_token_holds(request: Request) -> dict[str, Any]:
    faults = _sandbox(request).oauth_faults
    return {"holds": len(faults.holds), "waiting": faults.waiting}


@router.delete("/oauth/holds")
async def release_token_calls(request: Request) -> dict[str, Any]:
    return {"released": _sandbox(request).oauth_faults.release()}


@router.put("/companies/{realm_id}/limits")
async def set_limits(realm_id: str, body: LimitsIn, request: Request) -> dict[str, Any]:
    company = _company(request, realm_id)
    company.limits.per_minute = body.per_minute
    company.limits.batch_per_minute = body.batch_per_minute
    company.limits.concurrent = body.concurrent
    company.limits.retry_after = body.retry_after
    limits: dict[str, Any] = company_json(company)["limits"]
    return limits


@router.post("/companies/{realm_id}/connection/{action}")
async def connection(realm_id: str, action: str, request: Request) -> dict[str, Any]:
    """`disconnect`, `fail-next-refresh`, `expire-access-tokens`, `expire-refresh-tokens`."""
    _company(request, realm_id)
    sandbox = _sandbox(request)
    actions = {
        "disconnect": sandbox.disconnect,
        "fail-next-refresh": sandbox.fail_next_refresh,
        "expire-access-tokens": sandbox.expire_access_tokens,
        "expire-refresh-tokens": sandbox.expire_refresh_tokens,
    }
    if action not in actions:
        raise HTTPException(404, f"Unknown connection action {action!r}")
    actions[action](realm_id)
    return {"realm_id": realm_id, "action": action, "refreshes": sandbox.refresh_count(realm_id)}
