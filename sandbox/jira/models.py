"""What a Jira site holds: users, groups, projects, issues, worklogs and installed apps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class User:
    account_id: str
    display_name: str
    email: str | None = None
    groups: set[str] = field(default_factory=set)
    global_permissions: set[str] = field(default_factory=set)
    time_zone: str = "UTC"
    locale: str = "en_US"
    account_type: str = "atlassian"
    active: bool = True


@dataclass(slots=True)
class Group:
    name: str
    group_id: str


@dataclass(slots=True)
class Project:
    id: str
    key: str
    name: str


@dataclass(slots=True)
class Issue:
    id: str
    key: str
    summary: str
    project_id: str
    # Insertion-ordered set: worklogs are listed by creation, and deleting one is O(1).
    worklog_ids: dict[str, None] = field(default_factory=dict)


@dataclass(slots=True)
class Worklog:
    id: str
    issue_id: str
    author_id: str
    update_author_id: str
    started: str
    time_spent_seconds: int
    comment: dict[str, Any] | None
    created_ms: int
    updated_ms: int


@dataclass(slots=True)
class Installation:
    """One app installed on one site. The clientKey survives reinstalls; the secret does not."""

    app_key: str
    client_key: str
    shared_secret: str
    descriptor: dict[str, Any]
    app_user_id: str
    service_entitlement_number: str
    oauth_client_id: str
    installed: bool = True
    enabled: bool = False

    @property
    def app_base_url(self) -> str:
        return str(self.descriptor["baseUrl"]).rstrip("/")

    @property
    def active(self) -> bool:
        return self.installed and self.enabled

    def webhook_urls(self, event: str) -> list[str]:
        modules = self.descriptor.get("modules") or {}
        hooks = modules.get("webhooks") or []
        return [str(h["url"]) for h in hooks if isinstance(h, dict) and h.get("event") == event]
