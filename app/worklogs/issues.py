"""Resolving issue ids to key, summary and project, in bulk.

Worklog webhooks name only `issueId`. Worklogs are stored at once with a placeholder issue;
this job then looks the placeholders up with one JQL search per few hundred issues.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from app.db import transaction
from app.runtime import Runtime
from app.tenants.jira import jira_for_tenant
from app.timeutil import utc_now
from app.worklogs import repository
from app.worklogs.jira_format import jira_id
from connect.jira import JiraAuthenticationError

logger = logging.getLogger(__name__)

BATCH = 500
RETRY_MISSING_AFTER = timedelta(hours=1)


def issue_rows(issues: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for issue in issues:
        fields = issue.get("fields") or {}
        project = fields.get("project") or {}
        project_id = str(project.get("id") or "")
        rows.append(
            {
                "id": jira_id(issue.get("id"), "issue"),
                "key": str(issue.get("key") or "")[:255] or None,
                "summary": fields.get("summary"),
                "project_key": project.get("key"),
                "project_id": int(project_id) if project_id.isdigit() else None,
            }
        )
    return rows


def retry_missing_before() -> datetime:
    return utc_now() - RETRY_MISSING_AFTER


async def tenants_to_resolve(runtime: Runtime) -> list[int]:
    async with runtime.sessions() as session:
        return await repository.tenants_with_unresolved_issues(
            session, missing_before=retry_missing_before()
        )


async def resolve_issues(runtime: Runtime, tenant_id: int) -> int:
    """Look up every unresolved issue of a tenant; returns how many were resolved."""
    resolved = 0
    while True:
        async with transaction(runtime.sessions) as session:
            jira = await jira_for_tenant(runtime, session, tenant_id)
            if jira is None:
                return resolved
            ids = await repository.unresolved_issue_ids(
                session, tenant_id, BATCH, missing_before=retry_missing_before()
            )
        if not ids:
            return resolved
        try:
            rows = issue_rows(await jira.issues_by_ids(ids))
        except JiraAuthenticationError as exc:
            # Uninstalled meanwhile, or a Forge token that lapsed: they stay to look up.
            logger.info("issue lookup stopped tenant=%s: %s", tenant_id, exc.message)
            return resolved
        found = {row["id"] for row in rows}
        async with transaction(runtime.sessions) as session:
            await repository.save_issues(session, tenant_id, rows)
            await repository.mark_issues_missing(
                session, tenant_id, [i for i in ids if i not in found]
            )
        resolved += len(rows)
