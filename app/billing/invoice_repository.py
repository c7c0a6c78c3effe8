"""All SQL of invoices. Every query names the tenant.

Generating an invoice happens inside the database: the budget's worklogs are priced and
claimed with one INSERT … SELECT (joins only: the budget's rules are turned into plain
conditions first), and summed into lines with one GROUP BY over the claimed rows — never a
Python loop over tens of thousands of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Numeric,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.line_builder import cents, from_cents
from app.billing.models import (
    Budget,
    BudgetMemberRate,
    BudgetProject,
    Invoice,
    InvoiceLine,
    InvoiceWorklog,
    WorklogAssignment,
    WorklogRateOverride,
)
from app.billing.money import RoundingMode, billed_seconds_sql, money
from app.billing.rates import RateSource
from app.db import UTCDateTime, dialect_insert
from app.worklogs.models import JiraIssue, Worklog

GROUP_KEYS: dict[str, Any] = {
    "issue": lambda: cast(Worklog.issue_id, String),
    "author": lambda: Worklog.author_account_id,
    "worklog": lambda: cast(Worklog.id, String),
}


@dataclass(frozen=True, slots=True)
class RateLevel:
    """One level of rate under the person's own (the budget's, the client's, the site's):
    its base rate, and its dated rates from a day on (constant for one budget)."""

    source: RateSource
    base: Decimal | None
    dated: tuple[tuple[date, Decimal], ...] = ()

    def rate(self) -> ColumnElement[Any]:
        """The level's rate on the worklog's work day, as a CASE over its (few) dates."""
        base = null() if self.base is None else literal(self.base, Numeric(18, 2))
        if not self.dated:
            return base
        whens = [
            (Worklog.started_on >= day, literal(rate, Numeric(18, 2)))
            for day, rate in sorted(self.dated, reverse=True)
        ]
        return case(*whens, else_=base)


@dataclass(frozen=True, slots=True)
class Window:
    """Projects and days: the shape of a budget for the automatic match."""

    project_keys: tuple[str, ...]
    starts_on: date
    ends_on: date | None

    def holds(self) -> ColumnElement[bool]:
        conditions = [
            JiraIssue.project_key.in_(self.project_keys),
            Worklog.started_on >= self.starts_on,
        ]
        if self.ends_on is not None:
            conditions.append(Worklog.started_on <= self.ends_on)
        return and_(*conditions)


@dataclass(frozen=True, slots=True)
class MemberRate:
    account_id: str
    starts_on: date
    ends_before: date | None  # the next rate's first day for that person
    rate: Decimal


@dataclass(frozen=True, slots=True)
class BudgetScope:
    """What decides which worklogs a budget's invoice takes and at which rate, loaded in a
    few small queries so that the big one needs no correlated subqueries:

    * `window`: the budget's own projects and period;
    * `preferred`: the windows of the budgets that win over this one when both match a
      worklog (started later, or the same day and created later — the rule of
      `repository.auto_budget_id`, which tests hold this to);
    * `member_rates`: the budget's dated rate card as date ranges.
    """

    tenant_id: int
    budget_id: int
    window: Window
    preferred: tuple[Window, ...]
    member_rates: tuple[MemberRate, ...]
    # Under the person's rate: the budget's, the client's, the site's, in that order.
    levels: tuple[RateLevel, ...]

    @property
    def always_priced(self) -> bool:
        """Whether every worklog has a rate whatever its day: a level with a base rate."""
        return any(level.base is not None for level in self.levels)


async def budget_scope(
    session: AsyncSession, budget: Budget, levels: tuple[RateLevel, ...]
) -> BudgetScope:
    tenant_id = budget.tenant_id
    projects = await session.execute(
        select(BudgetProject.budget_id, BudgetProject.project_key).where(
            BudgetProject.tenant_id == tenant_id
        )
    )
    keys: dict[int, list[str]] = {}
    for budget_id, key in projects.all():
        keys.setdefault(budget_id, []).append(key)
    own = set(keys.get(budget.id, []))
    rivals = await session.execute(
        select(Budget.id, Budget.starts_on, Budget.ends_on).where(
            Budget.tenant_id == tenant_id,
            Budget.id != budget.id,
            or_(
                Budget.starts_on > budget.starts_on,
                and_(Budget.starts_on == budget.starts_on, Budget.id > budget.id),
            ),
        )
    )
    preferred = tuple(
        Window(tuple(sorted(own & set(keys.get(rival_id, [])))), starts, ends)
        for rival_id, starts, ends in rivals.all()
        if own & set(keys.get(rival_id, []))
    )
    card = await session.execute(
        select(
            BudgetMemberRate.account_id,
            BudgetMemberRate.effective_from,
            BudgetMemberRate.hourly_rate,
        )
        .where(BudgetMemberRate.tenant_id == tenant_id, BudgetMemberRate.budget_id == budget.id)
        .order_by(BudgetMemberRate.account_id, BudgetMemberRate.effective_from)
    )
    rows = card.all()
    member_rates = tuple(
        MemberRate(
            account_id,
            starts,
            rows[i + 1][1] if i + 1 < len(rows) and rows[i + 1][0] == account_id else None,
            Decimal(rate),
        )
        for i, (account_id, starts, rate) in enumerate(rows)
    )
    return BudgetScope(
        tenant_id=tenant_id,
        budget_id=budget.id,
        window=Window(tuple(sorted(own)), budget.starts_on, budget.ends_on),
        preferred=preferred,
        member_rates=member_rates,
        levels=levels,
    )


def _candidates(scope: BudgetScope) -> list[tuple[str, ColumnElement[Any]]]:
    """Each rate a worklog may bill at, most specific first, with the name of its source."""
    return [
        (RateSource.WORKLOG.value, WorklogRateOverride.__table__.c.hourly_rate),
        (RateSource.BUDGET_MEMBER.value, _member_rate(scope)),
        *[(level.source.value, level.rate()) for level in scope.levels],
    ]


def _rate(scope: BudgetScope) -> ColumnElement[Any]:
    return func.coalesce(*[candidate for _, candidate in _candidates(scope)])


def _member_rate(scope: BudgetScope) -> ColumnElement[Any]:
    """The person's rate on the work day, as a CASE over the (small) rate card."""
    if not scope.member_rates:
        return null()
    whens = []
    for entry in scope.member_rates:
        condition = and_(
            Worklog.author_account_id == entry.account_id,
            Worklog.started_on >= entry.starts_on,
            *([Worklog.started_on < entry.ends_before] if entry.ends_before else []),
        )
        whens.append((condition, literal(entry.rate, Numeric(18, 2))))
    return case(*whens, else_=null())


def _selection(
    scope: BudgetScope, period_start: date, period_end: date, *, skip_invoiced: bool
) -> Any:
    """Billable, live worklogs of the budget in the period, with their own rates: joins
    only, no per-row subqueries. `skip_invoiced=False` leaves out the anti-join for the
    claim, whose ON CONFLICT skips invoiced worklogs anyway: on PostgreSQL an anti-join
    against the table being filled is planned from its (empty) statistics as a nested
    loop over its growing heap — 9 s instead of 0.3 s for a first 50,000-worklog invoice."""
    tenant_id = scope.tenant_id
    in_budget = or_(
        WorklogAssignment.budget_id == scope.budget_id,
        and_(
            WorklogAssignment.worklog_id.is_(None),
            scope.window.holds(),
            *[~window.holds() for window in scope.preferred],
        ),
    )
    query = (
        select()
        .select_from(Worklog)
        .join(JiraIssue, and_(JiraIssue.tenant_id == tenant_id, JiraIssue.id == Worklog.issue_id))
        .outerjoin(
            WorklogAssignment,
            and_(
                WorklogAssignment.tenant_id == tenant_id,
                WorklogAssignment.worklog_id == Worklog.id,
            ),
        )
        .outerjoin(
            WorklogRateOverride,
            and_(
                WorklogRateOverride.tenant_id == tenant_id,
                WorklogRateOverride.worklog_id == Worklog.id,
            ),
        )
        .where(
            Worklog.tenant_id == tenant_id,
            Worklog.deleted_in_jira_at.is_(None),
            Worklog.billable.is_(True),
            Worklog.started_on >= period_start,
            Worklog.started_on <= period_end,
            in_budget,
        )
    )
    if skip_invoiced:
        query = query.where(
            ~exists().where(
                InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.worklog_id == Worklog.id
            )
        )
    return query


async def unpriced_worklog_ids(
    session: AsyncSession, scope: BudgetScope, period_start: date, period_end: date, *, limit: int
) -> list[int]:
    """Worklogs that would go on the invoice but have no rate at all (asked only when no
    level has a base rate: see `BudgetScope.always_priced`)."""
    query = (
        _selection(scope, period_start, period_end, skip_invoiced=True)
        .add_columns(Worklog.id)
        .where(_rate(scope).is_(None))
        .order_by(Worklog.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def claim_worklogs(
    session: AsyncSession,
    scope: BudgetScope,
    *,
    invoice_id: int,
    period_start: date,
    period_end: date,
    group_by: str,
    rounding_minutes: int,
    rounding_mode: RoundingMode,
) -> int:
    """Put every billable, not yet invoiced worklog of the budget in the period on the
    invoice, priced, in one INSERT … SELECT. A worklog another invoice claimed first (even
    a moment ago, in another transaction) is skipped by the primary key, never claimed
    twice. Returns how many the invoice holds."""
    rate = _rate(scope)
    source = case(
        *[(candidate.is_not(None), literal(name)) for name, candidate in _candidates(scope)],
        else_=literal(""),
    )
    columns = {
        "tenant_id": literal(scope.tenant_id),
        "worklog_id": Worklog.id,
        "invoice_id": literal(invoice_id),
        "group_key": GROUP_KEYS[group_by](),
        "rate": rate,
        "rate_source": source,
        "seconds": Worklog.time_spent_seconds,
        "billed_seconds": billed_seconds_sql(
            Worklog.time_spent_seconds, rounding_minutes, rounding_mode
        ),
        "issue_id": Worklog.issue_id,
        "author_account_id": Worklog.author_account_id,
        "author_display_name": Worklog.author_display_name,
        "started_at": Worklog.started_at,
        "started_on": Worklog.started_on,
        "jira_updated_at": Worklog.jira_updated_at,
    }
    rows = _selection(scope, period_start, period_end, skip_invoiced=False).add_columns(
        *columns.values()
    )
    statement = (
        dialect_insert(session)(InvoiceWorklog.__table__)
        .from_select(list(columns), rows)
        .on_conflict_do_nothing(index_elements=["tenant_id", "worklog_id"])
    )
    await session.execute(statement)
    # Counted, not taken from rowcount: drivers disagree on it for INSERT … SELECT.
    claimed = await session.scalar(
        select(func.count()).where(
            InvoiceWorklog.tenant_id == scope.tenant_id, InvoiceWorklog.invoice_id == invoice_id
        )
    )
    return int(claimed or 0)


@dataclass(frozen=True, slots=True)
class LineFigures:
    """What an invoice's lines add up to, summed by the database in whole cents."""

    lines: int
    worklogs: int
    actual_seconds: int
    hours: Decimal
    amount: Decimal


async def line_figures(
    session: AsyncSession, tenant_id: int, invoice_id: int, *, worklogs: int | None = None
) -> LineFigures:
    """`worklogs`: how many worklogs the invoice holds, when the caller has just counted them."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(InvoiceLine.actual_seconds), 0),
                func.coalesce(func.sum(cents(InvoiceLine.hours)), 0),
                func.coalesce(func.sum(cents(InvoiceLine.amount)), 0),
            ).where(InvoiceLine.tenant_id == tenant_id, InvoiceLine.invoice_id == invoice_id)
        )
    ).one()
    if worklogs is None:
        worklogs = await session.scalar(
            select(func.count()).where(
                InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.invoice_id == invoice_id
            )
        )
    return LineFigures(
        lines=int(row[0]),
        worklogs=int(worklogs or 0),
        actual_seconds=int(row[1] or 0),
        hours=Decimal(int(row[2])).scaleb(-2),
        amount=Decimal(int(row[3])).scaleb(-2),
    )


async def release_line_worklogs(session: AsyncSession, line: InvoiceLine) -> None:
    """Take a worklog line's worklogs off the invoice: free for another invoice."""
    if line.group_key is None or line.source_rate is None:
        return
    await session.execute(
        delete(InvoiceWorklog).where(
            InvoiceWorklog.tenant_id == line.tenant_id,
            InvoiceWorklog.invoice_id == line.invoice_id,
            InvoiceWorklog.group_key == line.group_key,
            InvoiceWorklog.rate == line.source_rate,
        )
    )


def _cents(value: Any) -> Decimal:
    """A numeric read back as Decimal to the cent, half up like all money (SQLite hands
    back binary floats)."""
    return money(Decimal(str(value)))


# --- reading ----------------------------------------------------------------------------------


async def invoice(
    session: AsyncSession, tenant_id: int, invoice_id: int, *, for_update: bool = False
) -> Invoice | None:
    query = select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.id == invoice_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class LineView:
    """An invoice line as read for showing and syncing: plain values, not an ORM object
    (an invoice may have tens of thousands of lines)."""

    id: int
    kind: str
    group_key: str | None
    source_rate: Decimal | None
    description: str
    actual_seconds: int | None
    actual_hours: Decimal | None
    hours: Decimal
    rate: Decimal
    amount: Decimal
    position: int


async def lines(
    session: AsyncSession,
    tenant_id: int,
    invoice_id: int,
    *,
    after: tuple[int, int] | None = None,
    limit: int | None = None,
) -> list[LineView]:
    """The lines in invoice order (position, id), all of them or a page after (position,
    id). Money read as whole cents and made Decimal here: exact on SQLite's floats, and
    cheap enough for invoices of tens of thousands of lines."""
    query = (
        select(
            InvoiceLine.id,
            InvoiceLine.kind,
            InvoiceLine.group_key,
            cents(InvoiceLine.source_rate),
            InvoiceLine.description,
            InvoiceLine.actual_seconds,
            cents(InvoiceLine.actual_hours),
            cents(InvoiceLine.hours),
            cents(InvoiceLine.rate),
            cents(InvoiceLine.amount),
            InvoiceLine.position,
        )
        .where(InvoiceLine.tenant_id == tenant_id, InvoiceLine.invoice_id == invoice_id)
        .order_by(InvoiceLine.position, InvoiceLine.id)
    )
    if after is not None:
        query = query.where(tuple_(InvoiceLine.position, InvoiceLine.id) > tuple_(*after))
    if limit is not None:
        query = query.limit(limit)
    result = await session.execute(query)
    return [
        LineView(
            id=row[0],
            kind=row[1],
            group_key=row[2],
            source_rate=from_cents(row[3]),
            description=row[4],
            actual_seconds=row[5],
            actual_hours=from_cents(row[6]),
            hours=Decimal(row[7]).scaleb(-2),
            rate=Decimal(row[8]).scaleb(-2),
            amount=Decimal(row[9]).scaleb(-2),
            position=row[10],
        )
        for row in result.all()
    ]


async def line(
    session: AsyncSession, tenant_id: int, invoice_id: int, line_id: int
) -> InvoiceLine | None:
    result = await session.execute(
        select(InvoiceLine).where(
            InvoiceLine.tenant_id == tenant_id,
            InvoiceLine.invoice_id == invoice_id,
            InvoiceLine.id == line_id,
        )
    )
    return result.scalar_one_or_none()


async def worklog_ids_by_line(
    session: AsyncSession,
    tenant_id: int,
    invoice_id: int,
    lines: Sequence[LineView],
    *,
    all_worklog_lines: bool,
    by_worklog: bool,
) -> dict[int, list[int]]:
    """Each worklog line's worklog ids, joined into one string per (group key, rate) by the
    database: tens of thousands of rows would otherwise cross the driver one by one.

    `by_worklog`: the invoice has a line per worklog, whose group key is the worklog's id
    (`GROUP_KEYS`), so there is nothing to look up.

    `all_worklog_lines`: `lines` holds every line of the invoice (no filter needed), not
    a page. Matched to the lines here, not by a join: right after an invoice is generated neither
    table has statistics, and PostgreSQL would plan that join as a nested loop (minutes on
    a 50,000-line invoice)."""
    line_of = {
        (line.group_key, line.source_rate): line.id
        for line in lines
        if line.group_key is not None and line.source_rate is not None
    }
    if by_worklog:
        return {line_id: [int(group_key)] for (group_key, _), line_id in line_of.items()}
    query = (
        select(
            InvoiceWorklog.group_key,
            cents(InvoiceWorklog.rate),
            func.aggregate_strings(cast(InvoiceWorklog.worklog_id, String), ","),
        )
        .where(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.invoice_id == invoice_id)
        .group_by(InvoiceWorklog.group_key, InvoiceWorklog.rate)
    )
    if not line_of:
        return {}
    keys = sorted({group_key for group_key, _ in line_of})
    rows: list[Any] = []
    if all_worklog_lines:
        rows = list((await session.execute(query)).all())
    else:
        for start in range(0, len(keys), 1000):  # within every driver's parameter limit
            chunk = keys[start : start + 1000]
            rows += (await session.execute(query.where(InvoiceWorklog.group_key.in_(chunk)))).all()
    by_line: dict[int, list[int]] = {}
    for group_key, rate_cents, ids in rows:
        line_id = line_of.get((group_key, Decimal(rate_cents).scaleb(-2)))
        if line_id is not None:
            by_line[line_id] = sorted(map(int, ids.split(","))) if "," in ids else [int(ids)]
    return by_line


@dataclass(frozen=True, slots=True)
class Drift:
    """A worklog changed or deleted in Jira since it was invoiced, described as people know
    it: its issue, who logged it, the day, and its time as invoiced and as Jira has it now."""

    worklog_id: int
    change: str  # "updated" or "deleted"
    detected_at: datetime
    issue_key: str | None
    author_account_id: str
    author_display_name: str | None
    started_on: date
    seconds: int  # as invoiced
    seconds_now: int | None  # as Jira has it now; None once deleted


async def drift(session: AsyncSession, tenant_id: int, invoice_id: int) -> list[Drift]:
    """Worklogs changed or deleted in Jira since they were invoiced."""
    result = await session.execute(
        select(
            Worklog.id,
            Worklog.deleted_in_jira_at,
            Worklog.mirrored_at,
            JiraIssue.key,
            InvoiceWorklog.author_account_id,
            InvoiceWorklog.author_display_name,
            InvoiceWorklog.started_on,
            InvoiceWorklog.seconds,
            Worklog.time_spent_seconds,
        )
        .join(
            InvoiceWorklog,
            and_(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.worklog_id == Worklog.id),
        )
        .outerjoin(
            JiraIssue,
            and_(JiraIssue.tenant_id == tenant_id, JiraIssue.id == InvoiceWorklog.issue_id),
        )
        .where(
            Worklog.tenant_id == tenant_id,
            InvoiceWorklog.invoice_id == invoice_id,
            or_(
                Worklog.deleted_in_jira_at.is_not(None),
                Worklog.jira_updated_at != InvoiceWorklog.jira_updated_at,
            ),
        )
        .order_by(Worklog.id)
    )
    return [
        Drift(
            worklog_id=row[0],
            change="deleted" if row[1] is not None else "updated",
            detected_at=row[1] if row[1] is not None else row[2],
            issue_key=row[3],
            author_account_id=row[4],
            author_display_name=row[5],
            started_on=row[6],
            seconds=int(row[7]),
            seconds_now=None if row[1] is not None else int(row[8]),
        )
        for row in result.all()
    ]


@dataclass(frozen=True, slots=True)
class LineWorklog:
    """One worklog of an invoice line: as invoiced (time, billed time, day, person), with
    its issue and comment as Jira has them now."""

    worklog_id: int
    issue_key: str | None
    issue_summary: str | None
    author_account_id: str
    author_display_name: str | None
    started_at: datetime
    started_offset_minutes: int | None
    started_on: date
    seconds: int
    billed_seconds: int
    comment: str | None
    deleted_in_jira: bool


async def line_worklogs(
    session: AsyncSession,
    line: InvoiceLine,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[LineWorklog]:
    """A worklog line's worklogs in the order they were done, a page after (started_at,
    id). The line's (group key, priced-at rate) names them, as it does when summing."""
    if line.group_key is None or line.source_rate is None:
        return []
    tenant_id = line.tenant_id
    query = (
        select(
            InvoiceWorklog.worklog_id,
            JiraIssue.key,
            JiraIssue.summary,
            InvoiceWorklog.author_account_id,
            InvoiceWorklog.author_display_name,
            InvoiceWorklog.started_at,
            Worklog.started_offset_minutes,
            InvoiceWorklog.started_on,
            InvoiceWorklog.seconds,
            InvoiceWorklog.billed_seconds,
            Worklog.comment,
            Worklog.deleted_in_jira_at,
        )
        .outerjoin(
            JiraIssue,
            and_(JiraIssue.tenant_id == tenant_id, JiraIssue.id == InvoiceWorklog.issue_id),
        )
        .outerjoin(
            Worklog, and_(Worklog.tenant_id == tenant_id, Worklog.id == InvoiceWorklog.worklog_id)
        )
        .where(
            InvoiceWorklog.tenant_id == tenant_id,
            InvoiceWorklog.invoice_id == line.invoice_id,
            InvoiceWorklog.group_key == line.group_key,
            cents(InvoiceWorklog.rate) == cents(literal(line.source_rate, Numeric(18, 2))),
        )
        .order_by(InvoiceWorklog.started_at, InvoiceWorklog.worklog_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(
            tuple_(InvoiceWorklog.started_at, InvoiceWorklog.worklog_id)
            > tuple_(literal(after[0], UTCDateTime()), literal(after[1], BigInteger()))
        )
    result = await session.execute(query)
    return [
        LineWorklog(
            worklog_id=row[0],
            issue_key=row[1],
            issue_summary=row[2],
            author_account_id=row[3],
            author_display_name=row[4],
            started_at=row[5],
            started_offset_minutes=row[6],
            started_on=row[7],
            seconds=int(row[8]),
            billed_seconds=int(row[9]),
            comment=row[10],
            deleted_in_jira=row[11] is not None,
        )
        for row in result.all()
    ]


async def invoices_of_worklogs(
    session: AsyncSession, tenant_id: int, worklog_ids: Sequence[int]
) -> list[tuple[int, Invoice]]:
    """(worklog id, invoice) for those of the worklogs that are on an invoice."""
    if not worklog_ids:
        return []
    result = await session.execute(
        select(InvoiceWorklog.worklog_id, Invoice)
        .join(
            Invoice,
            and_(Invoice.tenant_id == tenant_id, Invoice.id == InvoiceWorklog.invoice_id),
        )
        .where(InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.worklog_id.in_(worklog_ids))
        .order_by(InvoiceWorklog.worklog_id)
    )
    return [(row[0], row[1]) for row in result.all()]


async def has_invoices(
    session: AsyncSession,
    tenant_id: int,
    *,
    client_id: int | None = None,
    budget_id: int | None = None,
) -> bool:
    """Whether any invoice (draft or finalized) is the client's or was made from the budget."""
    query = select(Invoice.id).where(Invoice.tenant_id == tenant_id)
    if client_id is not None:
        query = query.where(Invoice.client_id == client_id)
    if budget_id is not None:
        query = query.where(Invoice.budget_id == budget_id)
    return (await session.execute(query.limit(1))).first() is not None


async def invoiced_figures(
    session: AsyncSession, tenant_id: int, budget_ids: Sequence[int]
) -> dict[int, tuple[Decimal, Decimal]]:
    """(hours, amount) on finalized invoices per budget. Summed per invoice in SQL in whole
    cents, then in Python as Decimal: SQLite keeps numerics as binary floating point."""
    if not budget_ids:
        return {}
    hours_per_invoice = (
        select(InvoiceLine.invoice_id, func.sum(cents(InvoiceLine.hours)).label("hours"))
        .where(InvoiceLine.tenant_id == tenant_id)
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    result = await session.execute(
        select(Invoice.budget_id, Invoice.total, hours_per_invoice.c.hours)
        .outerjoin(hours_per_invoice, hours_per_invoice.c.invoice_id == Invoice.id)
        .where(
            Invoice.tenant_id == tenant_id,
            Invoice.budget_id.in_(budget_ids),
            Invoice.status == "finalized",
        )
    )
    figures: dict[int, tuple[Decimal, Decimal]] = {}
    for budget_id, total, hours in result.all():
        hours_so_far, amount_so_far = figures.get(budget_id, (Decimal(0), Decimal(0)))
        figures[budget_id] = (
            hours_so_far + Decimal(int(hours or 0)).scaleb(-2),
            amount_so_far + _cents(total or 0),
        )
    return figures


async def cap_usage(
    session: AsyncSession,
    tenant_id: int,
    budget_id: int,
    *,
    currency: str,
    finalized_before: tuple[datetime, int] | None,
) -> tuple[Decimal, Decimal]:
    """(hours, amount in `currency`) of the budget's finalized invoices, all of them or
    those finalized before (finalized_at, id): what a cap has used up before an invoice.
    An amount cap is in the client's currency, so invoices in another one (made before the
    client's currency changed) do not count towards it."""
    hours_per_invoice = (
        select(InvoiceLine.invoice_id, func.sum(cents(InvoiceLine.hours)).label("hours"))
        .where(InvoiceLine.tenant_id == tenant_id)
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    query = (
        select(
            func.coalesce(func.sum(hours_per_invoice.c.hours), 0),
            func.coalesce(
                func.sum(case((Invoice.currency == currency, cents(Invoice.total)), else_=0)), 0
            ),
        )
        .select_from(Invoice)
        .outerjoin(hours_per_invoice, hours_per_invoice.c.invoice_id == Invoice.id)
        .where(
            Invoice.tenant_id == tenant_id,
            Invoice.budget_id == budget_id,
            Invoice.status == "finalized",
        )
    )
    if finalized_before is not None:
        at, invoice_id = finalized_before
        query = query.where(
            or_(
                Invoice.finalized_at < at,
                and_(Invoice.finalized_at == at, Invoice.id < invoice_id),
            )
        )
    hours_cents, amount_cents = (await session.execute(query)).one()
    return Decimal(int(hours_cents)).scaleb(-2), Decimal(int(amount_cents)).scaleb(-2)


async def delete_invoice(session: AsyncSession, tenant_id: int, invoice_id: int) -> None:
    await session.execute(
        delete(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.id == invoice_id)
    )


async def number_taken(session: AsyncSession, tenant_id: int, number: str) -> bool:
    result = await session.execute(
        select(Invoice.id).where(Invoice.tenant_id == tenant_id, Invoice.number == number)
    )
    return result.first() is not None
