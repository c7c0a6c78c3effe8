"""Invoice API: generate from a budget, read, review a draft, finalize. Reading is open to
every user of the site; everything else needs a billing editor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.billing import accounting
from app.billing import invoices as service
from app.billing.editor import BillingEditor
from app.billing.invoice_repository import LineView
from app.billing.invoice_schemas import (
    DriftOut,
    InvoiceGenerate,
    InvoiceOut,
    InvoicePage,
    InvoicePatch,
    InvoiceStatus,
    InvoiceSummary,
    LineIn,
    LineOut,
    LinePageOut,
    LinePatch,
    NamedRef,
)
from app.billing.invoices import InvoiceListItem, InvoiceView
from app.billing.money import hours
from app.dependencies import RuntimeDep, SessionDep
from app.ids import RowId
from app.tenants.auth import ApiContext
from app.tenants.people import PersonNames, PersonNamesDep

router = APIRouter(prefix="/api", tags=["invoices"])


async def invoice_person_names(
    invoice_id: RowId, runtime: RuntimeDep, context: ApiContext
) -> PersonNames:
    """The caller and the invoice's people, named before the request's transaction opens
    (a write must not wait on Jira inside it): a change made by one person shows who
    made and finalized the invoice, as reading it does."""
    names = PersonNames(runtime, context.tenant)
    async with runtime.sessions() as session:
        people = await service.invoice_people(session, context.tenant.id, invoice_id)
    await names.learn([context.account_id, *people])
    return names


# Before the SessionDep parameter: FastAPI resolves dependencies in that order.
InvoicePersonNamesDep = Annotated[PersonNames, Depends(invoice_person_names)]


def _summary_fields(item: InvoiceListItem | InvoiceView, names: PersonNames) -> dict[str, object]:
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


def _lines(lines: list[LineView], worklog_ids: dict[int, list[int]]) -> list[LineOut]:
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


async def _out(session: SessionDep, view: InvoiceView, names: PersonNames) -> InvoiceOut:
    invoice = view.invoice
    blocks = await accounting.invoice_blocks(session, invoice.tenant_id, [invoice.id])
    return InvoiceOut(
        **_summary_fields(view, names),
        quickbooks=blocks.get(invoice.id),
        notes=invoice.notes,
        rounding_minutes=invoice.rounding_minutes,
        rounding_mode=invoice.rounding_mode,
        actual_hours=hours(view.figures.actual_seconds),
        hours=view.figures.hours,
        lines=_lines(view.lines, view.worklog_ids),
        line_count=view.figures.lines,
        worklog_count=view.figures.worklogs,
        lines_next_cursor=view.lines_next_cursor,
        drift=[
            DriftOut(worklog_id=str(d.worklog_id), change=d.change, detected_at=d.detected_at)
            for d in view.drift
        ],
    )


@router.post("/budgets/{budget_id}/invoices", response_model=InvoiceOut, status_code=201)
async def generate_invoice(
    _editor: BillingEditor,
    budget_id: RowId,
    data: InvoiceGenerate,
    context: ApiContext,
    names: PersonNamesDep,
    session: SessionDep,
) -> InvoiceOut:
    view = await service.generate_invoice(
        session, context.tenant.id, budget_id, data, by=context.account_id
    )
    return await _out(session, view, names)


@router.get("/invoices", response_model=InvoicePage)
async def list_invoices(
    context: ApiContext,
    names: PersonNamesDep,
    session: SessionDep,
    status: InvoiceStatus | None = None,
    client_id: RowId | None = None,
    budget_id: RowId | None = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> InvoicePage:
    items, next_cursor = await service.list_invoices(
        session,
        context.tenant.id,
        cursor=cursor,
        limit=limit,
        status=status,
        client_id=client_id,
        budget_id=budget_id,
    )
    blocks = await accounting.invoice_blocks(
        session, context.tenant.id, [item.invoice.id for item in items]
    )
    await names.learn(
        person for item in items for person in (item.invoice.created_by, item.invoice.finalized_by)
    )
    return InvoicePage(
        items=[
            InvoiceSummary(
                **_summary_fields(item, names),
                quickbooks=blocks.get(item.invoice.id),
            )
            for item in items
        ],
        next_cursor=next_cursor,
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def read_invoice(
    invoice_id: RowId, context: ApiContext, names: PersonNamesDep, session: SessionDep
) -> InvoiceOut:
    view = await service.view_invoice(session, context.tenant.id, invoice_id)
    await names.learn([view.invoice.created_by, view.invoice.finalized_by])
    return await _out(session, view, names)


@router.get("/invoices/{invoice_id}/lines", response_model=LinePageOut)
async def read_invoice_lines(
    invoice_id: RowId,
    context: ApiContext,
    session: SessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=service.LINES_PAGE)] = service.LINES_PAGE,
) -> LinePageOut:
    """The invoice's lines page by page, in invoice order: for invoices with more lines
    than come with the invoice itself."""
    page = await service.line_page(
        session, context.tenant.id, invoice_id, cursor=cursor, limit=limit
    )
    return LinePageOut(items=_lines(page.lines, page.worklog_ids), next_cursor=page.next_cursor)


@router.patch("/invoices/{invoice_id}", response_model=InvoiceOut)
async def change_invoice(
    _editor: BillingEditor,
    invoice_id: RowId,
    patch: InvoicePatch,
    context: ApiContext,
    names: InvoicePersonNamesDep,
    session: SessionDep,
) -> InvoiceOut:
    view = await service.update_invoice(session, context.tenant.id, invoice_id, patch)
    return await _out(session, view, names)


@router.delete("/invoices/{invoice_id}", status_code=204)
async def delete_invoice(
    _editor: BillingEditor,
    invoice_id: RowId,
    context: ApiContext,
    session: SessionDep,
) -> Response:
    await service.delete_invoice(session, context.tenant.id, invoice_id)
    return Response(status_code=204)


@router.post("/invoices/{invoice_id}/finalize", response_model=InvoiceOut)
async def finalize_invoice(
    _editor: BillingEditor,
    invoice_id: RowId,
    context: ApiContext,
    names: InvoicePersonNamesDep,
    session: SessionDep,
) -> InvoiceOut:
    view = await service.finalize_invoice(
        session, context.tenant.id, invoice_id, by=context.account_id
    )
    return await _out(session, view, names)


@router.post("/invoices/{invoice_id}/lines", response_model=InvoiceOut, status_code=201)
async def add_line(
    _editor: BillingEditor,
    invoice_id: RowId,
    data: LineIn,
    context: ApiContext,
    names: InvoicePersonNamesDep,
    session: SessionDep,
) -> InvoiceOut:
    view = await service.add_line(session, context.tenant.id, invoice_id, data)
    return await _out(session, view, names)


@router.patch("/invoices/{invoice_id}/lines/{line_id}", response_model=InvoiceOut)
async def change_line(
    _editor: BillingEditor,
    invoice_id: RowId,
    line_id: RowId,
    patch: LinePatch,
    context: ApiContext,
    names: InvoicePersonNamesDep,
    session: SessionDep,
) -> InvoiceOut:
    view = await service.update_line(session, context.tenant.id, invoice_id, line_id, patch)
    return await _out(session, view, names)


@router.delete("/invoices/{invoice_id}/lines/{line_id}", response_model=InvoiceOut)
async def delete_line(
    _editor: BillingEditor,
    invoice_id: RowId,
    line_id: RowId,
    context: ApiContext,
    names: InvoicePersonNamesDep,
    session: SessionDep,
) -> InvoiceOut:
    view = await service.delete_line(session, context.tenant.id, invoice_id, line_id)
    return await _out(session, view, names)
