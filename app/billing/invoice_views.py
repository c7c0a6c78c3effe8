"""Invoices as the API shows them: from billing's views (app.billing.invoices) to the API's
shapes, names and money visibility applied. Billing's routes and the provider's (Sync with
QB, Refresh answer with the invoice) build their answers here, not from each other."""

from __future__ import annotations

from datetime import timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import accounting
from app.billing import invoices as service
from app.billing.caps import CapWarning
from app.billing.invoice_list import InvoiceListItem
from app.billing.invoice_repository import Drift, LineView, LineWorklog
from app.billing.invoice_schemas import (
    CapWarningOut,
    DriftOut,
    InvoiceOut,
    InvoiceStatus,
    LineOut,
    LineWorklogOut,
    NamedRef,
)
from app.billing.invoices import InvoiceView
from app.billing.money import hours
from app.billing.money_view import money_hidden
from app.tenants.people import PersonNames
from app.tenants.schemas import Person


def summary_fields(item: InvoiceListItem | InvoiceView, names: PersonNames) -> dict[str, object]:
    invoice = item.invoice
    return {
        "id": invoice.id,
        "number": invoice.number,
        "status": InvoiceStatus(invoice.status),
        "client": NamedRef(id=item.client.id, name=item.client.name),
        "budget": NamedRef(id=item.budget.id, name=item.budget.name),
        "currency": invoice.currency,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "group_by": invoice.group_by,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "total": invoice.total,
        "created_at": invoice.created_at,
        "created_by": names.person(invoice.created_by),
        "finalized_at": invoice.finalized_at,
        "finalized_by": names.person(invoice.finalized_by),
    }


def lines_out(lines: list[LineView], worklog_ids: dict[int, list[int]]) -> list[LineOut]:
    return [
        LineOut(
            id=line.id,
            kind=line.kind,
            description=line.description,
            actual_hours=line.actual_hours,
            hours=line.hours,
            rate=line.rate,
            amount=line.amount,
            worklog_ids=[str(i) for i in worklog_ids.get(line.id, [])],
        )
        for line in lines
    ]


def drift_out(d: Drift) -> DriftOut:
    return DriftOut(
        worklog_id=str(d.worklog_id),
        change=d.change,
        detected_at=d.detected_at,
        issue_key=d.issue_key,
        author=Person(account_id=d.author_account_id, display_name=d.author_display_name),
        started_on=d.started_on,
        hours=hours(d.seconds),
        hours_now=None if d.seconds_now is None else hours(d.seconds_now),
    )


def line_worklog_out(w: LineWorklog) -> LineWorklogOut:
    started = w.started_at
    if w.started_offset_minutes is not None:
        started = started.astimezone(timezone(timedelta(minutes=w.started_offset_minutes)))
    return LineWorklogOut(
        id=str(w.worklog_id),
        issue_key=w.issue_key,
        issue_summary=w.issue_summary,
        author=Person(account_id=w.author_account_id, display_name=w.author_display_name),
        started=started.isoformat(timespec="milliseconds"),
        started_on=w.started_on,
        actual_hours=hours(w.seconds),
        hours=hours(w.billed_seconds),
        comment=w.comment or "",
        deleted_in_jira=w.deleted_in_jira,
    )


async def invoice_out(session: AsyncSession, view: InvoiceView, names: PersonNames) -> InvoiceOut:
    invoice = view.invoice
    blocks = await accounting.invoice_blocks(session, invoice.tenant_id, [invoice.id])
    return InvoiceOut(
        **summary_fields(view, names),
        quickbooks=blocks.get(invoice.id),
        notes=invoice.notes,
        internal_note=invoice.internal_note,
        rounding_minutes=invoice.rounding_minutes,
        rounding_mode=invoice.rounding_mode,
        actual_hours=hours(view.figures.actual_seconds),
        hours=view.figures.hours,
        lines=lines_out(view.lines, view.worklog_ids),
        line_count=view.figures.lines,
        worklog_count=view.figures.worklogs,
        lines_next_cursor=view.lines_next_cursor,
        drift=[drift_out(d) for d in view.drift],
        cap_warnings=cap_warnings_out(view.cap_warnings, view.budget.name),
    )


def cap_warnings_out(warnings: list[CapWarning], budget_name: str) -> list[CapWarningOut]:
    return [
        CapWarningOut(
            kind=w.kind.value,
            currency=w.currency,
            cap=w.cap,
            invoiced_before=w.invoiced_before,
            this_invoice=w.this_invoice,
            after=w.after,
            over=w.over,
            message=w.sentence(budget_name),
        )
        for w in warnings
        # A money cap's figures are money: not for a reader the site hides money from.
        if not (w.kind.value == "amount" and money_hidden())
    ]


async def read_invoice_out(
    session: AsyncSession, tenant_id: int, invoice_id: int, names: PersonNames
) -> InvoiceOut:
    """`GET /api/invoices/{id}`'s answer: 404 for an invoice of another site."""
    view = await service.view_invoice(session, tenant_id, invoice_id)
    await names.learn([view.invoice.created_by, view.invoice.finalized_by])
    return await invoice_out(session, view, names)
