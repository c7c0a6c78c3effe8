"""JiraClient against the Jira sandbox over HTTP (in-process ASGI): what it signs is what Jira
accepts, it pages and chunks like Jira requires, and it retries, waits and fails the way a
good citizen of Jira's rate limiter should. Sleeps are recorded, never slept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connect.jira import (
    JiraAuthenticationError,
    JiraBadRequestError,
    JiraClient,
    JiraCredentialsUnavailableError,
    JiraNotFoundError,
    JiraRateLimitedError,
    JiraServerError,
    JiraSite,
    JiraUnavailableError,
    SiteJiraClient,
)
from sandbox.jira import InstallKeyRing, JiraSandbox, SandboxClock, Site

APP_KEY = "com.worklog360.jira"
NOW_MS = 1_793_696_400_000  # 2026-11-03T09:00:00Z
MINUTE_MS = 60_000
DESCRIPTOR = {"key": APP_KEY, "name": "Worklog360", "baseUrl": "https://w360.example"}


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class FlakyTransport(httpx.AsyncBaseTransport):
    """Fails the first requests with the given transport errors, then lets them through."""

    def __init__(self, inner: httpx.AsyncBaseTransport, failures: list[type[httpx.TransportError]]):
        self._inner = inner
        self._failures = list(failures)
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self._failures:
            raise self._failures.pop(0)("simulated", request=request)
        return await self._inner.handle_async_request(request)


@pytest.fixture(scope="module")
def install_keys() -> InstallKeyRing:
    return InstallKeyRing()


@pytest.fixture
async def sandbox(install_keys: InstallKeyRing) -> AsyncIterator[JiraSandbox]:
    jira = JiraSandbox(clock=SandboxClock(NOW_MS), install_keys=install_keys)
    yield jira
    await jira.aclose()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def http(sandbox: JiraSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as client:
        yield client


ClientFactory = Callable[..., SiteJiraClient]


@pytest.fixture
def connect_to(http: httpx.AsyncClient, sleeps: SleepRecorder) -> ClientFactory:
    """A SiteJiraClient for an installed site, with recorded sleeps and fixed jitter."""

    def build(site: Site, **options: Any) -> SiteJiraClient:
        installation = site.installations.get(APP_KEY) or site.add_installation(DESCRIPTOR)
        secret = options.pop("secret", installation.shared_secret)
        options.setdefault("sleep", sleeps)
        options.setdefault("random", lambda: 0.5)
        client = JiraClient(options.pop("http", http), app_key=APP_KEY, **options)
        return client.for_site(JiraSite(site.base_url, installation.client_key, secret))

    return build


@pytest.fixture
def site(sandbox: JiraSandbox) -> Site:
    return sandbox.add_site("https://acme.atlassian.net")


def seed(site: Site, worklogs: int = 0, *, start_ms: int = NOW_MS - 60 * MINUTE_MS) -> list[str]:
    """A project, an issue, a user and `worklogs` worklogs one millisecond apart."""
    site.add_project("ACME", "Acme Web")
    issue = site.add_issue("ACME", "Invoice page")
    author = site.add_user("Ada Lovelace")
    return [
        site.add_worklog(
            issue,
            author,
            started="2026-11-02T09:00:00.000+0100",
            time_spent_seconds=900,
            created_ms=start_ms + n,
        ).id
        for n in range(worklogs)
    ]


# --- signing ---------------------------------------------------------------------------------


async def test_calls_signed_as_the_app_are_accepted(site: Site, connect_to: ClientFactory) -> None:
    me = await connect_to(site).myself()
    assert me["accountId"] == site.installation(APP_KEY).app_user_id
    assert site.calls.count("GET", "/rest/api/3/myself") == 1


async def test_site_base_url_with_a_context_path_is_signed_relative_to_it(
    sandbox: JiraSandbox, connect_to: ClientFactory
) -> None:
    site = sandbox.add_site("https://jira.example.com/jira")
    ids = seed(site, 3)
    jira = connect_to(site)
    assert (await jira.myself())["accountType"] == "app"
    assert [w["id"] for w in await jira.worklogs_by_ids(ids)] == ids


async def test_queries_with_spaces_unicode_and_repeated_params_are_signed_correctly(
    site: Site, connect_to: ClientFactory
) -> None:
    site.add_project("ÄBC", "Café & Crème Ltd")
    site.add_issue("ÄBC", "Ünïcode summary")
    jira = connect_to(site)
    found = await jira.get_json(
        "/rest/api/3/search/jql",
        params={
            "jql": 'project = "Café & Crème Ltd" ORDER BY key',
            "fields": ["summary", "project"],
        },
    )
    assert [i["fields"]["summary"] for i in found["issues"]] == ["Ünïcode summary"]

    # Accepted signature, unknown user: Jira's 404, not a 401.
    with pytest.raises(JiraNotFoundError):
        await jira.user_group_names("557058:no such user ✓ + ~*")


async def test_wrong_secret_raises_authentication_error_without_leaking_it(
    site: Site, connect_to: ClientFactory
) -> None:
    wrong = "a-secret-jira-does-not-know-about-at-all"
    with pytest.raises(JiraAuthenticationError) as refused:
        await connect_to(site, secret=wrong).myself()
    error = refused.value
    assert error.status == 401
    assert error.messages == ["JWT signature verification failed."]
    assert wrong not in str(error)
    assert "eyJ" not in str(error)


async def test_uninstalled_app_gets_authentication_error(
    sandbox: JiraSandbox, site: Site, connect_to: ClientFactory
) -> None:
    jira = connect_to(site)
    await sandbox.uninstall_app(site, APP_KEY)
    with pytest.raises(JiraAuthenticationError):
        await jira.myself()


async def test_every_attempt_carries_a_fresh_token(sleeps: SleepRecorder) -> None:
    seen: list[str] = []

    async def limited_once(request: Request) -> JSONResponse:
        seen.append(request.headers["authorization"].removeprefix("JWT "))
        if len(seen) == 1:
            return JSONResponse({"errorMessages": ["slow down"]}, 429, {"Retry-After": "90"})
        return JSONResponse({"accountId": "app"})

    app = Starlette(routes=[Route("/rest/api/3/myself", limited_once)])
    ticks = iter([1_000_000.0, 1_000_000.0, 1_000_090.0])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        client = JiraClient(http, app_key=APP_KEY, sleep=sleeps, clock=lambda: next(ticks))
        site = JiraSite("https://x.example", "client-key", "s" * 40)
        await client.for_site(site).myself()
    unchecked_times = {"verify_exp": False, "verify_iat": False}
    first, second = (
        jwt.decode(t, "s" * 40, algorithms=["HS256"], options=unchecked_times) for t in seen
    )
    assert sleeps.delays == [90.0]
    assert (first["iat"], second["iat"]) == (1_000_000, 1_000_090)
    assert second["exp"] - second["iat"] == 180
    assert first["iss"] == APP_KEY


async def test_error_messages_are_redacted_even_when_jira_echoes_the_token() -> None:
    secret = "s" * 40

    async def echo(request: Request) -> JSONResponse:
        token = request.headers["authorization"]
        return JSONResponse(
            {"errorMessages": [f"Bad header {token} / {secret}"], "errors": {}}, 400
        )

    app = Starlette(routes=[Route("/rest/api/3/myself", echo)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        jira = JiraClient(http, app_key=APP_KEY).for_site(
            JiraSite("https://x.example", "c", secret)
        )
        with pytest.raises(JiraBadRequestError) as failure:
            await jira.myself()
    assert "eyJ" not in str(failure.value)
    assert secret not in str(failure.value)
    assert "eyJ" not in failure.value.messages[0]


# --- retries ---------------------------------------------------------------------------------


async def test_429_with_retry_after_is_honoured_then_succeeds(
    site: Site, connect_to: ClientFactory, sleeps: SleepRecorder
) -> None:
    site.faults.fail_next(2, retry_after=3)
    assert (await connect_to(site).myself())["accountType"] == "app"
    assert sleeps.delays == [3.0, 3.0]
    assert site.calls.count("GET", "/rest/api/3/myself") == 3


async def test_retry_after_as_an_http_date_is_honoured(
    site: Site, connect_to: ClientFactory, sleeps: SleepRecorder
) -> None:
    now = time.time()
    site.faults.fail_next(1, retry_after=formatdate(now + 7, usegmt=True))
    await connect_to(site, clock=lambda: now).myself()
    [delay] = sleeps.delays
    assert 6 < delay <= 7


async def test_429_without_retry_after_backs_off_exponentially_with_capped_jitter(
    site: Site, connect_to: ClientFactory, sleeps: SleepRecorder
) -> None:
    site.faults.fail_next(4, rate_limit_reset=True)
    draws = iter([0.2, 0.9, 0.5, 0.99])
    jira = connect_to(site, base_delay=1.0, max_delay=3.0, random=lambda: next(draws))
    await jira.myself()
    # Full jitter: random() * min(max_delay, base_delay * 2^(attempt-1)); 4 is capped to 3.
    assert sleeps.delays == pytest.approx([0.2, 1.8, 1.5, 2.97])


async def test_exhausted_retries_raise_rate_limited_with_jiras_hint(
    site: Site, connect_to: ClientFactory, sleeps: SleepRecorder
) -> None:
    site.faults.fail_next(5, retry_after=2)
    with pytest.raises(JiraRateLimitedError) as limited:
        await connect_to(site, max_attempts=3).myself()
    assert limited.value.retry_after == 2.0
    assert limited.value.status == 429
    assert sleeps.delays == [2.0, 2.0]
    assert site.calls.total() == 3


async def test_retry_after_beyond_the_cap_gives_up_at_once(
    site: Site, connect_to: ClientFactory, sleeps: SleepRecorder
) -> None:
    site.faults.fail_next(1, retry_after=600)
    with pytest.raises(JiraRateLimitedError) as limited:
        await connect_to(site).myself()
    assert limited.value.retry_after == 600.0
    assert sleeps.delays == []
    assert site.calls.total() == 1


async def test_503_is_retried_even_for_a_write(
    site: Site, connect_to: ClientFactory, sleeps: SleepRecorder
) -> None:
    seed(site)
    site.faults.fail_next(1, status=503)
    worklog = await connect_to(site).add_worklog(
        "ACME-1", started=datetime(2026, 11, 3, 9, tzinfo=UTC), time_spent_seconds=600
    )
    assert worklog["timeSpentSeconds"] == 600
    assert len(sleeps.delays) == 1
    assert len(site.worklogs) == 1


async def test_persistent_503_raises_server_error(
    site: Site, connect_to: ClientFactory, sleeps: SleepRecorder
) -> None:
    site.faults.fail_next(3, status=503)
    with pytest.raises(JiraServerError) as failure:
        await connect_to(site, max_attempts=3).myself()
    assert failure.value.status == 503
    assert len(sleeps.delays) == 2


async def test_timeouts_are_retried_for_reads_but_not_for_writes(
    sandbox: JiraSandbox, site: Site, connect_to: ClientFactory, sleeps: SleepRecorder
) -> None:
    seed(site)
    inner = httpx.ASGITransport(app=sandbox.app)
    flaky = FlakyTransport(inner, [httpx.ReadTimeout, httpx.ReadTimeout])
    async with httpx.AsyncClient(transport=flaky) as http:
        assert (await connect_to(site, http=http).myself())["accountType"] == "app"
        assert flaky.attempts == 3

        flaky_write = FlakyTransport(inner, [httpx.ReadTimeout])
        async with httpx.AsyncClient(transport=flaky_write) as write_http:
            with pytest.raises(JiraUnavailableError):
                await connect_to(site, http=write_http).add_worklog(
                    "ACME-1", started=datetime(2026, 11, 3, 9, tzinfo=UTC), time_spent_seconds=60
                )
            assert flaky_write.attempts == 1

        never_connected = FlakyTransport(inner, [httpx.ConnectError])
        async with httpx.AsyncClient(transport=never_connected) as connect_http:
            await connect_to(site, http=connect_http).add_worklog(
                "ACME-1", started=datetime(2026, 11, 3, 9, tzinfo=UTC), time_spent_seconds=60
            )
        assert never_connected.attempts == 2
    assert len(site.worklogs) == 1


async def test_unknown_issue_raises_not_found_with_jiras_message(
    site: Site, connect_to: ClientFactory
) -> None:
    with pytest.raises(JiraNotFoundError) as missing:
        await connect_to(site).add_worklog(
            "NOPE-404", started=datetime(2026, 11, 3, 9, tzinfo=UTC), time_spent_seconds=60
        )
    assert missing.value.messages == [
        "Issue does not exist or you do not have permission to see it."
    ]
    assert missing.value.status == 404


async def test_concurrency_per_site_is_bounded(
    sandbox: JiraSandbox, site: Site, connect_to: ClientFactory
) -> None:
    in_flight = 0
    peak = 0

    async def slow_jira(_: float) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1

    sandbox.sleep = slow_jira
    site.faults.latency_seconds = 1.0
    jira = connect_to(site, max_concurrency_per_site=2)
    await asyncio.gather(*(jira.myself() for _ in range(6)))
    assert peak == 2
    assert site.calls.total() == 6


# --- worklog feeds and bulk reads ------------------------------------------------------------


async def test_worklog_changes_follow_next_page_and_leave_out_the_last_minute(
    sandbox: JiraSandbox, connect_to: ClientFactory
) -> None:
    site = sandbox.add_site("https://jira.example.com/jira")
    ids = seed(site, 2500)
    author = next(iter(site.users))
    site.add_worklog(
        "ACME-1",
        author,
        started="2026-11-03T08:59:30.000+0000",
        time_spent_seconds=60,
        created_ms=NOW_MS - 20_000,
    )
    pages = [page async for page in connect_to(site).worklog_changes_since(0)]

    assert [len(p.values) for p in pages] == [1000, 1000, 500]
    assert [p.last_page for p in pages] == [False, False, True]
    assert pages[1].since == pages[0].until
    assert [i for p in pages for i in p.worklog_ids] == [int(i) for i in ids]
    assert pages[-1].until == NOW_MS - 60 * MINUTE_MS + 2499
    assert site.calls.count("GET", "/rest/api/3/worklog/updated") == 3


async def test_deleted_worklogs_since(site: Site, connect_to: ClientFactory) -> None:
    ids = seed(site, 3)
    site.delete_worklog(ids[1], deleted_ms=NOW_MS - 5 * MINUTE_MS)
    [page] = [p async for p in connect_to(site).deleted_worklogs_since(NOW_MS - 10 * MINUTE_MS)]
    assert page.worklog_ids == [int(ids[1])]
    assert page.values[0]["updatedTime"] == NOW_MS - 5 * MINUTE_MS
    assert page.last_page


async def test_worklogs_by_ids_asks_for_at_most_1000_at_a_time(
    site: Site, connect_to: ClientFactory
) -> None:
    ids = seed(site, 2500)
    worklogs = await connect_to(site).worklogs_by_ids([*ids, "999999"])
    assert [w["id"] for w in worklogs] == ids
    assert site.calls.count("POST", "/rest/api/3/worklog/list") == 3


async def test_issues_by_ids_follows_next_page_token(site: Site, connect_to: ClientFactory) -> None:
    site.add_project("ACME", "Acme Web")
    issues = [site.add_issue("ACME", f"Task {n}") for n in range(250)]
    found = await connect_to(site).issues_by_ids([i.id for i in issues])
    assert sorted(i["id"] for i in found) == sorted(i.id for i in issues)
    assert found[0]["fields"]["project"]["key"] == "ACME"
    # 200 ids per query: the first query has two pages of 100, the second one page.
    assert site.calls.count("POST", "/rest/api/3/search/jql") == 3


async def test_issues_by_ids_drops_ids_jira_says_do_not_exist(
    site: Site, connect_to: ClientFactory
) -> None:
    site.add_project("ACME")
    kept = [site.add_issue("ACME", "Kept").id, site.add_issue("ACME", "Also kept").id]
    found = await connect_to(site).issues_by_ids([kept[0], 777777, kept[1], 888888])
    assert [i["id"] for i in found] == kept
    assert site.calls.count("POST", "/rest/api/3/search/jql") == 2


async def test_issues_by_ids_refuses_anything_but_numeric_ids(
    site: Site, connect_to: ClientFactory
) -> None:
    with pytest.raises(ValueError):
        await connect_to(site).issues_by_ids(["1) OR project = SECRET"])
    assert site.calls.total() == 0


async def test_paginate_walks_start_at_pages(site: Site, connect_to: ClientFactory) -> None:
    ids = seed(site, 7)
    jira = connect_to(site)
    got = [
        w["id"]
        async for w in jira.paginate(
            "/rest/api/3/issue/ACME-1/worklog", items_key="worklogs", page_size=3
        )
    ]
    assert got == ids
    assert site.calls.count("GET", "/rest/api/3/issue/{issueIdOrKey}/worklog") == 3


async def test_projects_lists_every_page_or_only_the_keys_jira_has(
    site: Site, connect_to: ClientFactory
) -> None:
    existing = {p.key for p in site.projects.values()}
    for n in range(120):
        site.add_project(f"PR{n:03d}", f"Project {n}")
    jira = connect_to(site)
    every = await jira.projects()
    assert [p["key"] for p in every] == sorted(existing | {f"PR{n:03d}" for n in range(120)})
    assert site.calls.count("GET", "/rest/api/3/project/search") == 3  # 50 a page
    asked = ["PR007", "NOPE", "PR007", *[f"PR{n:03d}" for n in range(60, 110)]]
    found = await jira.projects(asked)
    assert sorted(p["key"] for p in found) == ["PR007", *[f"PR{n:03d}" for n in range(60, 110)]]


# --- permissions, groups, writing worklogs ---------------------------------------------------


async def test_global_permission_and_group_checks(site: Site, connect_to: ClientFactory) -> None:
    admin = site.add_user("Grace", global_permissions=["ADMINISTER"])
    biller = site.add_user("Linus", groups=["billing", "jira-users"])
    jira = connect_to(site)
    assert await jira.has_global_permission(admin.account_id) is True
    assert await jira.has_global_permission(biller.account_id) is False
    assert await jira.user_group_names(biller.account_id) == ["billing", "jira-users"]


async def test_add_worklog_sends_started_with_its_offset_and_an_adf_comment(
    site: Site, connect_to: ClientFactory
) -> None:
    seed(site)
    started = datetime(2026, 11, 3, 9, 15, 30, 250_000, tzinfo=timezone(timedelta(hours=1)))
    created = await connect_to(site).add_worklog(
        "ACME-1", started=started, time_spent_seconds=5400, comment="Sprint review\nand notes"
    )
    stored = site.worklog(created["id"])
    assert stored.started == "2026-11-03T09:15:30.250+0100"
    assert stored.author_id == site.installation(APP_KEY).app_user_id
    assert created["comment"]["content"][1]["content"][0]["text"] == "and notes"
    with pytest.raises(ValueError):
        await connect_to(site).add_worklog(
            "ACME-1", started=datetime(2026, 11, 3, 9), time_spent_seconds=60
        )


# --- bearer tokens through Atlassian's API gateway -------------------------------------------


class TokenShelf:
    """A `BearerTokens` source: the freshest first; a refused one is taken off the shelf."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.refused_tokens: list[str] = []
        self.asked = 0

    async def token(self) -> str:
        self.asked += 1
        if not self.tokens:
            raise JiraCredentialsUnavailableError("no token")
        return self.tokens[0]

    async def refused(self, token: str) -> bool:
        self.refused_tokens.append(token)
        if token in self.tokens:
            self.tokens.remove(token)
        return bool(self.tokens)


def forge_token(sandbox: JiraSandbox, site: Site) -> str:
    app = next(iter(sandbox.forge.apps.values()), None) or sandbox.forge.register_app(
        "https://w360.example"
    )
    installation = sandbox.forge.installation(site, app) or sandbox.forge.new_installation(
        site, app
    )
    return sandbox.forge.system_token(installation)


def through_gateway(
    http: httpx.AsyncClient, site: Site, tokens: TokenShelf, sleeps: SleepRecorder
) -> SiteJiraClient:
    client = JiraClient(http, app_key=APP_KEY, sleep=sleeps, random=lambda: 0.5)
    return client.with_bearer(site.api_base_url, f"forge:{site.cloud_id}", tokens)


async def test_bearer_calls_page_through_the_gateway_not_the_site_url_jira_names(
    sandbox: JiraSandbox, http: httpx.AsyncClient, sleeps: SleepRecorder
) -> None:
    site = sandbox.add_site("https://jira.example.com/jira")
    ids = seed(site, 1500)
    jira = through_gateway(http, site, TokenShelf(forge_token(sandbox, site)), sleeps)

    pages = [page async for page in jira.worklog_changes_since(0)]

    assert pages[0].next_page is not None and pages[0].next_page.startswith(site.base_url)
    assert [i for p in pages for i in p.worklog_ids] == [int(i) for i in ids]
    # Both pages were asked of api.atlassian.com, never of the site URL Jira's nextPage names.
    assert site.gateway_calls.count("GET", "/rest/api/3/worklog/updated") == 2
    assert site.calls.count("GET", "/rest/api/3/worklog/updated") == 2
    info = await jira.server_info()
    assert info["baseUrl"] == "https://jira.example.com/jira"


async def test_a_refused_token_is_handed_back_and_the_call_made_again_with_the_next(
    sandbox: JiraSandbox, site: Site, http: httpx.AsyncClient, sleeps: SleepRecorder
) -> None:
    ids = seed(site, 1)
    good = forge_token(sandbox, site)
    tokens = TokenShelf("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.stale", good)
    jira = through_gateway(http, site, tokens, sleeps)

    [worklog] = await jira.worklogs_by_ids(ids)  # a POST: refused, so never processed

    assert worklog["id"] == ids[0]
    assert tokens.refused_tokens == ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.stale"]
    assert sleeps.delays == []  # no waiting: the next token goes at once


async def test_with_no_token_left_the_call_fails_as_credentials_unavailable(
    sandbox: JiraSandbox, site: Site, http: httpx.AsyncClient, sleeps: SleepRecorder
) -> None:
    seed(site, 1)
    token = forge_token(sandbox, site)
    tokens = TokenShelf(token)
    jira = through_gateway(http, site, tokens, sleeps)
    await sandbox.forge.uninstall(site, next(iter(sandbox.forge.apps.values())))

    with pytest.raises(JiraAuthenticationError) as refused:
        await jira.myself()
    assert tokens.refused_tokens == [token]
    assert token not in str(refused.value)
    with pytest.raises(JiraCredentialsUnavailableError):
        await jira.myself()
