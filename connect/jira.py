"""Calling Jira Cloud's REST API (v3), as a Connect app or with an OAuth bearer token.

One `JiraClient` wraps one long-lived `httpx.AsyncClient` shared by every installation. How a
site's calls are authorised is a `JiraAuth` strategy handed to the client, decided in one
place by the caller:

* `client.for_site(site)`: a Connect installation. Every attempt is signed afresh (HS256,
  `iss` = app key, `qsh` over the path relative to the site's context path): a retry after a
  long `Retry-After` could outlive a 3-minute token.
* `client.with_bearer(base_url, key, tokens)`: `Authorization: Bearer <token>` against another
  base URL, such as a Forge app's `https://api.atlassian.com/ex/jira/{cloudId}` with its app
  system token or a person's user token. Tokens come from a `BearerTokens` source, asked
  before every attempt (so a long run picks up a fresher token as soon as one is stored) and
  told when Jira refused one (401), after which the call is tried once more with whatever
  token the source has next; with none, `JiraCredentialsUnavailableError`.

Both kinds of call share the rest:
* 429 and 503 are retried for every method (Jira did not process the request); 502/504 and
  transport errors only when repeating the request is harmless (GET/PUT/DELETE, or a POST
  that only reads, such as `/worklog/list`); a connection that was never made is always
  retried. `Retry-After` is honoured exactly (Jira says an earlier retry fails again), unless
  it is longer than `max_retry_after`, in which case we give up at once with a typed error.
  Without it: capped exponential backoff with full jitter (the one policy: `connect.retry`).
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
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from connect.errors import ConnectError
from connect.retry import RetryPolicy
from connect.tokens import sign_request

logger = logging.getLogger(__name__)

API = "/rest/api/3"
WORKLOG_LIST_LIMIT = 1000
"""`POST /worklog/list` answers 400 beyond 1000 ids."""
ISSUE_IDS_PER_SEARCH = 200
"""Ids per `id in (...)` query: keeps the JQL short while needing few queries."""
SEARCH_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
PROJECT_KEYS_PER_SEARCH = 50
"""`GET /project/search` takes up to 50 `keys`."""
MAX_RETRY_AFTER_SECONDS = 120.0

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NOT_PROCESSED_STATUSES = frozenset({429, 503})
_MAYBE_PROCESSED_STATUSES = frozenset({502, 504})
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_MISSING_ISSUE_ID = re.compile(r"An issue with key '(\d+)' does not exist for field 'id'")


@dataclass(frozen=True, slots=True)
class JiraSite:
    """One Connect installation: where its Jira lives and the secret we sign with."""

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


class JiraCredentialsUnavailableError(JiraAuthenticationError):
    """No token to call Jira with: the ones we had lapsed or were refused, and no fresher
    one has arrived yet. Nothing is wrong with the request; it can go once one does."""

    code = "jira_credentials_unavailable"


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


# --- how a site's calls are authorised -------------------------------------------------------


class JiraAuth(Protocol):
    """One site's credentials. `base_url` is where its REST API lives; `key` names the site
    for the per-site concurrency limit."""

    @property
    def base_url(self) -> str: ...

    @property
    def key(self) -> str: ...

    async def authorize(self, request: httpx.Request, *, now: float) -> None:
        """Set the request's `Authorization` (raises `JiraCredentialsUnavailableError`)."""

    async def refused(self, request: httpx.Request) -> bool:
        """Jira answered 401 to `request`: True when the call may be tried once more with
        other credentials."""

    def secrets(self) -> tuple[str, ...]:
        """What an error message must never repeat."""


@dataclass(frozen=True, slots=True)
class ConnectJwtAuth:
    """A Connect installation: each attempt signed with its shared secret (`iss` = app key)."""

    site: JiraSite
    app_key: str

    @property
    def base_url(self) -> str:
        return self.site.base_url

    @property
    def key(self) -> str:
        return f"connect:{self.site.client_key}"

    async def authorize(self, request: httpx.Request, *, now: float) -> None:
        # The token is computed from the URL exactly as httpx will send it.
        token = sign_request(
            request.method,
            str(request.url),
            issuer=self.app_key,
            shared_secret=self.site.shared_secret,
            base_url=self.site.base_url,
            now=now,
        )
        request.headers["Authorization"] = f"JWT {token}"

    async def refused(self, request: httpx.Request) -> bool:
        return False  # the shared secret is the only one there is

    def secrets(self) -> tuple[str, ...]:
        return (self.site.shared_secret,)


class BearerTokens(Protocol):
    """Where a bearer client's tokens come from (stored ones, kept fresh elsewhere)."""

    async def token(self) -> str:
        """The freshest valid token; raises `JiraCredentialsUnavailableError` when none."""

    async def refused(self, token: str) -> bool:
        """Jira refused `token`: forget it. True when another one is there to try."""


class BearerAuth:
    """`Authorization: Bearer <token>` (OAuth 2.0, such as Forge's app system and user
    tokens), against `base_url`."""

    def __init__(self, base_url: str, key: str, tokens: BearerTokens) -> None:
        self._base_url = base_url.rstrip("/")
        self._key = key
        self._tokens = tokens
        self._last: str | None = None

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def key(self) -> str:
        return self._key

    async def authorize(self, request: httpx.Request, *, now: float) -> None:
        token = await self._tokens.token()
        self._last = token
        request.headers["Authorization"] = f"Bearer {token}"

    async def refused(self, request: httpx.Request) -> bool:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return bool(sent) and await self._tokens.refused(sent)

    def secrets(self) -> tuple[str, ...]:
        return (self._last,) if self._last else ()


@dataclass(slots=True)
class StaticBearerTokens:
    """One token known to the caller (a request's own); refused means gone."""

    value: str | None = field(repr=False)

    async def token(self) -> str:
        if self.value is None:
            raise JiraCredentialsUnavailableError(
                "Jira refused the access token and there is no other to use."
            )
        return self.value

    async def refused(self, token: str) -> bool:
        self.value = None
        return False


# --- the client ------------------------------------------------------------------------------


class JiraClient:
    """Sends REST calls to any installed site, authorised by its `JiraAuth`; one instance
    per process."""

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
        if max_concurrency_per_site < 1:
            raise ValueError("max_concurrency_per_site must be at least 1")
        self._http = http
        self._app_key = app_key
        self._retry = RetryPolicy(
            max_attempts, base_delay, max_delay, max_retry_after, sleep, random, clock
        )
        self._max_concurrency = max_concurrency_per_site
        self._clock = clock
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    @property
    def app_key(self) -> str:
        return self._app_key

    def for_site(self, site: JiraSite) -> SiteJiraClient:
        """Calls signed as the Connect app installed on `site`."""
        return SiteJiraClient(self, ConnectJwtAuth(site, self._app_key))

    def with_bearer(self, base_url: str, key: str, tokens: BearerTokens) -> SiteJiraClient:
        """Calls to `base_url` with bearer tokens from `tokens`; `key` names the site."""
        return SiteJiraClient(self, BearerAuth(base_url, key, tokens))

    def with_auth(self, auth: JiraAuth) -> SiteJiraClient:
        return SiteJiraClient(self, auth)

    def _semaphore(self, auth: JiraAuth) -> asyncio.Semaphore:
        semaphore = self._semaphores.get(auth.key)
        if semaphore is None:
            semaphore = self._semaphores[auth.key] = asyncio.Semaphore(self._max_concurrency)
        return semaphore

    async def _authorized_request(
        self,
        auth: JiraAuth,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
    ) -> httpx.Request:
        request = self._http.build_request(
            method, url, params=params, json=json, headers={"Accept": "application/json"}
        )
        await auth.authorize(request, now=self._clock())
        return request

    async def send(
        self,
        auth: JiraAuth | JiraSite,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one call (with retries); any non-2xx answer raises a `JiraError`."""
        if isinstance(auth, JiraSite):
            auth = ConnectJwtAuth(auth, self._app_key)
        method = method.upper()
        repeatable = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = _site_url(auth.base_url, path_or_url)
        label = f"{method} {urlsplit(url).path}"
        attempt = 0
        reauthorized = False
        while True:
            attempt += 1
            request = await self._authorized_request(auth, method, url, params=params, json=json)
            try:
                async with self._semaphore(auth):
                    response = await self._http.send(request)
            except httpx.TransportError as exc:
                retryable = repeatable or isinstance(exc, _NEVER_SENT)
                delay = self._retry.delay(attempt, None) if retryable else None
                if delay is None:
                    raise JiraUnavailableError(
                        f"Jira could not be reached for {label} ({type(exc).__name__}).",
                    ) from exc
                logger.info("Jira unreachable for %s; retrying in %.2f s", label, delay)
                await self._retry.wait(delay)
                continue
            if response.is_success:
                return response
            # A refused token was not processed: once more with the next one, if any (a
            # request Jira refused to authenticate never ran, whatever its method).
            if response.status_code == 401 and not reauthorized and await auth.refused(request):
                reauthorized = True
                attempt -= 1
                logger.info("Jira refused the token for %s; retrying with a newer one", label)
                continue
            retry_after = self._retry.retry_after(response.headers.get("Retry-After"))
            if self._may_retry(response.status_code, repeatable):
                delay = self._retry.delay(attempt, retry_after)
                if delay is not None:
                    logger.info(
                        "Jira answered %s to %s; retrying in %.2f s (attempt %d of %d)",
                        response.status_code,
                        label,
                        delay,
                        attempt,
                        self._retry.max_attempts,
                    )
                    await self._retry.wait(delay)
                    continue
            raise _error_for(response, label, retry_after, auth.secrets())

    @staticmethod
    def _may_retry(status: int, repeatable: bool) -> bool:
        return status in _NOT_PROCESSED_STATUSES or (
            repeatable and status in _MAYBE_PROCESSED_STATUSES
        )


def _site_url(base_url: str, path_or_url: str) -> str:
    """An absolute URL on the site. Absolute URLs from Jira (`nextPage`) are re-based on the
    site's own scheme, host and path, so a credential never goes anywhere else: Jira names
    its own URL in them, which for a call through Atlassian's API gateway
    (`https://api.atlassian.com/ex/jira/{cloudId}`) is not where the call goes."""
    base = urlsplit(base_url)
    base_path = base.path.rstrip("/")
    if "://" in path_or_url:
        parts = urlsplit(path_or_url)
        path = parts.path
        if base_path and not (path == base_path or path.startswith(base_path + "/")):
            rest = path.find(API)
            path = base_path + (path[rest:] if rest >= 0 else path)
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))
    if not path_or_url.startswith("/"):
        raise ValueError(f"Jira paths start with '/': {path_or_url!r}")
    return base_url.rstrip("/") + path_or_url


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
    """The REST calls Worklog360 makes, bound to one site and its credentials."""

    def __init__(self, client: JiraClient, auth: JiraAuth) -> None:
        self._client = client
        self._auth = auth

    @property
    def auth(self) -> JiraAuth:
        return self._auth

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
            self._auth, method, path, params=params, json=json, idempotent=idempotent
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

    async def server_info(self) -> dict[str, Any]:
        """`GET /serverInfo`: the site's own URL (`baseUrl`), which a call through Atlassian's
        API gateway does not otherwise say."""
        body: dict[str, Any] = await self.get_json(f"{API}/serverInfo")
        return body

    async def myself(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.get_json(f"{API}/myself")
        return body

    async def user(self, account_id: str) -> dict[str, Any]:
        """`GET /user`: one person's profile (`accountId`, `displayName`, `active`, …).
        Jira answers 404 (`JiraNotFoundError`) for an account it does not know."""
        body: dict[str, Any] = await self.get_json(f"{API}/user", params={"accountId": account_id})
        return body

    async def projects(self, keys: Sequence[str] = ()) -> list[dict[str, Any]]:
        """`GET /project/search`: every project the app may see (by key), or only those of
        `keys` (at most 50 a call, as Jira takes them); keys Jira does not have are simply
        not in the answer."""
        found: list[dict[str, Any]] = []
        wanted = list(dict.fromkeys(keys))
        for chunk in _chunks(wanted, PROJECT_KEYS_PER_SEARCH) if wanted else [()]:
            params: dict[str, Any] = {"orderBy": "key"}
            if chunk:
                params["keys"] = list(chunk)
            found.extend([p async for p in self.paginate(f"{API}/project/search", params=params)])
        return found

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
