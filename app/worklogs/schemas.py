from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel

from app.quantities import hours
from app.tenants.jira import WAITING_FOR_JIRA
from app.tenants.schemas import Person
from app.worklogs.models import WorklogSync
from app.worklogs.service import WorklogRow


class WorklogOut(BaseModel):
    id: str
    issue_id: str
    issue_key: str | None
    issue_summary: str | None
    project_key: str | None
    author: Person
    started: str
    time_spent_seconds: int
    hours: str
    comment: str
    billable: bool
    updated: datetime
    deleted_in_jira: bool

    @classmethod
    def of(cls, row: WorklogRow) -> WorklogOut:
        w, issue = row.worklog, row.issue
        local = w.started_at.astimezone(timezone(timedelta(minutes=w.started_offset_minutes)))
        return cls(
            id=str(w.id),
            issue_id=str(w.issue_id),
            issue_key=issue.key,
            issue_summary=issue.summary,
            project_key=issue.project_key,
            author=Person(account_id=w.author_account_id, display_name=w.author_display_name),
            started=local.isoformat(timespec="milliseconds"),
            time_spent_seconds=w.time_spent_seconds,
            hours=f"{hours(w.time_spent_seconds):.2f}",
            comment=w.comment,
            billable=w.billable,
            updated=w.jira_updated_at,
            deleted_in_jira=w.deleted_in_jira_at is not None,
        )


class SyncOut(BaseModel):
    """`state`: idle, running, succeeded, failed, or waiting (for Jira: a site on the Forge
    door whose access lapsed; `message` says so and that it carries on by itself)."""

    state: str
    processed: int
    total: int | None
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    message: str | None = None

    @classmethod
    def of(cls, sync: WorklogSync) -> SyncOut:
        return cls(
            state=sync.state,
            processed=sync.processed,
            total=sync.total,
            started_at=sync.started_at,
            finished_at=sync.finished_at,
            error=sync.error,
            message=WAITING_FOR_JIRA if sync.state == "waiting" else None,
        )
