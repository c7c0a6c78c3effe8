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
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.money import money
from app.quickbooks import sync_repository as repo
from app.quickbooks.models import QuickBooksInvoicePayment, QuickBooksInvoiceSync
from app.quickbooks.sync_repository import SYNCED
from app.timeutil import utc_now

NOT_SYNCED = "not_synced"
ZERO = Decimal("0.00")


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
    return [
        {
            "tenant_id": tenant_id,
            "invoice_id": invoice_id,
            "payment_id": str(payment["Id"]),
            "paid_on": paid_on,
            "amount": amount,
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


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{money(value):.2f}"


def block_of(
    row: QuickBooksInvoiceSync | None,
    payments: Sequence[QuickBooksInvoicePayment],
    today: date,
) -> dict[str, Any]:
    synced = row is not None and row.state == SYNCED
    total = _stored(row.total) if row is not None and synced else None
    balance = _stored(row.balance) if row is not None and synced else None
    paid = total - balance if total is not None and balance is not None else None
    ours = _stored(row.invoice_total) if row is not None else None
    error = None
    if row is not None and row.last_error:
        error = {"code": row.last_error_code or "quickbooks_sync_failed", "message": row.last_error}
    return {
        "invoice_id": row.qbo_id if row is not None and synced else None,
        "doc_number": row.doc_number if row is not None and synced else None,
        "status": status_of(row, today),
        "total": _money_text(total),
        "paid": _money_text(paid),
        "balance": _money_text(balance),
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
                "amount": _money_text(p.amount),
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
    today = utc_now().date()
    return {i: block_of(rows.get(i), payments.get(i, []), today) for i in ids}
