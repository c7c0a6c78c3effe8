"""What the Worklogs page offers in its filters: the projects and people that have live
worklogs on the site. Read from the mirror, so the lists match what the filters can find."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.worklogs.models import JiraIssue, Worklog

# A filter dropdown longer than this is no help; the page falls back to typing.
MAX_CHOICES = 1000


@dataclass(frozen=True, slots=True)
class PersonChoice:
    account_id: str
    display_name: str | None


@dataclass(frozen=True, slots=True)
class WorklogFacets:
    project_keys: list[str]
    people: list[PersonChoice]


async def worklog_facets(session: AsyncSession, tenant_id: int) -> WorklogFacets:
    live = and_(Worklog.tenant_id == tenant_id, Worklog.deleted_in_jira_at.is_(None))
    projects = await session.execute(
        select(JiraIssue.project_key)
        .join(
            Worklog,
            and_(Worklog.tenant_id == JiraIssue.tenant_id, Worklog.issue_id == JiraIssue.id),
        )
        .where(live, JiraIssue.project_key.is_not(None))
        .group_by(JiraIssue.project_key)
        .order_by(JiraIssue.project_key)
        .limit(MAX_CHOICES)
    )
    # A person's name can change in Jira; the latest non-empty one wins.
    people = await session.execute(
        select(Worklog.author_account_id, func.max(Worklog.author_display_name))
        .where(live)
        .group_by(Worklog.author_account_id)
        .limit(MAX_CHOICES)
    )
    choices = [PersonChoice(account_id, name) for account_id, name in people.all()]
    choices.sort(key=lambda p: ((p.display_name or p.account_id).casefold(), p.account_id))
    return WorklogFacets(project_keys=[key for (key,) in projects.all() if key], people=choices)
