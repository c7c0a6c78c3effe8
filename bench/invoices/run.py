"""Invoice generation benchmark (issue 4): a draft from a budget holding 50,000 worklogs.

    python bench/invoices/run.py                         # sqlite + postgresql, 50k worklogs
    python bench/invoices/run.py --backends sqlite --worklogs 100000 --repeats 5

For each backend: a fresh database (a SQLite file, or the PostgreSQL database
`w360_bench_invoices`), migrated with Alembic; one tenant with a client, a budget over
project P for the whole year (rate 120.00), a dated rate card for 10 people (a raise on
July 1), 1% of the worklogs with their own rate override, rounding to the nearest 15
minutes; 2,000 issues; N worklogs spread over the year by 25 people. Then, timed, exactly
what `POST /api/budgets/{id}/invoices` does in its transaction (the service call, commit
included), grouped by issue, by person and by worklog, each `--repeats` times (the draft is
deleted between runs, untimed). Target: under 1 s on both databases. The response carries
the invoice's first 1,000 lines (the rest are paged); reading every line back is timed
separately, as `read_all_lines`.

PostgreSQL is ANALYZEd after loading, as autovacuum would have done on a live database.
Results go to bench/invoices/results.json; RESULTS.md records them by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import migrations  # noqa: E402
from app.billing import invoices  # noqa: E402
from app.billing.invoice_schemas import GroupBy, InvoiceGenerate  # noqa: E402
from app.billing.models import (  # noqa: E402
    BillingSettings,
    Budget,
    BudgetMemberRate,
    BudgetProject,
    Client,
    WorklogRateOverride,
)
from app.db import create_engine, create_session_factory, transaction  # noqa: E402
from app.worklogs.models import JiraIssue, Worklog  # noqa: E402
from bench.databases import add_bench_tenant, drop_database, fresh_database  # noqa: E402

PG_NAME = "w360_bench_invoices"
YEAR_START = date(2026, 1, 1)
ISSUES = 2000
PEOPLE = 25


async def _load(url: str, worklogs: int, *, flat: bool = False) -> tuple[int, int]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    rng = random.Random(42)  # noqa: S311 - repeatable data, not secrets
    async with transaction(sessions) as session:
        tid = await add_bench_tenant(session)
        session.add(BillingSettings(tenant_id=tid, rounding_mode="nearest", rounding_minutes=15))
        client = Client(tenant_id=tid, name="Acme", name_key="acme", currency="USD")
        session.add(client)
        await session.flush()
        budget = Budget(
            tenant_id=tid,
            client_id=client.id,
            name="2026",
            kind="time_and_materials",
            hourly_rate=Decimal("120.00"),
            starts_on=YEAR_START,
            ends_on=date(2026, 12, 31),
        )
        session.add(budget)
        await session.flush()
        bid = budget.id
        session.add(BudgetProject(tenant_id=tid, budget_id=bid, project_key="P"))
        for person in range(0 if flat else 10):
            for start, rate in ((YEAR_START, 100 + person), (date(2026, 7, 1), 110 + person)):
                session.add(
                    BudgetMemberRate(
                        tenant_id=tid,
                        budget_id=bid,
                        account_id=f"person-{person}",
                        effective_from=start,
                        hourly_rate=Decimal(rate),
                    )
                )
        await session.execute(
            insert(JiraIssue),
            [
                {
                    "tenant_id": tid,
                    "id": 10_000 + i,
                    "key": f"P-{i + 1}",
                    "summary": f"Issue number {i + 1}",
                    "project_key": "P",
                }
                for i in range(ISSUES)
            ],
        )
        rows = []
        for n in range(1, worklogs + 1):
            started = datetime.combine(
                YEAR_START + timedelta(days=rng.randrange(365)), datetime.min.time(), UTC
            ) + timedelta(minutes=rng.randrange(8 * 60, 18 * 60))
            person = rng.randrange(PEOPLE)
            rows.append(
                {
                    "tenant_id": tid,
                    "id": n,
                    "issue_id": 10_000 + rng.randrange(ISSUES),
                    "author_account_id": f"person-{person}",
                    "author_display_name": f"Person {person}",
                    "started_at": started,
                    "started_offset_minutes": 0,
                    "started_on": started.date(),
                    "time_spent_seconds": rng.randrange(5, 480) * 60,
                    "comment": "Worked on it",
                    "jira_updated_at": started,
                    "billable": True,
                }
            )
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(Worklog), rows[chunk : chunk + 5000])
        await session.execute(
            insert(WorklogRateOverride),
            [
                {"tenant_id": tid, "worklog_id": n, "hourly_rate": Decimal("150.00")}
                for n in range(1, worklogs + 1, 100)
                if not flat
            ]
            or [{"tenant_id": tid, "worklog_id": 1, "hourly_rate": Decimal("120.00")}],
        )
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return tid, bid


async def _measure(url: str, tid: int, bid: int, repeats: int) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    results: dict[str, Any] = {}
    try:
        for group_by in GroupBy:
            times, reads = [], []
            lines = claimed = 0
            for _ in range(repeats):
                data = InvoiceGenerate(
                    period_start=YEAR_START, period_end=date(2026, 12, 31), group_by=group_by
                )
                started = time.perf_counter()
                async with transaction(sessions) as session:
                    view = await invoices.generate_invoice(session, tid, bid, data, by="bench")
                times.append(time.perf_counter() - started)
                lines, claimed = view.figures.lines, view.figures.worklogs
                read_started = time.perf_counter()
                async with transaction(sessions) as session:
                    whole = await invoices.view_invoice(
                        session, tid, view.invoice.id, all_lines=True
                    )
                reads.append(time.perf_counter() - read_started)
                assert len(whole.lines) == lines
                assert sum(len(ids) for ids in whole.worklog_ids.values()) == claimed
                async with transaction(sessions) as session:
                    await invoices.delete_invoice(session, tid, view.invoice.id)
            results[group_by.value] = {
                "lines": lines,
                "worklogs": claimed,
                "seconds": [round(t, 3) for t in times],
                "median_s": round(statistics.median(times), 3),
                "max_s": round(max(times), 3),
                # Not part of generating: reading every line back (GET …/lines to the end,
                # or a QuickBooks sync), shown so the cost of huge invoices stays visible.
                "read_all_lines_median_s": round(statistics.median(reads), 3),
            }
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--worklogs", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--flat-rates",
        action="store_true",
        help="one rate for everyone (no rate card, no overrides): one line per issue",
    )
    args = parser.parse_args()
    report: dict[str, Any] = {
        "command": " ".join(["python", "bench/invoices/run.py", *sys.argv[1:]]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "worklogs": args.worklogs,
        "flat_rates": args.flat_rates,
        "results": {},
    }
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as folder:
            url = fresh_database(backend, Path(folder), PG_NAME)
            try:
                migrations.upgrade(url)
                load_started = time.perf_counter()
                tid, bid = asyncio.run(_load(url, args.worklogs, flat=args.flat_rates))
                print(f"{backend}: loaded in {time.perf_counter() - load_started:.1f} s")
                result = asyncio.run(_measure(url, tid, bid, args.repeats))
            finally:
                if backend == "postgresql":
                    drop_database(PG_NAME)
        report["results"][backend] = result
        for group_by, figures in result.items():
            print(
                f"{backend:10} {group_by:8} lines={figures['lines']:6} "
                f"worklogs={figures['worklogs']} median={figures['median_s']} s "
                f"max={figures['max_s']} s read-all={figures['read_all_lines_median_s']} s"
            )
    out = Path(__file__).with_name("results-flat.json" if args.flat_rates else "results.json")
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
