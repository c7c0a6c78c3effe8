"""One emulated Jira Cloud site: its data, the changes it records, and the Python API that
tests use to arrange it. REST handlers and control routes call the same methods, so a
worklog created any way queues the same webhooks and feeds the same change lists."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.jira.account_privacy import CLOSED_DISPLAY_NAME, AccountPrivacy
from sandbox.jira.calls import CallCounter
from sandbox.jira.changes import ChangeFeed
from sandbox.jira.errors import JiraApiError, not_found
from sandbox.jira.faults import FaultPlan
from sandbox.jira.formats import comment_document, parse_started, started_from_datetime
from sandbox.jira.models import Group, Installation, Issue, Project, User, Worklog
from sandbox.jira.webhooks import WebhookOutbox

if TYPE_CHECKING:
    from sandbox.jira.emulator import JiraSandbox
    from sandbox.jira.webhooks import DeliveryResult

WORKLOG_EVENTS = ("worklog_created", "worklog_updated", "worklog_deleted")
# The same changes as Forge names them (events-reference/jira).
FORGE_WORKLOG_EVENTS = {
    "worklog_created": "avi:jira:created:worklog",
    "worklog_updated": "avi:jira:updated:worklog",
    "worklog_deleted": "avi:jira:deleted:worklog",
}
FORGE_ISSUE_DELETED = "avi:jira:deleted:issue"


class Site:
    def __init__(
        self, sandbox: JiraSandbox, *, name: str, base_url: str, display_url: str | None
    ) -> None:
        self._sandbox = sandbox
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.display_url = (display_url or base_url).rstrip("/")
        parts = urlsplit(self.base_url)
        self.scheme = parts.scheme
        self.host = parts.netloc.lower()
        self.context_path = parts.path.rstrip("/")
        # Atlassian's id of the site: stable for ever, what Forge's API gateway routes by.
        self.cloud_id = str(uuid.uuid4())

        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.projects: dict[str, Project] = {}
        self.issues: dict[str, Issue] = {}
        self.worklogs: dict[str, Worklog] = {}
        self.deleted_worklogs: dict[str, Worklog] = {}
        self.installations: dict[str, Installation] = {}
        self.updated_feed = ChangeFeed()
        self.deleted_feed = ChangeFeed()
        self.outbox = WebhookOutbox()
        self.faults = FaultPlan()
        self.calls = CallCounter()
        # The calls that came through Atlassian's API gateway (Forge), also in `calls`.
        self.gateway_calls = CallCounter()
        # What Atlassian's personal data reporting API knows of the accounts (privacy.py).
        self.privacy = AccountPrivacy()

        self._project_by_key: dict[str, str] = {}
        self._issue_by_key: dict[str, str] = {}
        self._issue_numbers: dict[str, itertools.count[int]] = {}
        self._ids = itertools.count(10000)
        self._worklog_ids = itertools.count(10000)

    def __repr__(self) -> str:
        return f"Site({self.name!r}, {self.base_url!r})"

    @property
    def api_base_url(self) -> str:
        """Where a Forge app calls this site's REST API (`app.apiBaseUrl` of its FITs)."""
        return f"{self._sandbox.gateway_url}/ex/jira/{self.cloud_id}"

    def now_ms(self) -> int:
        return self._sandbox.clock.now_ms()

    # --- people ------------------------------------------------------------------------------

    def add_user(
        self,
        display_name: str,
        *,
        account_id: str | None = None,
        email: str | None = None,
        groups: Iterable[str] = (),
        global_permissions: Iterable[str] = (),
        time_zone: str = "UTC",
        account_type: str = "atlassian",
    ) -> User:
        account_id = account_id or f"5b10ac8d82e05b22cc7d{uuid.uuid4().hex[:20]}"
        if account_id in self.users:
            raise JiraApiError(400, f"A user with accountId '{account_id}' already exists.")
        user = User(
            account_id=account_id,
            display_name=display_name,
            email=email,
            global_permissions=set(global_permissions),
            time_zone=time_zone,
            account_type=account_type,
        )
        self.users[account_id] = user
        for group in groups:
            self.add_to_group(account_id, group)
        return user

    def close_account(self, account_id: str) -> User:
        """The person closed their Atlassian account: Jira shows "Former user", no email,
        inactive; the reporting API answers `closed` for it from now on."""
        user = self.user(account_id)
        user.display_name = CLOSED_DISPLAY_NAME
        user.email = None
        user.active = False
        self.privacy.closed_at[account_id] = self._sandbox.token_clock()
        return user

    def rename_user(self, account_id: str, display_name: str) -> User:
        """The person changed their profile: the reporting API answers `updated` for a report
        whose `updatedAt` is older."""
        user = self.user(account_id)
        user.display_name = display_name
        self.privacy.profile_updated_at[account_id] = self._sandbox.token_clock()
        return user

    def user(self, account_id: str) -> User:
        user = self.users.get(account_id)
        if user is None:
            raise not_found(f"User with accountId '{account_id}' does not exist.")
        return user

    def add_group(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = Group(name=name, group_id=str(uuid.uuid4()))
        return group

    def add_to_group(self, account_id: str, group_name: str) -> None:
        self.add_group(group_name)
        self.user(account_id).groups.add(group_name)

    def remove_from_group(self, account_id: str, group_name: str) -> None:
        self.user(account_id).groups.discard(group_name)

    def grant(self, account_id: str, permission: str) -> None:
        self.user(account_id).global_permissions.add(permission)

    def revoke(self, account_id: str, permission: str) -> None:
        self.user(account_id).global_permissions.discard(permission)

    # --- projects and issues -----------------------------------------------------------------

    def add_project(
        self, key: str, name: str | None = None, *, project_id: str | None = None
    ) -> Project:
        key = key.upper()
        if key in self._project_by_key:
            raise JiraApiError(400, errors={"projectKey": f"Project '{key}' already exists."})
        project = Project(id=project_id or str(next(self._ids)), key=key, name=name or key)
        self.projects[project.id] = project
        self._project_by_key[key] = project.id
        self._issue_numbers[project.id] = itertools.count(1)
        return project

    def project(self, id_or_key: str) -> Project:
        project_id = self._project_by_key.get(id_or_key.upper(), id_or_key)
        project = self.projects.get(project_id)
        if project is None:
            raise not_found(f"No project could be found with key '{id_or_key}'.")
        return project

    def find_project(self, value: str) -> Project | None:
        """By id, key or name, as JQL's `project = X` resolves it."""
        project_id = self._project_by_key.get(value.upper(), value)
        if project_id in self.projects:
            return self.projects[project_id]
        return next((p for p in self.projects.values() if p.name == value), None)

    def add_issue(
        self,
        project: str | Project,
        summary: str,
        *,
        key: str | None = None,
        issue_id: str | None = None,
    ) -> Issue:
        owner = project if isinstance(project, Project) else self.project(project)
        if key is None:
            key = f"{owner.key}-{next(self._issue_numbers[owner.id])}"
        issue = Issue(
            id=issue_id or str(next(self._ids)),
            key=key.upper(),
            summary=summary,
            project_id=owner.id,
        )
        if issue.id in self.issues or issue.key in self._issue_by_key:
            raise JiraApiError(400, f"Issue {issue.key} ({issue.id}) already exists.")
        self.issues[issue.id] = issue
        self._issue_by_key[issue.key] = issue.id
        return issue

    def find_issue(self, id_or_key: str) -> Issue | None:
        issue_id = self._issue_by_key.get(id_or_key.upper(), id_or_key)
        return self.issues.get(issue_id)

    def issue(self, id_or_key: str | Issue) -> Issue:
        if isinstance(id_or_key, Issue):
            return id_or_key
        issue = self.find_issue(id_or_key)
        if issue is None:
            raise not_found("Issue does not exist or you do not have permission to see it.")
        return issue

    def delete_issue(
        self, id_or_key: str | Issue, *, by: str | User | None = None, notify: bool = True
    ) -> Issue:
        """Delete an issue and, with it, its worklogs. Jira sends no worklog event for those
        (Forge: "for deletions, cascading events aren't emitted"; Connect has no issue
        webhook in this app's descriptor); they do go into `/worklog/deleted`, which is how
        an app that missed the issue's own event finds out. Forge apps get
        `avi:jira:deleted:issue`."""
        issue = self.issue(id_or_key)
        actor = by.account_id if isinstance(by, User) else by
        snapshot = self._sandbox.forge.issue_payload(self, issue)
        for worklog_id in list(issue.worklog_ids):
            self.delete_worklog(worklog_id, notify=False)
        del self.issues[issue.id]
        self._issue_by_key.pop(issue.key, None)
        if notify:
            self._sandbox.forge.queue_event(
                self, FORGE_ISSUE_DELETED, {"issue": snapshot}, actor=actor
            )
        return issue

    # --- worklogs ----------------------------------------------------------------------------

    def add_worklog(
        self,
        issue: str | Issue,
        author: str | User,
        *,
        started: str | datetime,
        time_spent_seconds: int,
        comment: str | dict[str, Any] | None = None,
        worklog_id: str | None = None,
        created_ms: int | None = None,
        updated_ms: int | None = None,
        notify: bool = True,
    ) -> Worklog:
        """Log work. `notify=False` skips webhooks (history that predates the app)."""
        target = self.issue(issue)
        author_id = author.account_id if isinstance(author, User) else self.user(author).account_id
        _require_positive(time_spent_seconds)
        now = self.now_ms()
        created = now if created_ms is None else created_ms
        worklog = Worklog(
            id=worklog_id or str(next(self._worklog_ids)),
            issue_id=target.id,
            author_id=author_id,
            update_author_id=author_id,
            started=_started(started),
            time_spent_seconds=time_spent_seconds,
            comment=comment_document(comment),
            created_ms=created,
            updated_ms=created if updated_ms is None else updated_ms,
        )
        if worklog.id in self.worklogs or worklog.id in self.deleted_worklogs:
            raise JiraApiError(400, f"Worklog {worklog.id} already exists.")
        self.worklogs[worklog.id] = worklog
        target.worklog_ids[worklog.id] = None
        self.updated_feed.record(int(worklog.id), worklog.updated_ms)
        if notify:
            self._queue_webhooks("worklog_created", worklog)
        return worklog

    def worklog(self, worklog_id: str | int) -> Worklog:
        worklog = self.worklogs.get(str(worklog_id))
        if worklog is None:
            raise not_found(f"Cannot find worklog with id: '{worklog_id}'.")
        return worklog

    def update_worklog(
        self,
        worklog_id: str | int,
        *,
        by: str | User | None = None,
        started: str | datetime | None = None,
        time_spent_seconds: int | None = None,
        comment: str | dict[str, Any] | None = None,
        updated_ms: int | None = None,
        notify: bool = True,
    ) -> Worklog:
        """Edit a worklog; `by` becomes its updateAuthor (the author when not given)."""
        worklog = self.worklog(worklog_id)
        if by is not None:
            worklog.update_author_id = (
                by.account_id if isinstance(by, User) else self.user(by).account_id
            )
        if started is not None:
            worklog.started = _started(started)
        if time_spent_seconds is not None:
            _require_positive(time_spent_seconds)
            worklog.time_spent_seconds = time_spent_seconds
        if comment is not None:
            worklog.comment = comment_document(comment)
        worklog.updated_ms = self.now_ms() if updated_ms is None else updated_ms
        self.updated_feed.record(int(worklog.id), worklog.updated_ms)
        if notify:
            self._queue_webhooks("worklog_updated", worklog)
        return worklog

    def delete_worklog(
        self, worklog_id: str | int, *, deleted_ms: int | None = None, notify: bool = True
    ) -> Worklog:
        worklog = self.worklog(worklog_id)
        del self.worklogs[worklog.id]
        self.issues[worklog.issue_id].worklog_ids.pop(worklog.id, None)
        self.deleted_worklogs[worklog.id] = worklog
        self.updated_feed.forget(int(worklog.id))
        self.deleted_feed.record(
            int(worklog.id), self.now_ms() if deleted_ms is None else deleted_ms
        )
        if notify:
            self._queue_webhooks("worklog_deleted", worklog)
        return worklog

    def issue_worklogs(self, issue: str | Issue) -> list[Worklog]:
        return [self.worklogs[w] for w in self.issue(issue).worklog_ids]

    # --- installed apps ----------------------------------------------------------------------

    def installation(self, app_key: str) -> Installation:
        installation = self.installations.get(app_key)
        if installation is None:
            raise KeyError(f"App {app_key!r} was never installed on {self.name}")
        return installation

    def installation_by_client_key(self, client_key: str) -> Installation | None:
        return next((i for i in self.installations.values() if i.client_key == client_key), None)

    def add_installation(
        self,
        descriptor: dict[str, Any],
        *,
        client_key: str | None = None,
        shared_secret: str | None = None,
        enabled: bool = True,
    ) -> Installation:
        """Record an app as installed without any lifecycle callback (arranging a test, or a
        benchmark that starts from an installed app). `JiraSandbox.install_app` is the real
        flow."""
        return self._sandbox.lifecycle.record_installation(
            self, descriptor, client_key=client_key, shared_secret=shared_secret, enabled=enabled
        )

    def context_token(self, app_key: str, account_id: str | None) -> str:
        """What `AP.context.getToken()` gives the app's iframe: qsh `context-qsh`, 15 min."""
        return self._sandbox.lifecycle.context_token(self, self.installation(app_key), account_id)

    def page_url(self, app_key: str, path_with_query: str, account_id: str | None) -> str:
        """The iframe URL Jira would load for a page module, signed with `jwt=`."""
        return self._sandbox.lifecycle.page_url(
            self, self.installation(app_key), path_with_query, account_id
        )

    # --- webhooks ----------------------------------------------------------------------------

    def _queue_webhooks(self, event: str, worklog: Worklog) -> None:
        self._sandbox.forge.queue_event(
            self,
            FORGE_WORKLOG_EVENTS[event],
            {"worklog": self._sandbox.forge.worklog_payload(self, worklog)},
            actor=worklog.update_author_id,
        )
        queued = False
        for installation in self.installations.values():
            if not installation.active:
                continue
            for url in installation.webhook_urls(event):
                self.outbox.queue(self, installation, event, url, worklog, self.now_ms())
                queued = True
        if queued:
            self._sandbox.webhook_queued(self)

    async def deliver_webhooks(self) -> list[DeliveryResult]:
        """Send every queued webhook, in the outbox's current order."""
        return await self._sandbox.deliver_webhooks(self)


def _started(value: str | datetime) -> str:
    return started_from_datetime(value) if isinstance(value, datetime) else parse_started(value)


def _require_positive(seconds: int) -> None:
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        raise JiraApiError(400, errors={"timeLogged": "You must indicate the time spent working."})
