"""Worklogs list benchmark (issue 13): `GET /api/worklogs` on a site of 100,000 worklogs.

    python bench/worklogs/run.py                         # sqlite + postgresql, 100k worklogs
    python bench/worklogs/run.py --backends sqlite --worklogs 20000 --repeats 3

For each backend: a fresh database (a SQLite file, or the PostgreSQL database
`w360_bench_worklogs`), migrated with Alembic; one tenant, 2,000 issues over 5 projects,
25 people, N worklogs over the year; three clients' budgets over three of the projects
(so most worklogs fall into a budget by themselves), 1,000 worklogs assigned by hand to
no budget, 2% not billable, and January of the first budget invoiced and finalized.

Then, timed (median of `--repeats`, after one warm-up), what the route runs in its
transaction for one page of 100: the first page of each filter the Worklogs page offers
(none, a project, a person and a month, a budget, unassigned only) and the next page after
it. On code that has them (`billing.service.worklog_totals`), also the first page sorted by
each column, and the totals (`GET /api/worklogs/totals`) of each filter; on older code,
the same pages as it served them (oldest first, no totals), so the same script measures
before and after.

PostgreSQL is ANALYZEd after loading, as autovacuum would have done on a live database.
Results go to bench/worklogs/results.json (or --out); RESULTS.md records them by hand.
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
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import migrations  # noqa: E402
from app.billing import invoices, service  # noqa: E402
from app.billing.invoice_schemas import GroupBy, InvoiceGenerate  # noqa: E402
from app.billing.models import (  # noqa: E402
    BillingSettings,
    Budget,
    BudgetProject,
    Client,
    WorklogAssignment,
)
from app.db import create_engine, create_session_factory, transaction  # noqa: E402
from app.worklogs.models import JiraIssue, Worklog  # noqa: E402
from app.worklogs.service import WorklogFilters  # noqa: E402
from bench.databases import add_bench_tenant, drop_database, fresh_database  # noqa: E402

PG_NAME = "w360_bench_worklogs"
YEAR_START = date(2026, 1, 1)
ISSUES = 2000
PEOPLE = 25
PROJECTS = ("P0", "P1", "P2", "P3", "P4")
PAGE = 100
NEW_API = hasattr(service, "worklog_totals")


async def _load(url: str, worklogs: int) -> tuple[int, list[int]]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    rng = random.Random(42)  # noqa: S311 - repeatable data, not secrets
    budget_ids = []
    async with transaction(sessions) as session:
        tid = await add_bench_tenant(session)
        session.add(BillingSettings(tenant_id=tid))
        for n, project in enumerate(PROJECTS[:3]):
            client = Client(
                tenant_id=tid, name=f"Client {n}", name_key=f"client {n}", currency="USD"
            )
            session.add(client)
            await session.flush()
            budget = Budget(
                tenant_id=tid,
                client_id=client.id,
                name=f"Budget {n}",
                kind="time_and_materials",
                hourly_rate=Decimal("120.00"),
                starts_on=YEAR_START,
                ends_on=date(2026, 12, 31),
            )
            session.add(budget)
            await session.flush()
            session.add(BudgetProject(tenant_id=tid, budget_id=budget.id, project_key=project))
            budget_ids.append(budget.id)
        await session.execute(
            insert(JiraIssue),
            [
                {
                    "tenant_id": tid,
                    "id": 10_000 + i,
                    "key": f"{PROJECTS[i % 5]}-{i // 5 + 1}",
                    "summary": f"Issue number {i + 1}",
                    "project_key": PROJECTS[i % 5],
                    "resolved_at": datetime.now(UTC),
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
                    "billable": rng.random() > 0.02,
                }
            )
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(Worklog), rows[chunk : chunk + 5000])
        await session.execute(
            insert(WorklogAssignment),
            [
                {"tenant_id": tid, "worklog_id": n, "budget_id": None}
                for n in range(7, worklogs + 1, max(worklogs // 1000, 1))
            ],
        )
    async with transaction(sessions) as session:
        draft = await invoices.generate_invoice(
            session,
            tid,
            budget_ids[0],
            InvoiceGenerate(
                period_start=YEAR_START, period_end=date(2026, 1, 31), group_by=GroupBy.ISSUE
            ),
            by="bench",
        )
        await invoices.finalize_invoice(session, tid, draft.invoice.id, by="bench")
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return tid, budget_ids


def _scenarios(budget_ids: list[int]) -> dict[str, dict[str, Any]]:
    return {
        "no filter": {},
        "project": {"filters": WorklogFilters(project_key="P3")},
        "person + month": {
            "filters": WorklogFilters(
                author="person-3", from_date=date(2026, 3, 1), to_date=date(2026, 3, 31)
            )
        },
        "budget": {"budget_id": budget_ids[1]},
        "unassigned": {"unassigned": True},
    }


async def _page(session: Any, tid: int, spec: dict[str, Any], cursor: str | None) -> Any:
    filters = spec.get("filters", WorklogFilters())
    common = {
        "budget_id": spec.get("budget_id"),
        "unassigned": spec.get("unassigned", False),
        "cursor": cursor,
        "limit": PAGE,
    }
    if NEW_API:
        from app.worklogs.service import WorklogOrder

        order = WorklogOrder.of(*spec["sort"]) if "sort" in spec else WorklogOrder()
        return await service.list_priced_worklogs(session, tid, filters, order=order, **common)
    return await service.list_priced_worklogs(session, tid, filters, **common)


async def _timed(
    sessions: Any, work: Callable[[Any], Awaitable[Any]], repeats: int
) -> tuple[float, Any]:
    times = []
    result = None
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        async with transaction(sessions) as session:
            result = await work(session)
        if attempt:  # the first is a warm-up
            times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1), result


async def _measure(url: str, tid: int, budget_ids: list[int], repeats: int) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    results: dict[str, Any] = {}
    scenarios = _scenarios(budget_ids)
    if NEW_API:
        from app.worklogs.service import WorklogSort

        for sort in WorklogSort:
            if sort is not WorklogSort.STARTED:
                scenarios[f"sorted by {sort.value}"] = {"sort": (sort, None)}
    try:
        for name, spec in scenarios.items():

            async def first(session: Any, spec: dict[str, Any] = spec) -> Any:
                return await _page(session, tid, spec, None)

            first_ms, (items, cursor) = await _timed(sessions, first, repeats)
            figures: dict[str, Any] = {"first_page_ms": first_ms, "rows": len(items)}
            if cursor:

                async def second(
                    session: Any, spec: dict[str, Any] = spec, cursor: str = cursor
                ) -> Any:
                    return await _page(session, tid, spec, cursor)

                figures["next_page_ms"], _ = await _timed(sessions, second, repeats)
            if NEW_API and "sort" not in spec:

                async def totals(session: Any, spec: dict[str, Any] = spec) -> Any:
                    return await service.worklog_totals(
                        session,
                        tid,
                        spec.get("filters", WorklogFilters()),
                        budget_id=spec.get("budget_id"),
                        unassigned=spec.get("unassigned", False),
                    )

                figures["totals_ms"], found = await _timed(sessions, totals, repeats)
                figures["totals_worklogs"] = found.worklogs
            results[name] = figures
            print(f"  {name:18} {figures}")
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--worklogs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()
    report: dict[str, Any] = {
        "command": " ".join(["python", "bench/worklogs/run.py", *sys.argv[1:]]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "code": "with sorting and totals" if NEW_API else "before sorting and totals",
        "worklogs": args.worklogs,
        "results": {},
    }
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as folder:
            url = fresh_database(backend, Path(folder), PG_NAME)
            try:
                migrations.upgrade(url)
                load_started = time.perf_counter()
                tid, budget_ids = asyncio.run(_load(url, args.worklogs))
                print(f"{backend}: loaded in {time.perf_counter() - load_started:.1f} s")
                report["results"][backend] = asyncio.run(
                    _measure(url, tid, budget_ids, args.repeats)
                )
            finally:
                if backend == "postgresql":
                    drop_database(PG_NAME)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
