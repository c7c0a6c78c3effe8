"""QuickBooks over HTTP: the OAuth pages (`/quickbooks/connect`, `/callback`, `/reconnect`)
and the JSON API (`/api/quickbooks/...`, `/api/clients/{id}/quickbooks-customer`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from app.billing.editor import BillingEditor
from app.dependencies import RuntimeDep, SessionDep
from app.errors import AppError, Unauthorized
from app.ids import RowId
from app.quickbooks import line_settings, service
from app.quickbooks.schemas import (
    ChoiceOut,
    ConnectionOut,
    ConnectLinkOut,
    CustomerLinkIn,
    CustomerLinkOut,
    CustomerOut,
    CustomerPage,
    ItemList,
    TaxCodeList,
)
from app.quickbooks.service import CALLBACK_PATH, STATE_COOKIE_PREFIX, CallbackResult
from app.quickbooks.state import STATE_LIFETIME
from app.settings import PROJECT_ROOT
from app.tenants import service as tenants
from app.tenants.auth import ApiContext, request_qsh
from app.tenants.permissions import require_site_admin
from app.tenants.service import ConnectContext
from connect.errors import AuthenticationError
from connect.starlette import token_from_query

router = APIRouter(tags=["quickbooks"])
templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
START_AGAIN = "Open Worklog360 in Jira → Settings → Integrations and click Connect to QuickBooks."


# --- pages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    heading: str
    message: str
    fix: str


OUTCOMES: dict[str, Outcome] = {
    "state_missing": Outcome(
        "This link is incomplete",
        "The answer from QuickBooks arrived without the request it belongs to.",
        START_AGAIN,
    ),
    "state_invalid": Outcome(
        "This link was not made by Worklog360",
        "The connection request was altered or did not come from Worklog360, so it was "
        "refused. Nothing was changed.",
        START_AGAIN,
    ),
    "state_expired": Outcome(
        "The connection request expired",
        "Connecting has to be finished within 10 minutes of clicking Connect.",
        START_AGAIN,
    ),
    "state_used": Outcome(
        "This connection request was already used",
        "Each click on Connect can connect one company, once.",
        START_AGAIN,
    ),
    "state_other_browser": Outcome(
        "This connection was started somewhere else",
        "The connection request was started in another browser (or its cookie was "
        "blocked), so it was refused to keep someone else's company out of your site.",
        "In this browser, " + START_AGAIN[0].lower() + START_AGAIN[1:],
    ),
    "access_denied": Outcome(
        "You cancelled the connection",
        "QuickBooks was not connected: the connection was declined on Intuit's page.",
        "To connect, " + START_AGAIN[0].lower() + START_AGAIN[1:] + " Then click Connect "
        "on Intuit's page.",
    ),
    "intuit_error": Outcome(
        "QuickBooks refused the connection",
        "Intuit answered with an error instead of connecting the company.",
        "Try again; if it keeps failing, check the app's keys and redirect URI in Intuit's "
        "developer portal (the redirect URI must be this server's /quickbooks/callback).",
    ),
    "callback_incomplete": Outcome(
        "The answer from QuickBooks is incomplete",
        "It carried no authorization code or company id.",
        START_AGAIN,
    ),
    "tenant_inactive": Outcome(
        "Worklog360 is not active on that Jira site",
        "The Jira site that started this connection has uninstalled or disabled Worklog360.",
        "Enable Worklog360 in Jira (Apps → Manage apps), then "
        + START_AGAIN[0].lower()
        + START_AGAIN[1:],
    ),
    "realm_in_use": Outcome(
        "This QuickBooks company is connected to another Jira site",
        "A QuickBooks company can be connected to one Jira site at a time (invoice numbers "
        "and payments would otherwise mix).",
        "Disconnect it on the other site (Settings → Integrations → Disconnect), or connect a "
        "different company.",
    ),
    "code_rejected": Outcome(
        "QuickBooks did not accept the authorization",
        "The authorization expired or was already used.",
        START_AGAIN,
    ),
    "quickbooks_unavailable": Outcome(
        "QuickBooks did not answer",
        "Intuit could not be reached to finish connecting.",
        "Wait a few minutes, then " + START_AGAIN[0].lower() + START_AGAIN[1:],
    ),
    "in_progress": Outcome(
        "Connecting…",
        "This connection is being completed in another tab or request.",
        "Reload this page in a moment, or check Settings → Integrations in Jira.",
    ),
}


def result_page(
    request: Request,
    status_code: int,
    *,
    title: str,
    heading: str,
    message: str,
    fix: str,
    ok: bool = False,
    code: str | None = None,
    connect_flow: bool = True,
) -> HTMLResponse:
    """A page for a window opened outside Jira; `connect_flow` tells a Settings page that
    opened it how connecting ended (and closes it after a success)."""
    return templates.TemplateResponse(
        request,
        "quickbooks_result.html",
        {
            "title": title,
            "heading": heading,
            "message": message,
            "fix": fix,
            "ok": ok,
            "code": code,
            "connect_flow": connect_flow,
        },
        status_code=status_code,
        headers=NO_STORE,
    )


def _callback_page(request: Request, result: CallbackResult) -> HTMLResponse:
    if result.connected:
        company = result.company_name or f"company {result.realm_id}"
        return result_page(
            request,
            200,
            title="QuickBooks connected",
            heading="QuickBooks is connected",
            message=f"Worklog360 is now connected to {company}.",
            fix="This window closes by itself. If it stays open, close it and go back to "
            "Jira: next, link your clients to QuickBooks customers in Manage → Clients.",
            ok=True,
            code="connected",
        )
    outcome = OUTCOMES[result.outcome]
    message = outcome.message
    if result.intuit_error and result.outcome == "intuit_error":
        message += f" (Intuit's error: {result.intuit_error})"
    return result_page(
        request,
        result.status_code,
        title="QuickBooks not connected",
        heading=outcome.heading,
        message=message,
        fix=outcome.fix,
        code=result.outcome,
    )


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _connect_context(request: Request, runtime: RuntimeDep) -> ConnectContext:
    """The `?jwt=` of the Settings → Integrations page: a page token with its qsh, or the
    context token of `AP.context.getToken()` (the page opens Intuit in a new window, where
    no page token can be made for it)."""
    try:
        token = token_from_query(request)
        if token is None:
            raise Unauthorized("This link needs a Jira JWT: start from Jira.", code="missing_token")
        return await tenants.authenticate(
            runtime,
            token,
            expected_qsh=request_qsh(request, runtime.settings.base_url),
            accept_context_qsh=True,
        )
    except AuthenticationError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc


async def _who_connects(request: Request, runtime: RuntimeDep) -> tuple[int, str]:
    """The tenant and Jira administrator connecting: from a single-use link the API issued
    (the Forge door), else from the Jira JWT in the URL (the Connect door)."""
    link = request.query_params.get("link")
    if link is not None:
        return await service.redeem_connect_link(runtime, link)
    context = await _connect_context(request, runtime)
    await require_site_admin(runtime, context)
    assert context.account_id is not None
    return context.tenant.id, context.account_id


@router.get("/quickbooks/connect", include_in_schema=False)
async def connect(request: Request, runtime: RuntimeDep) -> Response:
    try:
        tenant_id, account_id = await _who_connects(request, runtime)
        url, nonce = service.begin_connect(runtime, tenant_id, account_id)
    except AppError as exc:
        if not _wants_html(request):
            raise
        return result_page(
            request,
            exc.status_code,
            title="QuickBooks",
            heading="QuickBooks cannot be connected from here",
            message=exc.message,
            fix=START_AGAIN,
            code=exc.code,
        )
    response = RedirectResponse(url, status_code=302, headers=NO_STORE)
    # Binds the state to this browser: the callback must come back to it.
    response.set_cookie(
        f"{STATE_COOKIE_PREFIX}{nonce}",
        "1",
        max_age=int(STATE_LIFETIME.total_seconds()),
        path=CALLBACK_PATH,
        secure=runtime.settings.base_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(CALLBACK_PATH, include_in_schema=False, response_class=HTMLResponse)
async def callback(
    request: Request,
    runtime: RuntimeDep,
    state: Annotated[str | None, Query(max_length=2048)] = None,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    realm_id: Annotated[str | None, Query(alias="realmId", max_length=64)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    nonces = {
        name[len(STATE_COOKIE_PREFIX) :]
        for name in request.cookies
        if name.startswith(STATE_COOKIE_PREFIX)
    }
    result = await service.complete_connect(
        runtime, state=state, code=code, realm_id=realm_id, error=error, state_cookies=nonces
    )
    return _callback_page(request, result)


@router.get("/quickbooks/reconnect", include_in_schema=False, response_class=HTMLResponse)
async def reconnect(request: Request) -> HTMLResponse:
    """Intuit's "Reconnect URL". It arrives without any Jira identity, so it cannot tell (and
    must not reveal) which Jira site a company belongs to, nor start OAuth for one: it says
    where reconnecting happens."""
    return result_page(
        request,
        200,
        title="Reconnect QuickBooks",
        heading="Reconnect QuickBooks to Worklog360",
        message="Worklog360 connects to QuickBooks from inside Jira, so that the connection "
        "belongs to the right Jira site.",
        fix="Open Worklog360 in Jira → Settings → Integrations and click Reconnect (a Jira "
        "administrator has to do this).",
        code="reconnect",
    )


# --- JSON API --------------------------------------------------------------------------------


@router.get("/api/quickbooks/connection", response_model=ConnectionOut)
async def read_connection(
    context: ApiContext, session: SessionDep, runtime: RuntimeDep
) -> ConnectionOut:
    return ConnectionOut.of(await service.connection_view(runtime, session, context.tenant.id))


@router.post("/api/quickbooks/connect-link", response_model=ConnectLinkOut)
async def connect_link(context: ApiContext, runtime: RuntimeDep) -> ConnectLinkOut:
    """A single-use link to Intuit's sign-in, for pages that cannot put a Jira token in a
    URL (Forge): opened outside Jira through the bridge's router."""
    await require_site_admin(runtime, context)
    assert context.account_id is not None
    link = service.issue_connect_link(runtime, context.tenant.id, context.account_id)
    return ConnectLinkOut(url=link.url, expires_at=link.expires_at)


@router.delete("/api/quickbooks/connection", response_model=ConnectionOut)
async def disconnect(context: ApiContext, runtime: RuntimeDep) -> ConnectionOut:
    await require_site_admin(runtime, context)
    return ConnectionOut.of(await service.disconnect(runtime, context.tenant.id))


@router.get("/api/quickbooks/customers", response_model=CustomerPage)
async def list_customers(
    context: ApiContext,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    refresh: bool = False,
    cursor: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CustomerPage:
    customers, next_cursor = await service.list_customers(
        runtime, context.tenant.id, query=q, refresh=refresh, cursor=cursor, limit=limit
    )
    return CustomerPage(items=[CustomerOut.of(c) for c in customers], next_cursor=next_cursor)


@router.get("/api/quickbooks/items", response_model=ItemList)
async def list_service_items(context: ApiContext, runtime: RuntimeDep) -> ItemList:
    """The company's active service items, for the Settings page's Service item."""
    items = await line_settings.service_items(runtime, context.tenant.id)
    return ItemList(items=[ChoiceOut.of(i) for i in items])


@router.get("/api/quickbooks/tax-codes", response_model=TaxCodeList)
async def list_tax_codes(context: ApiContext, runtime: RuntimeDep) -> TaxCodeList:
    return TaxCodeList.of(await line_settings.tax_codes(runtime, context.tenant.id))


@router.put("/api/clients/{client_id}/quickbooks-customer", response_model=CustomerLinkOut)
async def link_customer(
    _editor: BillingEditor,
    client_id: RowId,
    data: CustomerLinkIn,
    context: ApiContext,
    session: SessionDep,
) -> CustomerLinkOut:
    link, customer = await service.link_customer(
        session, context.tenant.id, client_id, data.customer_id, context.account_id
    )
    return CustomerLinkOut.of(link, customer)


@router.delete("/api/clients/{client_id}/quickbooks-customer", status_code=204)
async def unlink_customer(
    _editor: BillingEditor,
    client_id: RowId,
    context: ApiContext,
    session: SessionDep,
) -> Response:
    await service.unlink_customer(session, context.tenant.id, client_id)
    return Response(status_code=204)
