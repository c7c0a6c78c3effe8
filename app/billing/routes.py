"""Billing API: settings, clients, budgets and their rates (worklogs: worklog_routes.py,
invoices: invoice_routes.py). Reading is open to every user of the site; changing needs
Jira's ADMINISTER permission or the billing group."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.billing import accounting, jira_projects, service
from app.billing.editor import BillingEditor
from app.billing.models import Client
from app.billing.money import hours
from app.billing.schemas import (
    BudgetIn,
    BudgetKind,
    BudgetOut,
    BudgetPage,
    BudgetPatch,
    ClientIn,
    ClientOut,
    ClientPage,
    ClientPatch,
    JiraProjectList,
    JiraProjectOut,
    MemberRate,
    MemberRateOut,
    QuickBooksCustomerLink,
    RateCard,
    RateChangeList,
    RateChangeOut,
    RateChanges,
    SettingsOut,
    SettingsPatch,
)
from app.billing.service import BudgetView
from app.billing.visibility import MoneyVisibility
from app.dependencies import RuntimeDep, SessionDep, before_the_transaction
from app.ids import RowId
from app.tenants.auth import ApiContext

# Money in every answer is hidden from readers when the site says so.
router = APIRouter(prefix="/api", tags=["billing"], dependencies=[MoneyVisibility])


async def _clients_out(
    session: SessionDep, tenant_id: int, clients: list[Client]
) -> list[ClientOut]:
    """Clients with their accounting provider's block (the linked QuickBooks customer)."""
    blocks = await accounting.client_blocks(session, tenant_id, [c.id for c in clients])
    out = [ClientOut.of(c) for c in clients]
    for item in out:
        block = blocks.get(item.id)
        item.quickbooks = QuickBooksCustomerLink.model_validate(block) if block else None
    return out


@router.get("/settings", response_model=SettingsOut)
async def read_settings(context: ApiContext, session: SessionDep) -> SettingsOut:
    return SettingsOut.of(await service.get_settings(session, context.tenant.id))


@router.patch("/settings", response_model=SettingsOut)
async def change_settings(
    _editor: BillingEditor,
    patch: SettingsPatch,
    context: ApiContext,
    runtime: RuntimeDep,
) -> SettingsOut:
    # No SessionDep: the service checks QuickBooks' ids before its own write transaction.
    return SettingsOut.of(await service.change_settings(runtime, context.tenant.id, patch))


def _rate_changes(found: list[tuple[date, Decimal]]) -> RateChangeList:
    return RateChangeList(
        items=[RateChangeOut(effective_from=day, hourly_rate=rate) for day, rate in found]
    )


@router.get("/settings/rate-changes", response_model=RateChangeList)
async def read_site_rate_changes(context: ApiContext, session: SessionDep) -> RateChangeList:
    found = await service.rate_changes(session, context.tenant.id, "site", service.SITE)
    return _rate_changes(found)


@router.put("/settings/rate-changes", response_model=RateChangeList)
async def replace_site_rate_changes(
    _editor: BillingEditor, changes: RateChanges, context: ApiContext, session: SessionDep
) -> RateChangeList:
    found = await service.replace_rate_changes(
        session, context.tenant.id, "site", service.SITE, changes
    )
    return _rate_changes(found)


@router.get("/clients/{client_id}/rate-changes", response_model=RateChangeList)
async def read_client_rate_changes(
    client_id: RowId, context: ApiContext, session: SessionDep
) -> RateChangeList:
    return _rate_changes(
        await service.rate_changes(session, context.tenant.id, "client", client_id)
    )


@router.put("/clients/{client_id}/rate-changes", response_model=RateChangeList)
async def replace_client_rate_changes(
    _editor: BillingEditor,
    client_id: RowId,
    changes: RateChanges,
    context: ApiContext,
    session: SessionDep,
) -> RateChangeList:
    found = await service.replace_rate_changes(
        session, context.tenant.id, "client", client_id, changes
    )
    return _rate_changes(found)


@router.get("/clients", response_model=ClientPage)
async def list_clients(
    context: ApiContext,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ClientPage:
    clients, next_cursor = await service.list_clients(
        session, context.tenant.id, cursor=cursor, limit=limit, query=q
    )
    items = await _clients_out(session, context.tenant.id, list(clients))
    return ClientPage(items=items, next_cursor=next_cursor)


@router.post("/clients", response_model=ClientOut, status_code=201)
async def create_client(
    _editor: BillingEditor,
    data: ClientIn,
    context: ApiContext,
    session: SessionDep,
) -> ClientOut:
    client = await service.create_client(session, context.tenant.id, data)
    return (await _clients_out(session, context.tenant.id, [client]))[0]


@router.get("/clients/{client_id}", response_model=ClientOut)
async def read_client(client_id: RowId, context: ApiContext, session: SessionDep) -> ClientOut:
    client = await service.get_client(session, context.tenant.id, client_id)
    return (await _clients_out(session, context.tenant.id, [client]))[0]


@router.patch("/clients/{client_id}", response_model=ClientOut)
async def change_client(
    _editor: BillingEditor,
    client_id: RowId,
    patch: ClientPatch,
    context: ApiContext,
    session: SessionDep,
) -> ClientOut:
    client = await service.update_client(session, context.tenant.id, client_id, patch)
    return (await _clients_out(session, context.tenant.id, [client]))[0]


@router.delete("/clients/{client_id}", status_code=204)
async def delete_client(
    _editor: BillingEditor,
    client_id: RowId,
    context: ApiContext,
    session: SessionDep,
) -> Response:
    await service.delete_client(session, context.tenant.id, client_id)
    return Response(status_code=204)


def _budget_out(view: BudgetView) -> BudgetOut:
    budget = view.budget
    logged = hours(view.seconds_logged)
    return BudgetOut(
        id=budget.id,
        client_id=budget.client_id,
        name=budget.name,
        kind=BudgetKind(budget.kind),
        project_keys=view.project_keys,
        hourly_rate=budget.hourly_rate,
        hours_cap=budget.hours_cap,
        amount_cap=budget.amount_cap,
        starts_on=budget.starts_on,
        ends_on=budget.ends_on,
        hours_logged=logged,
        hours_billable=hours(view.seconds_billable),
        hours_remaining=None if budget.hours_cap is None else budget.hours_cap - logged,
        hours_invoiced=view.hours_invoiced,
        amount_invoiced=view.amount_invoiced,
        amount_remaining=(
            None if budget.amount_cap is None else budget.amount_cap - view.amount_invoiced
        ),
        created_at=budget.created_at,
        updated_at=budget.updated_at,
    )


@router.get("/budgets", response_model=BudgetPage)
async def list_budgets(
    context: ApiContext,
    session: SessionDep,
    client_id: RowId | None = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> BudgetPage:
    views, next_cursor = await service.list_budgets(
        session, context.tenant.id, cursor=cursor, limit=limit, client_id=client_id
    )
    return BudgetPage(items=[_budget_out(v) for v in views], next_cursor=next_cursor)


@before_the_transaction
async def _checked_budget(data: BudgetIn, runtime: RuntimeDep, context: ApiContext) -> BudgetIn:
    """The new budget's projects checked against Jira, before the transaction opens."""
    await jira_projects.check_budget_projects(
        runtime, context.tenant.id, data.project_keys, budget_id=None
    )
    return data


@before_the_transaction
async def _checked_budget_patch(
    budget_id: RowId, patch: BudgetPatch, runtime: RuntimeDep, context: ApiContext
) -> BudgetPatch:
    """Projects added to the budget checked against Jira, before the transaction opens."""
    if patch.project_keys:
        await jira_projects.check_budget_projects(
            runtime, context.tenant.id, patch.project_keys, budget_id=budget_id
        )
    return patch


@router.get("/jira/projects", response_model=JiraProjectList, tags=["jira"])
async def list_jira_projects(
    context: ApiContext, runtime: RuntimeDep, refresh: bool = False
) -> JiraProjectList:
    found = await jira_projects.site_projects(runtime, context.tenant.id, refresh=refresh)
    return JiraProjectList(items=[JiraProjectOut(key=p.key, name=p.name) for p in found])


@router.post("/budgets", response_model=BudgetOut, status_code=201)
async def create_budget(
    _editor: BillingEditor,
    data: Annotated[BudgetIn, Depends(_checked_budget)],
    context: ApiContext,
    session: SessionDep,
) -> BudgetOut:
    return _budget_out(await service.create_budget(session, context.tenant.id, data))


@router.get("/budgets/{budget_id}", response_model=BudgetOut)
async def read_budget(budget_id: RowId, context: ApiContext, session: SessionDep) -> BudgetOut:
    return _budget_out(await service.view_budget(session, context.tenant.id, budget_id))


@router.patch("/budgets/{budget_id}", response_model=BudgetOut)
async def change_budget(
    _editor: BillingEditor,
    budget_id: RowId,
    patch: Annotated[BudgetPatch, Depends(_checked_budget_patch)],
    context: ApiContext,
    session: SessionDep,
) -> BudgetOut:
    return _budget_out(await service.update_budget(session, context.tenant.id, budget_id, patch))


@router.delete("/budgets/{budget_id}", status_code=204)
async def delete_budget(
    _editor: BillingEditor,
    budget_id: RowId,
    context: ApiContext,
    session: SessionDep,
) -> Response:
    await service.delete_budget(session, context.tenant.id, budget_id)
    return Response(status_code=204)


@router.get("/budgets/{budget_id}/rates", response_model=RateCard)
async def read_rate_card(budget_id: RowId, context: ApiContext, session: SessionDep) -> RateCard:
    rates = await service.member_rates(session, context.tenant.id, budget_id)
    return RateCard(items=[MemberRateOut.model_validate(r, from_attributes=True) for r in rates])


@router.put("/budgets/{budget_id}/rates", response_model=RateCard)
async def replace_rate_card(
    _editor: BillingEditor,
    budget_id: RowId,
    rates: list[MemberRate],
    context: ApiContext,
    session: SessionDep,
) -> RateCard:
    saved = await service.replace_member_rates(session, context.tenant.id, budget_id, rates)
    return RateCard(items=[MemberRateOut.model_validate(r, from_attributes=True) for r in saved])


@router.get("/budgets/{budget_id}/rate-changes", response_model=RateChangeList)
async def read_budget_rate_changes(
    budget_id: RowId, context: ApiContext, session: SessionDep
) -> RateChangeList:
    return _rate_changes(
        await service.rate_changes(session, context.tenant.id, "budget", budget_id)
    )


@router.put("/budgets/{budget_id}/rate-changes", response_model=RateChangeList)
async def replace_budget_rate_changes(
    _editor: BillingEditor,
    budget_id: RowId,
    changes: RateChanges,
    context: ApiContext,
    session: SessionDep,
) -> RateChangeList:
    found = await service.replace_rate_changes(
        session, context.tenant.id, "budget", budget_id, changes
    )
    return _rate_changes(found)
