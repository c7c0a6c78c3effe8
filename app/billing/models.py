from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
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
