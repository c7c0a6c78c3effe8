"""A budget's burn: day by day, how many hours and how much money it has used, against its
caps. What the Budgets page draws as its burn chart.

One grouped query does the heavy lifting: billed seconds (the tenant's rounding applied to
each worklog on its own, in SQL integer arithmetic; an invoiced worklog's as invoiced)
summed per work day, person and fixed rate (the invoiced rate, else the worklog's own
override). The rate rule then prices the rest in Python, exactly as the worklog list does,
so the chart and the list never disagree about a rate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import repository, service
from app.billing.line_builder import cents, from_cents
from app.billing.models import InvoiceWorklog, WorklogAssignment, WorklogRateOverride
from app.billing.money import RoundingMode, line_amount, money
from app.quantities import hours
from app.timeutil import utc_now
from app.worklogs.models import JiraIssue, Worklog

# A chart of more than ten years of days is not a chart any more; longer budgets are cut.
MAX_DAYS = 3660
# No worklog has this id: asks the rate book for everything but a per-worklog override.
_NO_WORKLOG = -1


@dataclass(frozen=True, slots=True)
class BurnPoint:
    day: date
    hours: Decimal
    billable_hours: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Burn:
    budget_id: int
    currency: str
    hours_cap: Decimal | None
    amount_cap: Decimal | None
    starts_on: date
    ends_on: date | None
    points: list[BurnPoint]
    hours_logged: Decimal
    billable_hours: Decimal
    amount: Decimal
    unpriced_hours: Decimal


def _billed_seconds_sql(rounding_minutes: int, mode: RoundingMode) -> Any:
    """`money.billed_seconds` in SQL: integer division works the same on SQLite and
    PostgreSQL for these non-negative integers."""
    seconds = Worklog.time_spent_seconds
    if mode is RoundingMode.NONE or rounding_minutes <= 0:
        return seconds
    step = rounding_minutes * 60
    if mode is RoundingMode.UP:
        return ((seconds + (step - 1)) // step) * step
    return ((seconds + step // 2) // step) * step


async def _daily_groups(
    session: AsyncSession, tenant_id: int, budget_id: int, billed: Any
) -> list[tuple[date, str, Decimal | None, int, int]]:
    """(work day, person, the rate the work is fixed at, seconds logged, billed seconds if
    billable). An invoiced worklog is fixed at what its invoice bills (rate and rounded
    seconds, whatever the rates and rounding are now); else its own override, if any."""
    effective = repository.effective_budget_id()
    invoiced = InvoiceWorklog.worklog_id.is_not(None)
    fixed_rate = cents(func.coalesce(InvoiceWorklog.rate, WorklogRateOverride.hourly_rate))
    query = (
        select(
            Worklog.started_on,
            Worklog.author_account_id,
            fixed_rate,
            func.sum(Worklog.time_spent_seconds),
            func.sum(
                case(
                    (invoiced, InvoiceWorklog.billed_seconds),
                    (Worklog.billable.is_(True), billed),
                    else_=0,
                )
            ),
        )
        .select_from(Worklog)
        .join(
            JiraIssue,
            and_(JiraIssue.tenant_id == Worklog.tenant_id, JiraIssue.id == Worklog.issue_id),
        )
        .outerjoin(WorklogAssignment, repository.assignment_of_worklog())
        .outerjoin(
            WorklogRateOverride,
            and_(
                WorklogRateOverride.tenant_id == Worklog.tenant_id,
                WorklogRateOverride.worklog_id == Worklog.id,
            ),
        )
        .outerjoin(
            InvoiceWorklog,
            and_(
                InvoiceWorklog.tenant_id == Worklog.tenant_id,
                InvoiceWorklog.worklog_id == Worklog.id,
            ),
        )
        .where(
            Worklog.tenant_id == tenant_id,
            # Deleted in Jira after invoicing, it is still billed: drift, not gone.
            or_(Worklog.deleted_in_jira_at.is_(None), invoiced),
            effective == budget_id,
        )
        .group_by(Worklog.started_on, Worklog.author_account_id, fixed_rate)
    )
    rows = (await session.execute(query)).all()
    return [
        (day, person, from_cents(rate), int(logged or 0), int(billed or 0))
        for day, person, rate, logged, billed in rows
    ]


def _days(first: date, last: date) -> list[date]:
    count = min((last - first).days, MAX_DAYS - 1)
    return [first + timedelta(days=n) for n in range(count + 1)]


async def budget_burn(session: AsyncSession, tenant_id: int, budget_id: int) -> Burn:
    budget = await service.get_budget(session, tenant_id, budget_id)
    client = await service.get_client(session, tenant_id, budget.client_id)
    settings = await service.get_settings(session, tenant_id)
    billed = _billed_seconds_sql(settings.rounding_minutes, RoundingMode(settings.rounding_mode))
    groups = await _daily_groups(session, tenant_id, budget_id, billed)
    book = await repository.rate_book(
        session,
        tenant_id,
        worklog_ids=[],
        budget_ids=[budget_id],
        account_ids=sorted({person for _, person, _, _, _ in groups}),
    )

    logged_by_day: dict[date, int] = defaultdict(int)
    billed_by_day: dict[date, int] = defaultdict(int)
    amount_by_day: dict[date, Decimal] = defaultdict(Decimal)
    unpriced_seconds = 0
    for day, person, fixed, logged, billed_seconds in groups:
        logged_by_day[day] += logged
        billed_by_day[day] += billed_seconds
        rate = fixed
        if rate is None:
            rate, _ = book.resolve(_NO_WORKLOG, budget_id, person, day)
        if rate is None:
            unpriced_seconds += billed_seconds
        elif billed_seconds:
            amount_by_day[day] += line_amount(hours(billed_seconds), rate)

    today = utc_now().date()
    first = min([budget.starts_on, *logged_by_day])
    horizon = min(today, budget.ends_on) if budget.ends_on else today
    last = max([first, horizon, *logged_by_day])
    points: list[BurnPoint] = []
    total_logged = total_billed = 0
    total_amount = Decimal(0)
    for day in _days(first, last):
        total_logged += logged_by_day.get(day, 0)
        total_billed += billed_by_day.get(day, 0)
        total_amount += amount_by_day.get(day, Decimal(0))
        points.append(BurnPoint(day, hours(total_logged), hours(total_billed), money(total_amount)))
    return Burn(
        budget_id=budget.id,
        currency=client.currency,
        hours_cap=budget.hours_cap,
        amount_cap=budget.amount_cap,
        starts_on=budget.starts_on,
        ends_on=budget.ends_on,
        points=points,
        hours_logged=hours(sum(logged_by_day.values())),
        billable_hours=hours(sum(billed_by_day.values())),
        amount=money(sum(amount_by_day.values(), Decimal(0))),
        unpriced_hours=hours(unpriced_seconds),
    )
