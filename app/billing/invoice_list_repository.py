"""The SQL of the Invoices list: one page in any sort order, and the totals of the whole
filter, per currency, in one aggregate query. Every query names the tenant.

The accounting provider's figures (status, paid, balance, its due date) are joined in as a
subquery it hands over (`accounting.InvoiceStates`), so filtering by them, sorting by
balance and summing them happen in the database, never over pages in Python.

Paging is by keyset: the cursor holds the sort key of the last row shown, and the next page
starts strictly after it. Every sort ends with the invoice id, so ties never repeat or skip
a row. Keys that may be missing (a draft's number, its balance) are ranked first, so the
missing ones come last in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.billing.accounting import InvoiceStates
from app.billing.line_builder import cents
from app.billing.models import Budget, Client, Invoice

FINALIZED = "finalized"

Sql = ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass(frozen=True, slots=True)
class ListFilter:
    status: str | None = None
    provider_status: str | None = None
    overdue: bool | None = None
    client_id: int | None = None
    budget_id: int | None = None
    number_contains: str | None = None


@dataclass(frozen=True, slots=True)
class SortKey:
    """One part of a sort: the SQL, how a cursor writes it, and whether it follows the
    asked direction (a rank of missing values does not)."""

    sql: Sql
    kind: str  # "int", "str" or "date"
    follows: bool = True


@dataclass(frozen=True, slots=True)
class ListRow:
    invoice: Invoice
    client: Client
    budget: Budget
    paid_cents: int | None
    balance_cents: int | None
    due_date: date  # the provider's when it holds the invoice, else the invoice's
    provider_status: str | None
    keys: tuple[Any, ...]  # the row's sort key, for the cursor


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    currency: str
    count: int
    total_cents: int
    paid_cents: int
    balance_cents: int
    overdue_cents: int


class _Columns:
    """The list's computed columns over invoices joined with the provider's states."""

    def __init__(self, states: InvoiceStates | None, today: date) -> None:
        self.states = states
        self.today = today
        table = states.table if states is not None else None
        finalized = Invoice.status == FINALIZED
        self.provider_status: ColumnElement[Any] = (
            func.coalesce(table.c.status, literal(states.not_held))
            if table is not None and states is not None
            else null()
        )
        held_balance = table.c.balance_cents if table is not None else null()
        held_paid = table.c.paid_cents if table is not None else null()
        # What is owed and paid: the provider's figures when it holds the invoice, else the
        # whole total unpaid; a draft owes nothing yet.
        self.balance: ColumnElement[Any] = case(
            (finalized, func.coalesce(held_balance, cents(Invoice.total))), else_=null()
        )
        self.paid: ColumnElement[Any] = case(
            (finalized, func.coalesce(held_paid, literal(0))), else_=null()
        )
        self.due_date: Sql = (
            func.coalesce(table.c.due_date, Invoice.due_date, type_=Date)
            if table is not None
            else Invoice.due_date
        )
        self.overdue: ColumnElement[bool] = and_(finalized, self.balance > 0, self.due_date < today)

    def joined(self, query: Select[Any]) -> Select[Any]:
        if self.states is None:
            return query
        table = self.states.table
        return query.outerjoin(
            table, and_(table.c.tenant_id == Invoice.tenant_id, table.c.invoice_id == Invoice.id)
        )

    def sort(self, name: str) -> list[SortKey]:
        by_id = SortKey(Invoice.id, "int")
        if name == "number":
            # Numbers are prefix + sequence: INV-9 before INV-10, series by series.
            prefix = func.substr(
                Invoice.number,
                1,
                func.length(Invoice.number) - func.length(cast(Invoice.sequence, String)),
            )
            return [
                SortKey(case((Invoice.number.is_(None), 1), else_=0), "int", follows=False),
                SortKey(func.coalesce(prefix, ""), "str"),
                SortKey(func.coalesce(Invoice.sequence, 0), "int"),
                by_id,
            ]
        if name == "client":
            return [SortKey(func.lower(Client.name), "str"), by_id]
        if name == "issue_date":
            return [SortKey(Invoice.issue_date, "date"), by_id]
        if name == "due_date":
            return [SortKey(self.due_date, "date"), by_id]
        if name == "total":
            return [SortKey(cents(Invoice.total), "int"), by_id]
        if name == "balance":
            return [
                SortKey(case((self.balance.is_(None), 1), else_=0), "int", follows=False),
                SortKey(func.coalesce(self.balance, 0), "int"),
                by_id,
            ]
        return [by_id]  # "created": the order invoices were made in

    def where(self, query: Select[Any], tenant_id: int, f: ListFilter) -> Select[Any]:
        query = query.where(Invoice.tenant_id == tenant_id)
        if f.status is not None:
            query = query.where(Invoice.status == f.status)
        if f.provider_status is not None:
            if self.states is None:
                query = query.where(false())
            else:
                query = query.where(finalized_with(self.provider_status == f.provider_status))
        if f.overdue is not None:
            query = query.where(self.overdue if f.overdue else ~self.overdue)
        if f.client_id is not None:
            query = query.where(Invoice.client_id == f.client_id)
        if f.budget_id is not None:
            query = query.where(Invoice.budget_id == f.budget_id)
        if f.number_contains:
            pattern = "%" + _escape_like(f.number_contains.casefold()) + "%"
            query = query.where(func.lower(Invoice.number).like(pattern, escape="\\"))
        return query


def finalized_with(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """A provider's status belongs to finalized invoices only: drafts are never sent."""
    return and_(Invoice.status == FINALIZED, condition)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _after(keys: list[SortKey], values: tuple[Any, ...], descending: bool) -> ColumnElement[bool]:
    """Rows strictly after `values` in the sort: (k1 > v1) or (k1 = v1 and k2 > v2) or …,
    each comparison turned round for the keys that follow a descending sort."""
    alternatives = []
    for i, key in enumerate(keys):
        down = descending and key.follows
        step = key.sql < values[i] if down else key.sql > values[i]
        alternatives.append(and_(*[keys[j].sql == values[j] for j in range(i)], step))
    return or_(*alternatives)


async def page(
    session: AsyncSession,
    tenant_id: int,
    *,
    states: InvoiceStates | None,
    today: date,
    filters: ListFilter,
    sort: str,
    descending: bool,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[ListRow]:
    columns = _Columns(states, today)
    keys = columns.sort(sort)
    query = select(
        Invoice,
        Client,
        Budget,
        columns.paid,
        columns.balance,
        columns.due_date,
        columns.provider_status,
        *[key.sql for key in keys],
    ).select_from(Invoice)
    query = query.join(
        Client, and_(Client.tenant_id == Invoice.tenant_id, Client.id == Invoice.client_id)
    ).join(Budget, and_(Budget.tenant_id == Invoice.tenant_id, Budget.id == Invoice.budget_id))
    query = columns.where(columns.joined(query), tenant_id, filters)
    if after is not None:
        query = query.where(_after(keys, after, descending))
    order = [key.sql.desc() if descending and key.follows else key.sql.asc() for key in keys]
    result = await session.execute(query.order_by(*order).limit(limit))
    rows = []
    for row in result.all():
        invoice, client, budget, paid, balance, due, status = row[:7]
        rows.append(
            ListRow(
                invoice=invoice,
                client=client,
                budget=budget,
                paid_cents=None if paid is None else int(paid),
                balance_cents=None if balance is None else int(balance),
                due_date=_as_date(due),
                provider_status=status,
                keys=tuple(row[7:]),
            )
        )
    return rows


def sort_kinds(sort: str) -> list[str]:
    """How each part of a sort's key is written in a cursor."""
    return [key.kind for key in _Columns(None, date.min).sort(sort)]


async def totals(
    session: AsyncSession,
    tenant_id: int,
    *,
    states: InvoiceStates | None,
    today: date,
    filters: ListFilter,
) -> list[CurrencyTotals]:
    """Count, total, paid, balance and overdue balance of every invoice the filter finds,
    per currency (money in different currencies never adds up), in whole cents."""
    columns = _Columns(states, today)
    query = select(
        Invoice.currency,
        func.count(),
        func.coalesce(func.sum(cents(Invoice.total)), 0),
        func.coalesce(func.sum(columns.paid), 0),
        func.coalesce(func.sum(columns.balance), 0),
        func.coalesce(func.sum(case((columns.overdue, columns.balance), else_=0)), 0),
    ).select_from(Invoice)
    query = columns.where(columns.joined(query), tenant_id, filters)
    result = await session.execute(query.group_by(Invoice.currency).order_by(Invoice.currency))
    return [
        CurrencyTotals(currency, int(n), int(total), int(paid), int(balance), int(overdue))
        for currency, n, total, paid, balance, overdue in result.all()
    ]


def _as_date(value: Any) -> date:
    """SQLite hands a COALESCE of dates back as text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
