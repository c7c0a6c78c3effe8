"""Two app processes needing a QuickBooks token refresh at the same moment make one refresh
call to Intuit, and the connection keeps working (issue 15, item 1).

Each process runs the app's own `ConnectionTokens.access_token()` against one PostgreSQL
database and the emulator's process. The token endpoint is held: the first refresh waits
there while the test looks for what the other process does. With the connection row locked
(`SELECT … FOR UPDATE`) it waits on that lock in PostgreSQL; without it, it reaches Intuit
too, spends the rotated refresh token a second time and gets `invalid_grant`. The in-process
lock cannot hide that: these are two operating-system processes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select, text

from app.quickbooks.models import QuickBooksConnection
from app.quickbooks.tokens import CONNECTED, ConnectionTokens, access_token_of
from tests.app.quickbooks.processes.conftest import Setup
from tests.app.quickbooks.processes.harness import eventually

TOKEN_ROUTE = "/oauth2/v1/tokens/bearer"


async def _waiting_on_a_lock(setup: Setup) -> int:
    async with setup.runtime.sessions() as session:
        result = await session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(result.scalar_one())


async def test_two_processes_refreshing_at_once_make_one_refresh_call(
    setup: Setup, tmp_path: Path
) -> None:
    async with setup.runtime.sessions() as session:
        row = (await session.execute(select(QuickBooksConnection))).scalar_one()
        row.access_token_expires_at = setup.runtime.quickbooks.now()  # both must refresh
        await session.commit()
    qbo = setup.qbo
    qbo.control("POST", "/oauth/holds")
    children = setup.children(tmp_path)
    try:
        for name in ("a", "b"):
            children.start(name, "--tenant", str(setup.tenant_id), "token")
        children.release_when_ready()

        # One refresh is held at Intuit; the other process is either waiting on the row lock
        # (PostgreSQL says so) or at Intuit as well.
        seen: dict[str, int] = {}

        async def settled() -> bool:
            seen["at_intuit"] = qbo.control("GET", "/oauth/holds")["waiting"]
            seen["on_lock"] = await _waiting_on_a_lock(setup)
            return seen["at_intuit"] == 2 or (seen["at_intuit"] == 1 and seen["on_lock"] >= 1)

        await eventually(settled, "both processes to be inside their refresh")
        qbo.control("DELETE", "/oauth/holds")
        results = children.results()
    finally:
        children.kill_all()

    assert seen == {"at_intuit": 1, "on_lock": 1}
    assert qbo.route_count("POST", TOKEN_ROUTE) == 1
    assert qbo.control("GET", "/calls")["token_refreshes"] == 1
    # Both processes use the one new token, which is the one stored.
    async with setup.runtime.sessions() as session:
        row = (await session.execute(select(QuickBooksConnection))).scalar_one()
    assert row.status == CONNECTED
    assert row.token_generation == 2
    stored = access_token_of(setup.runtime.secrets, row)
    assert stored is not None
    digest = hashlib.sha256(stored.encode()).hexdigest()
    assert {r["token_sha256"] for r in results.values()} == {digest}
    # The connection works afterwards, without another refresh.
    assert row.realm_id is not None
    api = setup.runtime.quickbooks.api(
        row.realm_id, ConnectionTokens(setup.runtime, setup.tenant_id)
    )
    assert (await api.company_info())["CompanyName"] == "Sandbox Company_US_1"
    assert qbo.route_count("POST", TOKEN_ROUTE) == 1
