from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, trigger_on_postgresql
from app.timeutil import utc_now


class BillingSettings(Base):
    """A tenant's billing settings: invoice numbering, rounding, default rate and terms."""

    __tablename__ = "billing_settings"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    invoice_number_prefix: Mapped[str] = mapped_column(String(12), default="INV-")
    next_invoice_number: Mapped[int] = mapped_column(Integer, default=1)
    rounding_minutes: Mapped[int] = mapped_column(Integer, default=0)
    rounding_mode: Mapped[str] = mapped_column(String(16), default="none")
    default_hourly_rate: Mapped[Decimal | None]
    default_due_days: Mapped[int] = mapped_column(Integer, default=30)
    billing_group: Mapped[str | None] = mapped_column(String(255))
    quickbooks_item_id: Mapped[str | None] = mapped_column(String(64))
    quickbooks_tax_code_id: Mapped[str | None] = mapped_column(String(64))
    # False: people who may only read see hours but no rate or amount (app.billing.visibility).
    readers_see_money: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Client(Base):
    """Someone the tenant bills. Keyed (tenant, id) so rows of other tables that name a
    client carry the tenant too, and can never point at another site's client."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name: two clients of one site may not differ only by case.
    name_key: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    hourly_rate: Mapped[Decimal | None]
    billing_email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        UniqueConstraint("tenant_id", "name_key"),
        UniqueConstraint("tenant_id", "id"),
    )


class Budget(Base):
    """A client's budget over one or more Jira projects and a period.

    Worklogs belong to a budget either by hand (`WorklogAssignment`) or automatically: the
    worklog's project is one of the budget's and its work day (`started_on`) lies in the
    budget's period. When several budgets match, the one that started last wins (the most
    recent agreement), then the higher id (the one created later).
    """

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    hourly_rate: Mapped[Decimal | None]
    hours_cap: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amount_cap: Mapped[Decimal | None]
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "client_id"],
            ["clients.tenant_id", "clients.id"],
            name="fk_budgets_client",
        ),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_budgets_tenant_client", "tenant_id", "client_id"),
    )


class BudgetProject(Base):
    __tablename__ = "budget_projects"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    budget_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_key: Mapped[str] = mapped_column(String(255), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "budget_id"],
            ["budgets.tenant_id", "budgets.id"],
            name="fk_budget_projects_budget",
            ondelete="CASCADE",
        ),
        Index("ix_budget_projects_tenant_project", "tenant_id", "project_key"),
    )


class BudgetMemberRate(Base):
    """A person's rate on a budget from a day on: rates are dated so that a new rate never
    rewrites what was billed before it."""

    __tablename__ = "budget_member_rates"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    budget_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    effective_from: Mapped[date] = mapped_column(primary_key=True)
    hourly_rate: Mapped[Decimal]

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "budget_id"],
            ["budgets.tenant_id", "budgets.id"],
            name="fk_budget_member_rates_budget",
            ondelete="CASCADE",
        ),
    )


class DatedRate(Base):
    """A budget's, a client's or the site's hourly rate from a day on. Before a level's first
    dated rate its base rate applies (`budgets.hourly_rate`, `clients.hourly_rate`,
    `billing_settings.default_hourly_rate`), so a new rate never reaches work done before it.

    `owner_id` is the budget's or the client's id, and 0 for the site: no foreign key can
    name two tables, so deleting a budget or a client deletes its rows in the service.
    """

    __tablename__ = "dated_rates"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(8), primary_key=True)  # budget, client, site
    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    effective_from: Mapped[date] = mapped_column(primary_key=True)
    hourly_rate: Mapped[Decimal]


class WorklogAssignment(Base):
    """A person's choice for one worklog: this budget, or (budget_id null) none at all,
    overriding the automatic match."""

    __tablename__ = "worklog_assignments"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worklog_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    budget_id: Mapped[int | None] = mapped_column(Integer)
    assigned_by: Mapped[str | None] = mapped_column(String(128))
    assigned_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "worklog_id"],
            ["worklogs.tenant_id", "worklogs.id"],
            name="fk_worklog_assignments_worklog",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "budget_id"],
            ["budgets.tenant_id", "budgets.id"],
            name="fk_worklog_assignments_budget",
            ondelete="CASCADE",
        ),
        Index("ix_worklog_assignments_budget", "tenant_id", "budget_id"),
    )


class WorklogRateOverride(Base):
    """An hourly rate set on one worklog by hand: it beats every other rate."""

    __tablename__ = "worklog_rate_overrides"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worklog_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hourly_rate: Mapped[Decimal]
    set_by: Mapped[str | None] = mapped_column(String(128))
    set_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "worklog_id"],
            ["worklogs.tenant_id", "worklogs.id"],
            name="fk_worklog_rate_overrides_worklog",
            ondelete="CASCADE",
        ),
    )


class Invoice(Base):
    """An invoice made from a budget for a period: `draft` until finalized, then locked.

    Nothing on a finalized invoice ever changes again (the database refuses it, see
    migration 0007): what QuickBooks holds and what the client was sent stay the same
    whatever happens to rates, budgets or the worklogs in Jira afterwards.
    """

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(Integer)
    budget_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    number: Mapped[str | None] = mapped_column(String(21))
    sequence: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[date]
    period_end: Mapped[date]
    group_by: Mapped[str] = mapped_column(String(16))
    # The rounding in force when the invoice was generated, shown beside its hours.
    rounding_minutes: Mapped[int] = mapped_column(Integer)
    rounding_mode: Mapped[str] = mapped_column(String(16))
    issue_date: Mapped[date]
    due_date: Mapped[date]
    # Printed on the invoice: QuickBooks' message to the customer (CustomerMemo).
    notes: Mapped[str | None] = mapped_column(Text)
    # For the team only: never sent to QuickBooks or the client.
    internal_note: Mapped[str | None] = mapped_column(Text)
    total: Mapped[Decimal]
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    finalized_at: Mapped[datetime | None]
    finalized_by: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "client_id"],
            ["clients.tenant_id", "clients.id"],
            name="fk_invoices_client",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "budget_id"],
            ["budgets.tenant_id", "budgets.id"],
            name="fk_invoices_budget",
        ),
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_invoices_tenant_budget", "tenant_id", "budget_id"),
        Index("ix_invoices_tenant_client", "tenant_id", "client_id"),
    )


class InvoiceLine(Base):
    """One line: the worklogs of one group (issue, person or single worklog) at one rate,
    or a line added by hand (`kind` manual, no worklogs, no actual hours).

    A worklog line is found again from its worklogs by (group_key, source_rate): the rate
    they were priced at, which stays when someone edits the line's `rate`. That pair is
    unique per invoice by construction (worklog lines are only made by one GROUP BY group_key,
    rate; see line_builder), not by an index: one would be a fifth of the cost of writing a
    50,000-line invoice (migration 0010).
    """

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    invoice_id: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    group_key: Mapped[str | None] = mapped_column(String(128))
    source_rate: Mapped[Decimal | None]
    description: Mapped[str] = mapped_column(Text)
    actual_seconds: Mapped[int | None] = mapped_column(BigInteger)
    billed_seconds: Mapped[int | None] = mapped_column(BigInteger)
    actual_hours: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    hours: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    rate: Mapped[Decimal]
    amount: Mapped[Decimal]

    __table_args__ = (
        # A statement-level trigger on PostgreSQL (migration 0009; app.db).
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_invoice_lines_invoice",
            ondelete="CASCADE",
            info=trigger_on_postgresql(),
        ),
        Index("ix_invoice_lines_order", "tenant_id", "invoice_id", "position", "id"),
    )


class InvoiceWorklog(Base):
    """A worklog on an invoice, with what it was billed as at the time.

    The primary key (tenant, worklog) is what stops two invoices, drafts included, from
    ever claiming the same worklog, whatever runs at the same time. `jira_updated_at` is
    Jira's as invoiced: a later one is drift. The worklog's issue, author and start are
    copied so that lines are summed and described from this table alone.

    No foreign key to `worklogs`: rows are only ever made from worklogs by one INSERT …
    SELECT, mirrored worklogs are never deleted (they become tombstones), and the check
    would cost a lookup per row on a 50,000-worklog invoice.
    """

    __tablename__ = "invoice_worklogs"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worklog_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    invoice_id: Mapped[int] = mapped_column(Integer)
    group_key: Mapped[str] = mapped_column(String(128))
    rate: Mapped[Decimal]
    rate_source: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[int] = mapped_column(Integer)
    billed_seconds: Mapped[int] = mapped_column(Integer)
    issue_id: Mapped[int] = mapped_column(BigInteger)
    author_account_id: Mapped[str] = mapped_column(String(128))
    author_display_name: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime]
    started_on: Mapped[date]
    jira_updated_at: Mapped[datetime]

    __table_args__ = (
        # A statement-level trigger on PostgreSQL (migration 0009; app.db).
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_invoice_worklogs_invoice",
            ondelete="CASCADE",
            info=trigger_on_postgresql(),
        ),
        Index("ix_invoice_worklogs_invoice", "tenant_id", "invoice_id", "group_key"),
    )
