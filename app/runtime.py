"""The long-lived parts of a running app: engine, sessions, HTTP clients, key stores.

Built once per process by `open_runtime` (the FastAPI lifespan, the worker, the CLI) and
handed to routes through `RuntimeDep`. Tests pass an httpx transport so that every outbound
call reaches the Jira/QuickBooks emulators in-process instead of the network.
"""

from __future__ import annotations

import asyncio
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
from app.quickbooks.client import QuickBooksClient, QuickBooksEndpoints
from app.settings import Settings
from connect.install import InstallKeyStore
from connect.jira import JiraClient

USER_AGENT = "Worklog360/0.1 (+atlassian-connect)"
TENANT_AUTH_TTL_SECONDS = 10.0
PERMISSION_TTL_SECONDS = 300.0
NAME_TTL_SECONDS = 3600.0
UNNAMED_TTL_SECONDS = 60.0


TenantHook = Callable[[int], Awaitable[None]]


@dataclass(slots=True)
class TenantHooks:
    """What other domains want to hear about a tenant, without `tenants` importing them."""

    enabled: list[TenantHook] = field(default_factory=list)


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
    tenant_hooks: TenantHooks = field(default_factory=TenantHooks)
    # Verified tenants by clientKey, so that a busy site's webhooks do not read the tenant
    # row and decrypt its secret on every request. Lifecycle events clear an entry at once
    # in this process; other processes see a change within the TTL.
    tenant_auth_cache: TTLCache[str, Any] = field(
        default_factory=lambda: TTLCache(TENANT_AUTH_TTL_SECONDS)
    )
    # Jira's answer to "may this user change billing data?", for at most five minutes.
    permission_cache: TTLCache[tuple[int, str, str | None], bool] = field(
        default_factory=lambda: TTLCache(PERMISSION_TTL_SECONDS)
    )
    # People's names by (clientKey, account id), and those Jira could not name just now
    # (app.tenants.people).
    display_names: TTLCache[tuple[str, str], str] = field(
        default_factory=lambda: TTLCache(NAME_TTL_SECONDS)
    )
    unnamed: TTLCache[tuple[str, str], bool] = field(
        default_factory=lambda: TTLCache(UNNAMED_TTL_SECONDS)
    )


def outbound_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(30.0, connect=10.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
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
    engine = create_engine(settings.database_url)
    http = outbound_client(transport)
    jobs: JobQueue
    queued = None
    if settings.jobs == "worker":
        from app.job_queue import QueuedJobs  # procrastinate: only when jobs are queued

        jobs = queued = QueuedJobs(settings.database_url)
        await queued.open()
    else:
        jobs = EmbeddedJobs()
    try:
        runtime = Runtime(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            secrets=SecretBox(settings.effective_secret_key),
            install_keys=InstallKeyStore(settings.connect_install_keys_url, http),
            http=http,
            jira=JiraClient(http, app_key=settings.app_key, sleep=sleep or asyncio.sleep),
            jobs=jobs,
            quickbooks=quickbooks_client(settings, http, sleep or asyncio.sleep),
            writer_lock=WriterLock(settings.database_url),
        )
        if queued is not None:
            queued.bind(runtime)
        yield runtime
    finally:
        await jobs.close()
        await http.aclose()
        await engine.dispose()
