"""The JSON shapes Jira answers with (REST v3), and the v2 shape webhooks carry."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.jira.formats import adf_text, jira_datetime, time_spent_text
from sandbox.jira.models import Issue, Project, User, Worklog

if TYPE_CHECKING:
    from sandbox.jira.site import Site

NAVIGABLE_FIELDS = ("summary", "project")


def user_json(site: Site, user: User, api: str = "3") -> dict[str, Any]:
    body: dict[str, Any] = {
        "self": f"{site.base_url}/rest/api/{api}/user?accountId={quote(user.account_id)}",
        "accountId": user.account_id,
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "accountType": user.account_type,
    }
    if user.email is not None:
        body["emailAddress"] = user.email
    return body


def myself_json(site: Site, user: User) -> dict[str, Any]:
    return {
        **user_json(site, user),
        "locale": user.locale,
        "groups": {"size": len(user.groups), "items": []},
        "applicationRoles": {"size": 0, "items": []},
    }


def worklog_json(site: Site, worklog: Worklog) -> dict[str, Any]:
    body: dict[str, Any] = {
        "self": f"{site.base_url}/rest/api/3/issue/{worklog.issue_id}/worklog/{worklog.id}",
        "author": user_json(site, site.user(worklog.author_id)),
        "updateAuthor": user_json(site, site.user(worklog.update_author_id)),
        "created": jira_datetime(worklog.created_ms),
        "updated": jira_datetime(worklog.updated_ms),
        "started": worklog.started,
        "timeSpent": time_spent_text(worklog.time_spent_seconds),
        "timeSpentSeconds": worklog.time_spent_seconds,
        "id": worklog.id,
        "issueId": worklog.issue_id,
    }
    if worklog.comment is not None:
        body["comment"] = worklog.comment
    return body


def webhook_worklog_json(site: Site, worklog: Worklog) -> dict[str, Any]:
    """Connect worklog webhooks carry the v2 representation: a `/rest/api/2/` self and the
    comment as plain text."""
    return {
        "self": f"{site.base_url}/rest/api/2/issue/{worklog.issue_id}/worklog/{worklog.id}",
        "author": user_json(site, site.user(worklog.author_id), api="2"),
        "updateAuthor": user_json(site, site.user(worklog.update_author_id), api="2"),
        "comment": adf_text(worklog.comment) if worklog.comment is not None else "",
        "created": jira_datetime(worklog.created_ms),
        "updated": jira_datetime(worklog.updated_ms),
        "started": worklog.started,
        "timeSpent": time_spent_text(worklog.time_spent_seconds),
        "timeSpentSeconds": worklog.time_spent_seconds,
        "id": worklog.id,
        "issueId": worklog.issue_id,
        "properties": [],
    }


def project_json(site: Site, project: Project) -> dict[str, Any]:
    return {
        "self": f"{site.base_url}/rest/api/3/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "simplified": False,
    }


def issue_json(site: Site, issue: Issue, fields: Collection[str]) -> dict[str, Any]:
    """An issue with the requested fields; with none requested, only its id (like
    `/search/jql`)."""
    if not fields:
        return {"id": issue.id}
    values: dict[str, Any] = {}
    if "summary" in fields:
        values["summary"] = issue.summary
    if "project" in fields:
        values["project"] = project_json(site, site.project(issue.project_id))
    return {
        "expand": "",
        "id": issue.id,
        "self": f"{site.base_url}/rest/api/3/issue/{issue.id}",
        "key": issue.key,
        "fields": values,
    }


def requested_fields(raw: Collection[str] | None) -> set[str]:
    """`fields` as Jira reads it: names, `*all`/`*navigable`, `-name` to exclude."""
    if not raw:
        return set()
    chosen: set[str] = set()
    for item in raw:
        for name in (part.strip() for part in item.split(",")):
            if name in ("*all", "*navigable"):
                chosen.update(NAVIGABLE_FIELDS)
            elif name.startswith("-"):
                chosen.discard(name[1:])
            elif name and name != "id":
                chosen.add(name)
    # `id` (or only unknown names) still gives the issue's key and an empty `fields` map.
    return chosen or {"key"}
