"""An invoice as the customer sees it, once it is in QuickBooks: QuickBooks' own PDF,
streamed through (never stored), and single-use links that open it outside Jira.

A Forge page cannot download through `invoke`/`invokeRemote` (their answers are JSON), and
neither door can put a Jira token in a URL that leaves Jira; so the page asks for a link
(`POST /api/invoices/{id}/pdf-link`) and opens it through the bridge's router (Forge) or in a
new tab (Connect). The link names the tenant, the person and the invoice, works for five
minutes, and opens once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import httpx

from app.billing.invoices import get_invoice
from app.errors import Conflict, Unauthorized
from app.quickbooks import service
from app.quickbooks import sync_repository as repo
from app.quickbooks.api_errors import ObjectNotFoundError, QuickBooksError
from app.quickbooks.errors import app_error
from app.quickbooks.state import StateError, issue_pdf_link_token, link_key, verify_pdf_link
from app.quickbooks.sync_repository import SYNCED
from app.runtime import Runtime

PDF_LINK_PATH = "/quickbooks/invoice-pdf"

PDF_LINK_PROBLEMS = {
    "link_invalid": (
        "This invoice PDF link was not made by Worklog360, or was altered, so it was refused."
    ),
    "link_expired": (
        "This invoice PDF link expired: each link works for 5 minutes. Open the invoice in "
        "Jira and click Download PDF again."
    ),
}


@dataclass(frozen=True, slots=True)
class PdfLink:
    url: str
    expires_at: datetime


@dataclass(slots=True)
class InvoicePdf:
    """QuickBooks' answer, its body not yet read: stream `chunks()`, then `close()`."""

    filename: str
    response: httpx.Response

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self.response.aiter_raw():
            yield chunk

    async def close(self) -> None:
        await self.response.aclose()


async def _synced_id(runtime: Runtime, tenant_id: int, invoice_id: int) -> tuple[str, str, str]:
    """The invoice's QuickBooks id, realm and the number to name the file by; 404 for an
    invoice not on this site, 409 `invoice_not_synced` for one not in QuickBooks."""
    async with runtime.sessions() as session:
        invoice = await get_invoice(session, tenant_id, invoice_id)
        row = await repo.sync_of(session, tenant_id, invoice_id)
    if row is None or row.state != SYNCED or row.qbo_id is None or row.realm_id is None:
        raise Conflict(
            "This invoice is not in QuickBooks yet, so QuickBooks has no PDF of it: sync it "
            "first (Sync with QB), or print the preview.",
            code="invoice_not_synced",
        )
    if row.deleted:
        raise Conflict(
            "This invoice was deleted in QuickBooks, so QuickBooks has no PDF of it any more.",
            code="quickbooks_invoice_deleted",
        )
    return row.qbo_id, row.realm_id, row.doc_number or invoice.number or f"invoice-{invoice_id}"


def _filename(number: str) -> str:
    """`INV-0042.pdf`: only characters every browser and file system takes."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", number).strip("-._")[:80] + ".pdf"


async def open_pdf(runtime: Runtime, tenant_id: int, invoice_id: int) -> InvoicePdf:
    """QuickBooks' PDF of a synced invoice, ready to stream (the caller closes it)."""
    qbo_id, realm_id, number = await _synced_id(runtime, tenant_id, invoice_id)
    api = await service.authorized_api(runtime, tenant_id)
    if api.realm_id != realm_id:
        raise Conflict(
            "This invoice was synced to another QuickBooks company than the one connected "
            "now, so its PDF cannot be read. Reconnect that company in Settings → "
            "Integrations to open it.",
            code="quickbooks_other_company",
        )
    try:
        response = await api.open_stream(f"invoice/{qbo_id}/pdf", accept="application/pdf")
    except ObjectNotFoundError as exc:
        raise Conflict(
            "QuickBooks no longer has this invoice (it was deleted there), so it has no PDF.",
            code="quickbooks_invoice_deleted",
        ) from exc
    except QuickBooksError as exc:
        raise app_error(exc) from exc
    return InvoicePdf(filename=_filename(number), response=response)


async def issue_pdf_link(
    runtime: Runtime, tenant_id: int, account_id: str, invoice_id: int
) -> PdfLink:
    await _synced_id(runtime, tenant_id, invoice_id)  # refused now rather than in a new tab
    token, expires_at = issue_pdf_link_token(
        link_key(runtime.settings.effective_secret_key),
        tenant_id=tenant_id,
        account_id=account_id,
        invoice_id=invoice_id,
        now=runtime.quickbooks.now(),
    )
    base = runtime.settings.base_url.rstrip("/")
    return PdfLink(url=f"{base}{PDF_LINK_PATH}?{urlencode({'link': token})}", expires_at=expires_at)


async def redeem_pdf_link(runtime: Runtime, token: str) -> tuple[int, int]:
    """The tenant and invoice a link was made for, recording it as used."""
    try:
        claims = verify_pdf_link(
            link_key(runtime.settings.effective_secret_key), token, now=runtime.quickbooks.now()
        )
    except StateError as exc:
        raise Unauthorized(PDF_LINK_PROBLEMS[exc.code], code=exc.code) from exc
    await service.use_link(
        runtime,
        claims,
        uninstalled="Worklog360 is no longer installed on the Jira site this link was made "
        "for, so its invoices cannot be opened.",
        used="This invoice PDF link was already used: each link opens the PDF once, so that "
        "a copied link shows nothing. Click Download PDF in Jira for a new one.",
    )
    return claims.tenant_id, claims.invoice_id
