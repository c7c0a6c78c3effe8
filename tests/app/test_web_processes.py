"""Two `worklog360 serve` processes and two workers on one PostgreSQL database, as operators
run the app, with users' requests spread over both web processes (issue 15, items 1 and 2):
"Sync with QB" makes one QuickBooks invoice however many clicks reach however many
processes; a web process killed in the middle of a Sync leaves the invoice retriable within a
minute from the other one; both processes needing a token refresh at once refresh once; a
burst of webhooks while the database ends every connection loses nothing and gets no 5xx."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sandbox.jira.webhooks import WebhookDelivery, webhook_request
from tests.app.quickbooks.processes.harness import wait_until
from tests.conftest import own_postgres_database
from tests.support.db import connections_waiting_on_a_lock, cut_every_other_connection
from tests.support.web_stack import PROJECT, WebStack, web_stack

INVOICE_ROUTE = "/v3/company/{realmId}/invoice"
TOKEN_ROUTE = "/oauth2/v1/tokens/bearer"
# W360_QBO_SYNC_CLAIM_STALE_SECONDS of these processes: the first click after the kill must
# come before the dead claim lapses, on a loaded machine too.
STALE_SECONDS = 20


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from own_postgres_database()


@pytest.fixture
async def stack(postgres_url: str, tmp_path: Path) -> AsyncIterator[WebStack]:
    async with web_stack(
        postgres_url, tmp_path, W360_QBO_SYNC_CLAIM_STALE_SECONDS=str(STALE_SECONDS)
    ) as stack:
        yield stack


def _company(stack: WebStack) -> dict[str, Any]:
    company: dict[str, Any] = stack.qbo.control("GET", f"/companies/{stack.qbo.realm_id}")
    return company


async def _quickbooks_block(stack: WebStack, invoice_id: int, web: int) -> dict[str, Any]:
    invoice = await stack.ok("GET", f"/api/invoices/{invoice_id}", web=web)
    block: dict[str, Any] = invoice["quickbooks"]
    return block


async def test_fifty_syncs_over_two_web_processes_make_one_invoice(stack: WebStack) -> None:
    invoice = await stack.finalized_invoice()
    realm = stack.qbo.realm_id
    # QuickBooks slow to create, so the clicks overlap; and a company that would accept a
    # second invoice of the same number, so only the app stands between them.
    stack.qbo.control("POST", f"/companies/{realm}/latency", json={"seconds": 0.5})
    stack.qbo.control(
        "PATCH", f"/companies/{realm}/preferences", json={"warn_duplicate_doc_num": False}
    )

    answers = await asyncio.gather(
        *(stack.api("POST", f"/api/invoices/{invoice['id']}/sync", web=n % 2) for n in range(50))
    )

    outcomes = Counter(
        "ok" if a.status_code == 200 else f"{a.status_code} {a.json()['error']['code']}"
        for a in answers
    )
    assert set(outcomes) <= {"ok", "409 quickbooks_sync_in_progress"}, outcomes
    assert outcomes["ok"] >= 1
    assert stack.qbo.route_count("POST", INVOICE_ROUTE) == 1
    assert _company(stack)["counts"]["Invoice"] == 1
    # Both web processes show the one QuickBooks invoice, with our number and total.
    blocks = [await _quickbooks_block(stack, invoice["id"], web) for web in (0, 1)]
    assert blocks[0]["invoice_id"] == blocks[1]["invoice_id"] is not None
    assert {b["doc_number"] for b in blocks} == {invoice["number"]}
    assert {b["total"] for b in blocks} == {"540.00"}  # 3 worklogs of 1.5 h at 120.00
    made = stack.qbo.control("GET", f"/companies/{realm}/invoices/{blocks[0]['invoice_id']}")
    assert made["Invoice"]["DocNumber"] == invoice["number"]
    assert Decimal(str(made["Invoice"]["TotalAmt"])) == Decimal("540.00")


async def test_a_web_process_killed_mid_sync_leaves_the_invoice_retriable_soon(
    stack: WebStack,
) -> None:
    """`kill -9` of the web process whose Sync is waiting on QuickBooks' create: the other
    web process tells a click that the Sync is running until the dead one's claim lapses
    (STALE_SECONDS after its last beat, not five minutes), then syncs; QuickBooks ends up
    with one invoice, whether the dead create lands before or after the retry."""
    invoice = await stack.finalized_invoice()
    realm = stack.qbo.realm_id
    stack.qbo.control(
        "PATCH", f"/companies/{realm}/preferences", json={"warn_duplicate_doc_num": False}
    )
    stack.qbo.control(
        "POST",
        f"/companies/{realm}/holds",
        json={"method": "POST", "route": INVOICE_ROUTE, "count": 1},
    )
    doomed = asyncio.create_task(stack.api("POST", f"/api/invoices/{invoice['id']}/sync", web=0))
    await asyncio.to_thread(
        wait_until,
        lambda: stack.qbo.control("GET", f"/companies/{realm}/holds")["waiting"] == 1,
        "web process 1's create to reach QuickBooks",
    )
    os.kill(stack.web[0].process.pid, signal.SIGKILL)
    stack.web[0].process.wait(timeout=10)
    with pytest.raises(Exception):  # noqa: B017 - its connection dies with it
        await doomed
    killed_at = asyncio.get_running_loop().time()

    first = await stack.api("POST", f"/api/invoices/{invoice['id']}/sync", web=1)
    assert first.status_code == 409, first.text
    assert first.json()["error"]["code"] == "quickbooks_sync_in_progress"

    while True:
        retried = await stack.api("POST", f"/api/invoices/{invoice['id']}/sync", web=1)
        if retried.status_code == 200:
            break
        assert retried.json()["error"]["code"] == "quickbooks_sync_in_progress", retried.text
        assert asyncio.get_running_loop().time() - killed_at < 60, "still blocked after 60 s"
        await asyncio.sleep(0.2)  # polling a condition with a deadline
    # The dead process's create, still held at QuickBooks, now lands after the retry's.
    stack.qbo.control("DELETE", f"/companies/{realm}/holds")
    await asyncio.to_thread(
        wait_until,
        lambda: int(_company(stack)["limits"]["in_flight"]) == 0,
        "QuickBooks to finish the dead process's create",
    )

    assert _company(stack)["counts"]["Invoice"] == 1
    block = retried.json()["quickbooks"]
    assert block["doc_number"] == invoice["number"] and block["total"] == "540.00"
    assert (await _quickbooks_block(stack, invoice["id"], 1))["invoice_id"] == block["invoice_id"]


async def test_both_web_processes_refreshing_at_once_make_one_refresh_call(
    stack: WebStack, postgres_url: str
) -> None:
    """The access token has expired; a page in each web process asks QuickBooks for the
    customer list at once. Intuit is held at its token endpoint so the two overlap: one
    refresh call, both pages answer from QuickBooks, and the connection stays connected."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE quickbooks_connections SET access_token_expires_at = now()")
    stack.qbo.control("POST", "/oauth/holds")
    pages = [
        asyncio.create_task(
            stack.api("GET", "/api/quickbooks/customers", web=web, params={"refresh": "true"})
        )
        for web in (0, 1)
    ]

    def one_at_intuit_and_one_waiting() -> bool:
        on_lock = connections_waiting_on_a_lock(postgres_url)
        at_intuit = int(stack.qbo.control("GET", "/oauth/holds")["waiting"])
        assert at_intuit <= 1, "both processes are refreshing at Intuit"
        return at_intuit == 1 and on_lock >= 1

    await asyncio.to_thread(
        wait_until, one_at_intuit_and_one_waiting, "both web processes inside their refresh"
    )
    stack.qbo.control("DELETE", "/oauth/holds")
    answers = await asyncio.gather(*pages)

    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert stack.qbo.route_count("POST", TOKEN_ROUTE) == 1
    connection = await stack.ok("GET", "/api/quickbooks/connection", web=1)
    assert connection["connected"] is True, connection
    assert (await stack.api("GET", "/api/quickbooks/customers", web=0)).status_code == 200
    assert stack.qbo.route_count("POST", TOKEN_ROUTE) == 1


async def test_webhooks_while_every_connection_is_cut_get_no_5xx_and_all_are_stored(
    stack: WebStack, postgres_url: str
) -> None:
    """2,000 worklog webhooks, 64 at a time over both web processes, while every connection
    to PostgreSQL is ended again and again (a failover, a restart, an operator's
    pg_terminate_backend): each is answered 2xx, and every worklog is in the mirror as Jira
    has it. A cut connection is retried once on a fresh one, not answered 500."""
    deliveries = 2000
    cut_every = 100  # answers between two cuts; 63 others are in flight at each cut
    issues = [stack.site.add_issue(PROJECT, f"Load {n}").id for n in range(20)]
    made = {
        int(
            stack.site.add_worklog(
                issues[n % len(issues)],
                "user-1",
                started=f"2026-11-{1 + n % 28:02d}T09:00:00.000+0000",
                time_spent_seconds=60 * (1 + n % 240),
            ).id
        ): 60 * (1 + n % 240)
        for n in range(deliveries)
    }
    installation = stack.site.installations[stack.app_key]
    outbox = stack.site.outbox.take_all()
    assert len(outbox) == deliveries
    now = stack.jira.token_clock()
    statuses: Counter[int] = Counter()
    cuts: list[int] = []
    gate = asyncio.Semaphore(64)

    async def deliver(n: int, delivery: WebhookDelivery) -> None:
        headers, body = webhook_request(delivery, installation, now)
        url = delivery.url.replace(stack.public_url, stack.web[n % 2].url, 1)
        async with gate:
            response = await stack.http.post(url, content=body, headers=headers)
        statuses[response.status_code] += 1
        if sum(statuses.values()) % cut_every == 0:
            cuts.append(await asyncio.to_thread(cut_every_other_connection, postgres_url))

    await asyncio.gather(*(deliver(n, d) for n, d in enumerate(outbox)))

    assert sum(cuts) >= deliveries // cut_every  # connections were really cut, many times
    assert sum(statuses.values()) == deliveries
    assert all(200 <= status < 300 for status in statuses), statuses

    def mirrored() -> dict[int, int]:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT id, time_spent_seconds FROM worklogs WHERE deleted_in_jira_at IS NULL"
            ).fetchall()
        return {int(r[0]): int(r[1]) for r in rows}

    await asyncio.to_thread(
        wait_until, lambda: set(made) <= set(mirrored()), "every worklog in the mirror"
    )
    stored = mirrored()
    assert {wid: stored[wid] for wid in made} == made
    # Both web processes and both workers lived through it.
    assert all(w.process.poll() is None for w in stack.web)
    assert all(w.poll() is None for w in stack.workers)
