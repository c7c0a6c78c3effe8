"""Bulk data for benchmarks and demos: many issues and worklogs in one call, spread over
time so that `/worklog/updated` pages like a real site's (not one huge same-millisecond page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.jira.site import Site

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class SeedSummary:
    projects: list[str]
    issues: int
    users: int
    worklogs: int
    first_updated_ms: int
    last_updated_ms: int


def seed_site(
    site: Site,
    *,
    project_keys: tuple[str, ...] = ("DEMO",),
    issues: int = 2000,
    users: int = 20,
    worklogs: int = 100_000,
    first_updated_ms: int | None = None,
    step_ms: int = 10,
    notify: bool = False,
) -> SeedSummary:
    """Issues round-robin over the projects, worklogs round-robin over issues and authors,
    `step_ms` apart, ending at least two minutes before now unless `first_updated_ms` says
    otherwise. `notify=False` queues no webhooks (history that predates the app)."""
    if first_updated_ms is None:
        first_updated_ms = site.now_ms() - 2 * 60_000 - worklogs * step_ms
    for key in project_keys:
        if site.find_project(key) is None:
            site.add_project(key, f"{key.title()} project")
    people = [site.add_user(f"Seeded Person {n + 1}").account_id for n in range(users)]
    issue_ids = [
        site.add_issue(project_keys[n % len(project_keys)], f"Seeded issue {n + 1}").id
        for n in range(issues)
    ]
    for n in range(worklogs):
        at = first_updated_ms + n * step_ms
        day = (n // max(1, issues)) % 28 + 1
        site.add_worklog(
            issue_ids[n % len(issue_ids)],
            people[n % len(people)],
            started=f"2026-10-{day:02d}T09:00:00.000+0100",
            time_spent_seconds=900 * (1 + n % 8),
            comment=f"Seeded work {n + 1}",
            created_ms=at,
            notify=notify,
        )
    return SeedSummary(
        projects=list(project_keys),
        issues=issues,
        users=users,
        worklogs=worklogs,
        first_updated_ms=first_updated_ms,
        last_updated_ms=first_updated_ms + max(0, worklogs - 1) * step_ms,
    )
