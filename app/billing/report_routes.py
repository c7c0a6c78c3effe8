"""Read-only figures for the pages: a budget's burn over time, and the Worklogs page's
filter choices. Open to every user of the site, like every other read."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from app.billing import issue_summary
from app.billing.burn import budget_burn
from app.billing.schemas import HoursOut, MoneyOut, OptionalHoursOut
from app.billing.visibility import MoneyVisibility
from app.billing.worklog_facets import worklog_facets
from app.dependencies import SessionDep
from app.ids import RowId
from app.tenants.auth import ApiContext
from app.tenants.schemas import Person

# Money in every answer is hidden from readers when the site says so.
router = APIRouter(prefix="/api", tags=["reports"], dependencies=[MoneyVisibility])


class BurnPointOut(BaseModel):
    date: date
    hours: HoursOut
    billable_hours: HoursOut
    amount: MoneyOut


class BurnOut(BaseModel):
    budget_id: int
    currency: str
    hours_cap: OptionalHoursOut
    amount_cap: MoneyOut
    starts_on: date
    ends_on: date | None
    hours_logged: HoursOut
    billable_hours: HoursOut
    amount: MoneyOut
    unpriced_hours: HoursOut
    points: list[BurnPointOut]


class WorklogFacetsOut(BaseModel):
    project_keys: list[str]
    people: list[Person]


@router.get("/budgets/{budget_id}/burn", response_model=BurnOut)
async def read_budget_burn(budget_id: RowId, context: ApiContext, session: SessionDep) -> BurnOut:
    """Cumulative hours logged, billable hours and amount per day, from the budget's start
    to today (or its end), with its caps."""
    burn = await budget_burn(session, context.tenant.id, budget_id)
    return BurnOut(
        budget_id=burn.budget_id,
        currency=burn.currency,
        hours_cap=burn.hours_cap,
        amount_cap=burn.amount_cap,
        starts_on=burn.starts_on,
        ends_on=burn.ends_on,
        hours_logged=burn.hours_logged,
        billable_hours=burn.billable_hours,
        amount=burn.amount,
        unpriced_hours=burn.unpriced_hours,
        points=[
            BurnPointOut(
                date=p.day, hours=p.hours, billable_hours=p.billable_hours, amount=p.amount
            )
            for p in burn.points
        ],
    )


@router.get("/worklogs/facets", response_model=WorklogFacetsOut, tags=["worklogs"])
async def read_worklog_facets(context: ApiContext, session: SessionDep) -> WorklogFacetsOut:
    facets = await worklog_facets(session, context.tenant.id)
    return WorklogFacetsOut(
        project_keys=facets.project_keys,
        people=[
            Person(account_id=p.account_id, display_name=p.display_name) for p in facets.people
        ],
    )


router.include_router(issue_summary.router)  # GET /api/issues/{issue_id}/billing
