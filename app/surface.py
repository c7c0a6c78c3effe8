"""What Worklog360 adds to Jira, defined once: its pages, admin page and issue glance, the
worklog events it follows, its lifecycle and what it may do. Both front doors are rendered
from it: the Connect descriptor (`atlassian-connect.json`, which Jira reads from the app) and
the Forge manifest (`manifest.yml`, deployed with the Forge CLI; see `app.forge_app`).

The Connect descriptor must not change shape: Atlassian takes no descriptor updates for
Connect apps since 30 April 2026, so existing sites keep exactly what they installed
(`tests/app/test_surface.py` holds the rendering to the committed `atlassian-connect.json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

APP_NAME = "Worklog360"
DESCRIPTION = "Bill clients from Jira worklogs: budgets, invoices and QuickBooks Online sync."
VENDOR = {"name": "Worklog360", "url": "https://worklog360.com"}
DOCUMENTATION_URL = "https://worklog360.com/docs/quickbooks"
ICON_PATH = "/static/icon.svg"


@dataclass(frozen=True, slots=True)
class AppPage:
    """One screen of the app. `name` is the page's own name (its `/pages/<name>` path and
    its route inside the Forge global page); `key` its Connect module key, which pages pass
    to `AP.navigator.go` and which existing sites know."""

    name: str
    key: str
    title: str
    weight: int

    @property
    def path(self) -> str:
        return f"/pages/{self.name}"


@dataclass(frozen=True, slots=True)
class IssueGlance:
    key: str
    title: str
    label: str
    path: str


@dataclass(frozen=True, slots=True)
class WorklogEvent:
    """A change Jira reports, by its name at each door."""

    connect: str | None
    forge: str


@dataclass(frozen=True, slots=True)
class Surface:
    pages: tuple[AppPage, ...]
    admin_page: AppPage
    issue_glance: IssueGlance
    worklog_events: tuple[WorklogEvent, ...]
    connect_scopes: tuple[str, ...]
    forge_scopes: tuple[str, ...]

    def page_modules(self) -> dict[str, str]:
        """Page name → module key, for the pages' navigation (`W360.page.go`)."""
        keys = {page.name: page.key for page in self.pages}
        keys["settings"] = self.admin_page.key
        return keys


SURFACE = Surface(
    pages=(
        AppPage("worklogs", "worklog360-worklogs", "Worklogs", 100),
        AppPage("clients", "worklog360-clients", "Manage Clients", 110),
        AppPage("budgets", "worklog360-budgets", "Budgets", 120),
        AppPage("invoices", "worklog360-invoices", "Financials / Invoices", 130),
    ),
    admin_page=AppPage(
        "settings/integrations", "worklog360-settings-integrations", "Settings / Integrations", 100
    ),
    issue_glance=IssueGlance(
        key="worklog360-issue-glance", title=APP_NAME, label="Billing", path="/pages/issue-glance"
    ),
    worklog_events=(
        WorklogEvent("worklog_created", "avi:jira:created:worklog"),
        WorklogEvent("worklog_updated", "avi:jira:updated:worklog"),
        WorklogEvent("worklog_deleted", "avi:jira:deleted:worklog"),
        # Deleting an issue deletes its worklogs without a worklog event on Forge; Connect's
        # reconciliation finds those through /worklog/deleted, Forge is told at once too.
        WorklogEvent(None, "avi:jira:deleted:issue"),
    ),
    connect_scopes=("READ", "WRITE"),
    # Read worklogs, issues and people; log time as the person; and the two app tokens the
    # remote needs to call Jira at all ("a valid token will not be created" without them).
    forge_scopes=(
        "read:jira-work",
        "write:jira-work",
        "read:jira-user",
        "read:app-system-token",
        "read:app-user-token",
    ),
)

CONNECT_WEBHOOK_PATH = "/webhooks/jira/worklog"
CONNECT_LIFECYCLE = ("installed", "uninstalled", "enabled", "disabled")


def connect_descriptor(base_url: str, key: str, surface: Surface = SURFACE) -> dict[str, Any]:
    """The Connect descriptor Jira reads from `/atlassian-connect.json`."""
    section = f"{key_prefix(surface)}-admin-section"
    admin = surface.admin_page
    glance = surface.issue_glance
    return {
        "key": key,
        "baseUrl": base_url.rstrip("/"),
        "name": APP_NAME,
        "description": DESCRIPTION,
        "vendor": dict(VENDOR),
        "links": {"documentation": DOCUMENTATION_URL},
        "authentication": {"type": "jwt"},
        "apiVersion": 1,
        "enableLicensing": False,
        "apiMigrations": {"signed-install": True, "context-qsh": True, "gdpr": True},
        "scopes": list(surface.connect_scopes),
        "lifecycle": {event: f"/lifecycle/{event}" for event in CONNECT_LIFECYCLE},
        "modules": {
            "generalPages": [
                {
                    "key": page.key,
                    "name": {"value": f"{APP_NAME}: {page.title}"},
                    "url": page.path,
                    "location": "system.top.navigation.bar",
                    "weight": page.weight,
                }
                for page in surface.pages
            ],
            "adminPages": [
                {
                    "key": admin.key,
                    "name": {"value": f"{APP_NAME}: {admin.title}"},
                    "url": admin.path,
                    "location": f"admin_plugins_menu/{section}",
                    "weight": admin.weight,
                }
            ],
            "webSections": [
                {"key": section, "name": {"value": APP_NAME}, "location": "admin_plugins_menu"}
            ],
            "configurePage": {
                "key": f"{key_prefix(surface)}-configure",
                "name": {"value": f"Configure {APP_NAME}"},
                "url": admin.path,
            },
            "jiraIssueGlances": [
                {
                    "key": glance.key,
                    "name": {"value": glance.title},
                    "icon": {"width": 24, "height": 24, "url": ICON_PATH},
                    "content": {"type": "label", "label": {"value": glance.label}},
                    "target": {
                        "type": "web_panel",
                        "url": f"{glance.path}?issueKey={{issue.key}}&issueId={{issue.id}}",
                    },
                }
            ],
            "webhooks": [
                {"event": event.connect, "url": CONNECT_WEBHOOK_PATH}
                for event in surface.worklog_events
                if event.connect
            ],
        },
    }


def key_prefix(surface: Surface = SURFACE) -> str:
    """`worklog360`: what every module key starts with."""
    return surface.pages[0].key.split("-", 1)[0]


# Forge: keys of remotes, endpoints and resources are at most 23 characters, and module keys
# are unique across every module type (endpoints are modules too).
FORGE_REMOTE = "worklog360"
FORGE_UI_ENDPOINT = "w360-ui"
FORGE_RUNTIME = "nodejs22.x"
# The remote's routes for what Forge sends without a person (DESIGN.md, "Two front doors").
FORGE_ROUTES = {
    "w360-events": "/forge/events",
    "w360-lifecycle": "/forge/lifecycle",
    "w360-scheduled": "/forge/scheduled",
    "w360-uninstall": "/forge/uninstall",
}
FORGE_LIFECYCLE_EVENTS = ("avi:forge:installed:app", "avi:forge:upgraded:app")
# Custom UI resources: each a folder with its own index.html (app.forge_app builds them).
FORGE_RESOURCES = {
    "pages": "static/pages",
    "settings": "static/settings",
    "glance": "static/glance",
}


def forge_manifest(remote_url: str, app_id: str, surface: Surface = SURFACE) -> dict[str, Any]:
    """The Forge app's `manifest.yml`, as data: the same pages, events and lifecycle as the
    Connect descriptor, every call going to this service as the app's Forge Remote."""
    prefix = key_prefix(surface)
    glance = surface.issue_glance

    def ui() -> dict[str, Any]:
        return {"resolver": {"endpoint": FORGE_UI_ENDPOINT}}

    return {
        "app": {"id": app_id, "runtime": {"name": FORGE_RUNTIME}},
        "modules": {
            "jira:globalPage": [
                {
                    "key": f"{prefix}-app",
                    "resource": "pages",
                    **ui(),
                    "title": APP_NAME,
                    "layout": "blank",
                    "pages": [{"title": page.title, "route": page.name} for page in surface.pages],
                }
            ],
            "jira:adminPage": [
                {
                    "key": surface.admin_page.key,
                    "resource": "settings",
                    **ui(),
                    "title": f"{APP_NAME}: {surface.admin_page.title}",
                    "useAsConfig": True,
                }
            ],
            "jira:issueGlance": [
                {
                    "key": glance.key,
                    "resource": "glance",
                    **ui(),
                    "title": glance.title,
                    "label": glance.label,
                }
            ],
            "trigger": [
                {
                    "key": f"{prefix}-worklog-events",
                    "endpoint": "w360-events",
                    "events": [event.forge for event in surface.worklog_events],
                },
                {
                    "key": f"{prefix}-app-lifecycle",
                    "endpoint": "w360-lifecycle",
                    "events": list(FORGE_LIFECYCLE_EVENTS),
                },
            ],
            # Keeps a fresh system token and runs reconciliation for sites with no traffic.
            "scheduledTrigger": [
                {"key": f"{prefix}-hourly", "endpoint": "w360-scheduled", "interval": "hour"}
            ],
            "preUninstall": [{"key": f"{prefix}-pre-uninstall", "endpoint": "w360-uninstall"}],
            "endpoint": [
                {
                    "key": FORGE_UI_ENDPOINT,
                    "remote": FORGE_REMOTE,
                    # A person's token to log time as them; the app's to read as the app.
                    "auth": {
                        "appUserToken": {"enabled": True},
                        "appSystemToken": {"enabled": True},
                    },
                },
                *(
                    {
                        "key": key,
                        "remote": FORGE_REMOTE,
                        "route": {"path": path},
                        "auth": {"appSystemToken": {"enabled": True}},
                    }
                    for key, path in FORGE_ROUTES.items()
                ),
            ],
        },
        "resources": [{"key": key, "path": path} for key, path in FORGE_RESOURCES.items()],
        "remotes": [
            {
                "key": FORGE_REMOTE,
                "baseUrl": remote_url.rstrip("/"),
                # compute: invokeRemote needs it; storage: worklogs and invoices are kept there.
                "operations": ["storage", "compute"],
                "storage": {"inScopeEUD": True},
            }
        ],
        "permissions": {"scopes": list(surface.forge_scopes)},
    }
