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
from app.settings import ForgeSettings, QuickBooksSettings
from app.worklogs.jobs import refresh_pending_worklogs, resolve_pending_issues
from sandbox.jira import ForgeApp, ForgeInstallation, Installation, JiraSandbox, Site
from sandbox.jira.forge import IC_JWKS_URL_TEMPLATE, JWKS_URL
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
FORGE_APP_ID = "ari:cloud:ecosystem::app/3f1c7a52-9a0e-4c4e-9d43-6f2a1b8e5c10"


def forge_settings() -> ForgeSettings:
    """The app's W360_FORGE_* pointed at the Jira emulator's Forge keys."""
    return ForgeSettings(
        app_id=FORGE_APP_ID, jwks_url=JWKS_URL, ic_jwks_url_template=IC_JWKS_URL_TEMPLATE
    )


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
    forge_app: ForgeApp | None = None

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

    # --- the Forge door --------------------------------------------------------------------

    @property
    def forge(self) -> ForgeApp:
        assert self.forge_app is not None, "jira_world(..., forge=True) registers the Forge app"
        return self.forge_app

    async def install_forge(
        self, site: Site | None = None, *, installer_account_id: str | None = "user-admin"
    ) -> ForgeInstallation:
        """Install the Forge app on the site: Forge delivers `avi:forge:installed:app`."""
        return await self.jira.forge.install(
            site or self.site, self.forge, installer_account_id=installer_account_id
        )

    async def uninstall_forge(self, site: Site | None = None) -> None:
        await self.jira.forge.uninstall(site or self.site, self.forge)

    async def forge_api(
        self,
        method: str,
        path: str,
        *,
        account_id: str | None = "user-admin",
        site: Site | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Call the JSON API as the Forge pages do: `invokeRemote`, a fresh FIT each time."""
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.jira.forge.invoke_remote(
            site or self.site, self.forge, account_id, method, path, json_body=json
        )

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
        """Deliver Jira's queued webhooks and Forge's queued events, run the sweeps that read
        worklogs and look up issues (as their timers would) and let the app's background
        jobs finish."""
        for site in self.jira.sites.values():
            await self.jira.deliver_webhooks(site)
        await self.jira.forge.deliver_events()
        await self.runtime.jobs.drain()
        await refresh_pending_worklogs(self.runtime)
        await self.runtime.jobs.drain()
        await resolve_pending_issues(self.runtime)
        await self.runtime.jobs.drain()

    def advance(self, seconds: float) -> None:
        """Time passes, for Jira's and Forge's tokens and for the app reading them."""
        before = self.jira.token_clock
        self.jira.token_clock = lambda: before() + seconds  # type: ignore[method-assign]
        self.runtime.clock.advance(seconds)


@asynccontextmanager
async def jira_world(
    database_url: str, data_dir: Path, *, forge: bool = False, **settings: Any
) -> AsyncIterator[World]:
    """`forge=True` opens the Forge door: W360_FORGE_* set and the Forge app registered."""
    jira_to_app: httpx.AsyncClient | None = None
    sandbox: JiraSandbox | None = None
    settings.setdefault("qbo", quickbooks_settings())
    if forge:
        settings.setdefault("forge", forge_settings())
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
        sandbox.forge.sleep = _ForgeWaits(sleeps, app)
        site = sandbox.add_site(SITE_URL)
        site.add_user("Ada Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
        site.add_user("Mia Krystof", account_id="user-1")
        forge_app = sandbox.forge.register_app(APP_BASE_URL, app_id=FORGE_APP_ID) if forge else None
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
                forge_app=forge_app,
            )
            # Background work must finish on its own; a hang is a bug, not a slow test.
            await asyncio.wait_for(app.state.runtime.jobs.drain(), timeout=60)
        finally:
            await sandbox.aclose()
            await qbo.aclose()
            await qbo_browser.aclose()
            await qbo_to_app.aclose()
            await jira_to_app.aclose()


class _ForgeWaits:
    """Forge's 60 s between retries, recorded instead of waited; meanwhile the app finishes
    what it started after answering (as it would in a minute)."""

    def __init__(self, sleeps: RecordedSleeps, app: FastAPI) -> None:
        self._sleeps = sleeps
        self._app = app

    async def __call__(self, seconds: float) -> None:
        self._sleeps.delays.append(seconds)
        runtime: Runtime = self._app.state.runtime
        while runtime.background:
            await asyncio.gather(*list(runtime.background), return_exceptions=True)
        await runtime.jobs.drain()


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
