"""A draft's worklog lines, built inside the database with one INSERT … SELECT.

The claimed worklogs (`invoice_worklogs`) are summed per (group, rate); each sum becomes a
line with its description, its place on the invoice and its money, without a row crossing
into Python: an invoice with one line per worklog has tens of thousands of lines.

The money is integer arithmetic in cents, so SQLite (which keeps numerics as binary floating
point) and PostgreSQL give exactly what `money.hours` and `money.line_amount` give in Python
(the property test holds them equal):

* hours (cents)  = floor((billed_seconds * 100 + 1800) / 3600), i.e. seconds / 3600 to 2
  places, half up;
* amount (cents) = floor((hours_cents * rate_cents + 50) / 100), i.e. round_half_up(hours *
  rate, 2).

Lines are placed in reading order: by issue key in natural order (PROJ-9 before PROJ-10),
by person's name, or by when the worklog started.
"""

from __future__ import annotations

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
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.invoice_schemas import MAX_DESCRIPTION, GroupBy
from app.billing.models import InvoiceLine, InvoiceWorklog
from app.worklogs.models import JiraIssue, Worklog

__all__ = ["cents", "from_cents", "insert_worklog_lines"]

SORT_MEMORY = "64MB"


def cents(column: Any) -> ColumnElement[int]:
    """A money or hours column as whole cents (SQLite hands numerics back as floats)."""
    return cast(func.round(column * 100), BigInteger)


def from_cents(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value).scaleb(-2)


def _money(cents_value: ColumnElement[int], dialect: str) -> ColumnElement[Any]:
    """Whole cents back to a 2-place number for a NUMERIC column. Division, not multiplying
    by 0.01: on SQLite n / 100.0 is the double nearest to the decimal, as a bound Decimal
    would be stored."""
    if dialect == "postgresql":
        return cast(cents_value, Numeric(20, 2)) / 100
    return cents_value / literal(100.0)


def _text(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Code-point order, as Python sorts strings (SQLite's default already is)."""
    return column.collate("C") if dialect == "postgresql" else column


def _all_digits(digits: ColumnElement[str], dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return digits.regexp_match("^[0-9]+$")
    return and_(digits != "", ~digits.op("GLOB")("*[^0-9]*"))


def _iso_day(day: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(day, "YYYY-MM-DD")
    return cast(day, String)  # SQLite keeps dates as ISO text


async def insert_worklog_lines(
    session: AsyncSession, tenant_id: int, invoice_id: int, group_by: GroupBy
) -> None:
    dialect = session.get_bind().dialect.name
    groups = _groups(tenant_id, invoice_id, group_by)
    g = groups.c
    issue = JiraIssue.__table__.alias("i")
    worklog = Worklog.__table__.alias("w")
    who = func.coalesce(func.nullif(g.author_name, ""), g.account_id)
    issue_text = case(
        (issue.c.key.is_(None), literal("Jira issue ") + cast(g.issue_id, String)),
        (func.coalesce(issue.c.summary, "") == "", issue.c.key),
        else_=issue.c.key + literal(" ") + issue.c.summary,
    )

    hours_cents = (g.billed_seconds * 100 + 1800) // 3600
    actual_cents = (g.actual_seconds * 100 + 1800) // 3600
    rate_cents = cents(g.rate)
    amount_cents = (hours_cents * rate_cents + 50) // 100

    source: Any = groups
    if group_by is GroupBy.AUTHOR:
        described: ColumnElement[Any] = who
        order = [_text(func.lower(who), dialect), _text(g.group_key, dialect), g.rate]
    else:
        source = source.outerjoin(
            issue, and_(issue.c.tenant_id == tenant_id, issue.c.id == g.issue_id)
        )
        if group_by is GroupBy.ISSUE:
            described = issue_text
            order = [*_natural_issue_order(issue, dialect), g.issue_id, g.rate]
        else:
            source = source.outerjoin(
                worklog, and_(worklog.c.tenant_id == tenant_id, worklog.c.id == g.worklog_id)
            )
            note = case(
                (func.coalesce(worklog.c.comment, "") == "", literal("")),
                else_=literal(": ") + worklog.c.comment,
            )
            described = (
                issue_text
                + literal(" — ")
                + who
                + literal(", ")
                + _iso_day(g.started_on, dialect)
                + note
            )
            order = [g.first_started_at, g.worklog_id]

    columns: dict[str, Any] = {
        "tenant_id": literal(tenant_id),
        "invoice_id": literal(invoice_id),
        "position": func.row_number().over(order_by=order),
        "kind": literal("worklogs"),
        "group_key": g.group_key,
        "source_rate": g.rate,
        "description": func.substr(described, 1, MAX_DESCRIPTION),
        "actual_seconds": g.actual_seconds,
        "billed_seconds": g.billed_seconds,
        "actual_hours": _money(actual_cents, dialect),
        "hours": _money(hours_cents, dialect),
        "rate": g.rate,
        "amount": _money(amount_cents, dialect),
    }
    rows = select(*columns.values()).select_from(source)
    if dialect == "postgresql":
        # Placing 50,000 lines sorts ~15 MB of rows: in memory, not in temporary files
        # (the default 4 MB). For this transaction only.
        await session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
    await session.execute(insert(InvoiceLine).from_select(list(columns), rows))


def _groups(tenant_id: int, invoice_id: int, group_by: GroupBy) -> Any:
    """The claimed worklogs summed per (group, rate). By worklog each worklog is its own
    group already: its row is read as it is, with no sort and no aggregate."""
    claimed = InvoiceWorklog
    mine = (claimed.tenant_id == tenant_id, claimed.invoice_id == invoice_id)
    if group_by is GroupBy.WORKLOG:
        return (
            select(
                claimed.group_key.label("group_key"),
                claimed.rate.label("rate"),
                cast(claimed.seconds, BigInteger).label("actual_seconds"),
                cast(claimed.billed_seconds, BigInteger).label("billed_seconds"),
                claimed.started_at.label("first_started_at"),
                claimed.worklog_id.label("worklog_id"),
                claimed.issue_id.label("issue_id"),
                claimed.author_account_id.label("account_id"),
                claimed.author_display_name.label("author_name"),
                claimed.started_on.label("started_on"),
            )
            .where(*mine)
            .subquery("g")
        )
    return (
        select(
            claimed.group_key.label("group_key"),
            claimed.rate.label("rate"),
            cast(func.sum(claimed.seconds), BigInteger).label("actual_seconds"),
            cast(func.sum(claimed.billed_seconds), BigInteger).label("billed_seconds"),
            func.min(claimed.started_at).label("first_started_at"),
            func.min(claimed.worklog_id).label("worklog_id"),
            func.min(claimed.issue_id).label("issue_id"),
            func.min(claimed.author_account_id).label("account_id"),
            func.max(claimed.author_display_name).label("author_name"),
            func.min(claimed.started_on).label("started_on"),
        )
        .where(*mine)
        .group_by(claimed.group_key, claimed.rate)
        .subquery("g")
    )


def _natural_issue_order(issue: Any, dialect: str) -> list[ColumnElement[Any]]:
    """PROJ-9 before PROJ-10: a Jira key is its project's key, '-', and a number. Compared as
    (project, number, key), the number by length then digits (no leading zeros in Jira
    keys); a key of another shape sorts as itself; issues never resolved come last."""
    key, project = issue.c.key, issue.c.project_key
    number = func.substr(key, func.length(project) + 2)
    numbered = and_(
        project.is_not(None),
        func.substr(key, 1, func.length(project) + 1) == project + literal("-"),
        _all_digits(number, dialect),
    )
    return [
        case((key.is_(None), 1), else_=0),
        _text(case((numbered, project), else_=key), dialect),
        case((numbered, func.length(number)), else_=0),
        _text(case((numbered, number), else_=literal("")), dialect),
        _text(key, dialect),
    ]
