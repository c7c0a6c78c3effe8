"""The long-lived parts of a running app: engine, sessions, HTTP clients, key stores.

Built once per process by `app.assembly.open_runtime` (the FastAPI lifespan, the worker,
the CLI) and handed to routes through `RuntimeDep`. This module is below every domain: it
names the QuickBooks parts it carries only for their types, and `app.quickbooks.assembly`
makes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.cache import TTLCache
from app.crypto import SecretBox
from app.db import WriterLock
from app.jobs import JobQueue
from app.observability.outbound import MeteredTransport, Observer, Services
from app.settings import Settings
from app.timeutil import WallClock
from connect.install import InstallKeyStore
from connect.jira import JiraClient
from forge.invocation import InvocationTokenVerifier
from forge.jwks import JwksKeyStore

if TYPE_CHECKING:  # made by app.quickbooks.assembly; the kernel only carries them
    from app.quickbooks.client import QuickBooksClient
    from app.quickbooks.metering import MeteredCalls

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
# Reads figures from the database when /metrics is scraped (app.observability.gauges).
GaugeReader = Callable[["Runtime"], Awaitable[None]]


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
    # QuickBooks calls Intuit meters, counted here, stored every 30 s (app.quickbooks.metering).
    metered_calls: MeteredCalls
    # What tokens' times are read against (tests move it with the emulators' clocks).
    clock: WallClock = field(default_factory=WallClock)
    tenant_hooks: TenantHooks = field(default_factory=TenantHooks)
    # The domains' figures for /metrics (registered as the runtime is assembled).
    gauges: list[GaugeReader] = field(default_factory=list)
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
