"""The Invoices list: filters, server-side sorting with a cursor that keeps its sort, and
the totals of the whole filter per currency.

* `status` is ours (draft, finalized); `quickbooks_status` is the accounting provider's
  (not_synced … deleted, finalized invoices only); `overdue=true` finds finalized invoices
  with something owed past their due date (the provider's balance and due date when it
  holds the invoice, else the total and our due date); `q` finds numbers containing it,
  whatever the case.
* `sort` is number, client, issue_date, due_date, total, balance (or created, the default:
  newest first); `order=desc` or a leading `-` reverses it. Ties go by invoice id.
* Totals count every invoice the filter finds, not just the page, one row per currency.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import accounting
from app.billing import invoice_list_repository as repo
from app.billing.invoice_list_repository import ListFilter, ListRow
from app.billing.models import Budget, Client, Invoice
from app.errors import Unprocessable
from app.timeutil import utc_now

SORTS = ("number", "client", "issue_date", "due_date", "total", "balance", "created")
STATUSES = ("draft", "finalized")
MAX_SEARCH = 100


@dataclass(frozen=True, slots=True)
class InvoiceListItem:
    invoice: Invoice
    client: Client
    budget: Budget
    paid: Decimal | None  # null for a draft
    balance: Decimal | None  # null for a draft
    days_overdue: int | None  # null unless something is owed past the due date


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    currency: str
    count: int
    total: Decimal
    paid: Decimal
    balance: Decimal
    overdue: Decimal  # the part of the balance past its due date


@dataclass(frozen=True, slots=True)
class InvoiceListPage:
    items: list[InvoiceListItem]
    next_cursor: str | None
    totals: list[CurrencyTotals]


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: str | None = None
    quickbooks_status: str | None = None
    overdue: bool | None = None
    client_id: int | None = None
    budget_id: int | None = None
    q: str | None = None
    sort: str | None = None
    order: str | None = None
    cursor: str | None = None
    limit: int = 100


async def list_invoices(session: AsyncSession, tenant_id: int, query: ListQuery) -> InvoiceListPage:
    today = utc_now().date()
    states = accounting.invoice_states(tenant_id, today)
    filters = _filters(query, states)
    sort, descending = _sort(query.sort, query.order)
    after = _decode(query.cursor, sort, descending)
    rows = await repo.page(
        session,
        tenant_id,
        states=states,
        today=today,
        filters=filters,
        sort=sort,
        descending=descending,
        after=after,
        limit=query.limit + 1,
    )
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        next_cursor = _encode(sort, descending, rows[-1].keys)
    sums = await repo.totals(session, tenant_id, states=states, today=today, filters=filters)
    totals = [
        CurrencyTotals(
            currency=t.currency,
            count=t.count,
            total=Decimal(t.total_cents).scaleb(-2),
            paid=Decimal(t.paid_cents).scaleb(-2),
            balance=Decimal(t.balance_cents).scaleb(-2),
            overdue=Decimal(t.overdue_cents).scaleb(-2),
        )
        for t in sums
    ]
    return InvoiceListPage([_item(row, today) for row in rows], next_cursor, totals)


def _item(row: ListRow, today: date) -> InvoiceListItem:
    balance = _money(row.balance_cents)
    late = (today - row.due_date).days
    overdue = row.invoice.status == repo.FINALIZED and balance is not None and balance > 0
    return InvoiceListItem(
        invoice=row.invoice,
        client=row.client,
        budget=row.budget,
        paid=_money(row.paid_cents),
        balance=balance,
        days_overdue=late if overdue and late > 0 else None,
    )


def _money(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value).scaleb(-2)


# --- what the request asks -------------------------------------------------------------------


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + " or " + values[-1]


def _filters(query: ListQuery, states: accounting.InvoiceStates | None) -> ListFilter:
    if query.status is not None and query.status not in STATUSES:
        raise Unprocessable(
            f"There is no invoice status '{query.status}': filter by {_one_of(STATUSES)} "
            f"(QuickBooks' statuses go in quickbooks_status).",
            code="invalid_filter",
        )
    provider_statuses = states.statuses if states is not None else ()
    if query.quickbooks_status is not None and query.quickbooks_status not in provider_statuses:
        choices = (
            f"filter by {_one_of(provider_statuses)}"
            if provider_statuses
            else "no accounting system is set up"
        )
        raise Unprocessable(
            f"There is no QuickBooks status '{query.quickbooks_status}': {choices}.",
            code="invalid_filter",
        )
    search = (query.q or "").strip()
    if len(search) > MAX_SEARCH:
        raise Unprocessable(
            f"Search for an invoice number of at most {MAX_SEARCH} characters.",
            code="invalid_filter",
        )
    return ListFilter(
        status=query.status,
        provider_status=query.quickbooks_status,
        overdue=query.overdue,
        client_id=query.client_id,
        budget_id=query.budget_id,
        number_contains=search or None,
    )


def _sort(sort: str | None, order: str | None) -> tuple[str, bool]:
    name = (sort or "created").strip()
    minus = name.startswith("-")
    name = name.removeprefix("-")
    if name not in SORTS:
        raise Unprocessable(
            f"Invoices cannot be sorted by '{sort}': sort by {_one_of(SORTS[:-1])} "
            f"(order=desc, or a leading '-', sorts the other way).",
            code="invalid_sort",
        )
    if order is not None and order not in ("asc", "desc"):
        raise Unprocessable(
            f"The order '{order}' is not one: use order=asc or order=desc.", code="invalid_sort"
        )
    if minus and order == "asc":
        raise Unprocessable(
            f"sort={sort} already sorts descending: leave out order=asc, or the '-'.",
            code="invalid_sort",
        )
    if minus or order == "desc":
        return name, True
    if order == "asc":
        return name, False
    return name, name == "created"  # newest first unless asked otherwise


# --- cursors ---------------------------------------------------------------------------------


def _encode(sort: str, descending: bool, keys: tuple[Any, ...]) -> str:
    values = [k.isoformat() if isinstance(k, date) else k for k in keys]
    text = json.dumps([sort, descending, values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str | None, sort: str, descending: bool) -> tuple[Any, ...] | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, cursor_descending, values = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise _bad_cursor() from None
    if cursor_sort != sort or cursor_descending is not descending:
        raise Unprocessable(
            "This next-page link was made for another sort order: start again from the first page.",
            code="invalid_cursor",
        )
    kinds = repo.sort_kinds(sort)
    if not isinstance(values, list) or len(values) != len(kinds):
        raise _bad_cursor()
    try:
        return tuple(_typed(kind, value) for kind, value in zip(kinds, values, strict=True))
    except (ValueError, TypeError):
        raise _bad_cursor() from None


def _typed(kind: str, value: Any) -> Any:
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 2**63:
            raise ValueError("out of range")
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(kind)


def _bad_cursor() -> Unprocessable:
    return Unprocessable(
        "The cursor is not one this API gave out: start again from the first page.",
        code="invalid_cursor",
    )
