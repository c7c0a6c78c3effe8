"""Sync with QB: a finalized invoice becomes exactly one QuickBooks invoice, ever.

Three guards, because any one of them alone has failed other integrations
(reference/quickbooks.md §10.6):

1. A claim, committed before QuickBooks is called: a second click, request or worker finds
   the invoice `syncing` and is told so instead of creating another one. The claim names its
   process and lapses unless that process beats (every third of
   W360_QBO_SYNC_CLAIM_STALE_SECONDS while it syncs): a sync left by a dead process can be
   retried within that time, and the retry looks before it creates.
2. A `requestid` derived from the tenant, the invoice and the attempt: a create retried after
   a lost answer is answered from Intuit's replay cache, not made twice. The attempt (so the
   requestid) only moves on after QuickBooks refused a create for certain, since a replay
   would repeat the refusal for ever.
3. After a crash or timeout between QuickBooks' create and our commit (the row stays
   `syncing` past its claim, or `failed` with the outcome unknown), the DocNumber is looked
   up first and a match for the same customer is adopted; a 6140 "duplicate DocNumber" on
   create is checked the same way.

No read follows the create (reads are metered): the create's answer is what is stored.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.billing import invoices as billing_invoices
from app.billing import service as billing
from app.billing.invoice_schemas import MAX_CUSTOMER_MESSAGE, InvoiceStatus
from app.billing.money import CENT, money
from app.db import transaction
from app.errors import AppError, Conflict, ServiceUnavailable, Unprocessable
from app.heartbeat import beating
from app.quickbooks import repository as connections
from app.quickbooks import service
from app.quickbooks import sync_repository as repo
from app.quickbooks.api_errors import (
    AmountCalculationError,
    AuthorizationError,
    DuplicateDocNumberError,
    ObjectNotFoundError,
    QuickBooksAuthenticationError,
    QuickBooksError,
    QuickBooksValidationError,
    StaleObjectError,
    ThrottledError,
)
from app.quickbooks.client import QuickBooksApi
from app.quickbooks.errors import RECONNECT_MESSAGE, app_error
from app.quickbooks.invoice_status import apply_invoice
from app.quickbooks.service import CustomerLink
from app.quickbooks.sync_repository import FAILED, SYNCED, SYNCING, claim_is_live
from app.runtime import Runtime

logger = logging.getLogger(__name__)

# The company's own default service item, when Settings name none.
DEFAULT_ITEM_NAME = "Services"
MAX_DESCRIPTION = 4000
# Intuit's invoice rules: "If taxable, 750 lines max". Every line this app sends may carry a
# tax code (TAX/NON in the US, the chosen code elsewhere), so every invoice keeps under it.
MAX_LINES = 750
_REQUESTIDS = uuid.UUID("2f0b7a52-58c4-4a8e-9a57-3c1f3e8d6b90")

NOT_LINKED = (
    "Invoice not syncing? Check that the client is linked to QuickBooks. Link the client to a "
    "QuickBooks customer in Manage → Clients, then sync again."
)
MISSING_CUSTOMER = (
    "Missing customer? Confirm the customer exists in QuickBooks, refresh the customer list "
    "in Manage → Clients and link it again."
)


def process_name() -> str:
    """Who holds a claim, as an operator would look for it: this host and process (read at
    each claim: servers fork their workers after importing this)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def requestid(tenant_id: int, invoice_id: int, attempt: int) -> str:
    """Stable for one invoice's attempt, unique across tenants (36 characters)."""
    return str(uuid.uuid5(_REQUESTIDS, f"invoice:{tenant_id}:{invoice_id}:{attempt}"))


@dataclass(frozen=True, slots=True)
class PlannedLine:
    description: str
    hours: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What the QuickBooks invoice will say, read before anything is claimed."""

    tenant_id: int
    invoice_id: int
    number: str
    client_name: str
    currency: str
    issue_date: date
    due_date: date
    total: Decimal
    billing_email: str | None
    customer_message: str | None  # the invoice's notes, QuickBooks' CustomerMemo
    lines: tuple[PlannedLine, ...]
    link: CustomerLink
    item_id: str | None
    tax_code_id: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    token: str
    attempt: int
    look_up_first: bool


@dataclass(slots=True)
class _Progress:
    """What is known of QuickBooks' side while an attempt runs."""

    unknown: bool
    create_refused: bool = False


# --- the steps -------------------------------------------------------------------------------


async def sync_invoice(runtime: Runtime, tenant_id: int, invoice_id: int) -> None:
    """Create the invoice in QuickBooks unless it is there already (then nothing happens)."""
    plan = await _plan(runtime, tenant_id, invoice_id)
    if plan is None:
        return
    api = await service.authorized_api(runtime, tenant_id)
    _check_customer(plan)
    claim = await _claim(runtime, plan, api.realm_id)
    if claim is None:
        return
    progress = _Progress(unknown=claim.look_up_first)
    try:
        async with _beating(runtime, plan, claim):
            invoice = await _create_once(runtime, api, plan, claim, progress)
    except QuickBooksError as exc:
        error = sync_error(exc, plan)
        if isinstance(exc, ObjectNotFoundError) and error.code == "quickbooks_customer_inactive":
            await _remember_inactive(runtime, plan)
        await _record_failure(runtime, plan, claim, error, progress)
        raise error from exc
    except AppError as exc:
        await _record_failure(runtime, plan, claim, exc, progress)
        raise
    except BaseException:
        # Cancelled or a bug: what QuickBooks did is unknown; the next attempt looks first.
        progress.unknown = True
        await _record_failure_quietly(runtime, plan, claim, None, progress)
        raise
    try:
        await _record_success(runtime, plan, claim, api.realm_id, invoice)
    except Exception as exc:
        logger.exception("recording QuickBooks invoice %s failed", invoice.get("Id"))
        error = ServiceUnavailable(
            f"QuickBooks has invoice {invoice.get('DocNumber') or plan.number}, but Worklog360 "
            "could not record it. Sync again: the same QuickBooks invoice is picked up, no "
            "second one is made.",
            code="quickbooks_sync_incomplete",
        )
        progress.unknown = True
        await _record_failure_quietly(runtime, plan, claim, error, progress)
        raise error from exc


async def _plan(runtime: Runtime, tenant_id: int, invoice_id: int) -> SyncPlan | None:
    async with runtime.sessions() as session:
        view = await billing_invoices.view_invoice(session, tenant_id, invoice_id, all_lines=True)
        invoice = view.invoice
        if invoice.status != InvoiceStatus.FINALIZED.value or invoice.number is None:
            raise Conflict(
                "Only finalized invoices can be synced: review the draft and click Finalize "
                "Invoice first.",
                code="invoice_not_finalized",
            )
        row = await repo.sync_of(session, tenant_id, invoice_id)
        if row is not None and row.state == SYNCED:
            return None
        if view.figures.lines > MAX_LINES:
            raise Conflict(
                f"This invoice has {view.figures.lines} lines; QuickBooks takes at most "
                f"{MAX_LINES} on an invoice that carries sales tax. Delete the draft and "
                "generate it again grouped by issue or by person, then sync.",
                code="quickbooks_too_many_lines",
            )
        link = (await service.client_links(session, tenant_id, [invoice.client_id])).get(
            invoice.client_id
        )
        if link is None:
            raise Conflict(
                f"The client '{view.client.name}' is not linked to a QuickBooks customer. "
                + NOT_LINKED,
                code="client_not_linked",
            )
        settings = await billing.get_settings(session, tenant_id)
        return SyncPlan(
            tenant_id=tenant_id,
            invoice_id=invoice.id,
            number=invoice.number,
            client_name=view.client.name,
            currency=invoice.currency,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            total=money(invoice.total),
            billing_email=view.client.billing_email,
            customer_message=customer_message(invoice.notes),
            lines=tuple(
                PlannedLine(
                    description=line.description[:MAX_DESCRIPTION],
                    hours=Decimal(line.hours).quantize(CENT),
                    rate=money(line.rate),
                    amount=money(line.amount),
                )
                for line in view.lines
            ),
            link=link,
            item_id=settings.quickbooks_item_id or None,
            tax_code_id=settings.quickbooks_tax_code_id or None,
        )


def customer_message(notes: str | None) -> str | None:
    """The notes as QuickBooks prints them. Notes longer than CustomerMemo holds are refused
    when typed and when finalizing; only an invoice finalized before that rule can have
    them, and it can no longer change: it gets the first part, cut at a word and marked
    with an ellipsis (the invoice page says so), rather than never syncing."""
    text = (notes or "").strip()
    if not text:
        return None
    if len(text) <= MAX_CUSTOMER_MESSAGE:
        return text
    cut = text[: MAX_CUSTOMER_MESSAGE - 1]
    space = cut.rfind(" ")
    if space > MAX_CUSTOMER_MESSAGE // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _check_customer(plan: SyncPlan) -> None:
    """What the customer list already tells, said before QuickBooks is called."""
    link = plan.link
    if link.active is False:
        raise _customer_inactive(plan)
    if link.currency is not None and link.currency != plan.currency:
        raise Conflict(
            f"Invoice {plan.number} is in {plan.currency}, but the QuickBooks customer "
            f"'{link.display_name}' uses {link.currency}, and QuickBooks invoices a customer "
            f"in its own currency only. Link '{plan.client_name}' to a QuickBooks customer in "
            f"{plan.currency} in Manage → Clients.",
            code="currency_mismatch",
        )


def _customer_inactive(plan: SyncPlan) -> Conflict:
    return Conflict(
        f"The QuickBooks customer '{plan.link.display_name}' is inactive in QuickBooks. Make "
        "it active in QuickBooks, then refresh the customer list in Manage → Clients and sync "
        "again.",
        code="quickbooks_customer_inactive",
    )


async def _claim(runtime: Runtime, plan: SyncPlan, realm_id: str) -> Claim | None:
    """Take the invoice for this request (committed at once). None if it is synced."""
    token = str(uuid.uuid4())
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        now = runtime.quickbooks.now()
        expires_at = now + _claim_lifetime(runtime)
        await repo.insert_claim_if_absent(
            session,
            tenant_id=plan.tenant_id,
            invoice_id=plan.invoice_id,
            claim=token,
            claimed_at=now,
            claimed_by=process_name(),
            claim_expires_at=expires_at,
            realm_id=realm_id,
            customer_id=plan.link.customer_id,
        )
        row = await repo.sync_of(session, plan.tenant_id, plan.invoice_id, for_update=True)
        assert row is not None
        if row.state == SYNCED:
            return None
        if row.claim == token:
            return Claim(token, row.attempt, look_up_first=False)
        if claim_is_live(row, now):
            raise Conflict(
                f"Invoice {plan.number} is being synced with QuickBooks right now. Wait a "
                "moment and open it again.",
                code="quickbooks_sync_in_progress",
            )
        # A failed attempt, or a claim whose request died: take it over.
        look_up_first = row.state == SYNCING or row.outcome_unknown
        row.state = SYNCING
        row.claim = token
        row.claimed_at = now
        row.claimed_by = process_name()
        row.claim_expires_at = expires_at
        row.outcome_unknown = True
        row.realm_id = realm_id
        row.customer_id = plan.link.customer_id
        return Claim(token, row.attempt, look_up_first=look_up_first)


def _claim_lifetime(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.qbo.sync_claim_stale_seconds)


def _beating(runtime: Runtime, plan: SyncPlan, claim: Claim) -> AbstractAsyncContextManager[None]:
    """Keep the claim alive while QuickBooks is called (a create with its retries can take
    longer than a claim lives); a dead process stops beating and its claim lapses."""

    async def beat() -> bool:
        try:
            async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
                return await repo.beat_claim(
                    session,
                    plan.tenant_id,
                    plan.invoice_id,
                    claim.token,
                    runtime.quickbooks.now() + _claim_lifetime(runtime),
                )
        except Exception:
            # The next beat tries again; a claim that lapses meanwhile is looked up before
            # anything is created, and the same requestid replays.
            logger.warning(
                "could not renew the sync claim of invoice %s", plan.number, exc_info=True
            )
            return True

    return beating(runtime.settings.qbo.sync_claim_stale_seconds / 3, beat)


async def _create_once(
    runtime: Runtime, api: QuickBooksApi, plan: SyncPlan, claim: Claim, progress: _Progress
) -> dict[str, Any]:
    if claim.look_up_first:
        found = await _find_ours(api, plan)
        if found is not None:
            logger.info("invoice %s adopted from QuickBooks (%s)", plan.number, found.get("Id"))
            return found
        progress.unknown = False
    item_id = plan.item_id or await _default_item(runtime, api, plan.tenant_id)
    non_us = await _non_us_company(runtime, api, plan.tenant_id)
    if non_us and plan.tax_code_id is None:
        raise Conflict(
            "This QuickBooks company charges sales tax or VAT on every line: choose the tax "
            "code for Worklog360 invoices in Settings → Integrations, then sync again.",
            code="quickbooks_tax_code_required",
        )
    body = invoice_body(plan, item_id, non_us=non_us)
    progress.unknown = True
    try:
        return await api.create_invoice(
            body, requestid=requestid(plan.tenant_id, plan.invoice_id, claim.attempt)
        )
    except QuickBooksValidationError as exc:
        progress.unknown = False
        progress.create_refused = True
        if isinstance(exc, DuplicateDocNumberError):
            found = await _find_ours(api, plan)
            if found is not None:
                return found
        raise
    except (QuickBooksAuthenticationError, AuthorizationError, ThrottledError):
        progress.unknown = False  # refused before QuickBooks looked at the invoice
        raise


async def _find_ours(api: QuickBooksApi, plan: SyncPlan) -> dict[str, Any] | None:
    """The QuickBooks invoice with our number for our customer, if it exists."""
    for found in sorted(
        await api.find_invoices_by_doc_number(plan.number),
        key=lambda i: int(str(i.get("Id", "0"))) if str(i.get("Id", "")).isdigit() else 0,
    ):
        customer = found.get("CustomerRef")
        customer_id = customer.get("value") if isinstance(customer, dict) else customer
        if str(customer_id) == plan.link.customer_id:
            return dict(found)
    return None


async def _default_item(runtime: Runtime, api: QuickBooksApi, tenant_id: int) -> str:
    async with runtime.sessions() as session:
        state = await repo.realm_state(session, tenant_id, api.realm_id)
        if state is not None and state.item_id:
            return state.item_id
    item = await api.find_or_create_service_item(
        DEFAULT_ITEM_NAME,
        requestid=str(uuid.uuid5(_REQUESTIDS, f"item:{tenant_id}:{api.realm_id}")),
    )
    item_id = str(item["Id"])
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        (await repo.ensure_realm_state(session, tenant_id, api.realm_id)).item_id = item_id
    return item_id


async def _non_us_company(runtime: Runtime, api: QuickBooksApi, tenant_id: int) -> bool:
    """Non-US companies need a TaxCodeRef on every line (US ones get TAX/NON by default)."""
    async with runtime.sessions() as session:
        state = await repo.realm_state(session, tenant_id, api.realm_id)
        country = state.country if state is not None else None
    if country is None:
        info = await api.company_info()
        address = info.get("CompanyAddr")
        country = str(
            info.get("Country")
            or (address.get("Country") if isinstance(address, dict) else "")
            or "US"
        )[:8]
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            (await repo.ensure_realm_state(session, tenant_id, api.realm_id)).country = country
    return country.upper() not in ("US", "USA", "UNITED STATES")


def invoice_body(plan: SyncPlan, item_id: str, *, non_us: bool) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    for line in plan.lines:
        detail: dict[str, Any] = {
            "ItemRef": {"value": item_id},
            # Amount = round(Qty * UnitPrice, 2) holds exactly: it is how billing made it.
            "Qty": line.hours,
            "UnitPrice": line.rate,
        }
        if plan.tax_code_id is not None:
            detail["TaxCodeRef"] = {"value": plan.tax_code_id}
        lines.append(
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": line.amount,
                "Description": line.description,
                "SalesItemLineDetail": detail,
            }
        )
    body: dict[str, Any] = {
        "CustomerRef": {"value": plan.link.customer_id},
        "DocNumber": plan.number,
        "TxnDate": plan.issue_date.isoformat(),
        "DueDate": plan.due_date.isoformat(),
        "CurrencyRef": {"value": plan.currency},
        "Line": lines,
        "PrivateNote": f"Worklog360 invoice {plan.number}",
    }
    if non_us:
        body["GlobalTaxCalculation"] = "TaxExcluded"  # our rates are net of tax
    if plan.billing_email:
        body["BillEmail"] = {"Address": plan.billing_email}
    if plan.customer_message:
        body["CustomerMemo"] = {"value": plan.customer_message}
    return body


# --- recording -------------------------------------------------------------------------------


async def _record_success(
    runtime: Runtime, plan: SyncPlan, claim: Claim, realm_id: str, invoice: dict[str, Any]
) -> None:
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        row = await repo.sync_of(session, plan.tenant_id, plan.invoice_id, for_update=True)
        assert row is not None
        now = runtime.quickbooks.now()
        row.realm_id = realm_id
        row.customer_id = plan.link.customer_id
        row.qbo_updated_at = None
        apply_invoice(row, invoice, now)
        row.state = SYNCED
        row.claim = None
        row.claim_expires_at = None
        row.outcome_unknown = False
        row.invoice_total = plan.total
        row.synced_at = now
        row.last_error = None
        row.last_error_code = None


async def _record_failure(
    runtime: Runtime, plan: SyncPlan, claim: Claim, error: AppError | None, progress: _Progress
) -> None:
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        row = await repo.sync_of(session, plan.tenant_id, plan.invoice_id, for_update=True)
        if row is None or row.claim != claim.token or row.state != SYNCING:
            return  # another request took the claim over meanwhile
        row.state = FAILED
        row.claim = None
        row.claim_expires_at = None
        row.outcome_unknown = progress.unknown
        if progress.create_refused:
            row.attempt = claim.attempt + 1
        row.last_error_code = error.code if error is not None else "quickbooks_sync_failed"
        row.last_error = (
            error.message if error is not None else "The last sync did not finish; sync again."
        )


async def _record_failure_quietly(
    runtime: Runtime, plan: SyncPlan, claim: Claim, error: AppError | None, progress: _Progress
) -> None:
    try:
        await _record_failure(runtime, plan, claim, error, progress)
    except Exception:
        # The claim stays `syncing` and expires: the next attempt looks before creating.
        logger.exception("recording the failed sync of invoice %s failed", plan.number)


async def _remember_inactive(runtime: Runtime, plan: SyncPlan) -> None:
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        customer = await connections.customer(session, plan.tenant_id, plan.link.customer_id)
        if customer is not None:
            customer.active = False


# --- what QuickBooks' refusals mean for the user -------------------------------------------


def sync_error(error: QuickBooksError, plan: SyncPlan) -> AppError:
    """A specific, actionable message for each refusal (the guide's troubleshooting)."""
    element = f"{error.element} {error.detail} {error.message}"
    tid = f" (Intuit reference {error.intuit_tid})" if error.intuit_tid else ""
    if isinstance(error, QuickBooksAuthenticationError | AuthorizationError):
        return app_error(error)
    if isinstance(error, ThrottledError):
        return ServiceUnavailable(
            "QuickBooks is receiving too many requests for this company right now, so the "
            "invoice was not synced. Try again in a minute.",
            code="quickbooks_throttled",
        )
    if isinstance(error, DuplicateDocNumberError):
        return Conflict(
            f"QuickBooks already has a transaction numbered {plan.number} that is not this "
            f"client's invoice ({error.detail or error.message}). Renumber or delete that "
            f"transaction in QuickBooks, then sync again.{tid}",
            code="quickbooks_duplicate_doc_number",
        )
    if isinstance(error, AmountCalculationError):
        return Unprocessable(
            "QuickBooks refused a line whose amount is not its hours times its rate "
            f"({error.detail or error.message}). Nothing was created in QuickBooks; please "
            f"report this invoice to Worklog360 support.{tid}",
            code="quickbooks_amount_mismatch",
        )
    if isinstance(error, StaleObjectError):
        return Conflict(
            "The invoice was changed in QuickBooks while Worklog360 was writing it. Refresh "
            f"it, then try again.{tid}",
            code="quickbooks_stale_object",
        )
    if isinstance(error, ObjectNotFoundError) or error.code == "2500":
        if "TaxCodeRef" in element:
            return Conflict(
                "QuickBooks does not know the tax code chosen in Settings → Integrations. "
                f"Choose one of the company's tax codes there, then sync again.{tid}",
                code="quickbooks_tax_code_invalid",
            )
        if "ItemRef" in element:
            return Conflict(
                "The QuickBooks product/service item Worklog360 invoices with is deleted or "
                "inactive in QuickBooks. Choose another item in Settings → Integrations (or "
                f"make it active in QuickBooks), then sync again.{tid}",
                code="quickbooks_item_unavailable",
            )
        if isinstance(error, ObjectNotFoundError):
            return _customer_inactive(plan)
        return Conflict(
            f"QuickBooks does not know the customer '{plan.link.display_name}'. "
            + MISSING_CUSTOMER
            + tid,
            code="quickbooks_customer_not_found",
        )
    if isinstance(error, QuickBooksValidationError):
        lowered = element.lower()
        if error.code == "6000" and ("vat" in lowered or "tax" in lowered):
            return Conflict(
                "This QuickBooks company needs a tax code on every line: choose the tax code "
                f"for Worklog360 invoices in Settings → Integrations, then sync again.{tid}",
                code="quickbooks_tax_code_required",
            )
        if error.code == "6000" and ("currency" in lowered or "CurrencyRef" in element):
            return Conflict(
                f"QuickBooks refused the currency {plan.currency} for the customer "
                f"'{plan.link.display_name}' ({error.detail}). Link the client to a customer "
                f"in {plan.currency} in Manage → Clients.{tid}",
                code="currency_mismatch",
            )
        if error.code == "6190":
            return Conflict(
                "The QuickBooks company's subscription has ended or is suspended, so it "
                f"accepts no new invoices. {RECONNECT_MESSAGE}{tid}",
                code="quickbooks_company_inactive",
            )
        if error.code == "6210":
            return Conflict(
                f"The books are closed in QuickBooks for {plan.issue_date.isoformat()}: "
                f"reopen the period in QuickBooks, then sync again.{tid}",
                code="quickbooks_period_closed",
            )
        return Unprocessable(
            f"QuickBooks refused the invoice: {error.detail or error.message}{tid}",
            code="quickbooks_rejected",
        )
    return app_error(error)
