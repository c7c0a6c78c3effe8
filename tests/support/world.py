"""A test world: the app and the Jira emulator, each reaching the other over HTTP in-process.

async with jira_world(database_url, tmp_path) as world:
    installation = await world.install()
    response = await world.api("GET", "/api/worklogs", account_id="user-1")
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.runtime import Runtime
from app.worklogs.jobs import resolve_pending_issues
from sandbox.jira import Installation, JiraSandbox, Site
from tests.support.apps import APP_BASE_URL, RecordedSleeps, make_settings, running_app

JIRA_KEYS_URL = "https://install-keys.jira-sandbox.test/_sandbox/install-keys"
SITE_URL = "https://acme.atlassian.net"


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    jira: JiraSandbox
    site: Site
    sleeps: RecordedSleeps

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    @property
    def app_key(self) -> str:
        return self.runtime.settings.app_key

    async def install(self, site: Site | None = None) -> Installation:
        return await self.jira.install_app(
            site or self.site, f"{APP_BASE_URL}/atlassian-connect.json"
        )

    def context_headers(self, account_id: str | None, site: Site | None = None) -> dict[str, str]:
        token = (site or self.site).context_token(self.app_key, account_id)
        return {"Authorization": f"JWT {token}"}

    async def api(
        self,
        method: str,
        path: str,
        *,
        account_id: str | None = "user-admin",
        site: Site | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Call the JSON API as the iframe would, with a fresh context token."""
        headers = {**self.context_headers(account_id, site), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def settle(self) -> None:
        """Deliver Jira's queued webhooks, run the issue sweep (as its timer would) and let
        the app's background jobs finish."""
        for site in self.jira.sites.values():
            await self.jira.deliver_webhooks(site)
        await self.runtime.jobs.drain()
        await resolve_pending_issues(self.runtime)
        await self.runtime.jobs.drain()


@asynccontextmanager
async def jira_world(database_url: str, data_dir: Path, **settings: Any) -> AsyncIterator[World]:
    jira_to_app: httpx.AsyncClient | None = None
    sandbox: JiraSandbox | None = None
    app_settings = make_settings(
        database_url, data_dir, connect_install_keys_url=JIRA_KEYS_URL, **settings
    )
    placeholder = _LateBoundTransport()
    sleeps = RecordedSleeps()
    async with running_app(app_settings, transport=placeholder, sleep=sleeps) as (app, client):
        jira_to_app = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=30.0)
        sandbox = JiraSandbox(http=jira_to_app)
        placeholder.bind(httpx.ASGITransport(app=sandbox.app))
        site = sandbox.add_site(SITE_URL)
        site.add_user("Ada Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
        site.add_user("Mia Krystof", account_id="user-1")
        try:
            yield World(app=app, client=client, jira=sandbox, site=site, sleeps=sleeps)
            # Background work must finish on its own; a hang is a bug, not a slow test.
            await asyncio.wait_for(app.state.runtime.jobs.drain(), timeout=60)
        finally:
            await sandbox.aclose()
            await jira_to_app.aclose()


class _LateBoundTransport(httpx.AsyncBaseTransport):
    """The app is built before the emulator that it calls; this closes the loop."""

    def __init__(self) -> None:
        self._inner: httpx.AsyncBaseTransport | None = None

    def bind(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self._inner is not None, "the Jira emulator is not bound yet"
        return await self._inner.handle_async_request(request)
