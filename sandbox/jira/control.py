"""The sandbox's own HTTP API under `/_sandbox`: what tests do through the Python API,
for the demo and end-to-end tests that only speak HTTP. Never part of Jira's contract."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from sandbox.jira.errors import JiraApiError, not_found
from sandbox.jira.lifecycle import InstallFailedError
from sandbox.jira.models import Installation, Issue, Project, User
from sandbox.jira.representations import worklog_json
from sandbox.jira.seeding import seed_site
from sandbox.jira.site import Site
from sandbox.jira.webhooks import DeliveryResult

if TYPE_CHECKING:
    from sandbox.jira.emulator import JiraSandbox

router = APIRouter(prefix="/_sandbox")


def _sandbox(request: Request) -> JiraSandbox:
    sandbox: JiraSandbox = request.app.state.sandbox
    return sandbox


def _site(request: Request, name: str) -> Site:
    site = _sandbox(request).sites.get(name)
    if site is None:
        raise not_found(f"No sandbox site named '{name}'.")
    return site


def site_json(site: Site) -> dict[str, Any]:
    return {
        "name": site.name,
        "base_url": site.base_url,
        "display_url": site.display_url,
        "apps": [installation_json(i) for i in site.installations.values()],
        "counts": {
            "users": len(site.users),
            "projects": len(site.projects),
            "issues": len(site.issues),
            "worklogs": len(site.worklogs),
            "deleted_worklogs": len(site.deleted_worklogs),
        },
    }


def installation_json(installation: Installation) -> dict[str, Any]:
    return {
        "key": installation.app_key,
        "client_key": installation.client_key,
        "base_url": installation.app_base_url,
        "installed": installation.installed,
        "enabled": installation.enabled,
        "app_user_account_id": installation.app_user_id,
    }


def _user_json(user: User) -> dict[str, Any]:
    return {
        "account_id": user.account_id,
        "display_name": user.display_name,
        "email": user.email,
        "groups": sorted(user.groups),
        "global_permissions": sorted(user.global_permissions),
        "account_type": user.account_type,
    }


def _project_json(project: Project) -> dict[str, Any]:
    return {"id": project.id, "key": project.key, "name": project.name}


def _issue_json(site: Site, issue: Issue) -> dict[str, Any]:
    project = site.projects[issue.project_id]
    return {"id": issue.id, "key": issue.key, "summary": issue.summary, "project_key": project.key}


def _delivery_json(result: DeliveryResult) -> dict[str, Any]:
    return {**result.delivery.describe(), "status_code": result.status_code, "error": result.error}


# --- sandbox-wide ----------------------------------------------------------------------------


class SiteIn(BaseModel):
    base_url: str
    name: str | None = None
    display_url: str | None = None


class ClockIn(BaseModel):
    now_ms: int | None = None
    advance_ms: int | None = None
    frozen: bool | None = None


class SettingsIn(BaseModel):
    deliver_webhooks_immediately: bool | None = None


@router.get("/sites")
async def list_sites(request: Request) -> list[dict[str, Any]]:
    return [site_json(s) for s in _sandbox(request).sites.values()]


@router.post("/sites", status_code=201)
async def add_site(body: SiteIn, request: Request) -> dict[str, Any]:
    try:
        site = _sandbox(request).add_site(
            body.base_url, name=body.name, display_url=body.display_url
        )
    except ValueError as exc:
        raise JiraApiError(400, str(exc)) from exc
    return site_json(site)


@router.get("/sites/{name}")
async def get_site(name: str, request: Request) -> dict[str, Any]:
    return site_json(_site(request, name))


@router.get("/clock")
async def get_clock(request: Request) -> dict[str, Any]:
    clock = _sandbox(request).clock
    return {"now_ms": clock.now_ms(), "frozen": clock.frozen}


@router.post("/clock")
async def set_clock(body: ClockIn, request: Request) -> dict[str, Any]:
    clock = _sandbox(request).clock
    if body.frozen is True:
        clock.freeze()
    elif body.frozen is False:
        clock.unfreeze()
    if body.now_ms is not None:
        clock.set(body.now_ms)
    if body.advance_ms is not None:
        clock.advance(ms=body.advance_ms)
    return {"now_ms": clock.now_ms(), "frozen": clock.frozen}


@router.patch("/settings")
async def change_settings(body: SettingsIn, request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    if body.deliver_webhooks_immediately is not None:
        sandbox.deliver_webhooks_immediately = body.deliver_webhooks_immediately
    return {"deliver_webhooks_immediately": sandbox.deliver_webhooks_immediately}


@router.get("/install-keys/{kid}")
async def install_key(kid: str, request: Request) -> Response:
    pem = _sandbox(request).install_keys.public_pem(kid)
    if pem is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(pem, media_type="application/x-pem-file")


@router.post("/install-keys/rotate")
async def rotate_install_key(request: Request) -> dict[str, Any]:
    return {"kid": _sandbox(request).install_keys.rotate()}


# --- people, projects, issues ----------------------------------------------------------------


class UserIn(BaseModel):
    display_name: str
    account_id: str | None = None
    email: str | None = None
    groups: list[str] = Field(default_factory=list)
    global_permissions: list[str] = Field(default_factory=list)
    time_zone: str = "UTC"


class ProjectIn(BaseModel):
    key: str
    name: str | None = None
    id: str | None = None


class IssueIn(BaseModel):
    project: str
    summary: str
    key: str | None = None
    id: str | None = None


class MembershipIn(BaseModel):
    groups: list[str] | None = None
    global_permissions: list[str] | None = None


@router.post("/sites/{name}/users", status_code=201)
async def add_user(name: str, body: UserIn, request: Request) -> dict[str, Any]:
    user = _site(request, name).add_user(
        body.display_name,
        account_id=body.account_id,
        email=body.email,
        groups=body.groups,
        global_permissions=body.global_permissions,
        time_zone=body.time_zone,
    )
    return _user_json(user)


@router.get("/sites/{name}/users")
async def list_users(name: str, request: Request) -> list[dict[str, Any]]:
    return [_user_json(u) for u in _site(request, name).users.values()]


@router.patch("/sites/{name}/users/{account_id}")
async def change_user(
    name: str, account_id: str, body: MembershipIn, request: Request
) -> dict[str, Any]:
    site = _site(request, name)
    user = site.user(account_id)
    if body.groups is not None:
        user.groups.clear()
        for group in body.groups:
            site.add_to_group(account_id, group)
    if body.global_permissions is not None:
        user.global_permissions = set(body.global_permissions)
    return _user_json(user)


class RenameIn(BaseModel):
    display_name: str = Field(min_length=1)


@router.post("/sites/{name}/users/{account_id}/close")
async def close_account(name: str, account_id: str, request: Request) -> dict[str, Any]:
    """The person closes their Atlassian account (the privacy API then says `closed`)."""
    return _user_json(_site(request, name).close_account(account_id))


@router.post("/sites/{name}/users/{account_id}/rename")
async def rename_user(
    name: str, account_id: str, body: RenameIn, request: Request
) -> dict[str, Any]:
    """The person changes their profile (the privacy API then says `updated`)."""
    return _user_json(_site(request, name).rename_user(account_id, body.display_name))


@router.get("/sites/{name}/personal-data-reports")
async def personal_data_reports(name: str, request: Request) -> list[dict[str, Any]]:
    return [
        {"door": r.door, "account_ids": r.account_ids, "status_code": r.status_code}
        for r in _site(request, name).privacy.reports
    ]


@router.post("/sites/{name}/projects", status_code=201)
async def add_project(name: str, body: ProjectIn, request: Request) -> dict[str, Any]:
    return _project_json(_site(request, name).add_project(body.key, body.name, project_id=body.id))


@router.post("/sites/{name}/issues", status_code=201)
async def add_issue(name: str, body: IssueIn, request: Request) -> dict[str, Any]:
    site = _site(request, name)
    return _issue_json(
        site, site.add_issue(body.project, body.summary, key=body.key, issue_id=body.id)
    )


class SeedIn(BaseModel):
    project_keys: list[str] = Field(default_factory=lambda: ["DEMO"])
    issues: int = Field(2000, ge=1)
    users: int = Field(20, ge=1)
    worklogs: int = Field(100_000, ge=0)
    first_updated_ms: int | None = None
    step_ms: int = Field(10, ge=0)
    notify: bool = False


@router.post("/sites/{name}/seed", status_code=201)
async def seed(name: str, body: SeedIn, request: Request) -> dict[str, Any]:
    summary = seed_site(
        _site(request, name),
        project_keys=tuple(body.project_keys),
        issues=body.issues,
        users=body.users,
        worklogs=body.worklogs,
        first_updated_ms=body.first_updated_ms,
        step_ms=body.step_ms,
        notify=body.notify,
    )
    return {
        "projects": summary.projects,
        "issues": summary.issues,
        "users": summary.users,
        "worklogs": summary.worklogs,
        "first_updated_ms": summary.first_updated_ms,
        "last_updated_ms": summary.last_updated_ms,
    }


# --- worklogs --------------------------------------------------------------------------------


class WorklogIn(BaseModel):
    issue: str
    author_account_id: str
    started: str
    time_spent_seconds: int
    comment: str | dict[str, Any] | None = None
    notify: bool = True


class WorklogChangeIn(BaseModel):
    update_author_account_id: str | None = None
    started: str | None = None
    time_spent_seconds: int | None = None
    comment: str | dict[str, Any] | None = None
    notify: bool = True


async def _after_change(request: Request, site: Site) -> None:
    if _sandbox(request).deliver_webhooks_immediately:
        await site.deliver_webhooks()


@router.post("/sites/{name}/worklogs", status_code=201)
async def add_worklog(name: str, body: WorklogIn, request: Request) -> dict[str, Any]:
    site = _site(request, name)
    worklog = site.add_worklog(
        body.issue,
        body.author_account_id,
        started=body.started,
        time_spent_seconds=body.time_spent_seconds,
        comment=body.comment,
        notify=body.notify,
    )
    await _after_change(request, site)
    return worklog_json(site, worklog)


@router.patch("/sites/{name}/worklogs/{worklog_id}")
async def update_worklog(
    name: str, worklog_id: str, body: WorklogChangeIn, request: Request
) -> dict[str, Any]:
    site = _site(request, name)
    worklog = site.update_worklog(
        worklog_id,
        by=body.update_author_account_id,
        started=body.started,
        time_spent_seconds=body.time_spent_seconds,
        comment=body.comment,
        notify=body.notify,
    )
    await _after_change(request, site)
    return worklog_json(site, worklog)


@router.delete("/sites/{name}/worklogs/{worklog_id}", status_code=204)
async def delete_worklog(name: str, worklog_id: str, request: Request) -> Response:
    site = _site(request, name)
    site.delete_worklog(worklog_id)
    await _after_change(request, site)
    return Response(status_code=204)


# --- apps ------------------------------------------------------------------------------------


class InstallIn(BaseModel):
    descriptor_url: str


@router.post("/sites/{name}/apps", status_code=201)
async def install_app(name: str, body: InstallIn, request: Request) -> dict[str, Any]:
    site = _site(request, name)
    try:
        installation = await _sandbox(request).install_app(site, body.descriptor_url)
    except InstallFailedError as exc:
        raise JiraApiError(400, f"Installation failed: {exc}") from exc
    return installation_json(installation)


class RegistrationIn(BaseModel):
    descriptor: dict[str, Any]
    client_key: str | None = None
    shared_secret: str | None = None
    enabled: bool = True


@router.post("/sites/{name}/installations", status_code=201)
async def register_installation(
    name: str, body: RegistrationIn, request: Request
) -> dict[str, Any]:
    """Record an app as installed without lifecycle callbacks (a benchmark's starting point).
    Answers with the shared secret: this is a sandbox, and the caller must sign with it."""
    site = _site(request, name)
    try:
        installation = site.add_installation(
            body.descriptor,
            client_key=body.client_key,
            shared_secret=body.shared_secret,
            enabled=body.enabled,
        )
    except InstallFailedError as exc:
        raise JiraApiError(400, str(exc)) from exc
    return {**installation_json(installation), "shared_secret": installation.shared_secret}


def _installation(site: Site, app_key: str) -> Installation:
    installation = site.installations.get(app_key)
    if installation is None:
        raise not_found(f"App '{app_key}' is not installed on this site.")
    return installation


@router.delete("/sites/{name}/apps/{app_key}")
async def uninstall_app(name: str, app_key: str, request: Request) -> dict[str, Any]:
    site = _site(request, name)
    _installation(site, app_key)
    await _sandbox(request).uninstall_app(site, app_key)
    return installation_json(site.installations[app_key])


@router.post("/sites/{name}/apps/{app_key}/enable")
async def enable_app(name: str, app_key: str, request: Request) -> dict[str, Any]:
    site = _site(request, name)
    _installation(site, app_key)
    await _sandbox(request).enable_app(site, app_key)
    return installation_json(site.installations[app_key])


@router.post("/sites/{name}/apps/{app_key}/disable")
async def disable_app(name: str, app_key: str, request: Request) -> dict[str, Any]:
    site = _site(request, name)
    _installation(site, app_key)
    await _sandbox(request).disable_app(site, app_key)
    return installation_json(site.installations[app_key])


@router.get("/sites/{name}/apps/{app_key}/page-url")
async def page_url(
    name: str, app_key: str, path: str, request: Request, account_id: str | None = None
) -> dict[str, Any]:
    site = _site(request, name)
    _installation(site, app_key)
    return {"url": site.page_url(app_key, path, account_id)}


@router.get("/sites/{name}/apps/{app_key}/context-token")
async def context_token(
    name: str, app_key: str, request: Request, account_id: str | None = None
) -> dict[str, Any]:
    site = _site(request, name)
    _installation(site, app_key)
    return {"token": site.context_token(app_key, account_id)}


# --- webhooks --------------------------------------------------------------------------------


class ReorderIn(BaseModel):
    order: list[int]


@router.get("/sites/{name}/webhooks")
async def pending_webhooks(name: str, request: Request) -> dict[str, Any]:
    outbox = _site(request, name).outbox
    return {
        "pending": [d.describe() for d in outbox.pending],
        "delivered": [_delivery_json(r) for r in outbox.delivered],
    }


@router.post("/sites/{name}/webhooks/deliver")
async def deliver_webhooks(name: str, request: Request) -> list[dict[str, Any]]:
    return [_delivery_json(r) for r in await _site(request, name).deliver_webhooks()]


@router.post("/sites/{name}/webhooks/reorder")
async def reorder_webhooks(name: str, body: ReorderIn, request: Request) -> list[dict[str, Any]]:
    outbox = _site(request, name).outbox
    try:
        outbox.reorder(body.order)
    except ValueError as exc:
        raise JiraApiError(400, str(exc)) from exc
    return [d.describe() for d in outbox.pending]


def _pending(site: Site, delivery_id: int) -> None:
    try:
        site.outbox.find(delivery_id)
    except KeyError as exc:
        raise not_found(f"No pending webhook delivery {delivery_id}.") from exc


@router.post("/sites/{name}/webhooks/{delivery_id}/duplicate", status_code=201)
async def duplicate_webhook(name: str, delivery_id: int, request: Request) -> dict[str, Any]:
    site = _site(request, name)
    _pending(site, delivery_id)
    return site.outbox.duplicate(delivery_id).describe()


@router.delete("/sites/{name}/webhooks/{delivery_id}", status_code=204)
async def drop_webhook(name: str, delivery_id: int, request: Request) -> Response:
    site = _site(request, name)
    _pending(site, delivery_id)
    site.outbox.drop(delivery_id)
    return Response(status_code=204)


# --- faults and call counts ------------------------------------------------------------------


class FaultIn(BaseModel):
    status: int = 429
    count: int = 1
    retry_after: float | str | None = None
    rate_limit_reset: bool = False
    reason: str | None = "jira-burst-based"
    method: str | None = None
    route: str | None = None


class LatencyIn(BaseModel):
    seconds: float


@router.post("/sites/{name}/faults", status_code=201)
async def add_fault(name: str, body: FaultIn, request: Request) -> dict[str, Any]:
    if body.status not in (429, 503):
        raise JiraApiError(400, "Only 429 and 503 faults are supported.")
    faults = _site(request, name).faults
    faults.fail_next(
        body.count,
        status=body.status,
        retry_after=body.retry_after,
        rate_limit_reset=body.rate_limit_reset,
        reason=body.reason,
        method=body.method,
        route=body.route,
    )
    return {"pending": faults.pending, "latency_seconds": faults.latency_seconds}


@router.put("/sites/{name}/faults/latency")
async def set_latency(name: str, body: LatencyIn, request: Request) -> dict[str, Any]:
    faults = _site(request, name).faults
    faults.latency_seconds = max(0.0, body.seconds)
    return {"pending": faults.pending, "latency_seconds": faults.latency_seconds}


class HoldIn(BaseModel):
    method: str | None = None
    route: str | None = None


@router.post("/sites/{name}/holds", status_code=201)
async def hold_calls(name: str, body: HoldIn, request: Request) -> dict[str, Any]:
    """Matching REST calls wait, unanswered, until `DELETE …/holds` releases them."""
    faults = _site(request, name).faults
    faults.hold(method=body.method, route=body.route)
    return {"holds": len(faults.holds), "waiting": faults.waiting}


@router.get("/sites/{name}/holds")
async def read_holds(name: str, request: Request) -> dict[str, Any]:
    faults = _site(request, name).faults
    return {"holds": len(faults.holds), "waiting": faults.waiting}


@router.delete("/sites/{name}/holds")
async def release_calls(name: str, request: Request) -> dict[str, Any]:
    return {"released": _site(request, name).faults.release()}


@router.delete("/sites/{name}/faults", status_code=204)
async def clear_faults(name: str, request: Request) -> Response:
    _site(request, name).faults.clear()
    return Response(status_code=204)


@router.get("/sites/{name}/calls")
async def calls(name: str, request: Request) -> dict[str, Any]:
    counter = _site(request, name).calls
    return {
        "total": counter.total(),
        "calls": [
            {"method": method, "route": route, "count": count}
            for (method, route), count in sorted(counter.snapshot().items())
        ],
    }


@router.delete("/sites/{name}/calls", status_code=204)
async def reset_calls(name: str, request: Request) -> Response:
    _site(request, name).calls.reset()
    return Response(status_code=204)
