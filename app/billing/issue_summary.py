"""One Jira issue's billing figures, for the issue glance: hours logged on it, how many of
them are billed (on finalized invoices), on draft invoices, and not billed yet.

Logged hours are Jira's (live worklogs, deleted ones left out). Billed hours are what the
finalized invoices charged for them (the rounding of the day applied), so they can differ
from the logged hours of the same worklogs; the invoices that hold them are listed.
Unbilled is what is billable and on no finalized invoice, as logged (rounding happens when an
invoice is made). Open to every user of the site, like every other read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.models import Invoice, InvoiceWorklog
from app.billing.schemas import HoursOut
from app.dependencies import SessionDep
from app.quantities import hours
from app.tenants.auth import ApiContext
from app.worklogs.models import JiraIssue, Worklog

# An issue on more invoices than this lists the newest ones.
MAX_INVOICES = 20


@dataclass(frozen=True, slots=True)
class IssueInvoice:
    id: int
    number: str | None
    status: str
    hours: Decimal


@dataclass(frozen=True, slots=True)
class IssueBilling:
    issue_id: int
    issue_key: str | None
    worklogs: int
    logged_hours: Decimal
    billable_hours: Decimal
    non_billable_hours: Decimal
    billed_hours: Decimal
    draft_hours: Decimal
    unbilled_hours: Decimal
    invoices: list[IssueInvoice]


async def issue_billing(session: AsyncSession, tenant_id: int, issue_id: int) -> IssueBilling:
    """The figures of one issue; zeros for an issue without worklogs (or not mirrored)."""
    key = await session.scalar(
        select(JiraIssue.key).where(JiraIssue.tenant_id == tenant_id, JiraIssue.id == issue_id)
    )
    finalized = Invoice.status == "finalized"
    on_invoice = and_(
        InvoiceWorklog.tenant_id == Worklog.tenant_id, InvoiceWorklog.worklog_id == Worklog.id
    )
    invoice_of = and_(
        Invoice.tenant_id == InvoiceWorklog.tenant_id, Invoice.id == InvoiceWorklog.invoice_id
    )
    seconds = Worklog.time_spent_seconds
    billable = Worklog.billable.is_(True)
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(seconds), 0),
                func.coalesce(func.sum(case((billable, seconds), else_=0)), 0),
                func.coalesce(
                    func.sum(
                        case(
                            (and_(billable, or_(Invoice.id.is_(None), ~finalized)), seconds),
                            else_=0,
                        )
                    ),
                    0,
                ),
                func.coalesce(
                    func.sum(case((Invoice.status == "draft", seconds), else_=0)),
                    0,
                ),
            )
            .select_from(Worklog)
            .outerjoin(InvoiceWorklog, on_invoice)
            .outerjoin(Invoice, invoice_of)
            .where(
                Worklog.tenant_id == tenant_id,
                Worklog.issue_id == issue_id,
                Worklog.deleted_in_jira_at.is_(None),
            )
        )
    ).one()
    count, logged, billable_seconds, unbilled, draft = (int(v or 0) for v in row)
    # Billed: what finalized invoices charged for this issue's worklogs, deleted ones too
    # (an invoice keeps what it billed whatever Jira does later).
    per_invoice = (
        await session.execute(
            select(
                Invoice.id,
                Invoice.number,
                Invoice.status,
                func.sum(InvoiceWorklog.billed_seconds),
            )
            .select_from(InvoiceWorklog)
            .join(Invoice, invoice_of)
            .where(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.issue_id == issue_id)
            .group_by(Invoice.id, Invoice.number, Invoice.status)
            .order_by(Invoice.id.desc())
            .limit(MAX_INVOICES)
        )
    ).all()
    billed = await session.scalar(
        select(func.coalesce(func.sum(InvoiceWorklog.billed_seconds), 0))
        .select_from(InvoiceWorklog)
        .join(Invoice, invoice_of)
        .where(
            InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.issue_id == issue_id, finalized
        )
    )
    return IssueBilling(
        issue_id=issue_id,
        issue_key=key,
        worklogs=count,
        logged_hours=hours(logged),
        billable_hours=hours(billable_seconds),
        non_billable_hours=hours(logged - billable_seconds),
        billed_hours=hours(int(billed or 0)),
        draft_hours=hours(draft),
        unbilled_hours=hours(unbilled),
        invoices=[
            IssueInvoice(id=i, number=number, status=status, hours=hours(int(s or 0)))
            for i, number, status, s in per_invoice
        ],
    )


# --- the route (registered by report_routes) -------------------------------------------------

router = APIRouter(tags=["reports"])


class IssueInvoiceOut(BaseModel):
    id: int
    number: str | None
    status: str
    hours: HoursOut


class IssueBillingOut(BaseModel):
    issue_id: str
    issue_key: str | None
    worklogs: int
    logged_hours: HoursOut
    billable_hours: HoursOut
    non_billable_hours: HoursOut
    billed_hours: HoursOut
    draft_hours: HoursOut
    unbilled_hours: HoursOut
    invoices: list[IssueInvoiceOut]


IssueId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/issues/{issue_id}/billing", response_model=IssueBillingOut)
async def read_issue_billing(
    issue_id: IssueId, context: ApiContext, session: SessionDep
) -> IssueBillingOut:
    """Hours logged, billed (finalized invoices), on drafts and unbilled on one issue."""
    figures = await issue_billing(session, context.tenant.id, issue_id)
    return IssueBillingOut(
        issue_id=str(figures.issue_id),
        issue_key=figures.issue_key,
        worklogs=figures.worklogs,
        logged_hours=figures.logged_hours,
        billable_hours=figures.billable_hours,
        non_billable_hours=figures.non_billable_hours,
        billed_hours=figures.billed_hours,
        draft_hours=figures.draft_hours,
        unbilled_hours=figures.unbilled_hours,
        invoices=[
            IssueInvoiceOut(id=i.id, number=i.number, status=i.status, hours=i.hours)
            for i in figures.invoices
        ],
    )
