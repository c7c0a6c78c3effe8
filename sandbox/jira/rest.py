"""Jira Cloud REST v3, as much of it as Worklog360 uses, with Jira's JSON shapes.

Every route goes through `jira_call`: count the call, apply injected latency and faults,
then authenticate the app like Jira does: a Connect JWT at the site's own URL, a Forge
bearer token through Atlassian's API gateway (`https://api.atlassian.com/ex/jira/{cloudId}`,
the same routes). Errors answer `{"errorMessages", "errors"}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from sandbox.jira import jql
from sandbox.jira.auth import authenticate_app
from sandbox.jira.changes import ChangeFeed
from sandbox.jira.errors import JiraApiError, not_found
from sandbox.jira.formats import (
    jira_datetime,
    parse_started,
    parse_time_spent,
    started_epoch_ms,
)
from sandbox.jira.models import Installation, Issue, Worklog
from sandbox.jira.representations import (
    NAVIGABLE_FIELDS,
    issue_json,
    myself_json,
    project_json,
    requested_fields,
    user_json,
    worklog_json,
)
from sandbox.jira.site import Site

if TYPE_CHECKING:
    from sandbox.jira.emulator import JiraSandbox

SITE_SCOPE_KEY = "sandbox.jira.site"
GATEWAY_SCOPE_KEY = "sandbox.jira.gateway"
WORKLOG_LIST_LIMIT = 1000
ISSUE_WORKLOGS_MAX_RESULTS = 5000
SEARCH_DEFAULT_MAX_RESULTS = 50
SEARCH_MAX_RESULTS_WITH_FIELDS = 100
SEARCH_MAX_RESULTS_IDS_ONLY = 5000
GLOBAL_PERMISSIONS = frozenset(
    {
        "ADMINISTER",
        "SYSTEM_ADMIN",
        "USER_PICKER",
        "CREATE_SHARED_OBJECTS",
        "MANAGE_GROUP_FILTER_SUBSCRIPTIONS",
        "BULK_CHANGE",
    }
)

UNBOUNDED_QUERY = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)

router = APIRouter(prefix="/rest/api/3")


@dataclass(frozen=True, slots=True)
class JiraCall:
    """One authenticated call: the site, and the account it acts as (the app's own user, or
    through the gateway with a user token, the person). `installation` is the Connect app's,
    None for a Forge call."""

    site: Site
    account_id: str
    installation: Installation | None = None
    through_gateway: bool = False

    @property
    def app_user_id(self) -> str:
        return self.account_id


def raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.split(b"?", 1)[0].decode("utf-8", "replace")
    return str(request.scope["path"])


async def jira_call(request: Request) -> JiraCall:
    sandbox: JiraSandbox = request.app.state.sandbox
    site = request.scope.get(SITE_SCOPE_KEY)
    if not isinstance(site, Site):
        raise not_found("No Jira site is served at this address.")
    route = getattr(request.scope.get("route"), "path", request.url.path)
    method = request.method.upper()
    site.calls.record(method, route)
    if site.faults.latency_seconds > 0:
        await sandbox.sleep(site.faults.latency_seconds)
    await site.faults.wait_if_held(method, route)
    fault = site.faults.take(method, route)
    if fault is not None:
        raise fault.error(site.now_ms())
    if request.scope.get(GATEWAY_SCOPE_KEY):
        site.gateway_calls.record(method, route)
        account_id = sandbox.forge.gateway_account(site, request.headers.get("authorization"))
        return JiraCall(site, account_id, through_gateway=True)
    installation = authenticate_app(
        site,
        method,
        raw_path(request),
        request.scope.get("query_string", b"").decode("latin-1"),
        request.headers.get("authorization"),
        sandbox.token_clock(),
    )
    return JiraCall(site, installation.app_user_id, installation)


Call = Annotated[JiraCall, Depends(jira_call)]


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise JiraApiError(
            400, "Unexpected character in the request body: not valid JSON."
        ) from exc


def _object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise JiraApiError(400, "The request body must be a JSON object.")
    return body


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise JiraApiError(400, f"The value '{value}' is not valid for '{name}'.") from exc


# --- the site ------------------------------------------------------------------------------


@router.get("/serverInfo")
async def server_info(call: Call) -> dict[str, Any]:
    site = call.site
    now = site.now_ms()
    return {
        "baseUrl": site.base_url,
        "displayUrl": site.display_url,
        "version": "1001.0.0-SNAPSHOT",
        "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud",
        "buildNumber": 100280,
        "buildDate": jira_datetime(now),
        "serverTime": jira_datetime(now),
        "scmInfo": "0c1a8b2e5d4f3a6b7c8d9e0f1a2b3c4d5e6f7a8b",
        "serverTitle": "Jira",
        "defaultLocale": {"locale": "en_US"},
        "serverTimeZone": "Etc/UTC",
    }


# --- who am I ------------------------------------------------------------------------------


@router.get("/myself")
async def myself(call: Call) -> dict[str, Any]:
    return myself_json(call.site, call.site.user(call.app_user_id))


@router.get("/user")
async def user(call: Call, accountId: str) -> dict[str, Any]:
    return user_json(call.site, call.site.user(accountId))


@router.get("/user/groups")
async def user_groups(call: Call, accountId: str) -> list[dict[str, Any]]:
    site = call.site
    groups = [site.groups[name] for name in sorted(site.user(accountId).groups)]
    return [
        {
            "name": group.name,
            "groupId": group.group_id,
            "self": f"{site.base_url}/rest/api/3/group?groupId={group.group_id}",
        }
        for group in groups
    ]


@router.post("/permissions/check")
async def check_permissions(call: Call, request: Request) -> dict[str, Any]:
    body = _object_body(await _json_body(request))
    account_id = body.get("accountId") or call.app_user_id
    member = call.site.users.get(str(account_id))
    if member is None:
        raise JiraApiError(400, f"The user with account ID '{account_id}' does not exist.")
    asked = body.get("globalPermissions") or []
    unknown = [p for p in asked if p not in GLOBAL_PERMISSIONS]
    if unknown:
        raise JiraApiError(400, *(f"Unrecognized permission '{p}'." for p in unknown))
    held = set(member.global_permissions)
    if "SYSTEM_ADMIN" in held:
        held.add("ADMINISTER")
    return {
        "globalPermissions": [p for p in asked if p in held],
        "projectPermissions": [],
    }


# --- worklog change feeds --------------------------------------------------------------------


def _changes(site: Site, feed: ChangeFeed, endpoint: str, since: int) -> dict[str, Any]:
    page = feed.page(since, site.now_ms())
    url = f"{site.base_url}/rest/api/3/worklog/{endpoint}"
    body: dict[str, Any] = {
        "values": [
            {"worklogId": worklog_id, "updatedTime": at, "properties": []}
            for at, worklog_id in page.entries
        ],
        "since": page.since,
        "until": page.until,
        "self": f"{url}?since={since}",
        "lastPage": page.last_page,
    }
    if not page.last_page:
        body["nextPage"] = f"{url}?since={page.until}"
    return body


@router.get("/worklog/updated")
async def worklogs_updated(call: Call, request: Request) -> dict[str, Any]:
    since = _int_param(request, "since", 0)
    return _changes(call.site, call.site.updated_feed, "updated", since)


@router.get("/worklog/deleted")
async def worklogs_deleted(call: Call, request: Request) -> dict[str, Any]:
    since = _int_param(request, "since", 0)
    return _changes(call.site, call.site.deleted_feed, "deleted", since)


@router.post("/worklog/list")
async def worklogs_by_ids(call: Call, request: Request) -> list[dict[str, Any]]:
    body = _object_body(await _json_body(request))
    ids = body.get("ids")
    if not isinstance(ids, list):
        raise JiraApiError(400, errors={"ids": "ids must be a list of worklog ids."})
    if len(ids) > WORKLOG_LIST_LIMIT:
        raise JiraApiError(400, f"The number of worklogs is limited to {WORKLOG_LIST_LIMIT}.")
    found: dict[str, Worklog] = {}
    for raw in ids:
        if isinstance(raw, bool) or not str(raw).isdigit():
            raise JiraApiError(400, f"Invalid worklog id: {raw!r}.")
        worklog = call.site.worklogs.get(str(int(raw)))
        if worklog is not None:
            found[worklog.id] = worklog
    return [worklog_json(call.site, w) for w in found.values()]


# --- issues and their worklogs ---------------------------------------------------------------


@router.get("/issue/{issueIdOrKey}")
async def get_issue(call: Call, issueIdOrKey: str, request: Request) -> dict[str, Any]:
    fields = request.query_params.getlist("fields")
    chosen = requested_fields(fields) if fields else set(NAVIGABLE_FIELDS)
    return issue_json(call.site, call.site.issue(issueIdOrKey), chosen)


@router.delete("/issue/{issueIdOrKey}", status_code=204)
async def delete_issue(call: Call, issueIdOrKey: str) -> Response:
    call.site.delete_issue(issueIdOrKey, by=call.account_id)
    return Response(status_code=204)


def _issue_worklog(site: Site, issue: Issue, worklog_id: str) -> Worklog:
    worklog = site.worklogs.get(worklog_id)
    if worklog is None or worklog.issue_id != issue.id:
        raise not_found(f"Cannot find worklog with id: '{worklog_id}'.")
    return worklog


@router.get("/issue/{issueIdOrKey}/worklog")
async def issue_worklogs(call: Call, issueIdOrKey: str, request: Request) -> dict[str, Any]:
    issue = call.site.issue(issueIdOrKey)
    start_at = max(0, _int_param(request, "startAt", 0))
    max_results = min(
        max(1, _int_param(request, "maxResults", ISSUE_WORKLOGS_MAX_RESULTS)),
        ISSUE_WORKLOGS_MAX_RESULTS,
    )
    after = _int_param(request, "startedAfter", -1)
    before = _int_param(request, "startedBefore", -1)
    worklogs = call.site.issue_worklogs(issue)
    if after >= 0 or before >= 0:
        worklogs = [
            w
            for w in worklogs
            if (after < 0 or started_epoch_ms(w.started) >= after)
            and (before < 0 or started_epoch_ms(w.started) < before)
        ]
    page = worklogs[start_at : start_at + max_results]
    return {
        "startAt": start_at,
        "maxResults": max_results,
        "total": len(worklogs),
        "worklogs": [worklog_json(call.site, w) for w in page],
    }


def _worklog_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "started" in body or creating:
        if body.get("started") is None:
            raise JiraApiError(400, errors={"started": "Started is a required field."})
        changes["started"] = parse_started(body["started"])
    seconds = body.get("timeSpentSeconds")
    if seconds is None and isinstance(body.get("timeSpent"), str):
        seconds = parse_time_spent(body["timeSpent"])
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise JiraApiError(400, errors={"timeLogged": "Invalid time duration entered."})
        changes["time_spent_seconds"] = seconds
    elif creating:
        raise JiraApiError(400, errors={"timeLogged": "You must indicate the time spent working."})
    if "comment" in body:
        comment = body["comment"]
        if comment is not None and not (isinstance(comment, dict) and comment.get("type") == "doc"):
            raise JiraApiError(400, errors={"comment": "Comment must be an Atlassian Document."})
        changes["comment"] = comment
    return changes


@router.post("/issue/{issueIdOrKey}/worklog", status_code=201)
async def add_worklog(call: Call, issueIdOrKey: str, request: Request) -> dict[str, Any]:
    issue = call.site.issue(issueIdOrKey)
    changes = _worklog_fields(_object_body(await _json_body(request)), creating=True)
    worklog = call.site.add_worklog(issue, call.app_user_id, **changes)
    return worklog_json(call.site, worklog)


@router.get("/issue/{issueIdOrKey}/worklog/{worklogId}")
async def get_worklog(call: Call, issueIdOrKey: str, worklogId: str) -> dict[str, Any]:
    worklog = _issue_worklog(call.site, call.site.issue(issueIdOrKey), worklogId)
    return worklog_json(call.site, worklog)


@router.put("/issue/{issueIdOrKey}/worklog/{worklogId}")
async def update_worklog(
    call: Call,
    issueIdOrKey: str,
    worklogId: str,
    request: Request,
) -> dict[str, Any]:
    worklog = _issue_worklog(call.site, call.site.issue(issueIdOrKey), worklogId)
    changes = _worklog_fields(_object_body(await _json_body(request)), creating=False)
    comment = changes.pop("comment", None)
    updated = call.site.update_worklog(worklog.id, by=call.app_user_id, comment=comment, **changes)
    return worklog_json(call.site, updated)


@router.delete("/issue/{issueIdOrKey}/worklog/{worklogId}", status_code=204)
async def delete_worklog(call: Call, issueIdOrKey: str, worklogId: str) -> Response:
    worklog = _issue_worklog(call.site, call.site.issue(issueIdOrKey), worklogId)
    call.site.delete_worklog(worklog.id)
    return Response(status_code=204)


# --- projects --------------------------------------------------------------------------------

PROJECT_SEARCH_DEFAULT_MAX_RESULTS = 50
PROJECT_SEARCH_MAX_RESULTS = 100
PROJECT_SEARCH_MAX_KEYS = 50
_PROJECT_ORDER = {"key": "key", "name": "name"}


def _project_order(value: str | None) -> tuple[str, bool]:
    text = value or "key"
    descending = text.startswith("-")
    field = _PROJECT_ORDER.get(text.lstrip("+-"))
    if field is None:
        raise JiraApiError(400, f"The orderBy value '{text}' is not supported.")
    return field, descending


@router.get("/project/search")
async def search_projects(call: Call, request: Request) -> dict[str, Any]:
    """`GET /rest/api/3/project/search`: the projects the caller may see, a page at a time.
    `keys` and `id` (repeated) pick projects (names Jira does not know are left out, not
    refused), `query` matches part of a key or a name, whatever the case."""
    site = call.site
    params = request.query_params
    start_at = max(0, _int_param(request, "startAt", 0))
    max_results = min(
        max(1, _int_param(request, "maxResults", PROJECT_SEARCH_DEFAULT_MAX_RESULTS)),
        PROJECT_SEARCH_MAX_RESULTS,
    )
    field, descending = _project_order(params.get("orderBy"))
    keys = [k for value in params.getlist("keys") for k in value.split(",") if k]
    if len(keys) > PROJECT_SEARCH_MAX_KEYS:
        raise JiraApiError(
            400, f"Up to {PROJECT_SEARCH_MAX_KEYS} project keys can be provided in 'keys'."
        )
    ids = [i for value in params.getlist("id") for i in value.split(",") if i]
    query = (params.get("query") or "").strip().casefold()
    projects = list(site.projects.values())
    if keys:
        wanted = {k.upper() for k in keys}
        projects = [p for p in projects if p.key in wanted]
    if ids:
        projects = [p for p in projects if p.id in set(ids)]
    if query:
        projects = [p for p in projects if query in p.key.casefold() or query in p.name.casefold()]
    projects.sort(key=lambda p: getattr(p, field).casefold(), reverse=descending)
    page = projects[start_at : start_at + max_results]
    end = start_at + len(page)
    url = f"{site.base_url}/rest/api/3/project/search"
    body: dict[str, Any] = {
        "self": f"{url}?startAt={start_at}&maxResults={max_results}",
        "maxResults": max_results,
        "startAt": start_at,
        "total": len(projects),
        "isLast": end >= len(projects),
        "values": [project_json(site, p) for p in page],
    }
    if end < len(projects):
        body["nextPage"] = f"{url}?startAt={end}&maxResults={max_results}"
    return body


@router.get("/project/{projectIdOrKey}")
async def get_project(call: Call, projectIdOrKey: str) -> dict[str, Any]:
    return project_json(call.site, call.site.project(projectIdOrKey))


# --- search ----------------------------------------------------------------------------------


def _page_token(offset: int, query: str) -> str:
    raw = json.dumps({"offset": offset, "jql": hashlib.sha256(query.encode()).hexdigest()[:16]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _page_offset(token: str | None, query: str) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(decoded["offset"])
        same_query = decoded["jql"] == hashlib.sha256(query.encode()).hexdigest()[:16]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise JiraApiError(400, "The nextPageToken is invalid.") from exc
    if not same_query or offset < 0:
        raise JiraApiError(400, "The nextPageToken does not belong to this query.")
    return offset


def _search(
    site: Site, query: Any, fields: list[str] | None, max_results: Any, token: Any
) -> dict[str, Any]:
    if (
        not isinstance(query, str)
        or not query.strip()
        or query.strip().lower().startswith("order by")
    ):
        raise JiraApiError(400, UNBOUNDED_QUERY)
    chosen = requested_fields(fields)
    cap = SEARCH_MAX_RESULTS_WITH_FIELDS if chosen else SEARCH_MAX_RESULTS_IDS_ONLY
    try:
        size = SEARCH_DEFAULT_MAX_RESULTS if max_results in (None, "") else int(max_results)
    except (TypeError, ValueError) as exc:
        raise JiraApiError(400, "maxResults must be a number.") from exc
    size = min(max(size, 1), cap)
    ids = jql.search(site, query)
    offset = _page_offset(token if isinstance(token, str) else None, query)
    page = ids[offset : offset + size]
    end = offset + len(page)
    body: dict[str, Any] = {
        "issues": [issue_json(site, site.issues[i], chosen) for i in page],
        "isLast": end >= len(ids),
    }
    if end < len(ids):
        body["nextPageToken"] = _page_token(end, query)
    return body


@router.get("/search/jql")
async def search_get(call: Call, request: Request) -> dict[str, Any]:
    params = request.query_params
    return _search(
        call.site,
        params.get("jql"),
        params.getlist("fields") or None,
        params.get("maxResults"),
        params.get("nextPageToken"),
    )


@router.post("/search/jql")
async def search_post(call: Call, request: Request) -> dict[str, Any]:
    body = _object_body(await _json_body(request))
    fields = body.get("fields")
    if fields is not None and not (
        isinstance(fields, list) and all(isinstance(f, str) for f in fields)
    ):
        raise JiraApiError(400, errors={"fields": "fields must be a list of field names."})
    return _search(
        call.site, body.get("jql"), fields, body.get("maxResults"), body.get("nextPageToken")
    )


def jira_error_response(error: JiraApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
