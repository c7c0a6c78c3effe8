from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timeutil import utc_now


class Worklog(Base):
    """One Jira worklog, as Jira has it now.

    Keyed by (tenant, Jira's worklog id): every reference to a worklog carries the tenant, so a
    row of one site can never point at another site's worklog. A worklog deleted in Jira stays
    as a tombstone (`deleted_in_jira_at`) so that a late `worklog_updated` cannot bring it back;
    tombstones are hidden from the API unless an invoice holds them.
    """

    __tablename__ = "worklogs"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    issue_id: Mapped[int] = mapped_column(BigInteger)
    author_account_id: Mapped[str] = mapped_column(String(128))
    author_display_name: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime]
    # Jira's `started` keeps the author's offset; we keep it to show the time as logged.
    started_offset_minutes: Mapped[int] = mapped_column(Integer)
    # The day the work was done where it was logged (started's own offset): what periods,
    # filters and budgets match on, so a 00:30+01:00 worklog counts on that local day.
    started_on: Mapped[date]
    time_spent_seconds: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    jira_created_at: Mapped[datetime | None]
    jira_updated_at: Mapped[datetime]
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted_in_jira_at: Mapped[datetime | None]
    mirrored_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "issue_id"],
            ["jira_issues.tenant_id", "jira_issues.id"],
            name="fk_worklogs_issue",
            use_alter=False,
        ),
        Index("ix_worklogs_tenant_started", "tenant_id", "started_at"),
        Index("ix_worklogs_tenant_started_on", "tenant_id", "started_on"),
        Index("ix_worklogs_tenant_issue", "tenant_id", "issue_id"),
    )


class JiraIssue(Base):
    """The issue facts a worklog needs (key, summary, project), cached per tenant.

    Jira's worklog webhooks carry only `issueId`; rows are created as placeholders
    (`key` null) and filled in bulk by one search per batch, not one call per event.
    """

    __tablename__ = "jira_issues"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str | None] = mapped_column(String(255))
    summary: Mapped[str | None] = mapped_column(Text)
    project_key: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at: Mapped[datetime | None]
    # When Jira said the issue does not exist or we may not see it; retried later.
    missing_since: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_jira_issues_unresolved", "tenant_id", "resolved_at"),
        Index("ix_jira_issues_tenant_project", "tenant_id", "project_key"),
    )


class WorklogSync(Base):
    """Per tenant: where the mirror stands against Jira, and the current run's progress.

    The cursors move in the same transaction as the worklogs they cover, so a crash resumes
    from the last committed page and never half-applies one.
    """

    __tablename__ = "worklog_syncs"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    updated_cursor_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted_cursor_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), default="idle")
    processed: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # Moved on every committed page and every 5 s while the run lives: a run whose heartbeat
    # stops (a killed process) is taken over after 15 s instead of blocking the tenant.
    heartbeat_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]


class WorklogRefresh(Base):
    """A worklog Jira said was created or updated, to be read from Jira and mirrored: a
    Forge worklog event names the worklog but is not a copy to store as is (its people carry
    no names). One row per worklog however many events name it; `version` grows with each,
    so a read of Jira that began before the latest event does not clear it."""

    __tablename__ = "worklog_refreshes"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    worklog_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    requested_at: Mapped[datetime]
