"""What operators see of the app's work beyond its own requests: every call to Jira and
QuickBooks counted by service, endpoint and status and logged with the service's correlation
id; the lag of worklog webhooks; QuickBooks connections by state; and the month's metered
QuickBooks calls per company, stored so that they sum over processes and survive restarts."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.observability.logs import configure_logging
from app.quickbooks.models import QuickBooksMeteredCalls
from tests.app.quickbooks.invoicing import finalized_invoice, invoicing_world, linked_client, synced
from tests.support.world import World

QUERY = "/v3/company/{realmId}/query"


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
async def logged() -> AsyncIterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    yield stream
    configure_logging("INFO")


@pytest.fixture
async def world(database_url: str, tmp_path: Path, logged: io.StringIO) -> AsyncIterator[World]:
    async with invoicing_world(database_url, tmp_path) as world:
        yield world


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def metered_by_emulator(world: World) -> int:
    """Reads and queries the QuickBooks emulator answered (every one a 2xx here)."""
    return sum(
        1
        for c in world.quickbooks.calls.calls
        if c.route.startswith("/v3/") and (c.method == "GET" or c.route == QUERY)
    )


async def test_calls_to_jira_and_quickbooks_are_counted_and_logged_with_their_ids(
    world: World, logged: io.StringIO
) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    before = (await world.client.get("/metrics")).text
    await synced(world, int(invoice["id"]))
    after = (await world.client.get("/metrics")).text

    name = "worklog360_outbound_requests_total"
    created = {"service": "quickbooks", "method": "POST", "endpoint": "/v3/company/{realm}/invoice"}
    # The counters are the process's (earlier tests' creates answered other statuses too).
    ok = {**created, "status": "200"}
    assert metric(after, name, **ok) - metric(before, name, **ok) == 1
    assert world.quickbooks.calls.count("POST", "/v3/company/{realmId}/invoice") == 1
    # The backfill read Jira's worklogs: counted as Jira's, the site's prefix taken out.
    assert metric(after, name, service="jira", endpoint="/rest/api/3/worklog/list") >= 1
    assert "/sites/" not in after and world.realm_id not in after.split("# HELP worklog360_qu")[0]

    lines = [x for x in log_lines(logged) if x.get("event") == "outbound"]
    posted = [x for x in lines if x["service"] == "quickbooks" and x["method"] == "POST"]
    assert posted and all(x["intuit_tid"].startswith("1-") for x in posted)
    jira = [x for x in lines if x["service"] == "jira"]
    assert jira and all(len(x["atl_traceid"]) == 16 for x in jira)
    assert all("?" not in x["endpoint"] for x in lines)  # never a query string (tokens)


async def test_metered_quickbooks_calls_are_counted_per_company_and_stored(
    world: World,
) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    await synced(world, int(invoice["id"]))
    await world.api("POST", f"/api/invoices/{invoice['id']}/refresh")
    reads = metered_by_emulator(world)
    assert reads >= 3  # customers, the invoice's look-ups, the refresh's read
    free = world.quickbooks.calls.count("POST", "/v3/company/{realmId}/invoice")
    assert free == 1  # the create: not metered

    shown = await world.client.get("/metrics")
    gauge = "worklog360_quickbooks_metered_calls_this_month"
    assert metric(shown.text, gauge, realm_id=world.realm_id) == reads

    # Stored, so another process (or this one after a restart) counts on from there.
    runtime = world.runtime
    await runtime.metered_calls.flush(runtime.sessions)
    month = datetime.now(UTC).strftime("%Y-%m")
    async with runtime.sessions() as session:
        stored = (
            await session.execute(
                select(QuickBooksMeteredCalls.calls).where(
                    QuickBooksMeteredCalls.realm_id == world.realm_id,
                    QuickBooksMeteredCalls.month == month,
                )
            )
        ).scalar_one()
    assert stored == reads
    await runtime.metered_calls.flush(runtime.sessions)  # nothing new: nothing added
    again = await world.client.get("/metrics")
    assert metric(again.text, gauge, realm_id=world.realm_id) == reads


async def test_connections_are_shown_by_state_as_they_near_expiry(world: World) -> None:
    name = "worklog360_quickbooks_connections"
    first = (await world.client.get("/metrics")).text
    assert metric(first, name, state="connected") == 1
    assert metric(first, name, state="expiring") == 0

    world.quickbooks.clock.advance(90 * 86400)  # the refresh token lives 100 days
    later = (await world.client.get("/metrics")).text
    assert metric(later, name, state="connected") == 0
    assert metric(later, name, state="expiring") == 1


async def test_webhook_lag_is_measured_from_jiras_timestamp(world: World) -> None:
    name = "worklog360_webhook_lag_seconds_count"
    before = (await world.client.get("/metrics")).text
    issue = world.site.add_issue("ALPHA", "Late one").id
    world.site.add_worklog(
        issue, "user-1", started="2026-11-03T09:00:00.000+0000", time_spent_seconds=600
    )
    await world.settle()
    after = (await world.client.get("/metrics")).text
    event = {"event": "worklog_created"}
    assert metric(after, name, **event) - metric(before, name, **event) == 1
