"""The Accounting API v3 under `/v3/company/{realmId}`, with QBO's paths and JSON shapes.

Every route goes through `qbo_call`: record the call (route template, realm, minorversion,
requestid), take a concurrency slot, apply injected latency and faults, authenticate the
bearer token for the realm, count the call against the per-minute limits. Writes with a
`requestid` are answered from the realm's replay cache when that id was seen before; a
fault or hold injected `after` the work applies once the write is done and its replay kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from sandbox.quickbooks import batch, cdc, errors, invoices, pdf, query
from sandbox.quickbooks.authority import Grant
from sandbox.quickbooks.calls import Call
from sandbox.quickbooks.company import Company, StoredResponse
from sandbox.quickbooks.entities import public
from sandbox.quickbooks.formats import QboJSONResponse, load_json, qbo_time, response_time
from sandbox.quickbooks.operations import write

if TYPE_CHECKING:
    from sandbox.quickbooks.emulator import QuickBooksSandbox

PREFIX = "/v3/company/{realmId}"
REQUESTID_MAX = 50
BATCH_REQUESTID_MAX = 36
ENTITY_PATHS = {
    "customer": "Customer",
    "item": "Item",
    "invoice": "Invoice",
    "payment": "Payment",
    "account": "Account",
    "taxcode": "TaxCode",
}

router = APIRouter(prefix=PREFIX)


@dataclass(frozen=True, slots=True)
class QboCall:
    sandbox: QuickBooksSandbox
    company: Company
    grant: Grant
    requestid: str | None
    method: str
    route: str

    def now(self) -> str:
        return response_time(self.company.now())


def _sandbox(request: Request) -> QuickBooksSandbox:
    sandbox: QuickBooksSandbox = request.app.state.sandbox
    return sandbox


async def qbo_call(request: Request, realmId: str) -> AsyncIterator[QboCall]:
    sandbox = _sandbox(request)
    route = getattr(request.scope.get("route"), "path", request.url.path)
    method = request.method.upper()
    params = request.query_params
    sandbox.calls.record(
        Call(method, route, realmId, params.get("minorversion"), params.get("requestid"))
    )
    if sandbox.require_minorversion and not params.get("minorversion"):
        raise errors.validation(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter minorversion is missing in the request",
        )
    company = sandbox.companies.get(realmId)
    if company is not None:
        company.limits.enter()
    try:
        if company is not None and company.faults.latency_seconds > 0:
            await sandbox.sleep(company.faults.latency_seconds)
        if company is not None:
            # Intuit has the whole request before it is slow: a caller that hangs up (or
            # dies) meanwhile does not stop the create it sent.
            await request.body()
            await company.faults.wait_if_held(method, route)
        fault = company.faults.take(method, route) if company is not None else None
        if fault is not None:
            raise fault.error()
        grant = sandbox.authority.authenticate(request.headers.get("authorization"), realmId)
        if company is None:
            raise errors.AuthFault(403, "")
        company.limits.count(batch=route.endswith("/batch"))
        yield QboCall(sandbox, company, grant, params.get("requestid"), method, route)
    finally:
        if company is not None:
            company.limits.leave()


Qbo = Annotated[QboCall, Depends(qbo_call)]


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise errors.malformed_request("Request has no body")
    try:
        return load_json(raw)
    except ValueError as exc:
        raise errors.malformed_request(f"Error parsing object: {exc}") from exc


async def _idempotent(
    call: QboCall, limit: int, produce: Callable[[], dict[str, Any]]
) -> QboJSONResponse:
    """Run a write once per requestid: a replay answers what the first call answered. The
    answer may then be lost (a fault or hold injected `after`): the write stays done."""
    requestid = call.requestid
    if requestid is not None and len(requestid) > limit:
        raise errors.business_validation(
            f"requestid is longer than {limit} characters.", "requestid"
        )
    if requestid is not None and requestid in call.company.replays:
        stored = call.company.replays[requestid]
    else:
        try:
            stored = StoredResponse(200, {**produce(), "time": call.now()})
        except errors.QboFault as fault:
            stored = StoredResponse(fault.status, fault.body(call.now()))
        if requestid is not None:
            call.company.replays[requestid] = stored
    faults = call.company.faults
    await faults.wait_if_held(call.method, call.route, after=True)
    lost = faults.take(call.method, call.route, after=True)
    if lost is not None:
        raise lost.error()
    return QboJSONResponse(stored.body, status_code=stored.status)


def _entity_response(call: QboCall, entity_type: str, entity: dict[str, Any]) -> dict[str, Any]:
    if entity.get("status") == "Deleted":
        return {entity_type: entity}
    # A snapshot: a replayed response must show the entity as it was then.
    return {entity_type: _snapshot(public(call.company, entity_type, entity))}


def _snapshot(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    return value


# --- company ---------------------------------------------------------------------------------


@router.get("/companyinfo/{companyId}")
async def company_info(call: Qbo, companyId: str) -> QboJSONResponse:
    company = call.company
    if companyId != company.realm_id:
        raise errors.object_not_found("CompanyInfo", companyId)
    info = {
        "CompanyName": company.name,
        "LegalName": company.name,
        "Country": company.country,
        "CompanyAddr": {"Country": company.country},
        "SupportedLanguages": "en",
        "CompanyStartDate": company.created_at.date().isoformat(),
        "FiscalYearStartMonth": "January",
        "Id": "1",
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": {
            "CreateTime": qbo_time(company.created_at),
            "LastUpdatedTime": qbo_time(company.created_at),
        },
        "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
    }
    return QboJSONResponse({"CompanyInfo": info, "time": call.now()})


@router.get("/preferences")
async def preferences(call: Qbo) -> QboJSONResponse:
    prefs = call.company.preferences
    body = {
        "Id": "1",
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "SalesFormsPrefs": {
            "CustomTxnNumbers": prefs.custom_txn_numbers,
            "AllowDeposit": False,
            "AllowDiscount": False,
            "DefaultTerms": {"value": "3"},
        },
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": prefs.multicurrency,
            "HomeCurrency": {"value": prefs.home_currency},
        },
        "OtherPrefs": {
            "NameValue": [
                {
                    "Name": "SalesFormsPrefs.WarnDuplicateDocNum",
                    "Value": str(prefs.warn_duplicate_doc_num).lower(),
                }
            ]
        },
        "TaxPrefs": {"UsingSalesTax": not call.company.us, "PartnerTaxEnabled": False},
    }
    return QboJSONResponse({"Preferences": body, "time": call.now()})


# --- query, cdc, batch -----------------------------------------------------------------------


@router.get("/query")
async def query_get(call: Qbo, request: Request) -> QboJSONResponse:
    text = request.query_params.get("query", "")
    return QboJSONResponse({"QueryResponse": query.run(call.company, text), "time": call.now()})


@router.post("/query")
async def query_post(call: Qbo, request: Request) -> QboJSONResponse:
    text = (await request.body()).decode("utf-8", "replace")
    if not text.strip():
        text = request.query_params.get("query", "")
    return QboJSONResponse({"QueryResponse": query.run(call.company, text), "time": call.now()})


@router.get("/cdc")
async def change_data_capture(call: Qbo, request: Request) -> QboJSONResponse:
    body = cdc.run(
        call.company, request.query_params.get("entities"), request.query_params.get("changedSince")
    )
    return QboJSONResponse({**body, "time": call.now()})


@router.post("/batch")
async def batch_request(call: Qbo, request: Request) -> QboJSONResponse:
    body = await _body(request)
    return await _idempotent(
        call,
        BATCH_REQUESTID_MAX,
        lambda: _snapshot(batch.run(call.company, body, with_requestid=call.requestid is not None)),
    )


# --- entities --------------------------------------------------------------------------------


def _add_entity_routes(path: str, entity_type: str) -> None:
    async def read(call: Qbo, entityId: str) -> QboJSONResponse:
        entity = call.company.get(entity_type, entityId)
        if entity is None:
            raise errors.object_not_found(entity_type, entityId)
        return QboJSONResponse({**_entity_response(call, entity_type, entity), "time": call.now()})

    router.add_api_route(f"/{path}/{{entityId}}", read, methods=["GET"], name=f"read_{path}")
    if entity_type in ("Account", "TaxCode"):
        return

    async def save(call: Qbo, request: Request) -> QboJSONResponse:
        body = await _body(request)
        operation = request.query_params.get("operation")
        include = request.query_params.get("include")

        def produce() -> dict[str, Any]:
            entity = write(call.company, entity_type, operation, body, include=include)
            return _entity_response(call, entity_type, entity)

        return await _idempotent(call, REQUESTID_MAX, produce)

    router.add_api_route(f"/{path}", save, methods=["POST"], name=f"save_{path}")


for _path, _entity_type in ENTITY_PATHS.items():
    _add_entity_routes(_path, _entity_type)


@router.post("/invoice/{invoiceId}/send")
async def send_invoice(call: Qbo, invoiceId: str, request: Request) -> QboJSONResponse:
    send_to = request.query_params.get("sendTo")

    def produce() -> dict[str, Any]:
        return _entity_response(call, "Invoice", invoices.send(call.company, invoiceId, send_to))

    return await _idempotent(call, REQUESTID_MAX, produce)


@router.get("/invoice/{invoiceId}/pdf")
async def invoice_pdf(call: Qbo, invoiceId: str) -> Response:
    entity = call.company.get("Invoice", invoiceId)
    if entity is None:
        raise errors.object_not_found("Invoice", invoiceId)
    ref = (entity.get("CustomerRef") or {}).get("value")
    customer = call.company.get("Customer", ref) if ref else None
    name = customer["DisplayName"] if customer else ""
    document = pdf.render(pdf.invoice_text(call.company.name, name, entity))
    return Response(document, media_type="application/pdf")
