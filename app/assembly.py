"""Assembles a running app from its parts (the FastAPI lifespan, the worker and the CLI
each open one): the kernel's engine, sessions, HTTP client and key stores, and each domain's
parts (QuickBooks' client, metering and figures). The one place that knows them all, above
every domain.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx

from app.crypto import SecretBox
from app.db import WriterLock, create_engine, create_session_factory
from app.jobs import EmbeddedJobs, JobQueue
from app.quickbooks import assembly as quickbooks
from app.quickbooks.metering import MeteredCalls
from app.runtime import Runtime, outbound_client
from app.settings import Settings
from app.timeutil import WallClock
from connect.install import InstallKeyStore
from connect.jira import JiraClient
from forge.invocation import InvocationTokenVerifier
from forge.jwks import JwksKeyStore


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
    http = outbound_client(
        transport,
        services=quickbooks.services(settings),
        observers=[quickbooks.metering_observer(meter)],
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
            quickbooks=quickbooks.client(settings, http, sleep or asyncio.sleep),
            metered_calls=meter,
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
        )
        if queued is not None:
            queued.bind(runtime)
        async with quickbooks.running(runtime):
            try:
                yield runtime
            finally:
                # What routes started after answering finishes first (its QuickBooks calls
                # are counted before the meter's last flush).
                if runtime.background:
                    await asyncio.gather(*runtime.background, return_exceptions=True)
    finally:
        await jobs.close()
        await http.aclose()
        await engine.dispose()
