"""Worklogs as billing sees them (the Worklogs page): each with its budget, rate and invoice,
their totals, assigning them to budgets, and a worklog's billable flag or rate. Reading is
open to every user of the site; changing needs a billing editor."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.billing import service
from app.billing.editor import BillingEditor
from app.billing.money import hours
from app.billing.schemas import (
    AssignmentIn,
    AssignmentOut,
    PricedWorklogOut,
    PricedWorklogPage,
    UnassignmentIn,
    WorklogInvoice,
    WorklogPatch,
    WorklogTotalsOut,
)
from app.billing.service import PricedWorklog
from app.billing.visibility import MoneyVisibility
from app.dependencies import SessionDep
from app.ids import RowId
from app.tenants.auth import ApiContext
from app.worklogs import service as worklogs
from app.worklogs.schemas import WorklogOut
from app.worklogs.service import SortOrder, WorklogOrder, WorklogRow, WorklogSort

# Money in every answer is hidden from readers when the site says so.
router = APIRouter(prefix="/api", tags=["billing"], dependencies=[MoneyVisibility])


@router.post("/worklogs/assign", response_model=AssignmentOut)
async def assign_worklogs(
    _editor: BillingEditor,
    data: AssignmentIn,
    context: ApiContext,
    session: SessionDep,
) -> AssignmentOut:
    ids = await service.assign_worklogs(
        session, context.tenant.id, data.budget_id, data.worklog_ids, by=context.account_id
    )
    return AssignmentOut(budget_id=data.budget_id, worklog_ids=[str(i) for i in ids])


@router.post("/worklogs/unassign", response_model=AssignmentOut)
async def unassign_worklogs(
    _editor: BillingEditor,
    data: UnassignmentIn,
    context: ApiContext,
    session: SessionDep,
) -> AssignmentOut:
    ids = await service.assign_worklogs(
        session, context.tenant.id, None, data.worklog_ids, by=context.account_id
    )
    return AssignmentOut(budget_id=None, worklog_ids=[str(i) for i in ids])


def _priced_out(priced: PricedWorklog) -> PricedWorklogOut:
    base = WorklogOut.of(WorklogRow(priced.worklog, priced.issue))
    holding = priced.invoice
    return PricedWorklogOut(
        **base.model_dump(),
        budget_id=priced.budget_id,
        rate=priced.rate,
        rate_source=priced.rate_source,
        invoice_id=priced.invoice_id,
        invoice=(
            None
            if holding is None
            else WorklogInvoice(id=holding.id, number=holding.number, status=holding.status)
        ),
    )


def _worklog_filters(
    project_key: Annotated[str | None, Query(max_length=255)] = None,
    author: Annotated[str | None, Query(max_length=128)] = None,
    issue_key: Annotated[str | None, Query(max_length=255)] = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> worklogs.WorklogFilters:
    return worklogs.WorklogFilters(
        project_key=project_key, author=author, issue_key=issue_key, from_date=from_, to_date=to
    )


WorklogFiltersDep = Annotated[worklogs.WorklogFilters, Depends(_worklog_filters)]


@router.get("/worklogs", response_model=PricedWorklogPage, tags=["worklogs"])
async def list_worklogs(
    context: ApiContext,
    session: SessionDep,
    filters: WorklogFiltersDep,
    budget_id: RowId | None = None,
    unassigned: bool = False,
    sort: WorklogSort = WorklogSort.STARTED,
    order: SortOrder | None = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=worklogs.MAX_PAGE)] = worklogs.DEFAULT_PAGE,
) -> PricedWorklogPage:
    priced, next_cursor = await service.list_priced_worklogs(
        session,
        context.tenant.id,
        filters,
        budget_id=budget_id,
        unassigned=unassigned,
        cursor=cursor,
        limit=limit,
        order=WorklogOrder.of(sort, order),
    )
    return PricedWorklogPage(items=[_priced_out(p) for p in priced], next_cursor=next_cursor)


@router.get("/worklogs/totals", response_model=WorklogTotalsOut, tags=["worklogs"])
async def worklog_totals(
    context: ApiContext,
    session: SessionDep,
    filters: WorklogFiltersDep,
    budget_id: RowId | None = None,
    unassigned: bool = False,
) -> WorklogTotalsOut:
    found = await service.worklog_totals(
        session, context.tenant.id, filters, budget_id=budget_id, unassigned=unassigned
    )
    return WorklogTotalsOut(
        worklogs=found.worklogs,
        hours=hours(found.seconds),
        billable_hours=hours(found.billable_seconds),
    )


@router.patch("/worklogs/{worklog_id}", response_model=PricedWorklogOut, tags=["worklogs"])
async def change_worklog(
    _editor: BillingEditor,
    worklog_id: Annotated[str, Path(pattern=r"^\d{1,18}$")],
    patch: WorklogPatch,
    context: ApiContext,
    session: SessionDep,
) -> PricedWorklogOut:
    priced = await service.change_worklog(
        session,
        context.tenant.id,
        int(worklog_id),
        patch.model_dump(exclude_unset=True),
        by=context.account_id,
    )
    return _priced_out(priced)
