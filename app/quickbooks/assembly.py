"""The QuickBooks parts of a running app, built by `app.assembly.open_runtime`: the API
client, the count of the calls Intuit meters (by watching the shared outbound client), the
company-wide call budget on PostgreSQL, and the figures `/metrics` reads. The kernel
(`app.runtime`) holds them without knowing how they are made."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx

from app.observability.metrics import QBO_CONNECTIONS, QBO_METERED_CALLS
from app.observability.outbound import Observer, Services
from app.quickbooks import metering
from app.quickbooks import repository as connections
from app.quickbooks.call_budget import SharedCallBudget
from app.quickbooks.client import QuickBooksClient, QuickBooksEndpoints
from app.quickbooks.metering import MeteredCalls, metered_realm
from app.quickbooks.service import describe
from app.runtime import Runtime
from app.settings import Settings

logger = logging.getLogger(__name__)

CONNECTION_STATES = ("connected", "expiring", "expired")


def services(settings: Settings) -> Services:
    """Intuit's hosts, as the outbound client's metrics name them."""
    qbo = settings.qbo
    return Services(
        [
            qbo.effective_api_base_url,
            qbo.effective_token_url,
            qbo.effective_revoke_url,
            qbo.effective_authorize_url,
        ]
    )


def metering_observer(meter: MeteredCalls) -> Observer:
    """Counts, on the shared outbound client, every answer Intuit meters."""

    def count(request: httpx.Request, response: httpx.Response) -> None:
        realm = metered_realm(request, response)
        if realm is not None:
            meter.note(realm)

    return count


def client(
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
async def running(runtime: Runtime) -> AsyncIterator[None]:
    """While the runtime lives: the shared call budget (PostgreSQL), the metered counts stored
    every 30 s and at the end, and QuickBooks' figures for `/metrics`."""
    if runtime.engine.dialect.name == "postgresql":
        # Many machines: the company's budget is shared through the database. On SQLite
        # (one machine, a few processes) each process keeps its own pace, rather than take
        # the one writer lock twice for every QuickBooks call.
        runtime.quickbooks.shared_budget = SharedCallBudget(
            runtime.sessions, runtime.writer_lock, per_minute=runtime.settings.qbo.calls_per_minute
        )
    runtime.gauges.extend([_connections, _metered])
    meter = runtime.metered_calls
    flusher = asyncio.create_task(meter.flush_every(runtime.sessions), name="metered-calls")
    try:
        yield
    finally:
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)
        try:
            await meter.flush(runtime.sessions)
        except Exception:
            logger.warning(
                "storing QuickBooks metered-call counts at shutdown failed", exc_info=True
            )


async def _connections(runtime: Runtime) -> None:
    now = runtime.quickbooks.now()
    counts = dict.fromkeys(CONNECTION_STATES, 0)
    async with runtime.sessions() as session:
        for row in await connections.live_connections(session):
            state = describe(row, now).state
            if state in counts:
                counts[state] += 1
    for state, count in counts.items():
        QBO_CONNECTIONS.labels(state).set(count)


async def _metered(runtime: Runtime) -> None:
    counts = await metering.this_month(runtime.sessions, runtime.metered_calls)
    QBO_METERED_CALLS.clear()
    for realm, calls in counts.items():
        QBO_METERED_CALLS.labels(realm).set(calls)
