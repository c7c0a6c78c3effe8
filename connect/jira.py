"""Calling Jira Cloud's REST API (v3) as a Connect app.

One `JiraClient` wraps one long-lived `httpx.AsyncClient` shared by every installation;
`client.for_site(site)` gives a `SiteJiraClient` bound to one site's base URL and secret.

* Every attempt is signed afresh (HS256, `iss` = app key, `qsh` over the path relative to the
  site's context path): a retry after a long `Retry-After` could outlive a 3-minute token.
* 429 and 503 are retried for every method (Jira did not process the request); 502/504 and
  transport errors only when repeating the request is harmless (GET/PUT/DELETE, or a POST
  that only reads, such as `/worklog/list`); a connection that was never made is always
  retried. `Retry-After` is honoured exactly (Jira says an earlier retry fails again), unless
  it is longer than `max_retry_after`, in which case we give up at once with a typed error.
  Without it: capped exponential backoff with full jitter.
* Each site gets at most `max_concurrency_per_site` requests in flight, so one tenant's
  backfill cannot take every connection of the shared pool.
* Errors are typed (`JiraNotFoundError`, `JiraRateLimitedError`, ...) and their messages
  never contain a token or a secret.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from connect.errors import ConnectError
from connect.retry_after import retry_after_seconds
from connect.tokens import sign_request

logger = logging.getLogger(__name__)

API = "/rest/api/3"
WORKLOG_LIST_LIMIT = 1000
"""`POST /worklog/list` answers 400 beyond 1000 ids."""
ISSUE_IDS_PER_SEARCH = 200
"""Ids per `id in (...)` query: keeps the JQL short while needing few queries."""
SEARCH_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
MAX_RETRY_AFTER_SECONDS = 120.0

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NOT_PROCESSED_STATUSES = frozenset({429, 503})
_MAYBE_PROCESSED_STATUSES = frozenset({502, 504})
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_MISSING_ISSUE_ID = re.compile(r"An issue with key '(\d+)' does not exist for field 'id'")


@dataclass(frozen=True, slots=True)
class JiraSite:
    """One installation: where its Jira lives and the secret we sign with."""

    base_url: str
    client_key: str
    shared_secret: str = field(repr=False)


# --- errors ----------------------------------------------------------------------------------


class JiraError(ConnectError):
    """Jira refused or failed a request. `messages` are Jira's own, for people."""

    code = "jira_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        self.retry_after = retry_after


class JiraBadRequestError(JiraError):
    code = "jira_bad_request"


class JiraAuthenticationError(JiraError):
    """401: the app is not installed on the site any more, or our signature was refused."""

    code = "jira_authentication_failed"


class JiraPermissionError(JiraError):
    code = "jira_permission_denied"


class JiraNotFoundError(JiraError):
    code = "jira_not_found"


class JiraRateLimitedError(JiraError):
    """429 after every retry; `retry_after` (seconds) is Jira's last hint, if it gave one."""

    code = "jira_rate_limited"


class JiraServerError(JiraError):
    code = "jira_server_error"


class JiraUnavailableError(JiraError):
    """Jira could not be reached (connection error or timeout) after every retry."""

    code = "jira_unavailable"


_ERROR_BY_STATUS: dict[int, type[JiraError]] = {
    400: JiraBadRequestError,
    401: JiraAuthenticationError,
    403: JiraPermissionError,
    404: JiraNotFoundError,
    429: JiraRateLimitedError,
}


def _jira_messages(response: httpx.Response) -> tuple[list[str], dict[str, str]]:
    """Jira's `{"errorMessages": [...], "errors": {field: message}}`, tolerating anything else."""
    try:
        body = response.json()
    except ValueError:
        return [], {}
    if not isinstance(body, dict):
        return [], {}
    raw_messages = body.get("errorMessages")
    raw_errors = body.get("errors")
    messages = [str(m) for m in raw_messages] if isinstance(raw_messages, list) else []
    errors = {str(k): str(v) for k, v in raw_errors.items()} if isinstance(raw_errors, dict) else {}
    return messages, errors


def _redact(text: str, secrets: Iterable[str]) -> str:
    text = _JWT_PATTERN.sub("[redacted token]", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _error_for(
    response: httpx.Response, label: str, retry_after: float | None, secrets: Iterable[str]
) -> JiraError:
    status = response.status_code
    messages, errors = _jira_messages(response)
    secrets = tuple(secrets)
    messages = [_redact(m, secrets) for m in messages]
    errors = {k: _redact(v, secrets) for k, v in errors.items()}
    details = messages + [f"{name}: {text}" for name, text in errors.items()]
    summary = "; ".join(details) or response.reason_phrase or "no details"
    error_class = _ERROR_BY_STATUS.get(status)
    if error_class is None:
        error_class = JiraServerError if status >= 500 else JiraError
    return error_class(
        f"Jira answered {status} to {label}: {summary[:500]}",
        status=status,
        messages=details,
        errors=errors,
        retry_after=retry_after,
    )


# --- the client ------------------------------------------------------------------------------


class JiraClient:
    """Signs and sends REST calls to any installed site; one instance per process."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        app_key: str,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
        max_concurrency_per_site: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_concurrency_per_site < 1:
            raise ValueError("max_concurrency_per_site must be at least 1")
        self._http = http
        self._app_key = app_key
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._max_retry_after = max_retry_after
        self._max_concurrency = max_concurrency_per_site
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    @property
    def app_key(self) -> str:
        return self._app_key

    def for_site(self, site: JiraSite) -> SiteJiraClient:
        return SiteJiraClient(self, site)

    def _semaphore(self, site: JiraSite) -> asyncio.Semaphore:
        semaphore = self._semaphores.get(site.client_key)
        if semaphore is None:
            semaphore = self._semaphores[site.client_key] = asyncio.Semaphore(self._max_concurrency)
        return semaphore

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2^(attempt-1)))."""
        ceiling = min(self._max_delay, self._base_delay * 2.0 ** (attempt - 1))
        return self._random() * ceiling

    def _signed_request(
        self,
        site: JiraSite,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
    ) -> httpx.Request:
        request = self._http.build_request(
            method, url, params=params, json=json, headers={"Accept": "application/json"}
        )
        # The token is computed from the URL exactly as httpx will send it.
        token = sign_request(
            method,
            str(request.url),
            issuer=self._app_key,
            shared_secret=site.shared_secret,
            base_url=site.base_url,
            now=self._clock(),
        )
        request.headers["Authorization"] = f"JWT {token}"
        return request

    async def send(
        self,
        site: JiraSite,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one call (with retries); any non-2xx answer raises a `JiraError`."""
        method = method.upper()
        repeatable = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = _site_url(site, path_or_url)
        label = f"{method} {urlsplit(url).path}"
        attempt = 0
        while True:
            attempt += 1
            request = self._signed_request(site, method, url, params=params, json=json)
            try:
                async with self._semaphore(site):
                    response = await self._http.send(request)
            except httpx.TransportError as exc:
                retryable = repeatable or isinstance(exc, _NEVER_SENT)
                if not retryable or attempt >= self._max_attempts:
                    raise JiraUnavailableError(
                        f"Jira could not be reached for {label} ({type(exc).__name__}).",
                    ) from exc
                delay = self._backoff(attempt)
                logger.info("Jira unreachable for %s; retrying in %.2f s", label, delay)
                await self._sleep(delay)
                continue
            if response.is_success:
                return response
            retry_after = retry_after_seconds(
                response.headers.get("Retry-After"), now=self._clock()
            )
            if attempt < self._max_attempts and self._may_retry(response.status_code, repeatable):
                delay = self._backoff(attempt) if retry_after is None else retry_after
                if delay <= self._max_retry_after:
                    logger.info(
                        "Jira answered %s to %s; retrying in %.2f s (attempt %d of %d)",
                        response.status_code,
                        label,
                        delay,
                        attempt,
                        self._max_attempts,
                    )
                    await self._sleep(delay)
                    continue
            raise _error_for(response, label, retry_after, (site.shared_secret,))

    @staticmethod
    def _may_retry(status: int, repeatable: bool) -> bool:
        return status in _NOT_PROCESSED_STATUSES or (
            repeatable and status in _MAYBE_PROCESSED_STATUSES
        )


def _site_url(site: JiraSite, path_or_url: str) -> str:
    """An absolute URL on the site. Absolute URLs from Jira (`nextPage`) are re-based on the
    site's own scheme and host, so a signed token never goes anywhere else."""
    if "://" in path_or_url:
        parts = urlsplit(path_or_url)
        base = urlsplit(site.base_url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
    if not path_or_url.startswith("/"):
        raise ValueError(f"Jira paths start with '/': {path_or_url!r}")
    return site.base_url.rstrip("/") + path_or_url


def _json_body(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def format_started(started: datetime) -> str:
    """Jira's `started`: `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, keeping the datetime's own offset."""
    if started.tzinfo is None or started.utcoffset() is None:
        raise ValueError("started must be timezone-aware")
    millis = started.microsecond // 1000
    return started.strftime(f"%Y-%m-%dT%H:%M:%S.{millis:03d}%z")


def adf_from_text(text: str) -> dict[str, Any]:
    """A plain-text comment as an Atlassian Document (one paragraph per line)."""
    paragraphs: list[dict[str, Any]] = []
    for line in text.split("\n"):
        paragraph: dict[str, Any] = {"type": "paragraph", "content": []}
        if line:
            paragraph["content"].append({"type": "text", "text": line})
        paragraphs.append(paragraph)
    return {"type": "doc", "version": 1, "content": paragraphs}


def _issue_ids(ids: Iterable[int | str]) -> list[str]:
    """Numeric ids only (they end up inside JQL), without duplicates, in order."""
    seen: dict[str, None] = {}
    for raw in ids:
        text = str(raw).strip()
        if not text.isdigit() or not text.isascii():
            raise ValueError(f"Not a Jira issue id: {raw!r}")
        seen.setdefault(str(int(text)), None)
    return list(seen)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class WorklogChangesPage:
    """A page of `/worklog/updated` or `/worklog/deleted`: `values` are Jira's
    `{worklogId, updatedTime, properties}`; store `until` of the last page as the next `since`."""

    values: list[dict[str, Any]]
    since: int
    until: int
    last_page: bool
    next_page: str | None

    @property
    def worklog_ids(self) -> list[int]:
        return [int(value["worklogId"]) for value in self.values]


class SiteJiraClient:
    """The REST calls Worklog360 makes, bound to one site."""

    def __init__(self, client: JiraClient, site: JiraSite) -> None:
        self._client = client
        self._site = site

    @property
    def site(self) -> JiraSite:
        return self._site

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """`path` is relative to the site base URL (or an absolute URL Jira gave us)."""
        return await self._client.send(
            self._site, method, path, params=params, json=json, idempotent=idempotent
        )

    async def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return _json_body(await self.request("GET", path, params=params))

    async def post_json(
        self,
        path: str,
        json: Any,
        *,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        response = await self.request("POST", path, params=params, json=json, idempotent=idempotent)
        return _json_body(response)

    async def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        items_key: str = "values",
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[dict[str, Any]]:
        """Items of a `startAt`/`maxResults`/`total`/`isLast` list, page after page."""
        start_at = 0
        while True:
            page = await self.get_json(
                path, params={**(params or {}), "startAt": start_at, "maxResults": page_size}
            )
            items = page.get(items_key) or []
            for item in items:
                yield item
            # Jira may shorten a page below maxResults, so advance by what came back.
            start_at += len(items)
            total = page.get("total")
            if not items or page.get("isLast") is True:
                return
            if isinstance(total, int) and start_at >= total:
                return

    async def _changed_worklogs(
        self, path: str, since_ms: int
    ) -> AsyncIterator[WorklogChangesPage]:
        next_url: str | None = None
        while True:
            if next_url is None:
                body = await self.get_json(path, params={"since": since_ms})
            else:
                body = await self.get_json(next_url)
            page = WorklogChangesPage(
                values=list(body.get("values") or []),
                since=int(body.get("since", since_ms)),
                until=int(body.get("until", since_ms)),
                last_page=bool(body.get("lastPage", True)),
                next_page=body.get("nextPage"),
            )
            yield page
            if page.last_page or not page.next_page:
                return
            next_url = page.next_page

    def worklog_changes_since(self, since_ms: int) -> AsyncIterator[WorklogChangesPage]:
        """Pages of worklogs created or updated after `since_ms` (oldest first)."""
        return self._changed_worklogs(f"{API}/worklog/updated", since_ms)

    def deleted_worklogs_since(self, since_ms: int) -> AsyncIterator[WorklogChangesPage]:
        """Pages of worklogs deleted after `since_ms` (oldest first)."""
        return self._changed_worklogs(f"{API}/worklog/deleted", since_ms)

    async def worklogs_by_ids(self, ids: Iterable[int | str]) -> list[dict[str, Any]]:
        """Full worklogs for ids (Jira leaves out the ones it no longer has)."""
        unique = list(dict.fromkeys(int(i) for i in ids))
        worklogs: list[dict[str, Any]] = []
        for chunk in _chunks(unique, WORKLOG_LIST_LIMIT):
            body = await self.post_json(
                f"{API}/worklog/list", {"ids": list(chunk)}, idempotent=True
            )
            worklogs.extend(body or [])
        return worklogs

    async def issues_by_ids(
        self, ids: Iterable[int | str], fields: Sequence[str] = ("summary", "project")
    ) -> list[dict[str, Any]]:
        """Issues by id. Jira refuses a whole query that names a deleted issue, naming it;
        those ids are dropped and the query is asked again."""
        issues: list[dict[str, Any]] = []
        for chunk in _chunks(_issue_ids(ids), ISSUE_IDS_PER_SEARCH):
            remaining = list(chunk)
            while remaining:
                try:
                    issues.extend(await self._search_all(f"id in ({','.join(remaining)})", fields))
                    break
                except JiraBadRequestError as error:
                    missing = {
                        m for text in error.messages for m in _MISSING_ISSUE_ID.findall(text)
                    }
                    if not missing & set(remaining):
                        raise
                    remaining = [i for i in remaining if i not in missing]
        return issues

    async def _search_all(self, jql: str, fields: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "jql": jql,
                "fields": list(fields),
                "maxResults": SEARCH_PAGE_SIZE,
            }
            if token:
                body["nextPageToken"] = token
            page = await self.post_json(f"{API}/search/jql", body, idempotent=True)
            found.extend(page.get("issues") or [])
            token = page.get("nextPageToken")
            if not token or page.get("isLast") is True:
                return found

    async def has_global_permission(self, account_id: str, permission: str = "ADMINISTER") -> bool:
        body = await self.post_json(
            f"{API}/permissions/check",
            {"accountId": account_id, "globalPermissions": [permission]},
            idempotent=True,
        )
        return permission in (body or {}).get("globalPermissions", [])

    async def user_group_names(self, account_id: str) -> list[str]:
        groups = await self.get_json(f"{API}/user/groups", params={"accountId": account_id})
        return [str(group["name"]) for group in groups or []]

    async def myself(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.get_json(f"{API}/myself")
        return body

    async def user(self, account_id: str) -> dict[str, Any]:
        """`GET /user`: one person's profile (`accountId`, `displayName`, `active`, …).
        Jira answers 404 (`JiraNotFoundError`) for an account it does not know."""
        body: dict[str, Any] = await self.get_json(f"{API}/user", params={"accountId": account_id})
        return body

    async def add_worklog(
        self,
        issue_id_or_key: str | int,
        *,
        started: datetime,
        time_spent_seconds: int,
        comment: str | None = None,
    ) -> dict[str, Any]:
        if time_spent_seconds <= 0:
            raise ValueError("time_spent_seconds must be positive")
        payload: dict[str, Any] = {
            "started": format_started(started),
            "timeSpentSeconds": time_spent_seconds,
        }
        if comment:
            payload["comment"] = adf_from_text(comment)
        issue = quote(str(issue_id_or_key), safe="")
        body: dict[str, Any] = await self.post_json(f"{API}/issue/{issue}/worklog", payload)
        return body
