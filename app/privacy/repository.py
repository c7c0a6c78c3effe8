"""All SQL about personal data: which accounts a site's data names, their report state, and
erasing a closed account's name (worklogs, invoice worklog links, invoice line texts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, and_, delete, func, insert, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.models import InvoiceLine, InvoiceWorklog
from app.db import Base, dialect_insert
from app.privacy.models import PersonalDataAccount, PersonalDataErasing
from app.worklogs.models import Worklog

# Every column that holds an Atlassian accountId, by table (each table has `tenant_id`).
ACCOUNT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("worklogs", "author_account_id"),
    ("invoice_worklogs", "author_account_id"),
    ("budget_member_rates", "account_id"),
    ("worklog_assignments", "assigned_by"),
    ("worklog_rate_overrides", "set_by"),
    ("invoices", "created_by"),
    ("invoices", "finalized_by"),
    ("quickbooks_connections", "connected_by"),
    ("quickbooks_customer_links", "linked_by"),
)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


async def stored_account_ids(session: AsyncSession, tenant_id: int) -> set[str]:
    """Every accountId the site's data names."""
    selects = []
    for table_name, column_name in ACCOUNT_COLUMNS:
        table = _table(table_name)
        column = table.c[column_name]
        selects.append(
            select(column.label("account_id")).where(
                table.c.tenant_id == tenant_id, column.is_not(None)
            )
        )
    result = await session.execute(union(*selects))
    return {str(a) for a in result.scalars() if a}


async def record_accounts(
    session: AsyncSession, tenant_id: int, account_ids: Sequence[str], at: datetime
) -> None:
    """Start tracking the accounts not tracked yet, their data retrieved `at`."""
    if not account_ids:
        return
    statement = dialect_insert(session)(PersonalDataAccount).values(
        [
            {"tenant_id": tenant_id, "account_id": a, "retrieved_at": at, "reported_at": None}
            for a in account_ids
        ]
    )
    await session.execute(statement.on_conflict_do_nothing())


async def due_accounts(
    session: AsyncSession, tenant_id: int, reported_before: datetime
) -> list[tuple[str, datetime]]:
    """Accounts not reported in the last cycle, and not closed: (accountId, updatedAt)."""
    result = await session.execute(
        select(PersonalDataAccount.account_id, PersonalDataAccount.retrieved_at)
        .where(
            PersonalDataAccount.tenant_id == tenant_id,
            PersonalDataAccount.closed_at.is_(None),
            or_(
                PersonalDataAccount.reported_at.is_(None),
                PersonalDataAccount.reported_at <= reported_before,
            ),
        )
        .order_by(PersonalDataAccount.account_id)
    )
    return [(row[0], row[1]) for row in result.all()]


async def mark_reported(
    session: AsyncSession, tenant_id: int, account_ids: Sequence[str], at: datetime
) -> None:
    await session.execute(
        update(PersonalDataAccount)
        .where(
            PersonalDataAccount.tenant_id == tenant_id,
            PersonalDataAccount.account_id.in_(list(account_ids)),
        )
        .values(reported_at=at)
    )


async def mark_retrieved(
    session: AsyncSession, tenant_id: int, account_id: str, at: datetime
) -> None:
    await session.execute(
        update(PersonalDataAccount)
        .where(
            PersonalDataAccount.tenant_id == tenant_id,
            PersonalDataAccount.account_id == account_id,
        )
        .values(retrieved_at=at)
    )


async def refresh_name(
    session: AsyncSession, tenant_id: int, account_id: str, display_name: str
) -> None:
    """A renamed person's mirrored worklogs take the new name. Invoices keep the name they
    were issued with: they are documents of their day."""
    await session.execute(
        update(Worklog)
        .where(Worklog.tenant_id == tenant_id, Worklog.author_account_id == account_id)
        .values(author_display_name=display_name)
    )


async def _stored_names(session: AsyncSession, tenant_id: int, account_id: str) -> list[str]:
    names = union(
        select(Worklog.author_display_name.label("name")).where(
            Worklog.tenant_id == tenant_id, Worklog.author_account_id == account_id
        ),
        select(InvoiceWorklog.author_display_name.label("name")).where(
            InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.author_account_id == account_id
        ),
    )
    result = await session.execute(names)
    # Longest first: "Mia Krystof-Lee" is replaced before a shorter "Mia Krystof" could be.
    return sorted({n for n in result.scalars() if n and n.strip()}, key=len, reverse=True)


async def erase_account(
    session: AsyncSession, tenant_id: int, account_id: str, neutral_name: str, at: datetime
) -> int:
    """Replace a closed account's name with `neutral_name` wherever the site stored it: its
    mirrored worklogs, the worklog links of its invoices (finalized ones too) and the line
    texts that name it. Amounts, hours, rates, dates and the accountId stay. The number of
    invoice lines whose text changed."""
    names = [n for n in await _stored_names(session, tenant_id, account_id) if n != neutral_name]
    lines_changed = 0
    # The lock triggers let finalized invoices' names change only while this row exists; it
    # is deleted below, in the same transaction, so no other transaction ever sees it.
    await session.execute(insert(PersonalDataErasing).values(tenant_id=tenant_id))
    invoices_naming = select(InvoiceWorklog.invoice_id).where(
        InvoiceWorklog.tenant_id == tenant_id, InvoiceWorklog.author_account_id == account_id
    )
    for name in names:
        result = await session.execute(
            update(InvoiceLine)
            .where(
                InvoiceLine.tenant_id == tenant_id,
                InvoiceLine.invoice_id.in_(invoices_naming),
                InvoiceLine.description.contains(name, autoescape=True),
            )
            .values(description=func.replace(InvoiceLine.description, name, neutral_name))
            .returning(InvoiceLine.id)
        )
        lines_changed += len(result.all())
    await session.execute(
        update(InvoiceWorklog)
        .where(
            InvoiceWorklog.tenant_id == tenant_id,
            InvoiceWorklog.author_account_id == account_id,
            or_(
                InvoiceWorklog.author_display_name.is_(None),
                InvoiceWorklog.author_display_name != neutral_name,
            ),
        )
        .values(author_display_name=neutral_name)
    )
    await session.execute(
        update(Worklog)
        .where(Worklog.tenant_id == tenant_id, Worklog.author_account_id == account_id)
        .values(author_display_name=neutral_name)
    )
    await session.execute(
        delete(PersonalDataErasing).where(PersonalDataErasing.tenant_id == tenant_id)
    )
    await session.execute(
        update(PersonalDataAccount)
        .where(
            and_(
                PersonalDataAccount.tenant_id == tenant_id,
                PersonalDataAccount.account_id == account_id,
            )
        )
        .values(closed_at=at, retrieved_at=at)
    )
    return lines_changed
