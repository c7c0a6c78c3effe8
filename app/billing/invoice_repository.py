"""All SQL of invoices. Every query names the tenant.

Generating an invoice happens inside the database: the budget's worklogs are priced and
claimed with one INSERT … SELECT, grouped into lines with one GROUP BY, and tied to their
lines with one UPDATE — never a Python loop over tens of thousands of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.models import (
    BudgetMemberRate,
    BudgetProject,
    Invoice,
    InvoiceLine,
    InvoiceWorklog,
    WorklogAssignment,
    WorklogRateOverride,
)
from app.billing.money import RoundingMode, billed_seconds_sql
from app.billing.rates import RateSource
from app.billing.repository import auto_budget_id
from app.db import dialect_insert
from app.worklogs.models import JiraIssue, Worklog

GROUP_KEYS: dict[str, Any] = {
    "issue": lambda: cast(Worklog.issue_id, String),
    "author": lambda: Worklog.author_account_id,
    "worklog": lambda: cast(Worklog.id, String),
}


@dataclass(frozen=True, slots=True)
class Fallback:
    """The rate a worklog bills at when neither it nor its person has one on the budget:
    the budget's, else the client's, else the site's default (constant for one budget)."""

    rate: Decimal | None
    source: RateSource | None


def _budget_worklogs(
    tenant_id: int, budget_id: int, budget_starts: date, budget_ends: date | None
) -> ColumnElement[bool]:
    """Worklogs that belong to the budget: chosen by hand, or matched automatically. The
    cheap tests (project, period) come before the subquery that picks one budget."""
    assigned = select(WorklogAssignment.budget_id).where(
        WorklogAssignment.tenant_id == tenant_id, WorklogAssignment.worklog_id == Worklog.id
    )
    in_projects = exists().where(
        BudgetProject.tenant_id == tenant_id,
        BudgetProject.budget_id == budget_id,
        BudgetProject.project_key == JiraIssue.project_key,
    )
    in_period: list[ColumnElement[bool]] = [Worklog.started_on >= budget_starts]
    if budget_ends is not None:
        in_period.append(Worklog.started_on <= budget_ends)
    return or_(
        exists(assigned.where(WorklogAssignment.budget_id == budget_id)),
        and_(
            ~exists(assigned),
            in_projects,
            *in_period,
            auto_budget_id() == budget_id,
        ),
    )


def _not_invoiced(tenant_id: int) -> ColumnElement[bool]:
    return ~exists().where(
        InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.worklog_id == Worklog.id
    )


def _rate_columns(tenant_id: int, budget_id: int) -> tuple[Any, Any]:
    """The worklog's own override and its person's dated rate on the budget (or NULL)."""
    override = (
        select(WorklogRateOverride.hourly_rate)
        .where(
            WorklogRateOverride.tenant_id == tenant_id,
            WorklogRateOverride.worklog_id == Worklog.id,
        )
        .scalar_subquery()
    )
    member = (
        select(BudgetMemberRate.hourly_rate)
        .where(
            BudgetMemberRate.tenant_id == tenant_id,
            BudgetMemberRate.budget_id == budget_id,
            BudgetMemberRate.account_id == Worklog.author_account_id,
            BudgetMemberRate.effective_from <= Worklog.started_on,
        )
        .order_by(BudgetMemberRate.effective_from.desc())
        .limit(1)
        .scalar_subquery()
    )
    return override, member


def _candidates(
    tenant_id: int,
    budget_id: int,
    budget_starts: date,
    budget_ends: date | None,
    period_start: date,
    period_end: date,
) -> list[ColumnElement[bool]]:
    return [
        Worklog.tenant_id == tenant_id,
        Worklog.deleted_in_jira_at.is_(None),
        Worklog.billable.is_(True),
        Worklog.started_on >= period_start,
        Worklog.started_on <= period_end,
        _not_invoiced(tenant_id),
        _budget_worklogs(tenant_id, budget_id, budget_starts, budget_ends),
    ]


def _from_worklogs(tenant_id: int) -> Any:
    return (
        select()
        .select_from(Worklog)
        .join(JiraIssue, and_(JiraIssue.tenant_id == tenant_id, JiraIssue.id == Worklog.issue_id))
    )


async def unpriced_worklog_ids(
    session: AsyncSession,
    tenant_id: int,
    budget_id: int,
    budget_starts: date,
    budget_ends: date | None,
    period_start: date,
    period_end: date,
    *,
    limit: int,
) -> list[int]:
    """Worklogs that would go on the invoice but have no rate at all (asked only when the
    budget, client and site have none)."""
    override, member = _rate_columns(tenant_id, budget_id)
    query = (
        _from_worklogs(tenant_id)
        .add_columns(Worklog.id)
        .where(
            *_candidates(
                tenant_id, budget_id, budget_starts, budget_ends, period_start, period_end
            ),
            func.coalesce(override, member).is_(None),
        )
        .order_by(Worklog.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def claim_worklogs(
    session: AsyncSession,
    *,
    tenant_id: int,
    invoice_id: int,
    budget_id: int,
    budget_starts: date,
    budget_ends: date | None,
    period_start: date,
    period_end: date,
    group_by: str,
    rounding_minutes: int,
    rounding_mode: RoundingMode,
    fallback: Fallback,
) -> int:
    """Put every billable, not yet invoiced worklog of the budget in the period on the
    invoice, priced. A worklog another invoice claimed first (even a moment ago, in another
    transaction) is skipped by the primary key, never claimed twice. Returns the count."""
    override, member = _rate_columns(tenant_id, budget_id)
    inner = (
        _from_worklogs(tenant_id)
        .add_columns(
            Worklog.id.label("worklog_id"),
            GROUP_KEYS[group_by]().label("group_key"),
            Worklog.time_spent_seconds.label("seconds"),
            billed_seconds_sql(Worklog.time_spent_seconds, rounding_minutes, rounding_mode).label(
                "billed_seconds"
            ),
            override.label("override_rate"),
            member.label("member_rate"),
            Worklog.jira_updated_at.label("jira_updated_at"),
        )
        .where(
            *_candidates(tenant_id, budget_id, budget_starts, budget_ends, period_start, period_end)
        )
        .subquery()
    )
    rate = func.coalesce(inner.c.override_rate, inner.c.member_rate, fallback.rate)
    source = case(
        (inner.c.override_rate.is_not(None), literal(RateSource.WORKLOG.value)),
        (inner.c.member_rate.is_not(None), literal(RateSource.BUDGET_MEMBER.value)),
        else_=literal(fallback.source.value if fallback.source else ""),
    )
    source_rows = select(
        literal(tenant_id),
        inner.c.worklog_id,
        literal(invoice_id),
        inner.c.group_key,
        inner.c.seconds,
        inner.c.billed_seconds,
        rate,
        source,
        inner.c.jira_updated_at,
    ).where(true())  # SQLite parses INSERT … SELECT … ON CONFLICT only after a WHERE
    statement = (
        dialect_insert(session)(InvoiceWorklog)
        .from_select(
            [
                "tenant_id",
                "worklog_id",
                "invoice_id",
                "group_key",
                "seconds",
                "billed_seconds",
                "rate",
                "rate_source",
                "jira_updated_at",
            ],
            source_rows,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "worklog_id"])
    )
    await session.execute(statement)
    # Counted, not taken from rowcount: drivers disagree on it for INSERT … SELECT.
    claimed = await session.scalar(
        select(func.count()).where(
            InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.invoice_id == invoice_id
        )
    )
    return int(claimed or 0)


@dataclass(frozen=True, slots=True)
class LineGroup:
    group_key: str
    rate: Decimal
    actual_seconds: int
    billed_seconds: int
    worklogs: int
    first_started_at: datetime
    issue_key: str | None
    issue_summary: str | None
    issue_id: int
    author_name: str | None
    author_account_id: str
    comment: str | None
    started_on: date


async def line_groups(session: AsyncSession, tenant_id: int, invoice_id: int) -> list[LineGroup]:
    """The claimed worklogs summed per (group, rate), with what a description needs."""
    query = (
        select(
            InvoiceWorklog.group_key,
            InvoiceWorklog.rate,
            func.sum(InvoiceWorklog.seconds),
            func.sum(InvoiceWorklog.billed_seconds),
            func.count(),
            func.min(Worklog.started_at),
            func.max(JiraIssue.key),
            func.max(JiraIssue.summary),
            func.max(Worklog.issue_id),
            func.max(Worklog.author_display_name),
            func.max(Worklog.author_account_id),
            func.max(Worklog.comment),
            func.min(Worklog.started_on),
        )
        .join(
            Worklog,
            and_(Worklog.tenant_id == tenant_id, Worklog.id == InvoiceWorklog.worklog_id),
        )
        .join(JiraIssue, and_(JiraIssue.tenant_id == tenant_id, JiraIssue.id == Worklog.issue_id))
        .where(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.invoice_id == invoice_id)
        .group_by(InvoiceWorklog.group_key, InvoiceWorklog.rate)
    )
    return [
        LineGroup(
            group_key=row[0],
            rate=Decimal(row[1]),
            actual_seconds=int(row[2]),
            billed_seconds=int(row[3]),
            worklogs=int(row[4]),
            first_started_at=row[5],
            issue_key=row[6],
            issue_summary=row[7],
            issue_id=int(row[8]),
            author_name=row[9],
            author_account_id=row[10],
            comment=row[11],
            started_on=row[12],
        )
        for row in (await session.execute(query)).all()
    ]


async def insert_lines(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(dialect_insert(session)(InvoiceLine), list(rows))


async def tie_worklogs_to_lines(session: AsyncSession, tenant_id: int, invoice_id: int) -> None:
    line = (
        select(InvoiceLine.id)
        .where(
            InvoiceLine.tenant_id == tenant_id,
            InvoiceLine.invoice_id == invoice_id,
            InvoiceLine.group_key == InvoiceWorklog.group_key,
            InvoiceLine.rate == InvoiceWorklog.rate,
        )
        .scalar_subquery()
    )
    await session.execute(
        update(InvoiceWorklog)
        .where(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.invoice_id == invoice_id)
        .values(line_id=line)
    )


# --- reading ----------------------------------------------------------------------------------


async def invoice(
    session: AsyncSession, tenant_id: int, invoice_id: int, *, for_update: bool = False
) -> Invoice | None:
    query = select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.id == invoice_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def invoices(
    session: AsyncSession,
    tenant_id: int,
    *,
    before_id: int | None,
    limit: int,
    status: str | None,
    client_id: int | None,
    budget_id: int | None,
) -> list[Invoice]:
    """Newest first: the invoice a person just made is the one they look for."""
    query = select(Invoice).where(Invoice.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(Invoice.id < before_id)
    if status is not None:
        query = query.where(Invoice.status == status)
    if client_id is not None:
        query = query.where(Invoice.client_id == client_id)
    if budget_id is not None:
        query = query.where(Invoice.budget_id == budget_id)
    result = await session.execute(query.order_by(Invoice.id.desc()).limit(limit))
    return list(result.scalars())


async def lines(session: AsyncSession, tenant_id: int, invoice_id: int) -> list[InvoiceLine]:
    result = await session.execute(
        select(InvoiceLine)
        .where(InvoiceLine.tenant_id == tenant_id, InvoiceLine.invoice_id == invoice_id)
        .order_by(InvoiceLine.position, InvoiceLine.id)
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def line(
    session: AsyncSession, tenant_id: int, invoice_id: int, line_id: int
) -> InvoiceLine | None:
    result = await session.execute(
        select(InvoiceLine).where(
            InvoiceLine.tenant_id == tenant_id,
            InvoiceLine.invoice_id == invoice_id,
            InvoiceLine.id == line_id,
        )
    )
    return result.scalar_one_or_none()


async def worklog_ids_by_line(
    session: AsyncSession, tenant_id: int, invoice_id: int
) -> dict[int, list[int]]:
    result = await session.execute(
        select(InvoiceWorklog.line_id, InvoiceWorklog.worklog_id)
        .where(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.invoice_id == invoice_id)
        .order_by(InvoiceWorklog.worklog_id)
    )
    by_line: dict[int, list[int]] = {}
    for line_id, worklog_id in result.all():
        if line_id is not None:
            by_line.setdefault(line_id, []).append(worklog_id)
    return by_line


@dataclass(frozen=True, slots=True)
class Drift:
    worklog_id: int
    change: str  # "updated" or "deleted"
    detected_at: datetime


async def drift(session: AsyncSession, tenant_id: int, invoice_id: int) -> list[Drift]:
    """Worklogs changed or deleted in Jira since they were invoiced."""
    result = await session.execute(
        select(Worklog.id, Worklog.deleted_in_jira_at, Worklog.mirrored_at)
        .join(
            InvoiceWorklog,
            and_(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.worklog_id == Worklog.id),
        )
        .where(
            Worklog.tenant_id == tenant_id,
            InvoiceWorklog.invoice_id == invoice_id,
            or_(
                Worklog.deleted_in_jira_at.is_not(None),
                Worklog.jira_updated_at != InvoiceWorklog.jira_updated_at,
            ),
        )
        .order_by(Worklog.id)
    )
    return [
        Drift(worklog_id, "deleted", deleted_at)
        if deleted_at is not None
        else Drift(worklog_id, "updated", mirrored_at)
        for worklog_id, deleted_at, mirrored_at in result.all()
    ]


async def invoices_of_worklogs(
    session: AsyncSession, tenant_id: int, worklog_ids: Sequence[int]
) -> list[tuple[int, Invoice]]:
    """(worklog id, invoice) for those of the worklogs that are on an invoice."""
    if not worklog_ids:
        return []
    result = await session.execute(
        select(InvoiceWorklog.worklog_id, Invoice)
        .join(
            Invoice,
            and_(Invoice.tenant_id == tenant_id, Invoice.id == InvoiceWorklog.invoice_id),
        )
        .where(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.worklog_id.in_(worklog_ids))
        .order_by(InvoiceWorklog.worklog_id)
    )
    return [(row[0], row[1]) for row in result.all()]


async def has_invoices(session: AsyncSession, tenant_id: int, *, client_id: int) -> bool:
    result = await session.execute(
        select(Invoice.id)
        .where(Invoice.tenant_id == tenant_id, Invoice.client_id == client_id)
        .limit(1)
    )
    return result.first() is not None


async def invoiced_figures(
    session: AsyncSession, tenant_id: int, budget_ids: Sequence[int]
) -> dict[int, tuple[Decimal, Decimal]]:
    """(hours, amount) on finalized invoices per budget. Summed per invoice in SQL, then in
    Python as Decimal: SQLite keeps numerics as binary floating point."""
    if not budget_ids:
        return {}
    hours_per_invoice = (
        select(InvoiceLine.invoice_id, func.sum(InvoiceLine.hours).label("hours"))
        .where(InvoiceLine.tenant_id == tenant_id)
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    result = await session.execute(
        select(Invoice.budget_id, Invoice.total, hours_per_invoice.c.hours)
        .outerjoin(hours_per_invoice, hours_per_invoice.c.invoice_id == Invoice.id)
        .where(
            Invoice.tenant_id == tenant_id,
            Invoice.budget_id.in_(budget_ids),
            Invoice.status == "finalized",
        )
    )
    figures: dict[int, tuple[Decimal, Decimal]] = {}
    for budget_id, total, hours in result.all():
        hours_so_far, amount_so_far = figures.get(budget_id, (Decimal(0), Decimal(0)))
        figures[budget_id] = (
            hours_so_far + _decimal(hours),
            amount_so_far + _decimal(total),
        )
    return figures


def _decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return Decimal(str(value)).quantize(Decimal("0.01"))


async def delete_invoice(session: AsyncSession, tenant_id: int, invoice_id: int) -> None:
    await session.execute(
        delete(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.id == invoice_id)
    )


async def number_taken(session: AsyncSession, tenant_id: int, number: str) -> bool:
    result = await session.execute(
        select(Invoice.id).where(Invoice.tenant_id == tenant_id, Invoice.number == number)
    )
    return result.first() is not None
