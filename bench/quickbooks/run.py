"""QuickBooks status refresh benchmark (issue 5): 10,000 synced invoices of one company.

    python bench/quickbooks/run.py                          # sqlite + postgresql
    python bench/quickbooks/run.py --backends sqlite --invoices 2000

For each backend: a fresh database migrated with Alembic, and a fresh QuickBooks emulator
started as a real HTTP server on loopback (`python -m sandbox.quickbooks`), reached by the
app's own QuickBooks client over TCP. The app is connected by a real OAuth code exchange.
Then, untimed: one tenant with a client linked to a customer, N finalized invoices, each
created in QuickBooks (batch creates, 30 a call) and recorded as synced, with the clocks
moving at the pace the app can sync (450 a minute: its own per-company limit).

Timed, each a `changes.run_changes` (what the hourly job, a webhook, runs) with its QBO
calls counted by the emulator:

1. catch-up: the first run after the N syncs (every invoice changed: its create);
2. quiet: nothing changed;
3. few: 100 invoices sent;
4. all: every invoice changed in QuickBooks — half sent, a quarter partly paid, a quarter
   paid (so N invoices and N/2 payments changed).

Between phases the emulator's clock and the app's move 15 minutes on (the hourly job would
run later than the changes), so a run's 2-minute look-back overlap does not re-read the
previous phase. Target: QBO calls ≤ ⌈changed / 1000⌉ + 1. Results go to
bench/quickbooks/results.json; RESULTS.md records them by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import migrations  # noqa: E402
from app.assembly import open_runtime  # noqa: E402
from app.billing.models import BillingSettings, Budget, Client, Invoice  # noqa: E402
from app.db import create_engine, create_session_factory, transaction  # noqa: E402
from app.quickbooks import changes  # noqa: E402
from app.quickbooks.client import QuickBooksClient  # noqa: E402
from app.quickbooks.models import (  # noqa: E402
    QuickBooksConnection,
    QuickBooksCustomer,
    QuickBooksCustomerLink,
    QuickBooksInvoiceSync,
)
from app.quickbooks.tokens import ConnectionTokens, seal_tokens  # noqa: E402
from app.settings import QuickBooksSettings, Settings  # noqa: E402
from bench.databases import add_bench_tenant, fresh_database  # noqa: E402

PG_NAME = "w360_bench_quickbooks"
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the emulator's, not a secret
REDIRECT = "https://bench.worklog360.test/quickbooks/callback"
STEP = timedelta(minutes=15)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """`python -m sandbox.quickbooks` in a subprocess, on a loopback port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Emulator:
        self.process = subprocess.Popen(  # noqa: S603 - our own module
            [
                sys.executable,
                "-m",
                "sandbox.quickbooks",
                "--port",
                str(self.port),
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                CLIENT_SECRET,
                "--redirect-uri",
                REDIRECT,
                "--queue-webhooks",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base}/_sandbox/companies", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the QuickBooks emulator did not start")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


async def _api_calls(control: httpx.AsyncClient) -> int:
    """Accounting API calls so far (OAuth token calls are not metered, nor counted)."""
    body: dict[str, Any] = (await control.get("/_sandbox/calls")).json()
    return sum(r["count"] for r in body["routes"] if r["route"].startswith("/v3/"))


async def _advance(
    control: httpx.AsyncClient, offset: list[timedelta], step: timedelta = STEP
) -> None:
    """Move the emulator's clock and the app's together."""
    await control.post("/_sandbox/clock", json={"advance_s": step.total_seconds()})
    offset[0] += step


async def _seed(url: str, realm: str, customer_id: str, count: int) -> tuple[int, list[int]]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    async with transaction(sessions) as session:
        tid = await add_bench_tenant(session)
        session.add(BillingSettings(tenant_id=tid))
        client = Client(tenant_id=tid, name="Acme", name_key="acme", currency="USD")
        session.add(client)
        await session.flush()
        budget = Budget(
            tenant_id=tid,
            client_id=client.id,
            name="2026",
            kind="time_and_materials",
            hourly_rate=Decimal("120.00"),
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
        )
        session.add(budget)
        session.add(
            QuickBooksCustomer(
                tenant_id=tid,
                id=customer_id,
                display_name="Acme",
                search_key="acme",
                currency="USD",
                active=True,
            )
        )
        session.add(
            QuickBooksCustomerLink(
                tenant_id=tid, client_id=client.id, customer_id=customer_id, display_name="Acme"
            )
        )
        await session.flush()
        now = datetime.now(UTC)
        rows = [
            {
                "tenant_id": tid,
                "client_id": client.id,
                "budget_id": budget.id,
                "status": "finalized",
                "number": f"INV-{n}",
                "sequence": n,
                "currency": "USD",
                "period_start": date(2026, 1, 1),
                "period_end": date(2026, 1, 31),
                "group_by": "issue",
                "rounding_minutes": 0,
                "rounding_mode": "none",
                "issue_date": date(2026, 11, 1),
                "due_date": date(2027, 12, 1),
                "total": Decimal("240.00"),
                "finalized_at": now,
                "finalized_by": "bench",
            }
            for n in range(1, count + 1)
        ]
        for start in range(0, len(rows), 2000):
            await session.execute(insert(Invoice), rows[start : start + 2000])
        ids = list(
            (
                await session.execute(
                    text("SELECT id FROM invoices WHERE tenant_id = :t ORDER BY id"), {"t": tid}
                )
            ).scalars()
        )
    await engine.dispose()
    return tid, ids


async def _connect(settings: Settings, emulator: Emulator, tid: int) -> str:
    """The OAuth code flow against the emulator, tokens stored as the callback would."""
    async with httpx.AsyncClient(base_url=emulator.base) as http:
        authorize = await http.get(
            "/connect/oauth2?"
            + urlencode(
                {
                    "client_id": CLIENT_ID,
                    "redirect_uri": REDIRECT,
                    "response_type": "code",
                    "scope": "com.intuit.quickbooks.accounting",
                    "state": "bench",
                }
            )
        )
        query = parse_qs(urlsplit(authorize.headers["location"]).query)
    code, realm = query["code"][0], query["realmId"][0]
    async with open_runtime(settings) as runtime:
        tokens = await runtime.quickbooks.exchange_code(code, redirect_uri=REDIRECT)
        async with transaction(runtime.sessions) as session:
            row = QuickBooksConnection(
                tenant_id=tid,
                status="connected",
                realm_id=realm,
                environment="sandbox",
                token_generation=0,
                connected_at=runtime.quickbooks.now(),
            )
            session.add(row)
            seal_tokens(runtime.secrets, row, tokens, now=runtime.quickbooks.now())
    return realm


async def _create_in_quickbooks(
    settings: Settings,
    control: httpx.AsyncClient,
    offset: list[timedelta],
    tid: int,
    realm: str,
    customer_id: str,
    ids: list[int],
    item: str,
) -> None:
    """Each invoice created in QuickBooks (30 a batch) and recorded as synced. The clocks
    move on 4 s per batch: the app syncs at most 450 invoices a minute into one company
    (its own limit under Intuit's 500), so 10,000 syncs are spread over 22 minutes, never
    made within one second."""
    async with open_runtime(settings) as runtime:
        runtime.quickbooks.clock = lambda: datetime.now(UTC) + offset[0]
        # Seeding only: the app's own limit of 450 calls a minute does not apply here.
        seeder = QuickBooksClient(
            runtime.http,
            runtime.quickbooks.endpoints,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            max_calls_per_minute=1_000_000,
            clock=runtime.quickbooks.clock,
        )
        api = seeder.api(realm, ConnectionTokens(runtime, tid))
        created: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 30):
            answers = await api.batch(
                [
                    {
                        "bId": str(invoice_id),
                        "operation": "create",
                        "Invoice": {
                            "CustomerRef": {"value": customer_id},
                            "DocNumber": f"INV-{start + n + 1}",
                            "TxnDate": "2026-11-01",
                            "DueDate": "2027-12-01",
                            "BillEmail": {"Address": "billing@acme.test"},
                            "Line": [
                                {
                                    "DetailType": "SalesItemLineDetail",
                                    "Amount": Decimal("240.00"),
                                    "SalesItemLineDetail": {
                                        "ItemRef": {"value": item},
                                        "Qty": Decimal("2.00"),
                                        "UnitPrice": Decimal("120.00"),
                                    },
                                }
                            ],
                        },
                    }
                    for n, invoice_id in enumerate(ids[start : start + 30])
                ]
            )
            for answer in answers:
                created[answer["bId"]] = answer["Invoice"]
            await _advance(control, offset, timedelta(seconds=4))
        rows = []
        for invoice_id in ids:
            invoice = created[str(invoice_id)]
            at = datetime.fromisoformat(invoice["MetaData"]["CreateTime"])
            rows.append(
                {
                    "tenant_id": tid,
                    "invoice_id": invoice_id,
                    "state": "synced",
                    "attempt": 1,
                    "outcome_unknown": False,
                    "realm_id": realm,
                    "customer_id": customer_id,
                    "qbo_id": invoice["Id"],
                    "doc_number": invoice["DocNumber"],
                    "sync_token": invoice["SyncToken"],
                    "invoice_total": Decimal("240.00"),
                    "total": Decimal("240.00"),
                    "balance": Decimal("240.00"),
                    "due_date": date(2027, 12, 1),
                    "sent": False,
                    "voided": False,
                    "deleted": False,
                    "synced_at": at,
                    "refreshed_at": at,
                    "updated_at": at,
                }
            )
        async with transaction(runtime.sessions) as session:
            for start in range(0, len(rows), 2000):
                await session.execute(insert(QuickBooksInvoiceSync), rows[start : start + 2000])


async def _change(control: httpx.AsyncClient, realm: str, actions: list[tuple[str, str]]) -> None:
    gate = asyncio.Semaphore(16)

    async def one(qbo_id: str, action: str) -> None:
        async with gate:
            path = f"/_sandbox/companies/{realm}/invoices/{qbo_id}"
            if action == "send":
                response = await control.post(f"{path}/send", json={})
            elif action == "part":
                response = await control.post(f"{path}/pay", json={"amount": "100.00"})
            else:
                response = await control.post(f"{path}/pay", json={})
            response.raise_for_status()

    await asyncio.gather(*(one(q, a) for q, a in actions))


async def _statuses(settings: Settings, tid: int) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT sent, balance, total, count(*) FROM quickbooks_invoice_syncs "
                    "WHERE tenant_id = :t GROUP BY sent, balance, total"
                ),
                {"t": tid},
            )
            counts: dict[str, int] = {}
            for sent, balance, total, n in result:
                balance, total = Decimal(str(balance)), Decimal(str(total))
                key = (
                    "paid"
                    if balance == 0 and total > 0
                    else "partially_paid"
                    if 0 < balance < total
                    else "sent"
                    if sent
                    else "draft"
                )
                counts[key] = counts.get(key, 0) + int(n)
            return counts
    finally:
        await engine.dispose()


async def _bench_backend(backend: str, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, Emulator() as emulator:
        url = fresh_database(backend, Path(folder), PG_NAME)
        await asyncio.to_thread(migrations.upgrade, url)
        settings = Settings(
            database_url=url,
            secret_key="bench-secret-key-0123456789abcdefghijklmnop",  # noqa: S106
            data_dir=Path(folder),
            auto_migrate=False,
            qbo=QuickBooksSettings(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                authorize_url=f"{emulator.base}/connect/oauth2",
                token_url=f"{emulator.base}/oauth2/v1/tokens/bearer",
                revoke_url=f"{emulator.base}/v2/oauth2/tokens/revoke",
                api_base_url=emulator.base,
            ),
        )
        async with httpx.AsyncClient(base_url=emulator.base, timeout=60) as control:
            (company,) = (await control.get("/_sandbox/companies")).json()
            realm = company["realm_id"]
            await control.put(
                f"/_sandbox/companies/{realm}/limits",
                json={"per_minute": None, "batch_per_minute": None, "concurrent": None},
            )
            customer = (
                await control.post(
                    f"/_sandbox/companies/{realm}/customers", json={"display_name": "Acme"}
                )
            ).json()
            customer_id = str(customer["Customer"]["Id"])
            item = (
                await control.post(
                    f"/_sandbox/companies/{realm}/items", json={"name": "Consulting hours"}
                )
            ).json()
            item_id = str(item["Item"]["Id"])
            tid, ids = await _seed(url, realm, customer_id, count)
            realm = await _connect(settings, emulator, tid)
            offset = [timedelta(0)]
            started = time.perf_counter()
            await _create_in_quickbooks(
                settings, control, offset, tid, realm, customer_id, ids, item_id
            )
            seeded_s = time.perf_counter() - started
            if backend == "postgresql":
                engine = create_engine(url)
                async with engine.connect() as conn:
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await conn.execute(text("VACUUM ANALYZE"))
                await engine.dispose()
            async with open_runtime(settings) as runtime:
                runtime.quickbooks.clock = lambda: datetime.now(UTC) + offset[0]
                async with runtime.sessions() as session:
                    qbo_ids = [
                        str(r)
                        for r in (
                            await session.execute(
                                text(
                                    "SELECT qbo_id FROM quickbooks_invoice_syncs "
                                    "WHERE tenant_id = :t ORDER BY invoice_id"
                                ),
                                {"t": tid},
                            )
                        ).scalars()
                    ]
                phases: list[dict[str, Any]] = []

                async def measure(name: str, changed_invoices: int, changed_payments: int) -> None:
                    await _advance(control, offset)
                    before = await _api_calls(control)
                    t0 = time.perf_counter()
                    result = await changes.run_changes(runtime, tid)
                    seconds = time.perf_counter() - t0
                    calls = await _api_calls(control) - before
                    assert result is not None
                    changed = changed_invoices + changed_payments
                    phases.append(
                        {
                            "phase": name,
                            "changed_invoices": changed_invoices,
                            "changed_payments": changed_payments,
                            "qbo_calls": calls,
                            "reported_calls": result.calls,
                            "target_calls": math.ceil(changed / 1000) + 1,
                            "within_target": calls <= math.ceil(changed / 1000) + 1,
                            "invoices_updated": result.invoices,
                            "seconds": round(seconds, 3),
                        }
                    )
                    print(f"  {backend} {name}: {phases[-1]}", flush=True)

                await measure("catch-up after the syncs", count, 0)
                await measure("quiet", 0, 0)
                await _advance(control, offset)
                await _change(control, realm, [(q, "send") for q in qbo_ids[:100]])
                await measure("few (100 sent)", 100, 0)
                await _advance(control, offset)
                half, quarter = count // 2, count * 3 // 4
                actions = (
                    [(q, "send") for q in qbo_ids[:half]]
                    + [(q, "part") for q in qbo_ids[half:quarter]]
                    + [(q, "pay") for q in qbo_ids[quarter:]]
                )
                await _change(control, realm, actions)
                await measure("all changed", count, count - half)
                statuses = await _statuses(settings, tid)
        return {"seed_seconds": round(seeded_s, 1), "phases": phases, "statuses": statuses}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--invoices", type=int, default=10_000)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "invoices": args.invoices,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": __import__("os").cpu_count(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"{backend}: {args.invoices} synced invoices", flush=True)
        results[backend] = await _bench_backend(backend, args.invoices)
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
