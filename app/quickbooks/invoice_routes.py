"""Invoices in QuickBooks over HTTP: Sync with QB, Refresh, and Intuit's webhooks.

Sync and Refresh call QuickBooks, so they hold no database session (nor, on SQLite, the
writer lock) while waiting for it: the services open short transactions of their own.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, Request, Response

from app.billing import invoice_routes as billing_invoice_routes
from app.billing.editor import BillingEditor
from app.billing.invoice_schemas import InvoiceOut
from app.dependencies import RuntimeDep
from app.errors import ServiceUnavailable, Unauthorized, Unprocessable
from app.ids import RowId
from app.quickbooks import changes, invoice_sync, jobs, webhooks
from app.runtime import Runtime
from app.tenants.auth import ApiContext
from app.tenants.people import PersonNames
from app.tenants.service import ConnectContext

logger = logging.getLogger(__name__)

router = APIRouter(tags=["quickbooks"])

FOLLOWED_ENTITIES = frozenset({"Invoice", "Payment"})


async def _invoice(runtime: Runtime, context: ConnectContext, invoice_id: int) -> InvoiceOut:
    """The invoice as `GET /api/invoices/{id}` shows it, `quickbooks` block included."""
    async with runtime.sessions() as session:
        names = PersonNames(runtime, context.tenant)
        return await billing_invoice_routes.read_invoice(invoice_id, context, names, session)


@router.post("/api/invoices/{invoice_id}/sync", response_model=InvoiceOut)
async def sync_invoice(
    _editor: BillingEditor, invoice_id: RowId, context: ApiContext, runtime: RuntimeDep
) -> InvoiceOut:
    await invoice_sync.sync_invoice(runtime, context.tenant.id, invoice_id)
    return await _invoice(runtime, context, invoice_id)


@router.post("/api/invoices/{invoice_id}/refresh", response_model=InvoiceOut)
async def refresh_invoice(
    invoice_id: RowId, context: ApiContext, runtime: RuntimeDep
) -> InvoiceOut:
    # Reading is open to every user of the site: this changes no billing data.
    await _invoice(runtime, context, invoice_id)  # 404 for an invoice of another site
    await changes.refresh_invoice(runtime, context.tenant.id, invoice_id)
    return await _invoice(runtime, context, invoice_id)


@router.post("/webhooks/quickbooks", include_in_schema=False)
async def quickbooks_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """Verified, routed to tenants and queued: Intuit wants a 200 within 3 seconds, and
    the work (one change-data-capture run per company, however many events) runs after."""
    token = runtime.settings.qbo.webhook_verifier_token
    if token is None:
        raise ServiceUnavailable(
            "QuickBooks webhooks are not set up on this server (W360_QBO_WEBHOOK_VERIFIER_TOKEN).",
            code="quickbooks_webhooks_not_configured",
        )
    body = await request.body()
    if not webhooks.signature_valid(
        token.get_secret_value(), body, request.headers.get("intuit-signature")
    ):
        raise Unauthorized("The intuit-signature header does not match.", code="invalid_signature")
    try:
        events = webhooks.notifications(json.loads(body))
    except ValueError as exc:
        raise Unprocessable(
            "The webhook is not a QuickBooks notification.", code="invalid_payload"
        ) from exc
    realms = {e.realm_id for e in events if e.entity in FOLLOWED_ENTITIES}
    if realms:
        async with runtime.sessions() as session:
            tenants = await changes.tenants_of_realms(session, realms)
        for tenant_id in sorted(set(tenants.values())):
            await jobs.request_changes(runtime, tenant_id)
        logger.info("QuickBooks webhook: %d events for %d companies", len(events), len(tenants))
    return Response(status_code=200)
