"""A test world: the app and the Jira and QuickBooks emulators, each reaching the others over
HTTP in-process. The app's outbound calls are routed by host: Intuit's (the QuickBooks
emulator's) to `world.qbo`, every other one to the Jira emulator.

async with jira_world(database_url, tmp_path) as world:
    installation = await world.install()
    response = await world.api("GET", "/api/worklogs", account_id="user-1")
    await world.connect_quickbooks()          # the whole OAuth dance, as a browser would
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import FastAPI

from app.runtime import Runtime
from app.settings import QuickBooksSettings
from app.worklogs.jobs import resolve_pending_issues
from sandbox.jira import Installation, JiraSandbox, Site
from sandbox.quickbooks import (
    AUTHORIZE_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    Company,
    OAuthClient,
    QuickBooksSandbox,
)
from tests.support.apps import APP_BASE_URL, RecordedSleeps, make_settings, running_app

JIRA_KEYS_URL = "https://install-keys.jira-sandbox.test/_sandbox/install-keys"
SITE_URL = "https://acme.atlassian.net"
QBO_BASE_URL = "https://qbo.intuit-sandbox.test"
QBO_CLIENT_ID = "ABworklog360test"
QBO_CLIENT_SECRET = "qbo-test-client-secret"
QBO_VERIFIER_TOKEN = "qbo-test-verifier-token"
QBO_COMPANY_NAME = "Acme Books"


def quickbooks_settings() -> QuickBooksSettings:
    """The app's W360_QBO_* pointed at the QuickBooks emulator."""
    return QuickBooksSettings(
        client_id=QBO_CLIENT_ID,
        client_secret=QBO_CLIENT_SECRET,
        environment="sandbox",
        authorize_url=QBO_BASE_URL + AUTHORIZE_PATH,
        token_url=QBO_BASE_URL + TOKEN_PATH,
        revoke_url=QBO_BASE_URL + REVOKE_PATH,
        api_base_url=QBO_BASE_URL,
        webhook_verifier_token=QBO_VERIFIER_TOKEN,
    )


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    jira: JiraSandbox
    site: Site
    sleeps: RecordedSleeps
    qbo: QuickBooksSandbox | None = None
    qbo_company: Company | None = None
    qbo_client: OAuthClient | None = None
    qbo_browser: httpx.AsyncClient | None = None

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

    @property
    def quickbooks(self) -> QuickBooksSandbox:
        assert self.qbo is not None
        return self.qbo

    @property
    def realm_id(self) -> str:
        """The realm of the emulator's default company."""
        assert self.qbo_company is not None
        return self.qbo_company.realm_id

    async def start_quickbooks_connect(
        self, *, account_id: str | None = "user-admin", site: Site | None = None
    ) -> httpx.Response:
        """Click "Connect to QuickBooks": `GET /quickbooks/connect?jwt=<context token>`."""
        token = (site or self.site).context_token(self.app_key, account_id)
        return await self.client.get("/quickbooks/connect?" + urlencode({"jwt": token}))

    async def authorize_at_intuit(self, authorize_url: str) -> str:
        """The user's browser at Intuit's consent page; returns where Intuit sends it back."""
        assert self.qbo_browser is not None
        response = await self.qbo_browser.get(authorize_url)
        assert response.status_code == 302, response.text
        return str(response.headers["location"])

    async def follow_callback(self, callback_url: str) -> httpx.Response:
        """The browser following Intuit's redirect back to the app (with its cookies)."""
        parts = urlsplit(callback_url)
        return await self.client.get(f"{parts.path}?{parts.query}")

    async def connect_quickbooks(
        self,
        *,
        realm_id: str | None = None,
        account_id: str | None = "user-admin",
        site: Site | None = None,
    ) -> httpx.Response:
        """The whole OAuth dance, as a Jira admin's browser does it: Connect → Intuit's
        consent (approving `realm_id`, default the emulator's company) → the callback page."""
        self.quickbooks.approve_next_authorization(realm_id or self.realm_id)
        started = await self.start_quickbooks_connect(account_id=account_id, site=site)
        assert started.status_code == 302, started.text
        back = await self.authorize_at_intuit(started.headers["location"])
        return await self.follow_callback(back)

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
    settings.setdefault("qbo", quickbooks_settings())
    app_settings = make_settings(
        database_url, data_dir, connect_install_keys_url=JIRA_KEYS_URL, **settings
    )
    placeholder = _LateBoundTransport()
    sleeps = RecordedSleeps()
    async with running_app(app_settings, transport=placeholder, sleep=sleeps) as (app, client):
        jira_to_app = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=30.0)
        qbo_to_app = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=30.0)
        sandbox = JiraSandbox(http=jira_to_app)
        qbo = QuickBooksSandbox(http=qbo_to_app)
        qbo_hosts = {
            urlsplit(url).hostname
            for url in (
                app_settings.qbo.effective_authorize_url,
                app_settings.qbo.effective_token_url,
                app_settings.qbo.effective_revoke_url,
                app_settings.qbo.effective_api_base_url,
            )
        }
        placeholder.bind(
            _HostRoutes(
                {h: httpx.ASGITransport(app=qbo.app) for h in qbo_hosts if h},
                default=httpx.ASGITransport(app=sandbox.app),
            )
        )
        # The app's notion of "now" for tokens follows Intuit's (tests move that clock).
        app.state.runtime.quickbooks.clock = qbo.clock.now
        qbo_company = qbo.add_company(QBO_COMPANY_NAME)
        qbo_client = qbo.register_client(
            client_id=app_settings.qbo.client_id,
            client_secret=(
                app_settings.qbo.client_secret.get_secret_value()
                if app_settings.qbo.client_secret
                else None
            ),
            redirect_uris=[f"{app_settings.base_url}/quickbooks/callback"],
            webhook_url=f"{app_settings.base_url}/webhooks/quickbooks",
            verifier_token=(
                app_settings.qbo.webhook_verifier_token.get_secret_value()
                if app_settings.qbo.webhook_verifier_token
                else None
            ),
        )
        qbo_browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=qbo.app), timeout=30.0)
        site = sandbox.add_site(SITE_URL)
        site.add_user("Ada Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
        site.add_user("Mia Krystof", account_id="user-1")
        try:
            yield World(
                app=app,
                client=client,
                jira=sandbox,
                site=site,
                sleeps=sleeps,
                qbo=qbo,
                qbo_company=qbo_company,
                qbo_client=qbo_client,
                qbo_browser=qbo_browser,
            )
            # Background work must finish on its own; a hang is a bug, not a slow test.
            await asyncio.wait_for(app.state.runtime.jobs.drain(), timeout=60)
        finally:
            await sandbox.aclose()
            await qbo.aclose()
            await qbo_browser.aclose()
            await qbo_to_app.aclose()
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


class _HostRoutes(httpx.AsyncBaseTransport):
    """Sends each request to the emulator of its host (Intuit's hosts → QuickBooks)."""

    def __init__(
        self, routes: dict[str, httpx.AsyncBaseTransport], *, default: httpx.AsyncBaseTransport
    ) -> None:
        self._routes = routes
        self._default = default

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._routes.get(request.url.host, self._default)
        return await transport.handle_async_request(request)
