"""The long-lived parts of a running app: engine, sessions, HTTP clients, key stores.

Built once per process by `open_runtime` (the FastAPI lifespan, the worker, the CLI) and
handed to routes through `RuntimeDep`. Tests pass an httpx transport so that every outbound
call reaches the Jira/QuickBooks emulators in-process instead of the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.cache import TTLCache
from app.crypto import SecretBox
from app.db import WriterLock, create_engine, create_session_factory
from app.jobs import EmbeddedJobs, JobQueue
from app.observability.outbound import MeteredTransport, Observer, Services
from app.quickbooks.call_budget import SharedCallBudget
from app.quickbooks.client import QuickBooksClient, QuickBooksEndpoints
from app.quickbooks.metering import MeteredCalls, metered_realm
from app.settings import Settings
from app.timeutil import WallClock
from connect.install import InstallKeyStore
from connect.jira import JiraClient
from forge.invocation import InvocationTokenVerifier
from forge.jwks import JwksKeyStore

USER_AGENT = "Worklog360/0.1 (+atlassian-connect)"
TENANT_AUTH_TTL_SECONDS = 10.0
FORGE_SITE_TTL_SECONDS = 10.0
PERMISSION_TTL_SECONDS = 300.0
NAME_TTL_SECONDS = 3600.0
UNNAMED_TTL_SECONDS = 60.0
JIRA_PROJECTS_TTL_SECONDS = 60.0
# How long this process trusts what it knows of a Forge installation's stored system token
# (its expiry), so that a call bringing the same token again writes nothing.
FORGE_TOKEN_TTL_SECONDS = 300.0


TenantHook = Callable[[int], Awaitable[None]]


@dataclass(slots=True)
class TenantHooks:
    """What other domains want to hear about a tenant, without `tenants` importing them."""

    enabled: list[TenantHook] = field(default_factory=list)
    # A fresh Forge system token was stored for the tenant: Jira can be reached again.
    jira_reachable: list[TenantHook] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    secrets: SecretBox
    install_keys: InstallKeyStore
    http: httpx.AsyncClient
    jira: JiraClient
    jobs: JobQueue
    quickbooks: QuickBooksClient
    # Write transactions take turns on SQLite (see WriterLock); a no-op on PostgreSQL.
    writer_lock: WriterLock
    # Forge's signing keys, and the verifier of its invocation tokens: None while
    # W360_FORGE_APP_ID is unset (the Forge door is closed).
    forge_keys: JwksKeyStore
    forge_verifier: InvocationTokenVerifier | None
    # What tokens' times are read against (tests move it with the emulators' clocks).
    clock: WallClock = field(default_factory=WallClock)
    # QuickBooks calls Intuit meters, counted here, stored every 30 s (app.quickbooks.metering).
    metered_calls: MeteredCalls = field(default_factory=MeteredCalls)
    tenant_hooks: TenantHooks = field(default_factory=TenantHooks)
    # Verified tenants by clientKey, so that a busy site's webhooks do not read the tenant
    # row and decrypt its secret on every request. Lifecycle events clear an entry at once
    # in this process; other processes see a change within the TTL.
    tenant_auth_cache: TTLCache[str, Any] = field(
        default_factory=lambda: TTLCache(TENANT_AUTH_TTL_SECONDS)
    )
    # Forge installations by installationId (app.tenants.forge_service.ForgeSite), so that a
    # UI call does not read the database to find its tenant; lifecycle events clear an entry.
    forge_sites: TTLCache[str, Any] = field(
        default_factory=lambda: TTLCache(FORGE_SITE_TTL_SECONDS)
    )
    # Jira's answer to "may this user change billing data?", for at most five minutes.
    permission_cache: TTLCache[tuple[int, str, str | None], bool] = field(
        default_factory=lambda: TTLCache(PERMISSION_TTL_SECONDS)
    )
    # People's names by (tenant id, account id), and those Jira could not name just now
    # (app.tenants.people).
    display_names: TTLCache[tuple[int, str], str] = field(
        default_factory=lambda: TTLCache(NAME_TTL_SECONDS)
    )
    unnamed: TTLCache[tuple[int, str], bool] = field(
        default_factory=lambda: TTLCache(UNNAMED_TTL_SECONDS)
    )
    # A site's Jira projects as (key, name), for the budget form to pick from: a minute old
    # at most (app.billing.jira_projects).
    jira_projects: TTLCache[int, tuple[tuple[str, str], ...]] = field(
        default_factory=lambda: TTLCache(JIRA_PROJECTS_TTL_SECONDS)
    )
    # The expiry (epoch seconds) of each Forge installation's stored system token, by
    # installationId (app.tenants.forge_tokens).
    forge_token_expiry: TTLCache[str, float] = field(
        default_factory=lambda: TTLCache(FORGE_TOKEN_TTL_SECONDS)
    )
    # Tasks started in the background by routes that answer first (kept from the collector).
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # Forge installations this process is placing on their site now (one serverInfo call
    # each, however many events arrive meanwhile).
    forge_placing: set[str] = field(default_factory=set)


def outbound_client(
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    services: Services | None = None,
    observers: list[Observer] | None = None,
) -> httpx.AsyncClient:
    """The one client for Jira, Forge and QuickBooks; every call through it is measured
    (app.observability.outbound)."""
    inner = transport or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
    )
    return httpx.AsyncClient(
        transport=MeteredTransport(inner, services or Services([]), observers),
        timeout=httpx.Timeout(30.0, connect=10.0),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def _quickbooks_services(settings: Settings) -> Services:
    qbo = settings.qbo
    return Services(
        [
            qbo.effective_api_base_url,
            qbo.effective_token_url,
            qbo.effective_revoke_url,
            qbo.effective_authorize_url,
        ]
    )


def quickbooks_client(
    settings: Settings, http: httpx.AsyncClient, sleep: Callable[[float], Awaitable[None]]
) -> QuickBooksClient:
    qbo = settings.qbo
    return QuickBooksClient(
        http,
        QuickBooksEndpoints(
            authorize_url=qbo.effective_authorize_url,
            token_url=qbo.effective_token_url,
            revoke_url=qbo.effective_revoke_url,
            api_base_url=qbo.effective_api_base_url,
        ),
        client_id=qbo.client_id,
        client_secret=qbo.client_secret.get_secret_value() if qbo.client_secret else None,
        max_calls_per_minute=qbo.calls_per_minute,
        timeout_seconds=qbo.timeout_seconds,
        sleep=sleep,
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncIterator[Runtime]:
    """`sleep` replaces the waits between retries (tests record them instead of waiting)."""
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    meter = MeteredCalls()

    def count_metered(request: httpx.Request, response: httpx.Response) -> None:
        realm = metered_realm(request, response)
        if realm is not None:
            meter.note(realm)

    http = outbound_client(
        transport, services=_quickbooks_services(settings), observers=[count_metered]
    )
    jobs: JobQueue
    queued = None
    if settings.jobs == "worker":
        from app.job_queue import QueuedJobs  # procrastinate: only when jobs are queued

        jobs = queued = QueuedJobs(settings.database_url)
        await queued.open()
    else:
        jobs = EmbeddedJobs()
    forge_keys = JwksKeyStore(http)
    forge_app_id = settings.forge.effective_app_id
    clock = WallClock()
    runtime: Runtime | None = None
    try:
        runtime = Runtime(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            secrets=SecretBox(settings.effective_secret_key, settings.previous_secret_keys),
            install_keys=InstallKeyStore(settings.connect_install_keys_url, http),
            http=http,
            jira=JiraClient(
                http, app_key=settings.app_key, sleep=sleep or asyncio.sleep, clock=clock
            ),
            jobs=jobs,
            quickbooks=quickbooks_client(settings, http, sleep or asyncio.sleep),
            writer_lock=WriterLock(settings.database_url),
            forge_keys=forge_keys,
            forge_verifier=(
                InvocationTokenVerifier(
                    app_id=forge_app_id,
                    keys=forge_keys,
                    jwks_url=settings.forge.jwks_url,
                    isolated_cloud_jwks_url_template=settings.forge.ic_jwks_url_template,
                    clock=clock,
                )
                if forge_app_id is not None
                else None
            ),
            clock=clock,
            metered_calls=meter,
        )
        if queued is not None:
            queued.bind(runtime)
        if engine.dialect.name == "postgresql":
            # Many machines: the company's budget is shared through the database. On SQLite
            # (one machine, a few processes) each process keeps its own pace, rather than
            # take the one writer lock twice for every QuickBooks call.
            runtime.quickbooks.shared_budget = SharedCallBudget(
                runtime.sessions, runtime.writer_lock, per_minute=settings.qbo.calls_per_minute
            )
        flusher = asyncio.create_task(meter.flush_every(runtime.sessions), name="metered-calls")
        try:
            yield runtime
        finally:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
    finally:
        if runtime is not None and runtime.background:
            await asyncio.gather(*runtime.background, return_exceptions=True)
        if runtime is not None:
            try:
                await meter.flush(runtime.sessions)
            except Exception:
                logging.getLogger(__name__).warning(
                    "storing QuickBooks metered-call counts at shutdown failed", exc_info=True
                )
        await jobs.close()
        await http.aclose()
        await engine.dispose()
