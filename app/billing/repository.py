"""All SQL of billing. Every query names the tenant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.line_builder import cents
from app.billing.models import (
    BillingSettings,
    Budget,
    BudgetMemberRate,
    BudgetProject,
    Client,
    DatedRate,
    Invoice,
    InvoiceWorklog,
    WorklogAssignment,
    WorklogRateOverride,
)
from app.billing.rates import Dated, RateBook
from app.db import dialect_insert as _insert
from app.timeutil import utc_now
from app.worklogs import service as worklogs
from app.worklogs.models import JiraIssue, Worklog
from app.worklogs.service import WorklogFilters


async def settings(
    session: AsyncSession, tenant_id: int, *, for_update: bool = False
) -> BillingSettings:
    """The tenant's settings row, created with the defaults on first use."""
    await session.execute(
        _insert(session)(BillingSettings).values(tenant_id=tenant_id).on_conflict_do_nothing()
    )
    query = select(BillingSettings).where(BillingSettings.tenant_id == tenant_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one()


async def invoice_numbers_starting(session: AsyncSession, tenant_id: int, prefix: str) -> set[str]:
    """The numbers of the tenant's invoices (finalized or void) that begin with `prefix`."""
    query = select(Invoice.number).where(
        Invoice.tenant_id == tenant_id, Invoice.number.is_not(None)
    )
    if prefix:
        # substr, not LIKE: a prefix may hold LIKE's own wildcard `_`.
        query = query.where(func.substr(Invoice.number, 1, len(prefix)) == prefix)
    return {number for number in await session.scalars(query) if number is not None}


async def readers_see_money(session: AsyncSession, tenant_id: int) -> bool:
    """The site's choice, read without creating the settings row (as `billing_group`)."""
    shown = await session.scalar(
        select(BillingSettings.readers_see_money).where(BillingSettings.tenant_id == tenant_id)
    )
    return shown is not False


async def billing_group(session: AsyncSession, tenant_id: int) -> str | None:
    """The Jira group that may change billing data, read without creating the settings
    row (`settings` writes it on first use; this must not, see `billing.editor`)."""
    return await session.scalar(
        select(BillingSettings.billing_group).where(BillingSettings.tenant_id == tenant_id)
    )


Lock = Literal["update", "key_share"] | None


def _locked(query: Any, lock: Lock) -> Any:
    """FOR UPDATE (the row will change or go) or FOR KEY SHARE (a new row will refer to it)
    on PostgreSQL; SQLite's writer lock already serialises writers, and ignores both."""
    if lock == "update":
        return query.with_for_update()
    if lock == "key_share":
        return query.with_for_update(read=True, key_share=True)
    return query


async def client(
    session: AsyncSession, tenant_id: int, client_id: int, *, lock: Lock = None
) -> Client | None:
    query = select(Client).where(Client.tenant_id == tenant_id, Client.id == client_id)
    result = await session.execute(_locked(query, lock))
    return result.scalar_one_or_none()


async def client_names(
    session: AsyncSession, tenant_id: int, client_ids: Iterable[int]
) -> dict[int, str]:
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    result = await session.execute(
        select(Client.id, Client.name).where(Client.tenant_id == tenant_id, Client.id.in_(ids))
    )
    return {client_id: name for client_id, name in result.all()}


async def client_by_name(session: AsyncSession, tenant_id: int, name: str) -> Client | None:
    result = await session.execute(
        select(Client).where(Client.tenant_id == tenant_id, Client.name_key == name.casefold())
    )
    return result.scalar_one_or_none()


async def clients(
    session: AsyncSession, tenant_id: int, *, after_id: int, limit: int, query: str | None
) -> list[Client]:
    statement = select(Client).where(Client.tenant_id == tenant_id, Client.id > after_id)
    if query:
        statement = statement.where(Client.name_key.contains(query.casefold(), autoescape=True))
    result = await session.execute(statement.order_by(Client.id).limit(limit))
    return list(result.scalars())


# --- budgets ---------------------------------------------------------------------------------


async def budget(
    session: AsyncSession, tenant_id: int, budget_id: int, *, lock: Lock = None
) -> Budget | None:
    query = select(Budget).where(Budget.tenant_id == tenant_id, Budget.id == budget_id)
    result = await session.execute(_locked(query, lock))
    return result.scalar_one_or_none()


async def budgets(
    session: AsyncSession, tenant_id: int, *, after_id: int, limit: int, client_id: int | None
) -> list[Budget]:
    statement = select(Budget).where(Budget.tenant_id == tenant_id, Budget.id > after_id)
    if client_id is not None:
        statement = statement.where(Budget.client_id == client_id)
    result = await session.execute(statement.order_by(Budget.id).limit(limit))
    return list(result.scalars())


async def project_keys(
    session: AsyncSession, tenant_id: int, budget_ids: Sequence[int]
) -> dict[int, list[str]]:
    result = await session.execute(
        select(BudgetProject.budget_id, BudgetProject.project_key)
        .where(BudgetProject.tenant_id == tenant_id, BudgetProject.budget_id.in_(budget_ids))
        .order_by(BudgetProject.project_key)
    )
    keys: dict[int, list[str]] = {i: [] for i in budget_ids}
    for budget_id, key in result.all():
        keys[budget_id].append(key)
    return keys


async def replace_project_keys(
    session: AsyncSession, tenant_id: int, budget_id: int, keys: Sequence[str]
) -> None:
    await session.execute(
        delete(BudgetProject).where(
            BudgetProject.tenant_id == tenant_id, BudgetProject.budget_id == budget_id
        )
    )
    session.add_all(
        BudgetProject(tenant_id=tenant_id, budget_id=budget_id, project_key=key)
        for key in sorted(set(keys))
    )
    await session.flush()


async def member_rates(
    session: AsyncSession, tenant_id: int, budget_id: int
) -> list[BudgetMemberRate]:
    result = await session.execute(
        select(BudgetMemberRate)
        .where(BudgetMemberRate.tenant_id == tenant_id, BudgetMemberRate.budget_id == budget_id)
        .order_by(BudgetMemberRate.account_id, BudgetMemberRate.effective_from)
    )
    return list(result.scalars())


async def replace_member_rates(
    session: AsyncSession, tenant_id: int, budget_id: int, rates: Sequence[dict[str, Any]]
) -> None:
    await session.execute(
        delete(BudgetMemberRate).where(
            BudgetMemberRate.tenant_id == tenant_id, BudgetMemberRate.budget_id == budget_id
        )
    )
    session.add_all(
        BudgetMemberRate(tenant_id=tenant_id, budget_id=budget_id, **rate) for rate in rates
    )
    await session.flush()


# --- which budget a worklog belongs to ------------------------------------------------------


def auto_budget_id() -> Any:
    """The budget a worklog falls into by itself (a correlated scalar subquery over the
    worklog and its issue): project among the budget's, work day inside its period; the
    budget that started last wins, then the one created last."""
    return (
        select(Budget.id)
        .join(
            BudgetProject,
            and_(BudgetProject.tenant_id == Budget.tenant_id, BudgetProject.budget_id == Budget.id),
        )
        .where(
            Budget.tenant_id == Worklog.tenant_id,
            BudgetProject.project_key == JiraIssue.project_key,
            Budget.starts_on <= Worklog.started_on,
            or_(Budget.ends_on.is_(None), Budget.ends_on >= Worklog.started_on),
        )
        .order_by(Budget.starts_on.desc(), Budget.id.desc())
        .limit(1)
        .correlate(Worklog, JiraIssue)
        .scalar_subquery()
    )


def assignment_of_worklog() -> ColumnElement[bool]:
    """How a worklog meets its hand-made assignment: `effective_budget_id` reads the
    assignment, so every query using it outer-joins `WorklogAssignment` on this."""
    return and_(
        WorklogAssignment.tenant_id == Worklog.tenant_id,
        WorklogAssignment.worklog_id == Worklog.id,
    )


def invoiced_budget_id() -> Any:
    """The budget of the invoice (draft or finalized) holding the worklog, if one does (a
    correlated scalar subquery over the worklog: one primary-key probe)."""
    return (
        select(Invoice.budget_id)
        .join(
            InvoiceWorklog,
            and_(
                InvoiceWorklog.tenant_id == Invoice.tenant_id,
                InvoiceWorklog.invoice_id == Invoice.id,
            ),
        )
        .where(
            InvoiceWorklog.tenant_id == Worklog.tenant_id,
            InvoiceWorklog.worklog_id == Worklog.id,
        )
        .correlate(Worklog)
        .scalar_subquery()
    )


def effective_budget_id() -> Any:
    """An invoiced worklog stays with its invoice's budget, whatever later happens to the
    budgets' projects and periods (invoiced worklogs can't move). Otherwise a person's
    choice if there is one (even "none"), otherwise the automatic match."""
    return func.coalesce(
        invoiced_budget_id(),
        case(
            (WorklogAssignment.worklog_id.is_not(None), WorklogAssignment.budget_id),
            else_=auto_budget_id(),
        ),
    )


async def budget_hours(
    session: AsyncSession, tenant_id: int, budget_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """(seconds logged, seconds billable) per budget, in one grouped query."""
    if not budget_ids:
        return {}
    effective = effective_budget_id()
    inner = (
        select(
            effective.label("budget_id"),
            Worklog.time_spent_seconds.label("seconds"),
            Worklog.billable.label("billable"),
        )
        .select_from(Worklog)
        .join(
            JiraIssue,
            and_(JiraIssue.tenant_id == Worklog.tenant_id, JiraIssue.id == Worklog.issue_id),
        )
        .outerjoin(WorklogAssignment, assignment_of_worklog())
        .where(Worklog.tenant_id == tenant_id, Worklog.deleted_in_jira_at.is_(None))
        .subquery()
    )
    result = await session.execute(
        select(
            inner.c.budget_id,
            func.sum(inner.c.seconds),
            func.sum(case((inner.c.billable.is_(True), inner.c.seconds), else_=0)),
        )
        .where(inner.c.budget_id.in_(budget_ids))
        .group_by(inner.c.budget_id)
    )
    return {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in result.all()}


async def worklog_totals(
    session: AsyncSession,
    tenant_id: int,
    filters: WorklogFilters,
    *,
    budget_id: int | None,
    unassigned: bool,
) -> tuple[int, int, int]:
    """(worklogs, seconds, billable seconds) of the worklogs the Worklogs list shows for
    these filters: live ones, and deleted ones a finalized invoice still bills. Joins only
    what the filters need: the issue for a project or issue key, the budget rule for a
    budget or "unassigned"; a bare filter reads the worklogs' own index alone."""
    # Not correlated: read once (and only if a deleted worklog is met), where a correlated
    # EXISTS per worklog made PostgreSQL's estimate so high that it compiled the query (JIT)
    # for longer than running it.
    billed_when_deleted = Worklog.id.in_(
        select(InvoiceWorklog.worklog_id)
        .join(
            Invoice,
            and_(
                Invoice.tenant_id == InvoiceWorklog.tenant_id,
                Invoice.id == InvoiceWorklog.invoice_id,
            ),
        )
        .where(InvoiceWorklog.tenant_id == tenant_id, Invoice.status == "finalized")
    )
    mine: ColumnElement[bool] = Worklog.tenant_id == tenant_id
    if session.get_bind().dialect.name == "sqlite" and not (filters.from_date or filters.to_date):
        # Without a period, reading the table straight through is ten times faster than
        # SQLite's own choice (it keeps no statistics): every worklog through the index on
        # (tenant, started_on), in date order. `+ 0` keeps the tenant's term off the indexes.
        mine = (Worklog.tenant_id + 0) == tenant_id
    query = select(
        func.count(),
        func.coalesce(func.sum(Worklog.time_spent_seconds), 0),
        func.coalesce(
            func.sum(case((Worklog.billable.is_(True), Worklog.time_spent_seconds), else_=0)), 0
        ),
    ).select_from(Worklog)
    by_budget = budget_id is not None or unassigned
    if by_budget or worklogs.filters_issue(filters):
        query = query.join(JiraIssue, worklogs.issue_of_worklog())
    query = query.where(
        mine,
        *worklogs.filter_conditions(filters),
        or_(Worklog.deleted_in_jira_at.is_(None), billed_when_deleted),
    )
    if by_budget:
        effective = effective_budget_id()
        query = query.outerjoin(WorklogAssignment, assignment_of_worklog())
        if budget_id is not None:
            query = query.where(effective == budget_id)
        if unassigned:
            query = query.where(effective.is_(None))
    count, seconds, billable = (await session.execute(query)).one()
    return int(count), int(seconds), int(billable)


async def worklog_descriptions(
    session: AsyncSession, tenant_id: int, worklog_ids: Sequence[int]
) -> dict[int, tuple[str | None, date, int, bool]]:
    """(issue key, work day, seconds, deleted in Jira) per worklog, for messages that name
    worklogs the way people know them."""
    if not worklog_ids:
        return {}
    result = await session.execute(
        select(
            Worklog.id,
            JiraIssue.key,
            Worklog.started_on,
            Worklog.time_spent_seconds,
            Worklog.deleted_in_jira_at.is_not(None),
        )
        .join(
            JiraIssue,
            and_(JiraIssue.tenant_id == Worklog.tenant_id, JiraIssue.id == Worklog.issue_id),
        )
        .where(Worklog.tenant_id == tenant_id, Worklog.id.in_(worklog_ids))
    )
    return {row[0]: (row[1], row[2], int(row[3]), bool(row[4])) for row in result.all()}


async def person_name(session: AsyncSession, tenant_id: int, account_id: str) -> str | None:
    """A person's name as their worklogs last carried it (Jira's display name)."""
    found = await session.scalar(
        select(func.max(Worklog.author_display_name)).where(
            Worklog.tenant_id == tenant_id, Worklog.author_account_id == account_id
        )
    )
    return str(found) if found else None


async def live_worklog_ids(
    session: AsyncSession, tenant_id: int, worklog_ids: Sequence[int]
) -> set[int]:
    result = await session.execute(
        select(Worklog.id).where(
            Worklog.tenant_id == tenant_id,
            Worklog.id.in_(worklog_ids),
            Worklog.deleted_in_jira_at.is_(None),
        )
    )
    return set(result.scalars())


async def set_assignments(
    session: AsyncSession,
    tenant_id: int,
    worklog_ids: Sequence[int],
    budget_id: int | None,
    assigned_by: str | None,
) -> None:
    rows = [
        {
            "tenant_id": tenant_id,
            "worklog_id": worklog_id,
            "budget_id": budget_id,
            "assigned_by": assigned_by,
            "assigned_at": utc_now(),
        }
        for worklog_id in worklog_ids
    ]
    statement = _insert(session)(WorklogAssignment.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "worklog_id"],
        set_={c: statement.excluded[c] for c in ("budget_id", "assigned_by", "assigned_at")},
    )
    await session.execute(statement, rows)


# --- rates -----------------------------------------------------------------------------------


async def rate_book(
    session: AsyncSession,
    tenant_id: int,
    *,
    worklog_ids: Sequence[int],
    budget_ids: Sequence[int],
    account_ids: Sequence[str],
) -> RateBook:
    """The facts the rate rule needs for one page of worklogs, in four queries."""
    overrides: dict[int, Decimal] = {}
    if worklog_ids:
        found = await session.execute(
            select(WorklogRateOverride.worklog_id, WorklogRateOverride.hourly_rate).where(
                WorklogRateOverride.tenant_id == tenant_id,
                WorklogRateOverride.worklog_id.in_(worklog_ids),
            )
        )
        overrides = {worklog_id: rate for worklog_id, rate in found.all()}
    member_rates: dict[tuple[int, str], list[tuple[date, Decimal]]] = {}
    budget_rates: dict[int, Decimal | None] = {}
    client_rates: dict[int, Decimal | None] = {}
    if budget_ids:
        rows = await session.execute(
            select(
                BudgetMemberRate.budget_id,
                BudgetMemberRate.account_id,
                BudgetMemberRate.effective_from,
                BudgetMemberRate.hourly_rate,
            )
            .where(
                BudgetMemberRate.tenant_id == tenant_id,
                BudgetMemberRate.budget_id.in_(budget_ids),
                BudgetMemberRate.account_id.in_(account_ids),
            )
            .order_by(BudgetMemberRate.effective_from)
        )
        for budget_id, account_id, effective_from, rate in rows.all():
            member_rates.setdefault((budget_id, account_id), []).append((effective_from, rate))
        rows2 = await session.execute(
            select(Budget.id, Budget.hourly_rate, Client.hourly_rate, Client.id)
            .join(Client, and_(Client.tenant_id == Budget.tenant_id, Client.id == Budget.client_id))
            .where(Budget.tenant_id == tenant_id, Budget.id.in_(budget_ids))
        )
        client_of: dict[int, int] = {}
        for budget_id, budget_rate, client_rate, client_id in rows2.all():
            budget_rates[budget_id] = budget_rate
            client_rates[budget_id] = client_rate
            client_of[budget_id] = client_id
        budget_dated = await dated_rates(session, tenant_id, "budget", budget_ids)
        by_client = await dated_rates(session, tenant_id, "client", set(client_of.values()))
        client_dated = {b: by_client.get(c, []) for b, c in client_of.items()}
    default = (await settings(session, tenant_id)).default_hourly_rate
    site_dated = (await dated_rates(session, tenant_id, "site", [SITE])).get(SITE, [])
    return RateBook(
        overrides,
        member_rates,
        budget_rates,
        client_rates,
        default,
        budget_dated=budget_dated if budget_ids else {},
        client_dated=client_dated if budget_ids else {},
        site_dated=site_dated,
    )


SITE = 0  # the owner id of the site's own dated rates
DatedLevel = Literal["budget", "client", "site"]


async def dated_rates(
    session: AsyncSession, tenant_id: int, level: DatedLevel, owner_ids: Iterable[int]
) -> dict[int, Dated]:
    """Each owner's dated rates at `level`, by date."""
    owners = sorted(set(owner_ids))
    if not owners:
        return {}
    result = await session.execute(
        select(DatedRate.owner_id, DatedRate.effective_from, cents(DatedRate.hourly_rate))
        .where(
            DatedRate.tenant_id == tenant_id,
            DatedRate.level == level,
            DatedRate.owner_id.in_(owners),
        )
        .order_by(DatedRate.owner_id, DatedRate.effective_from)
    )
    dated: dict[int, Dated] = {}
    for owner_id, effective_from, rate_cents in result.all():
        dated.setdefault(owner_id, []).append((effective_from, Decimal(rate_cents).scaleb(-2)))
    return dated


async def replace_dated_rates(
    session: AsyncSession,
    tenant_id: int,
    level: DatedLevel,
    owner_id: int,
    rates: Sequence[tuple[date, Decimal]],
) -> None:
    await delete_dated_rates(session, tenant_id, level, owner_id)
    session.add_all(
        DatedRate(
            tenant_id=tenant_id,
            level=level,
            owner_id=owner_id,
            effective_from=day,
            hourly_rate=rate,
        )
        for day, rate in rates
    )
    await session.flush()


async def delete_dated_rates(
    session: AsyncSession, tenant_id: int, level: DatedLevel, owner_id: int
) -> None:
    await session.execute(
        delete(DatedRate).where(
            DatedRate.tenant_id == tenant_id,
            DatedRate.level == level,
            DatedRate.owner_id == owner_id,
        )
    )


async def set_rate_override(
    session: AsyncSession,
    tenant_id: int,
    worklog_id: int,
    rate: Decimal | None,
    set_by: str | None,
) -> None:
    await session.execute(
        delete(WorklogRateOverride).where(
            WorklogRateOverride.tenant_id == tenant_id, WorklogRateOverride.worklog_id == worklog_id
        )
    )
    if rate is not None:
        session.add(
            WorklogRateOverride(
                tenant_id=tenant_id, worklog_id=worklog_id, hourly_rate=rate, set_by=set_by
            )
        )
    await session.flush()
