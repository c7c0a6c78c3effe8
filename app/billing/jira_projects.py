"""The Jira projects a budget may cover: the site's own, asked of Jira as the app.

A budget over a project Jira does not have would never gather a worklog, so the keys are
checked when a budget is made or its projects change, and the budget form offers the site's
projects to pick from. Jira is asked outside the request's transaction (on SQLite a write
transaction holds the one writer lock; a slow Jira must not hold up every other write)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.billing import repository
from app.errors import ServiceUnavailable, Unprocessable
from app.runtime import Runtime
from app.tenants.jira import jira_for_tenant
from connect.jira import JiraError


@dataclass(frozen=True, slots=True)
class JiraProject:
    key: str
    name: str


def _listed(keys: Sequence[str]) -> str:
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


async def _ask_jira(runtime: Runtime, tenant_id: int, keys: Sequence[str]) -> list[JiraProject]:
    async with runtime.sessions() as session:
        jira = await jira_for_tenant(runtime, session, tenant_id)
    if jira is None:
        raise ServiceUnavailable(
            "Worklog360 is not installed on this Jira site any more, so it cannot read its "
            "projects: reinstall the app.",
            code="jira_unavailable",
        )
    found = await jira.projects(keys)
    return [JiraProject(str(p["key"]), str(p.get("name") or p["key"])) for p in found]


async def site_projects(
    runtime: Runtime, tenant_id: int, *, refresh: bool = False
) -> list[JiraProject]:
    """Every project Worklog360 can see on the site, by key (at most a minute old)."""
    cached = None if refresh else runtime.jira_projects.get(tenant_id)
    if cached is None:
        try:
            projects = await _ask_jira(runtime, tenant_id, ())
        except JiraError as exc:
            raise ServiceUnavailable(
                "Jira did not answer when Worklog360 asked for its projects. Type the project "
                "keys, or try again in a moment.",
                code="jira_unavailable",
            ) from exc
        cached = tuple((p.key, p.name) for p in projects)
        runtime.jira_projects.put(tenant_id, cached)
    return [JiraProject(key, name) for key, name in cached]


async def check_budget_projects(
    runtime: Runtime, tenant_id: int, keys: Sequence[str], *, budget_id: int | None
) -> None:
    """422 `unknown_project` naming each key Jira does not have; keys the budget already
    covers are not asked again (a project archived in Jira since stays on its budget). 503
    `jira_unavailable` when Jira cannot say: nothing is saved unchecked."""
    current: set[str] = set()
    if budget_id is not None:
        async with runtime.sessions() as session:
            if await repository.budget(session, tenant_id, budget_id) is None:
                return  # the change itself answers 404
            current = set(
                (await repository.project_keys(session, tenant_id, [budget_id]))[budget_id]
            )
    added = sorted(set(keys) - current)
    if not added:
        return
    try:
        found = {p.key for p in await _ask_jira(runtime, tenant_id, added)}
    except JiraError as exc:
        raise ServiceUnavailable(
            f"Jira did not answer when Worklog360 checked {_listed(added)} against its "
            f"projects, so the budget was not saved. What you typed is kept: save again in a "
            f"moment.",
            code="jira_unavailable",
        ) from exc
    cached = runtime.jira_projects.get(tenant_id)
    if cached is not None and found - {key for key, _ in cached}:
        runtime.jira_projects.discard(tenant_id)  # Jira has projects the list lacks
    missing = [key for key in added if key not in found]
    if missing:
        many = len(missing) > 1
        raise Unprocessable(
            f"Jira has no project{'s' if many else ''} {_listed(missing)} that Worklog360 can "
            f"see. Check the key{'s' if many else ''} (Jira shows a project's key in its "
            f"settings), or pick from the site's projects.",
            code="unknown_project",
        )
