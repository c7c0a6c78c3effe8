"""What a synced invoice looks like in QuickBooks, and the `quickbooks` block of the API.

QuickBooks has no status field: it is derived from the invoice (reference/quickbooks.md §3),
and the first that holds wins (DESIGN.md):

    deleted         QuickBooks deleted it (a read answers 610; CDC/webhooks say Deleted)
    voided          TotalAmt 0 and PrivateNote starting "Voided" (what a void leaves)
    paid            TotalAmt > 0 and Balance 0
    overdue         Balance > 0 and DueDate before today (UTC)
    partially_paid  0 < Balance < TotalAmt
    sent            EmailStatus EmailSent (or printed)
    draft           saved in QuickBooks, not sent

Overdue depends on the day, so the status is computed when read, from the stored figures.

Beside the status, `sync_state` says where Sync with QB is for the invoice, so a page
opened (or reloaded) while a sync runs shows it running instead of "not synced":

    not_started     never synced, nothing running
    in_progress     a sync holds the invoice right now (`sync_started_at` says since when)
    failed          the last attempt did not finish (`error` says why); syncing again is safe
    synced          the invoice is in QuickBooks (`status` says how it stands there)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, func, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.accounting import InvoiceStates
from app.billing.money import money
from app.billing.money_view import shown_money
from app.quickbooks import repository as connections
from app.quickbooks import sync_repository as repo
from app.quickbooks.models import QuickBooksInvoicePayment, QuickBooksInvoiceSync
from app.quickbooks.sync_repository import SYNCED, SYNCING, claim_is_live
from app.timeutil import utc_now

NOT_SYNCED = "not_synced"
ZERO = Decimal("0.00")
# Every status an invoice's block can have, in the order the pages offer them.
STATUSES = (NOT_SYNCED, "draft", "sent", "partially_paid", "paid", "overdue", "voided", "deleted")


def _amount(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return money(Decimal(str(value)))
    except ArithmeticError:
        return None


def _stored(value: Decimal | None) -> Decimal | None:
    """SQLite hands numerics back through a float: put the cents back exactly."""
    return None if value is None else money(value)


def _text(value: object, limit: int = 64) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def qbo_time(value: object) -> datetime | None:
    """QuickBooks' MetaData times (`2026-11-03T01:00:00-08:00`), as aware datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def last_updated(entity: dict[str, Any]) -> datetime | None:
    meta = entity.get("MetaData")
    return qbo_time(meta.get("LastUpdatedTime")) if isinstance(meta, dict) else None


def is_deleted(entity: dict[str, Any]) -> bool:
    return str(entity.get("status", "")).lower() == "deleted"


def linked_payment_ids(invoice: dict[str, Any]) -> set[str]:
    return {
        str(link.get("TxnId"))
        for link in invoice.get("LinkedTxn") or []
        if isinstance(link, dict) and link.get("TxnType") == "Payment" and link.get("TxnId")
    }


def apply_invoice(row: QuickBooksInvoiceSync, invoice: dict[str, Any], now: datetime) -> bool:
    """Take QuickBooks' invoice onto the row, unless what the row holds is newer (events
    repeat and arrive out of order). True when applied."""
    updated = last_updated(invoice)
    row.refreshed_at = now
    if updated is not None and row.qbo_updated_at is not None and updated < row.qbo_updated_at:
        return False
    total = _amount(invoice.get("TotalAmt"))
    balance = _amount(invoice.get("Balance"))
    note = str(invoice.get("PrivateNote") or "")
    row.qbo_id = str(invoice.get("Id") or row.qbo_id)
    row.doc_number = str(invoice["DocNumber"]) if invoice.get("DocNumber") else row.doc_number
    row.sync_token = str(invoice.get("SyncToken") or row.sync_token or "") or None
    row.total = total
    row.balance = balance
    row.due_date = _date(invoice.get("DueDate"))
    email = str(invoice.get("EmailStatus") or "").replace("_", "").lower()
    printed = str(invoice.get("PrintStatus") or "").replace("_", "").lower()
    row.sent = email == "emailsent" or printed == "printcomplete"
    # No void flag exists in the API: a void zeroes the amounts and writes "Voided" first
    # in the private note.
    row.voided = total == ZERO and note.lower().startswith("voided")
    row.deleted = False
    row.qbo_updated_at = updated or row.qbo_updated_at
    return True


def mark_deleted(row: QuickBooksInvoiceSync, now: datetime, at: datetime | None) -> None:
    row.deleted = True
    row.refreshed_at = now
    if at is not None and (row.qbo_updated_at is None or at > row.qbo_updated_at):
        row.qbo_updated_at = at


def payment_rows(
    tenant_id: int, payment: dict[str, Any], invoices_by_qbo_id: dict[str, int]
) -> list[dict[str, object]]:
    """The amounts a payment applies to our invoices (Payment.Line[].LinkedTxn)."""
    applied: dict[int, Decimal] = {}
    for line in payment.get("Line") or []:
        if not isinstance(line, dict):
            continue
        amount = _amount(line.get("Amount")) or ZERO
        for link in line.get("LinkedTxn") or []:
            if not isinstance(link, dict) or link.get("TxnType") != "Invoice":
                continue
            invoice_id = invoices_by_qbo_id.get(str(link.get("TxnId")))
            if invoice_id is not None:
                applied[invoice_id] = applied.get(invoice_id, ZERO) + amount
    paid_on = _date(payment.get("TxnDate"))
    method_ref = payment.get("PaymentMethodRef")
    method = method_ref.get("name") if isinstance(method_ref, dict) else None
    return [
        {
            "tenant_id": tenant_id,
            "invoice_id": invoice_id,
            "payment_id": str(payment["Id"]),
            "paid_on": paid_on,
            "amount": amount,
            # How the payer knows it (a cheque or transfer number), and how it was paid, when
            # QuickBooks says: people do not know QuickBooks' own payment ids.
            "reference": _text(payment.get("PaymentRefNum")),
            "method": _text(method),
        }
        # A voided payment keeps its lines with zero amounts: nothing was paid.
        for invoice_id, amount in applied.items()
        if amount > ZERO
    ]


# --- the API block ---------------------------------------------------------------------------


def status_of(row: QuickBooksInvoiceSync | None, today: date) -> str:
    if row is None or row.state != SYNCED:
        return NOT_SYNCED
    total, balance = _stored(row.total) or ZERO, _stored(row.balance) or ZERO
    if row.deleted:
        return "deleted"
    if row.voided:
        return "voided"
    if total > ZERO and balance == ZERO:
        return "paid"
    if balance > ZERO and row.due_date is not None and row.due_date < today:
        return "overdue"
    if ZERO < balance < total:
        return "partially_paid"
    if row.sent:
        return "sent"
    return "draft"


def _cents(column: Any) -> ColumnElement[int]:
    """Whole cents (SQLite hands numerics back as floats)."""
    return cast(func.round(column * 100), BigInteger)


def invoice_states(tenant_id: int, today: date) -> InvoiceStates:
    """`status_of`, paid and balance as SQL over the synced invoices, for billing's list to
    filter, sort and total by (tests hold it to `status_of`)."""
    row = QuickBooksInvoiceSync
    total = func.coalesce(_cents(row.total), 0)
    balance = func.coalesce(_cents(row.balance), 0)
    status = case(
        (row.deleted.is_(True), literal("deleted")),
        (row.voided.is_(True), literal("voided")),
        (and_(total > 0, balance == 0), literal("paid")),
        (and_(balance > 0, row.due_date.is_not(None), row.due_date < today), literal("overdue")),
        (and_(balance > 0, balance < total), literal("partially_paid")),
        (row.sent.is_(True), literal("sent")),
        else_=literal("draft"),
    )
    owed = case(
        (row.deleted.is_(True), literal(0)),
        (row.balance.is_(None), null()),
        else_=_cents(row.balance),
    )
    paid = case(
        (and_(row.total.is_not(None), row.balance.is_not(None)), _cents(row.total) - balance),
        else_=null(),
    )
    table = (
        select(
            row.tenant_id.label("tenant_id"),
            row.invoice_id.label("invoice_id"),
            status.label("status"),
            paid.label("paid_cents"),
            owed.label("balance_cents"),
            row.due_date.label("due_date"),
        )
        .where(row.tenant_id == tenant_id, row.state == SYNCED)
        .subquery("quickbooks_states")
    )
    return InvoiceStates(table=table, statuses=STATUSES, not_held=NOT_SYNCED)


INTERRUPTED = (
    "The last sync did not finish. Sync again: Worklog360 looks for the invoice in "
    "QuickBooks first, so a second one is never made."
)


def sync_state_of(row: QuickBooksInvoiceSync | None, now: datetime) -> str:
    if row is None:
        return "not_started"
    if row.state == SYNCED:
        return "synced"
    if claim_is_live(row, now):
        return "in_progress"
    # Failed, or a claim whose request died: the next click takes it over.
    return "failed"


# QuickBooks' web app, by the environment of the connection (DESIGN.md: the block's `url`).
WEB_APP_URLS = {
    "sandbox": "https://app.sandbox.qbo.intuit.com",
    "production": "https://app.qbo.intuit.com",
}


def web_app_url(environment: str | None, qbo_id: str) -> str | None:
    """The invoice in QuickBooks' web app (it opens in the company the person is signed in
    to there, which QuickBooks lets them switch)."""
    base = WEB_APP_URLS.get(environment or "")
    return f"{base}/app/invoice?{urlencode({'txnId': qbo_id})}" if base else None


def block_of(
    row: QuickBooksInvoiceSync | None,
    payments: Sequence[QuickBooksInvoicePayment],
    now: datetime,
    environment: str | None = None,
) -> dict[str, Any]:
    today = now.date()
    sync_state = sync_state_of(row, now)
    synced = row is not None and row.state == SYNCED
    total = _stored(row.total) if row is not None and synced else None
    balance = _stored(row.balance) if row is not None and synced else None
    paid = total - balance if total is not None and balance is not None else None
    ours = _stored(row.invoice_total) if row is not None else None
    error = None
    if row is not None and row.last_error and sync_state != "in_progress":
        error = {"code": row.last_error_code or "quickbooks_sync_failed", "message": row.last_error}
    elif sync_state == "failed" and row is not None and row.state == SYNCING:
        error = {"code": "quickbooks_sync_interrupted", "message": INTERRUPTED}
    return {
        "invoice_id": row.qbo_id if row is not None and synced else None,
        "doc_number": row.doc_number if row is not None and synced else None,
        "url": (
            web_app_url(environment, row.qbo_id)
            if row is not None and synced and row.qbo_id and not row.deleted
            else None
        ),
        "status": status_of(row, today),
        "sync_state": sync_state,
        "sync_started_at": row.claimed_at
        if row is not None and sync_state == "in_progress"
        else None,
        "total": shown_money(total),
        "paid": shown_money(paid),
        "balance": shown_money(balance),
        "due_date": (
            row.due_date.isoformat() if row is not None and synced and row.due_date else None
        ),
        "synced_at": row.synced_at if row is not None and synced else None,
        "refreshed_at": row.refreshed_at if row is not None and synced else None,
        "total_changed_in_quickbooks": bool(
            synced
            and row is not None
            and not row.deleted
            and not row.voided
            and total is not None
            and ours is not None
            and total != ours
        ),
        "payments": [
            {
                "id": p.payment_id,
                "date": p.paid_on.isoformat() if p.paid_on else None,
                "amount": shown_money(p.amount),
                "reference": p.reference,
                "method": p.method,
            }
            for p in payments
        ]
        if synced
        else [],
        "error": error,
    }


async def invoice_blocks(
    session: AsyncSession, tenant_id: int, invoice_ids: Sequence[int]
) -> dict[int, dict[str, Any] | None]:
    ids = list(invoice_ids)
    rows = await repo.syncs_of_invoices(session, tenant_id, ids)
    payments = await repo.payments_of_invoices(
        session, tenant_id, [i for i, r in rows.items() if r.state == SYNCED]
    )
    connection = await connections.connection(session, tenant_id) if rows else None
    environment = connection.environment if connection is not None else None
    now = utc_now()
    return {i: block_of(rows.get(i), payments.get(i, []), now, environment) for i in ids}
