"""Invoice API: generate from a budget, read, review a draft, finalize. Reading is open to
every user of the site; everything else needs a billing editor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.billing import accounting, invoice_list
from app.billing import invoices as service
from app.billing.editor import BillingEditor
from app.billing.invoice_list import ListQuery
from app.billing.invoice_schemas import (
    CurrencyTotalsOut,
    FinalizeIn,
    InvoiceGenerate,
    InvoiceListItemOut,
    InvoiceOut,
    InvoicePage,
    InvoicePatch,
    InvoicePreviewOut,
    LineIn,
    LinePageOut,
    LinePatch,
    LineWorklogPageOut,
)
from app.billing.invoice_views import (
    cap_warnings_out,
    invoice_out,
    line_worklog_out,
    lines_out,
    read_invoice_out,
    summary_fields,
)
from app.billing.money import hours
from app.billing.visibility import MoneyVisibility
from app.dependencies import RuntimeDep, SessionDep, before_the_transaction
from app.ids import RowId
from app.tenants.auth import ApiContext
from app.tenants.people import PersonNames, PersonNamesDep

# Money in every answer is hidden from readers when the site says so.
router = APIRouter(prefix="/api", tags=["invoices"], dependencies=[MoneyVisibility])


@before_the_transaction
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


InvoicePersonNamesDep = Annotated[PersonNames, Depends(invoice_person_names)]


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
    return await invoice_out(session, view, names)


@router.post("/budgets/{budget_id}/invoices/preview", response_model=InvoicePreviewOut)
async def preview_invoice(
    _editor: BillingEditor,
    budget_id: RowId,
    data: InvoiceGenerate,
    context: ApiContext,
    session: SessionDep,
) -> InvoicePreviewOut:
    """The lines, hours and total Generate would make from the same body; creates nothing."""
    preview = await service.preview_invoice(session, context.tenant.id, budget_id, data)
    figures = preview.figures
    return InvoicePreviewOut(
        line_count=figures.lines,
        worklog_count=figures.worklogs,
        hours=figures.hours,
        actual_hours=hours(figures.actual_seconds),
        total=figures.amount,
        currency=preview.currency,
        cap_warnings=cap_warnings_out(preview.cap_warnings, preview.budget_name),
    )


@router.get("/invoices", response_model=InvoicePage)
async def list_invoices(
    context: ApiContext,
    names: PersonNamesDep,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=32)] = None,
    quickbooks_status: Annotated[str | None, Query(max_length=32)] = None,
    overdue: bool | None = None,
    client_id: RowId | None = None,
    budget_id: RowId | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str | None, Query(max_length=32)] = None,
    order: Annotated[str | None, Query(max_length=8)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> InvoicePage:
    """Filtered, sorted and paged on the server (see app.billing.invoice_list), with the
    totals of the whole filter per currency."""
    page = await invoice_list.list_invoices(
        session,
        context.tenant.id,
        ListQuery(
            status=status,
            quickbooks_status=quickbooks_status,
            overdue=overdue,
            client_id=client_id,
            budget_id=budget_id,
            q=q,
            sort=sort,
            order=order,
            cursor=cursor,
            limit=limit,
        ),
    )
    items = page.items
    blocks = await accounting.invoice_blocks(
        session, context.tenant.id, [item.invoice.id for item in items]
    )
    await names.learn(
        person for item in items for person in (item.invoice.created_by, item.invoice.finalized_by)
    )
    return InvoicePage(
        items=[
            InvoiceListItemOut(
                **summary_fields(item, names),
                quickbooks=blocks.get(item.invoice.id),
                paid=item.paid,
                balance=item.balance,
                days_overdue=item.days_overdue,
            )
            for item in items
        ],
        next_cursor=page.next_cursor,
        totals=[
            CurrencyTotalsOut(
                currency=t.currency,
                count=t.count,
                total=t.total,
                paid=t.paid,
                balance=t.balance,
                overdue=t.overdue,
            )
            for t in page.totals
        ],
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def read_invoice(
    invoice_id: RowId, context: ApiContext, names: PersonNamesDep, session: SessionDep
) -> InvoiceOut:
    return await read_invoice_out(session, context.tenant.id, invoice_id, names)


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
    return LinePageOut(items=lines_out(page.lines, page.worklog_ids), next_cursor=page.next_cursor)


@router.get("/invoices/{invoice_id}/lines/{line_id}/worklogs", response_model=LineWorklogPageOut)
async def read_line_worklogs(
    invoice_id: RowId,
    line_id: RowId,
    context: ApiContext,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=48)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> LineWorklogPageOut:
    """The worklogs a line bills ("82 worklogs"), in the order they were done."""
    page = await service.line_worklog_page(
        session, context.tenant.id, invoice_id, line_id, cursor=cursor, limit=limit
    )
    return LineWorklogPageOut(
        items=[line_worklog_out(w) for w in page.worklogs], next_cursor=page.next_cursor
    )


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
    return await invoice_out(session, view, names)


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
    data: FinalizeIn | None = None,
) -> InvoiceOut:
    view = await service.finalize_invoice(
        session,
        context.tenant.id,
        invoice_id,
        by=context.account_id,
        expected_total=data.expected_total if data is not None else None,
        accept_over_cap=data is not None and data.accept_over_cap,
    )
    return await invoice_out(session, view, names)


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
    return await invoice_out(session, view, names)


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
    return await invoice_out(session, view, names)


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
    return await invoice_out(session, view, names)
