"""Intuit's per-company limit holds across processes: two app processes calling one company
at once make no more calls in a minute than W360_QBO_CALLS_PER_MINUTE allows in all, so
QuickBooks throttles none of them (each process's own gate alone would let both through)."""

from __future__ import annotations

from pathlib import Path

from tests.app.quickbooks.processes.conftest import Setup

INTUIT_PER_MINUTE = 20
# The app's budget keeps under Intuit's by a margin, as W360_QBO_CALLS_PER_MINUTE's default
# (450 of 500) does: Intuit counts a call when it arrives, a little after it was booked.
PER_MINUTE = 18
CALLS_EACH = 12  # 24 in all: six must wait for the first calls' minute to pass
COMPANY_INFO = "/v3/company/{realmId}/companyinfo/{companyId}"


async def test_two_processes_together_keep_under_the_companys_limit(
    setup: Setup, tmp_path: Path
) -> None:
    qbo = setup.qbo
    realm = qbo.realm_id
    # Intuit's per-minute limit, tightened to fit a test; its in-flight limit (per process
    # here, 10) left out.
    qbo.control(
        "PUT",
        f"/companies/{realm}/limits",
        json={"per_minute": INTUIT_PER_MINUTE, "concurrent": None, "batch_per_minute": None},
    )
    children = setup.children(tmp_path)
    children.env = {**setup.env, "W360_QBO_CALLS_PER_MINUTE": str(PER_MINUTE)}
    try:
        for name in ("a", "b"):
            children.start(
                name, "--tenant", str(setup.tenant_id), "calls", "--count", str(CALLS_EACH)
            )
        children.release_when_ready()
        results = children.results()
    finally:
        children.kill_all()

    assert {n: r["throttled"] for n, r in results.items()} == {"a": 0, "b": 0}
    company = qbo.control("GET", f"/companies/{realm}")
    assert company["limits"]["throttled"] == 0
    assert qbo.route_count("GET", COMPANY_INFO) == 2 * CALLS_EACH
