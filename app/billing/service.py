"""Billing rules: settings, clients, budgets, rate cards and worklog assignment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import accounting, invoice_repository, invoices, repository
from app.billing.line_builder import cents, from_cents
from app.billing.models import (
    BillingSettings,
    Budget,
    BudgetMemberRate,
    Client,
    Invoice,
    InvoiceWorklog,
    WorklogAssignment,
)
from app.billing.money import RoundingMode
from app.billing.rates import RateSource
from app.billing.schemas import (
    BudgetIn,
    BudgetKind,
    BudgetPatch,
    ClientIn,
    ClientPatch,
    MemberRate,
    RateChange,
    SettingsPatch,
)
from app.billing.wording import worklog_text
from app.db import transaction
from app.errors import Conflict, NotFound, Unprocessable
from app.runtime import Runtime
from app.timeutil import human_day
from app.worklogs import service as worklogs
from app.worklogs.models import JiraIssue, Worklog
from app.worklogs.service import WorklogFilters, WorklogOrder


async def get_settings(session: AsyncSession, tenant_id: int) -> BillingSettings:
    return await repository.settings(session, tenant_id)


# Settings that always have a value, with their names on the Settings page.
_REQUIRED_SETTINGS = {
    "invoice_number_prefix": "Invoice number prefix",
    "next_invoice_number": "Next invoice number",
    "rounding_minutes": "Rounding step",
    "rounding_mode": "Rounding",
    "default_due_days": "Payment due after",
    "readers_see_money": "Readers see rates and amounts",
}
_HOW_TO_FILL = {
    "invoice_number_prefix": "leave it blank for numbers without a prefix.",
    "next_invoice_number": "give the number the next invoice should have, from 1.",
    "rounding_minutes": "give 0 for no rounding.",
    "rounding_mode": "choose No rounding, Round up or Round to nearest.",
    "default_due_days": "give 0 for payment on receipt.",
    "readers_see_money": "say yes or no.",
}


async def change_settings(
    runtime: Runtime, tenant_id: int, patch: SettingsPatch
) -> BillingSettings:
    """`update_settings`, after the accounting system checked the settings that are its
    own (it may be called over the network, so before the write transaction opens: on
    SQLite that holds every other write of the site)."""
    await accounting.check_settings(runtime, tenant_id, patch.model_dump(exclude_unset=True))
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        return await update_settings(session, tenant_id, patch)


async def update_settings(
    session: AsyncSession, tenant_id: int, patch: SettingsPatch
) -> BillingSettings:
    current = await repository.settings(session, tenant_id, for_update=True)
    changes = patch.model_dump(exclude_unset=True)
    for field, label in _REQUIRED_SETTINGS.items():
        if field in changes and changes[field] is None:
            raise Unprocessable(
                f"{label} cannot be empty: {_HOW_TO_FILL[field]}", code="invalid_request"
            )
    mode = RoundingMode(changes.get("rounding_mode", current.rounding_mode))
    minutes = changes.get("rounding_minutes", current.rounding_minutes)
    if mode is not RoundingMode.NONE and minutes == 0:
        how = "Round up" if mode is RoundingMode.UP else "Round to nearest"
        raise Unprocessable(
            f"{how} needs a rounding step: set Rounding step (minutes) above 0, or choose "
            "No rounding.",
            code="invalid_rounding",
        )
    if "invoice_number_prefix" in changes or "next_invoice_number" in changes:
        await _check_number_free(
            session,
            tenant_id,
            changes.get("invoice_number_prefix", current.invoice_number_prefix),
            changes.get("next_invoice_number", current.next_invoice_number),
            prefix_changed_alone="next_invoice_number" not in changes,
        )
    for field, value in changes.items():
        setattr(current, field, value.value if isinstance(value, RoundingMode) else value)
    await session.flush()
    return current


async def _check_number_free(
    session: AsyncSession,
    tenant_id: int,
    prefix: str,
    sequence: int,
    *,
    prefix_changed_alone: bool,
) -> None:
    """The next finalize would refuse a number an invoice already has (numbers are never
    reused, even a void invoice keeps its own): say so now, with the number to use."""
    taken = await repository.invoice_numbers_starting(session, tenant_id, prefix)
    number = f"{prefix}{sequence}"
    if number not in taken:
        return
    free = sequence
    while f"{prefix}{free}" in taken:
        free += 1
    where = ""
    if prefix_changed_alone:
        where = f"with the prefix {prefix}, " if prefix else "without a prefix, "
    raise Conflict(
        f"{number} already exists: {where}the next free number is {free}.",
        code="invoice_number_taken",
    )


async def get_client(
    session: AsyncSession, tenant_id: int, client_id: int, *, lock: repository.Lock = None
) -> Client:
    client = await repository.client(session, tenant_id, client_id, lock=lock)
    if client is None:
        raise NotFound(
            "That client no longer exists: it may have been deleted.", code="client_not_found"
        )
    return client


async def client_names(
    session: AsyncSession, tenant_id: int, client_ids: list[int] | set[int]
) -> dict[int, str]:
    return await repository.client_names(session, tenant_id, client_ids)


async def list_clients(
    session: AsyncSession, tenant_id: int, *, cursor: str | None, limit: int, query: str | None
) -> tuple[list[Client], str | None]:
    after = _cursor_id(cursor)
    rows = await repository.clients(
        session, tenant_id, after_id=after, limit=limit + 1, query=query
    )
    if len(rows) > limit:
        return rows[:limit], str(rows[limit - 1].id)
    return rows, None


def _cursor_id(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise Unprocessable("The cursor is not one this API gave out.", code="invalid_cursor")
    return int(cursor)


async def create_client(session: AsyncSession, tenant_id: int, data: ClientIn) -> Client:
    await _check_name_free(session, tenant_id, data.name, keep=None)
    client = Client(
        tenant_id=tenant_id,
        name=data.name,
        name_key=data.name.casefold(),
        currency=data.currency,
        hourly_rate=data.hourly_rate,
        billing_email=data.billing_email,
        address=data.address,
    )
    session.add(client)
    await session.flush()
    return client


async def update_client(
    session: AsyncSession, tenant_id: int, client_id: int, patch: ClientPatch
) -> Client:
    # Locked: a currency change and a QuickBooks link at once must not both pass their checks.
    client = await get_client(session, tenant_id, client_id, lock="update")
    changes = patch.model_dump(exclude_unset=True)
    if "name" in changes:
        if changes["name"] is None:
            raise Unprocessable("A client needs a name.", code="invalid_request")
        await _check_name_free(session, tenant_id, changes["name"], keep=client.id)
        client.name_key = changes["name"].casefold()
    if "currency" in changes and changes["currency"] is None:
        raise Unprocessable("A client needs a currency.", code="invalid_request")
    if "currency" in changes and changes["currency"] != client.currency:
        # The accounting system may invoice the client's customer in one currency only.
        await accounting.check_client_currency(session, tenant_id, client, changes["currency"])
    for field, value in changes.items():
        setattr(client, field, value)
    await session.flush()
    return client


async def delete_client(session: AsyncSession, tenant_id: int, client_id: int) -> None:
    client = await get_client(session, tenant_id, client_id, lock="update")
    if await invoice_repository.has_invoices(session, tenant_id, client_id=client_id):
        raise Conflict(
            f"'{client.name}' has invoices, which must stay with their client: it cannot be "
            f"deleted.",
            code="client_has_invoices",
        )
    if await repository.budgets(session, tenant_id, after_id=0, limit=1, client_id=client_id):
        raise Conflict(
            f"'{client.name}' still has budgets: delete them first (Manage → Budgets).",
            code="client_has_budgets",
        )
    await repository.delete_dated_rates(session, tenant_id, "client", client.id)
    await session.delete(client)
    await session.flush()


async def _check_name_free(
    session: AsyncSession, tenant_id: int, name: str, *, keep: int | None
) -> None:
    existing = await repository.client_by_name(session, tenant_id, name)
    if existing is not None and existing.id != keep:
        raise Conflict(
            f"A client named '{existing.name}' already exists: choose another name, or edit "
            "that client instead.",
            code="client_name_taken",
        )


# --- budgets ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BudgetView:
    budget: Budget
    project_keys: list[str]
    seconds_logged: int
    seconds_billable: int
    hours_invoiced: Decimal
    amount_invoiced: Decimal


async def _views(session: AsyncSession, tenant_id: int, budgets: list[Budget]) -> list[BudgetView]:
    ids = [b.id for b in budgets]
    keys = await repository.project_keys(session, tenant_id, ids)
    figures = await repository.budget_hours(session, tenant_id, ids)
    invoiced = await invoice_repository.invoiced_figures(session, tenant_id, ids)
    zero = (Decimal("0.00"), Decimal("0.00"))
    return [
        BudgetView(b, keys.get(b.id, []), *figures.get(b.id, (0, 0)), *invoiced.get(b.id, zero))
        for b in budgets
    ]


async def get_budget(
    session: AsyncSession, tenant_id: int, budget_id: int, *, lock: repository.Lock = None
) -> Budget:
    budget = await repository.budget(session, tenant_id, budget_id, lock=lock)
    if budget is None:
        raise NotFound(
            "That budget does not exist on this site (it may have been deleted): open Budgets "
            "to see the current ones.",
            code="budget_not_found",
        )
    return budget


async def view_budget(session: AsyncSession, tenant_id: int, budget_id: int) -> BudgetView:
    [view] = await _views(session, tenant_id, [await get_budget(session, tenant_id, budget_id)])
    return view


async def list_budgets(
    session: AsyncSession,
    tenant_id: int,
    *,
    cursor: str | None,
    limit: int,
    client_id: int | None,
) -> tuple[list[BudgetView], str | None]:
    rows = await repository.budgets(
        session, tenant_id, after_id=_cursor_id(cursor), limit=limit + 1, client_id=client_id
    )
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return await _views(session, tenant_id, rows[:limit]), next_cursor


async def create_budget(session: AsyncSession, tenant_id: int, data: BudgetIn) -> BudgetView:
    await get_client(session, tenant_id, data.client_id)
    budget = Budget(
        tenant_id=tenant_id,
        client_id=data.client_id,
        name=data.name,
        kind=data.kind.value,
        hourly_rate=data.hourly_rate,
        hours_cap=data.hours_cap,
        amount_cap=data.amount_cap,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
    )
    session.add(budget)
    await session.flush()
    await repository.replace_project_keys(session, tenant_id, budget.id, data.project_keys)
    return await view_budget(session, tenant_id, budget.id)


BUDGET_NEEDS = {
    "name": "a name",
    "kind": "a kind (time and materials or retainer)",
    "project_keys": "at least one Jira project",
    "starts_on": "a start date (Starts on)",
}


async def update_budget(
    session: AsyncSession, tenant_id: int, budget_id: int, patch: BudgetPatch
) -> BudgetView:
    budget = await get_budget(session, tenant_id, budget_id)
    changes = patch.model_dump(exclude_unset=True)
    for field, needed in BUDGET_NEEDS.items():
        if field in changes and changes[field] is None:
            raise Unprocessable(f"A budget needs {needed}: it cannot be left empty.")
    starts = changes.get("starts_on", budget.starts_on)
    ends = changes.get("ends_on", budget.ends_on)
    if ends is not None and ends < starts:
        raise Unprocessable(
            f"Ends on ({human_day(ends)}) is before Starts on ({human_day(starts)}): pick an end "
            f"on or after the start, "
            f"or leave Ends on empty for an open budget.",
            code="invalid_period",
        )
    keys = changes.pop("project_keys", None)
    for field, value in changes.items():
        setattr(budget, field, value.value if isinstance(value, BudgetKind) else value)
    await session.flush()
    if keys is not None:
        await repository.replace_project_keys(session, tenant_id, budget.id, keys)
    return await view_budget(session, tenant_id, budget.id)


async def delete_budget(session: AsyncSession, tenant_id: int, budget_id: int) -> None:
    """Deletes a budget with its projects, rate card and hand-made assignments to it (the
    worklogs then fall into whatever budget matches them). Not once an invoice, even a
    draft, was made from it: the invoice names its budget, and its worklogs stay there.
    Locked first: an invoice generated meanwhile either lands before (409) or finds no
    budget (404), never a foreign-key error."""
    budget = await get_budget(session, tenant_id, budget_id, lock="update")
    if await invoice_repository.has_invoices(session, tenant_id, budget_id=budget.id):
        raise Conflict(
            f"Invoices were made from '{budget.name}', so it cannot be deleted: delete its "
            f"drafts first; a budget with finalized invoices stays. To stop new work falling "
            f"into it, end its period or remove its projects.",
            code="budget_has_invoices",
        )
    await repository.delete_dated_rates(session, tenant_id, "budget", budget.id)
    await session.delete(budget)
    await session.flush()


async def member_rates(
    session: AsyncSession, tenant_id: int, budget_id: int
) -> list[BudgetMemberRate]:
    await get_budget(session, tenant_id, budget_id)
    return await repository.member_rates(session, tenant_id, budget_id)


async def replace_member_rates(
    session: AsyncSession, tenant_id: int, budget_id: int, rates: list[MemberRate]
) -> list[BudgetMemberRate]:
    await get_budget(session, tenant_id, budget_id, lock="update")  # one replacement at a time
    seen: set[tuple[str, date]] = set()
    for rate in rates:
        key = (rate.account_id, rate.effective_from)
        if key in seen:
            same = [
                f"{n}.effective_from"
                for n, r in enumerate(rates)
                if (r.account_id, r.effective_from) == key
            ]
            who = await repository.person_name(session, tenant_id, rate.account_id)
            raise Unprocessable(
                f"Two rates for {who or 'one person'} start on "
                f"{human_day(rate.effective_from)}: keep one of them, or give it another date.",
                code="duplicate_rate",
                fields=same,
            )
        seen.add(key)
    await repository.replace_member_rates(
        session, tenant_id, budget_id, [r.model_dump() for r in rates]
    )
    return await repository.member_rates(session, tenant_id, budget_id)


# --- rate changes (dated budget, client and site rates) -------------------------------------

SITE = repository.SITE  # the owner id of the site's own rate changes


async def rate_changes(
    session: AsyncSession, tenant_id: int, level: repository.DatedLevel, owner_id: int
) -> list[tuple[date, Decimal]]:
    await _rate_owner(session, tenant_id, level, owner_id)
    found = await repository.dated_rates(session, tenant_id, level, [owner_id])
    return found.get(owner_id, [])


async def replace_rate_changes(
    session: AsyncSession,
    tenant_id: int,
    level: repository.DatedLevel,
    owner_id: int,
    changes: list[RateChange],
) -> list[tuple[date, Decimal]]:
    """The level's whole list of rate changes: work on or after a change's day bills at
    its rate, earlier work at the earlier rate (or the base rate). Invoices already made
    keep what they bill."""
    await _rate_owner(session, tenant_id, level, owner_id, lock="update")
    days = [change.effective_from for change in changes]
    twice = sorted({day for day in days if days.count(day) > 1})
    if twice:
        raise Unprocessable(
            f"Two rates start on {human_day(twice[0])}: one rate per day. Change one of the "
            "dates, or remove one of the two.",
            code="duplicate_rate",
            fields=[f"{n}.effective_from" for n, day in enumerate(days) if day == twice[0]],
        )
    await repository.replace_dated_rates(
        session,
        tenant_id,
        level,
        owner_id,
        sorted((change.effective_from, change.hourly_rate) for change in changes),
    )
    return await rate_changes(session, tenant_id, level, owner_id)


async def _rate_owner(
    session: AsyncSession,
    tenant_id: int,
    level: repository.DatedLevel,
    owner_id: int,
    *,
    lock: repository.Lock = None,
) -> None:
    """404 for an unknown budget or client; `lock` makes replacements take turns."""
    if level == "budget":
        await get_budget(session, tenant_id, owner_id, lock=lock)
    elif level == "client":
        await get_client(session, tenant_id, owner_id, lock=lock)
    elif lock is not None:
        await repository.settings(session, tenant_id, for_update=True)


# --- assignment ------------------------------------------------------------------------------


async def assign_worklogs(
    session: AsyncSession,
    tenant_id: int,
    budget_id: int | None,
    worklog_ids: list[str],
    *,
    by: str | None,
) -> list[int]:
    """Put worklogs in a budget by hand, or (budget_id None) in none, whatever would match
    them automatically."""
    if budget_id is not None:
        await get_budget(session, tenant_id, budget_id)
    ids = sorted({int(i) for i in worklog_ids})
    missing = sorted(set(ids) - await repository.live_worklog_ids(session, tenant_id, ids))
    if missing:
        raise NotFound(
            await _missing_worklogs(session, tenant_id, missing), code="worklog_not_found"
        )
    await invoices.ensure_not_invoiced(session, tenant_id, ids)
    await repository.set_assignments(session, tenant_id, ids, budget_id, by)
    return ids


async def _missing_worklogs(session: AsyncSession, tenant_id: int, missing: list[int]) -> str:
    """Why worklogs cannot change: deleted in Jira (named by issue and day), or not on this
    site at all (the page's list is older than the site's)."""
    known = await repository.worklog_descriptions(session, tenant_id, missing)
    deleted = [worklog_text(k, day, s) for k, day, s, gone in known.values() if gone]
    unknown = len(missing) - len(known)
    parts = []
    if deleted:
        shown = "; ".join(deleted[:5]) + (
            f"; and {len(deleted) - 5} more" if len(deleted) > 5 else ""
        )
        parts.append(f"{shown} {'was' if len(deleted) == 1 else 'were'} deleted in Jira")
    if unknown:
        parts.append(
            f"{unknown} selected worklog{' is' if unknown == 1 else 's are'} not on this site"
        )
    return (
        " and ".join(parts) + ", so nothing was changed. Apply the filters again to see the "
        "current list, then choose again."
    )


# --- worklogs with their budget and rate ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceHolding:
    """The invoice a worklog is on: its number once finalized, none while a draft."""

    id: int
    number: str | None
    status: str


@dataclass(frozen=True, slots=True)
class PricedWorklog:
    worklog: Worklog
    issue: JiraIssue
    budget_id: int | None
    rate: Decimal | None
    rate_source: RateSource | None
    invoice: InvoiceHolding | None

    @property
    def invoice_id(self) -> int | None:
        return None if self.invoice is None else self.invoice.id


@dataclass(frozen=True, slots=True)
class WorklogTotals:
    """The whole filter's figures, not one page's."""

    worklogs: int
    seconds: int
    billable_seconds: int


async def list_priced_worklogs(
    session: AsyncSession,
    tenant_id: int,
    filters: WorklogFilters,
    *,
    budget_id: int | None,
    unassigned: bool,
    cursor: str | None,
    limit: int,
    order: WorklogOrder | None = None,
) -> tuple[list[PricedWorklog], str | None]:
    effective = repository.effective_budget_id()
    query = (
        worklogs.worklogs_query(tenant_id, filters, live_only=False)
        .outerjoin(WorklogAssignment, repository.assignment_of_worklog())
        .outerjoin(
            InvoiceWorklog,
            and_(
                InvoiceWorklog.tenant_id == Worklog.tenant_id,
                InvoiceWorklog.worklog_id == Worklog.id,
            ),
        )
        .outerjoin(
            Invoice,
            and_(Invoice.tenant_id == Worklog.tenant_id, Invoice.id == InvoiceWorklog.invoice_id),
        )
        # A worklog deleted in Jira stays listed while a finalized invoice bills it.
        .where(or_(Worklog.deleted_in_jira_at.is_(None), Invoice.status == "finalized"))
        .add_columns(
            effective.label("budget_id"),
            InvoiceWorklog.invoice_id,
            cents(InvoiceWorklog.rate),
            InvoiceWorklog.rate_source,
            Invoice.number,
            Invoice.status,
        )
    )
    if budget_id is not None:
        query = query.where(effective == budget_id)
    if unassigned:
        query = query.where(effective.is_(None))
    rows, next_cursor = await worklogs.page_of(
        session, query, cursor=cursor, limit=limit, order=order
    )
    book = await repository.rate_book(
        session,
        tenant_id,
        worklog_ids=[row[0].id for row in rows],
        budget_ids=sorted({row[2] for row in rows if row[2] is not None}),
        account_ids=sorted({row[0].author_account_id for row in rows}),
    )
    priced = []
    for row in rows:
        worklog, issue, effective_budget, invoice_id, billed_cents, billed_source = row[:6]
        number, status = row[6:8]
        rate: Decimal | None
        source: RateSource | None
        holding = None
        if invoice_id is not None:
            # What the invoice bills it at: later rate changes never reach an invoice.
            rate, source = from_cents(billed_cents), RateSource(billed_source)
            holding = InvoiceHolding(invoice_id, number, status)
        else:
            rate, source = book.resolve(
                worklog.id, effective_budget, worklog.author_account_id, worklog.started_on
            )
        priced.append(PricedWorklog(worklog, issue, effective_budget, rate, source, holding))
    return priced, next_cursor


async def worklog_totals(
    session: AsyncSession,
    tenant_id: int,
    filters: WorklogFilters,
    *,
    budget_id: int | None,
    unassigned: bool,
) -> WorklogTotals:
    """Count, hours and billable hours of every worklog the Worklogs list shows for these
    filters, over all its pages (one aggregate query)."""
    count, seconds, billable = await repository.worklog_totals(
        session, tenant_id, filters, budget_id=budget_id, unassigned=unassigned
    )
    return WorklogTotals(count, seconds, billable)


async def change_worklog(
    session: AsyncSession,
    tenant_id: int,
    worklog_id: int,
    changes: dict[str, object],
    *,
    by: str | None,
) -> PricedWorklog:
    if not await repository.live_worklog_ids(session, tenant_id, [worklog_id]):
        raise NotFound(
            await _missing_worklogs(session, tenant_id, [worklog_id]), code="worklog_not_found"
        )
    await invoices.ensure_not_invoiced(session, tenant_id, [worklog_id])
    if "billable" in changes:
        if not isinstance(changes["billable"], bool):
            raise Unprocessable("billable must be true or false.", code="invalid_request")
        await worklogs.set_billable(session, tenant_id, worklog_id, changes["billable"])
    if "rate_override" in changes:
        rate = changes["rate_override"]
        await repository.set_rate_override(
            session, tenant_id, worklog_id, rate if isinstance(rate, Decimal) else None, by
        )
    [priced], _ = await list_priced_worklogs(
        session,
        tenant_id,
        WorklogFilters(worklog_id=worklog_id),
        budget_id=None,
        unassigned=False,
        cursor=None,
        limit=1,
    )
    return priced
