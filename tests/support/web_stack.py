"""The app as operators run it, in real processes on one PostgreSQL database: two
`worklog360 serve` processes behind one public address (as behind a load balancer) and two
`worklog360 worker` processes, installed on a site of the Jira emulator (served over HTTP)
and connected to the QuickBooks emulator's own process through the real OAuth dance.

async with web_stack(postgres_url, tmp_path) as stack:
    await stack.api("POST", "/api/invoices/1/sync", web=1)   # the second web process
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from sandbox.jira import JiraSandbox, Site
from tests.app.quickbooks.processes.harness import QboServer, qbo_server
from tests.support.app_process import ServedApp, app_environment, free_port, served_app, serving

DEADLINE_SECONDS = 60.0
PROJECT = "ALPHA"


@dataclass
class WebStack:
    jira: JiraSandbox
    site: Site
    app_key: str
    qbo: QboServer
    web: list[ServedApp]
    workers: list[subprocess.Popen[bytes]]
    public_url: str
    http: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(timeout=DEADLINE_SECONDS)
    )

    def headers(self, account_id: str | None = "user-admin") -> dict[str, str]:
        return {"Authorization": f"JWT {self.site.context_token(self.app_key, account_id)}"}

    async def api(
        self, method: str, path: str, *, web: int = 0, account_id: str = "user-admin", **kw: Any
    ) -> httpx.Response:
        """The JSON API as the iframe calls it, with a fresh context token, at web process
        `web` (the balancer's choice)."""
        headers = {**self.headers(account_id), **kw.pop("headers", {})}
        return await self.http.request(method, f"{self.web[web].url}{path}", headers=headers, **kw)

    async def ok(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.api(method, path, **kw)
        assert response.is_success, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    # --- what a user does first ----------------------------------------------------------

    async def wait_for_backfill(self) -> None:
        deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
        while True:
            answer = await self.api("GET", "/api/sync/worklogs")
            if answer.status_code == 200 and answer.json()["state"] == "succeeded":
                return
            assert asyncio.get_running_loop().time() < deadline, answer.text
            await asyncio.sleep(0.05)  # polling a condition with a deadline

    async def connect_quickbooks(self) -> None:
        """Connect → Intuit's consent (the emulator approves at once) → the callback page,
        in one browser (its cookies carry the OAuth state)."""
        token = self.site.context_token(self.app_key, "user-admin")
        async with httpx.AsyncClient(timeout=DEADLINE_SECONDS) as browser:
            started = await browser.get(
                f"{self.public_url}/quickbooks/connect?" + urlencode({"jwt": token})
            )
            assert started.status_code == 302, started.text
            consent = await browser.get(started.headers["location"])
            assert consent.status_code == 302, consent.text
            back = await browser.get(consent.headers["location"])
            assert back.status_code == 200, back.text

    async def finalized_invoice(self, customer_name: str = "Acme") -> dict[str, Any]:
        """A client linked to a new QuickBooks customer, November's worklogs on its budget,
        and its invoice generated and finalized, all through the API."""
        realm = self.qbo.realm_id
        customer = self.qbo.control(
            "POST", f"/companies/{realm}/customers", json={"display_name": customer_name}
        )["Customer"]
        await self.ok("GET", "/api/quickbooks/customers", params={"refresh": "true"})
        client = await self.ok(
            "POST",
            "/api/clients",
            json={"name": customer_name, "currency": "USD", "billing_email": "ap@acme.test"},
        )
        await self.ok(
            "PUT",
            f"/api/clients/{client['id']}/quickbooks-customer",
            json={"customer_id": str(customer["Id"])},
        )
        budget = await self.ok(
            "POST",
            "/api/budgets",
            json={
                "client_id": client["id"],
                "name": "November",
                "project_keys": [PROJECT],
                "starts_on": "2026-11-01",
                "ends_on": "2026-11-30",
                "hourly_rate": "120.00",
            },
        )
        draft = await self.ok(
            "POST",
            f"/api/budgets/{budget['id']}/invoices",
            json={"period_start": "2026-11-01", "period_end": "2026-11-30"},
        )
        invoice: dict[str, Any] = await self.ok("POST", f"/api/invoices/{draft['id']}/finalize")
        return invoice


def acme_site(jira: JiraSandbox, jira_url: str, project: str) -> Site:
    """A site with a Jira admin (user-admin), a member (user-1) and one issue of `project`
    with three November worklogs of 1.5 h, a minute old (Jira lists a worklog as updated
    once it is a minute old, so a backfill reads them)."""
    site = jira.add_site(f"{jira_url}/sites/acme")
    site.add_user("Ada Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    site.add_user("Mia Krystof", account_id="user-1")
    site.add_project(project)
    issue = site.add_issue(project, "Build it")
    for day in (3, 4, 5):
        site.add_worklog(
            issue,
            "user-1",
            started=f"2026-11-{day:02d}T09:00:00.000+0000",
            time_spent_seconds=5400,
            notify=False,
        )
    jira.clock.advance(61)
    return site


@contextlib.contextmanager
def worker_processes(
    database_url: str, data_dir: Path, count: int, **env: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` `worklog360 worker` processes, each logging to data_dir/worker-N.log."""
    environment = app_environment(database_url, data_dir, **{"W360_JOBS": "worker", **env})
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for number in range(1, count + 1):
            with (data_dir / f"worker-{number}.log").open("wb") as log:
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "app.cli", "worker"],
                        env=environment,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        yield workers
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


@contextlib.asynccontextmanager
async def web_stack(database_url: str, data_dir: Path, **env: str) -> AsyncIterator[WebStack]:
    """Two web processes and two workers (W360_* of `env` on top), installed and connected,
    with three November worklogs of 1.5 h in the backfilled mirror."""
    jira = JiraSandbox()
    async with serving(jira.app) as jira_url:
        site = acme_site(jira, jira_url, PROJECT)
        ports = [free_port(), free_port()]
        public_url = f"http://127.0.0.1:{ports[0]}"
        with (
            qbo_server("--redirect-uri", f"{public_url}/quickbooks/callback") as qbo,
            contextlib.ExitStack() as processes,
        ):
            settings = {
                "W360_ENV": "development",
                "W360_BASE_URL": public_url,
                "W360_JOBS": "worker",
                "W360_CONNECT_INSTALL_KEYS_URL": f"{jira_url}/_sandbox/install-keys",
                **qbo.settings_env(),
                **env,
            }
            web = [
                processes.enter_context(
                    served_app(
                        database_url,
                        data_dir,
                        port=port,
                        **{"W360_LOG_LEVEL": "INFO", **settings},
                    )
                )
                for port in ports
            ]
            workers = processes.enter_context(
                worker_processes(database_url, data_dir, 2, **settings)
            )
            installation = await jira.install_app(site, f"{public_url}/atlassian-connect.json")
            stack = WebStack(jira, site, installation.app_key, qbo, web, workers, public_url)
            try:
                await stack.wait_for_backfill()
                await stack.connect_quickbooks()
                qbo.control("DELETE", "/calls")
                yield stack
            finally:
                await stack.http.aclose()
        await jira.aclose()
