"""A `worklog360 worker` killed (`kill -9`) in the middle of a site's first backfill: a live
worker finishes it within a minute, and the mirror is then Jira's, every worklog once.

Real processes on one PostgreSQL database: the Jira emulator (`python -m sandbox.jira`), whose
worklog reads are held while the doomed worker waits on them, and two workers, one after the
other. Before the stalled-job sweep was fixed, the backfill's job stayed `doing` for ever.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import select

from app.assembly import open_runtime
from app.crypto import SecretBox
from app.db import transaction
from app.tenants import repository as tenants
from app.tenants.models import Tenant
from app.tenants.service import _secret_context
from app.worklogs.jobs import SYNC
from tests.app.quickbooks.processes.harness import free_port, wait_until
from tests.conftest import own_postgres_database
from tests.support.app_process import app_environment
from tests.support.apps import APP_BASE_URL, TEST_SECRET_KEY, make_settings

ROOT = Path(__file__).resolve().parents[3]
SITE = "acme"
CLIENT_KEY = "crash-test-site"
WORKLOGS = 600
LIST_ROUTE = "/rest/api/3/worklog/list"
PICKED_UP_WITHIN_SECONDS = 60.0


@dataclass
class Jira:
    url: str
    control: httpx.Client

    def call(self, method: str, path: str, **kwargs: object) -> dict[str, object]:
        response = self.control.request(method, f"/_sandbox{path}", **kwargs)  # type: ignore[arg-type]
        assert response.is_success, response.text
        return response.json() if response.content else {}


@pytest.fixture
def jira(tmp_path: Path) -> Iterator[Jira]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "jira.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.jira", "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    control = httpx.Client(base_url=url, timeout=10)

    def answers() -> bool:
        assert process.poll() is None, (tmp_path / "jira.log").read_text()
        try:
            return control.get("/_sandbox/sites").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, "the Jira emulator to answer")
        yield Jira(url, control)
    finally:
        control.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from own_postgres_database()


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--concurrency", "2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stored(postgres_url: str) -> int:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT count(*) FROM worklogs").fetchone()
    return int(row[0]) if row else 0


async def _install_and_queue_backfill(
    postgres_url: str, tmp_path: Path, site_url: str, shared_secret: str
) -> None:
    """The tenant row a signed install leaves, and the first backfill it queues."""
    settings = make_settings(postgres_url, tmp_path / "app", jobs="worker")
    async with open_runtime(settings) as runtime:
        async with transaction(runtime.sessions) as session:
            await tenants.upsert_installed(
                session,
                {
                    "client_key": CLIENT_KEY,
                    "shared_secret_encrypted": SecretBox(TEST_SECRET_KEY).encrypt(
                        shared_secret, context=_secret_context(CLIENT_KEY)
                    ),
                    "base_url": site_url,
                    "display_url": None,
                    "product_type": "jira",
                    "description": None,
                    "oauth_client_id": None,
                    "service_entitlement_number": None,
                },
                int(time.time()),
            )
            tenant_id = (
                await session.execute(select(Tenant.id).where(Tenant.client_key == CLIENT_KEY))
            ).scalar_one()
        await runtime.jobs.request(runtime, SYNC, tenant_id)


def test_a_backfill_left_by_a_killed_worker_is_finished_by_a_live_one(
    jira: Jira, postgres_url: str, tmp_path: Path
) -> None:
    jira.call("POST", f"/sites/{SITE}/seed", json={"issues": 40, "worklogs": WORKLOGS, "users": 5})
    installation = jira.call(
        "POST",
        f"/sites/{SITE}/installations",
        json={
            "descriptor": {
                "key": "com.worklog360.jira",
                "name": "Worklog360",
                "baseUrl": APP_BASE_URL,
            },
            "client_key": CLIENT_KEY,
        },
    )
    jira.call("POST", "/clock", json={"advance_ms": 61_000})  # past Jira's settling minute
    asyncio.run(
        _install_and_queue_backfill(
            postgres_url, tmp_path, f"{jira.url}/sites/{SITE}", str(installation["shared_secret"])
        )
    )
    jira.call("POST", f"/sites/{SITE}/holds", json={"method": "POST", "route": LIST_ROUTE})
    env = app_environment(
        postgres_url, tmp_path / "workers", W360_JOBS="worker", W360_BASE_URL=APP_BASE_URL
    )
    doomed = _worker(env, tmp_path / "doomed.log")
    survivor: subprocess.Popen[bytes] | None = None
    try:
        wait_until(
            lambda: jira.call("GET", f"/sites/{SITE}/holds")["waiting"] == 1,
            "the doomed worker's backfill to wait on Jira",
        )
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        killed_at = time.monotonic()
        survivor = _worker(env, tmp_path / "survivor.log")
        # Jira answers the dead worker's read now, to nobody; it holds no more.
        jira.call("DELETE", f"/sites/{SITE}/holds")

        counts: list[int] = []

        def finished() -> bool:
            assert survivor is not None and survivor.poll() is None, (
                tmp_path / "survivor.log"
            ).read_text()[-3000:]
            counts.append(_stored(postgres_url))
            return counts[-1] == WORKLOGS

        wait_until(finished, "a live worker to finish the backfill", PICKED_UP_WITHIN_SECONDS)
        took = time.monotonic() - killed_at
    finally:
        for process in (doomed, survivor):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)

    assert took < PICKED_UP_WITHIN_SECONDS
    assert counts[-1] == WORKLOGS
