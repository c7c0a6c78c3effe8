"""Invoices in QuickBooks over HTTP: Sync with QB, Refresh, and Intuit's webhooks.

Sync and Refresh call QuickBooks, so they hold no database session (nor, on SQLite, the
writer lock) while waiting for it: the services open short transactions of their own.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from app.billing import invoice_views
from app.billing.editor import BillingEditor
from app.billing.invoice_schemas import InvoiceOut
from app.billing.visibility import MoneyVisibility, money_shown_to
from app.dependencies import RuntimeDep
from app.errors import AppError, Forbidden, Unauthorized
from app.ids import RowId
from app.quickbooks import changes, invoice_pdf, invoice_sync, webhooks
from app.quickbooks.routes import NO_STORE, result_page
from app.quickbooks.schemas import PdfLinkOut
from app.runtime import Runtime
from app.tenants.auth import ApiContext
from app.tenants.people import PersonNames
from app.tenants.service import CallerContext

logger = logging.getLogger(__name__)

router = APIRouter(tags=["quickbooks"])


async def _invoice(runtime: Runtime, context: CallerContext, invoice_id: int) -> InvoiceOut:
    """The invoice as `GET /api/invoices/{id}` shows it, `quickbooks` block included."""
    async with runtime.sessions() as session:
        names = PersonNames(runtime, context.tenant)
        return await invoice_views.read_invoice_out(session, context.tenant.id, invoice_id, names)


@router.post(
    "/api/invoices/{invoice_id}/sync", response_model=InvoiceOut, dependencies=[MoneyVisibility]
)
async def sync_invoice(
    _editor: BillingEditor, invoice_id: RowId, context: ApiContext, runtime: RuntimeDep
) -> InvoiceOut:
    await invoice_sync.sync_invoice(runtime, context.tenant.id, invoice_id)
    return await _invoice(runtime, context, invoice_id)


@router.post(
    "/api/invoices/{invoice_id}/refresh", response_model=InvoiceOut, dependencies=[MoneyVisibility]
)
async def refresh_invoice(
    invoice_id: RowId, context: ApiContext, runtime: RuntimeDep
) -> InvoiceOut:
    # Reading is open to every user of the site: this changes no billing data.
    await _invoice(runtime, context, invoice_id)  # 404 for an invoice of another site
    await changes.refresh_invoice(runtime, context.tenant.id, invoice_id)
    return await _invoice(runtime, context, invoice_id)


# --- the invoice as the customer sees it (QuickBooks' PDF) -----------------------------------


async def _may_see_money(runtime: Runtime, context: CallerContext) -> None:
    # A PDF cannot hide its amounts the way the API's answers do.
    if not await money_shown_to(runtime, context):
        raise Forbidden(
            "This site hides rates and amounts from you, and an invoice's PDF shows them: ask "
            "a member of the billing group for it.",
            code="money_hidden",
        )


def _pdf_response(pdf: invoice_pdf.InvoicePdf, disposition: str) -> StreamingResponse:
    return StreamingResponse(
        pdf.chunks(),
        media_type="application/pdf",
        headers={
            **NO_STORE,
            "Content-Disposition": f'{disposition}; filename="{pdf.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
        background=BackgroundTask(pdf.close),
    )


@router.get(
    "/api/invoices/{invoice_id}/pdf",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def invoice_pdf_download(
    invoice_id: RowId, context: ApiContext, runtime: RuntimeDep
) -> StreamingResponse:
    """QuickBooks' PDF of a synced invoice, streamed through (never stored)."""
    await _may_see_money(runtime, context)
    pdf = await invoice_pdf.open_pdf(runtime, context.tenant.id, invoice_id)
    return _pdf_response(pdf, "attachment")


@router.post("/api/invoices/{invoice_id}/pdf-link", response_model=PdfLinkOut)
async def invoice_pdf_link(
    invoice_id: RowId, context: ApiContext, runtime: RuntimeDep
) -> PdfLinkOut:
    """A single-use link to the PDF for pages that cannot download through their API (Forge)
    or put a Jira token in a URL: opened outside Jira, once, within 5 minutes."""
    await _may_see_money(runtime, context)
    assert context.account_id is not None
    link = await invoice_pdf.issue_pdf_link(
        runtime, context.tenant.id, context.account_id, invoice_id
    )
    return PdfLinkOut(url=link.url, expires_at=link.expires_at)


@router.get(invoice_pdf.PDF_LINK_PATH, include_in_schema=False)
async def invoice_pdf_by_link(request: Request, runtime: RuntimeDep) -> Response:
    """The PDF in a tab of its own (inline: the browser shows it and offers to save it)."""
    try:
        token = request.query_params.get("link")
        if not token:
            raise Unauthorized(invoice_pdf.PDF_LINK_PROBLEMS["link_invalid"], code="link_invalid")
        tenant_id, invoice_id = await invoice_pdf.redeem_pdf_link(runtime, token)
        pdf = await invoice_pdf.open_pdf(runtime, tenant_id, invoice_id)
    except AppError as exc:
        return result_page(
            request,
            exc.status_code,
            title="Invoice PDF",
            heading="The invoice PDF could not be opened",
            message=exc.message,
            fix="Close this tab, open the invoice in Jira (Worklog360 → Invoices) and click "
            "Download PDF again.",
            code=exc.code,
            connect_flow=False,
        )
    return _pdf_response(pdf, "inline")


@router.post("/webhooks/quickbooks", include_in_schema=False)
async def quickbooks_webhook(request: Request, runtime: RuntimeDep) -> Response:
    await webhooks.receive(runtime, await request.body(), request.headers.get("intuit-signature"))
    return Response(status_code=200)
