"""`JiraSandbox`: an in-process emulator of Jira Cloud for tests and the demo.

    sandbox = JiraSandbox(http=httpx.AsyncClient(transport=httpx.ASGITransport(app=our_app)))
    site = sandbox.add_site("https://acme.atlassian.net")
    jira_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app))

`sandbox.http` is how Jira reaches the app (descriptor, lifecycle, webhooks); `sandbox.app`
is the ASGI app the app's HTTP client talks to. Requests are routed to a site by host and,
for a base URL with a path (`http://127.0.0.1:9000/sites/acme`), by that path prefix.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.jira import control, forge, forge_ui, host, privacy, rest, webhooks
from sandbox.jira.clock import SandboxClock
from sandbox.jira.errors import JiraApiError
from sandbox.jira.forge import ForgeKeyRing, ForgePlatform
from sandbox.jira.lifecycle import InstallKeyRing, Lifecycle, LifecycleRequest
from sandbox.jira.models import Installation
from sandbox.jira.site import Site
from sandbox.jira.webhooks import DeliveryResult

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _normalise_host(host: str, scheme: str) -> str:
    host = host.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default and host.endswith(f":{default}"):
        host = host[: -len(default) - 1]
    return host


def _default_site_name(hostname: str, path: str) -> str:
    """`acme` for `https://acme.atlassian.net` and for `http://127.0.0.1:9000/sites/acme`."""
    if path:
        return path.rsplit("/", 1)[-1]
    if hostname.replace(".", "").isdigit():
        return hostname
    return hostname.split(".", 1)[0]


class JiraSandbox:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        clock: SandboxClock | None = None,
        token_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        install_keys: InstallKeyRing | None = None,
        forge_keys: ForgeKeyRing | None = None,
        deliver_webhooks_immediately: bool = False,
        gateway_url: str = forge.API_GATEWAY,
        forge_cdn_url: str = forge_ui.CDN_URL,
    ) -> None:
        # Where Forge apps reach the sites' REST API (`app.apiBaseUrl`) and where Forge hosts
        # their Custom UI: Atlassian's hosts by default; the demo gives loopback ones, the
        # CDN on another origin than the sites, as Forge's is.
        self.gateway_url = gateway_url.rstrip("/")
        self.forge_cdn_url = forge_cdn_url.rstrip("/")
        self._owns_http = http is None
        self.http = http if http is not None else httpx.AsyncClient(timeout=10.0)
        self.clock = clock if clock is not None else SandboxClock()
        self.token_clock = token_clock
        self.sleep = sleep
        self.install_keys = install_keys if install_keys is not None else InstallKeyRing()
        self.deliver_webhooks_immediately = deliver_webhooks_immediately
        self.sites: dict[str, Site] = {}
        self.lifecycle = Lifecycle(self)
        self.forge = ForgePlatform(self, keys=forge_keys)
        self._delivery_locks: dict[str, asyncio.Lock] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.app: ASGIApp = SiteRouter(_create_api(self), self)

    # --- sites -------------------------------------------------------------------------------

    def add_site(
        self, base_url: str, *, name: str | None = None, display_url: str | None = None
    ) -> Site:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"A site base URL must be an absolute http(s) URL: {base_url!r}")
        path = parts.path.rstrip("/")
        name = name or _default_site_name(parts.hostname or "site", path)
        if name in self.sites:
            raise ValueError(f"A site named {name!r} already exists")
        site = Site(self, name=name, base_url=base_url, display_url=display_url)
        if any(
            s.host == site.host and s.context_path == site.context_path for s in self.sites.values()
        ):
            raise ValueError(f"A site already lives at {base_url!r}")
        self.sites[name] = site
        return site

    def site(self, name: str) -> Site:
        return self.sites[name]

    def site_for(self, host: str, path: str, scheme: str = "https") -> Site | None:
        """The site a request belongs to: same host and the longest matching context path.
        When no host matches (the app reached us under another name), a unique non-empty
        context path still identifies the site."""

        def under(site: Site) -> bool:
            prefix = site.context_path
            return not prefix or path == prefix or path.startswith(prefix + "/")

        host = _normalise_host(host, scheme)
        same_host = [
            s for s in self.sites.values() if _normalise_host(s.host, s.scheme) == host and under(s)
        ]
        if same_host:
            return max(same_host, key=lambda s: len(s.context_path))
        by_path = [s for s in self.sites.values() if s.context_path and under(s)]
        return by_path[0] if len(by_path) == 1 else None

    # --- apps --------------------------------------------------------------------------------

    async def install_app(self, site: Site, descriptor_url: str) -> Installation:
        """Fetch the descriptor, send the signed `installed` callback (which must answer
        200/204, else `InstallFailedError`), then `enabled`. Reinstalling keeps the
        clientKey and sends a new shared secret."""
        return await self.lifecycle.install(site, descriptor_url)

    async def uninstall_app(self, site: Site, app_key: str) -> None:
        await self.lifecycle.uninstall(site, app_key)

    async def enable_app(self, site: Site, app_key: str) -> None:
        await self.lifecycle.enable(site, app_key)

    async def disable_app(self, site: Site, app_key: str) -> None:
        await self.lifecycle.disable(site, app_key)

    def lifecycle_request(self, site: Site, app_key: str, event: str) -> LifecycleRequest:
        """The signed request Jira would send now for `event` to an installed app."""
        request = self.lifecycle.lifecycle_request(site, site.installation(app_key), event)
        if request is None:
            raise ValueError(f"The app's descriptor has no {event!r} lifecycle callback")
        return request

    def installed_request(self, site: Site, descriptor: dict[str, Any]) -> LifecycleRequest:
        """The `installed` callback an install of `descriptor` would send now (a new secret;
        the site's clientKey), neither sent nor recorded: for tests that tamper with it."""
        installation = self.lifecycle.new_installation(site, descriptor)
        request = self.lifecycle.lifecycle_request(site, installation, "installed")
        if request is None:
            raise ValueError("The app's descriptor has no 'installed' lifecycle callback")
        return request

    async def send_lifecycle(self, request: LifecycleRequest) -> httpx.Response:
        return await self.lifecycle.send(request)

    # --- webhooks ----------------------------------------------------------------------------

    def webhook_queued(self, site: Site) -> None:
        if not self.deliver_webhooks_immediately:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous test arrange step): stays queued
        task = loop.create_task(self.deliver_webhooks(site))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def deliver_webhooks(self, site: Site) -> list[DeliveryResult]:
        lock = self._delivery_locks.setdefault(site.name, asyncio.Lock())
        results: list[DeliveryResult] = []
        async with lock:
            for delivery in site.outbox.take_all():
                installation = site.installations.get(delivery.app_key)
                if installation is None or not installation.active:
                    result = DeliveryResult(delivery, None, "the app is not installed and enabled")
                else:
                    result = await webhooks.send(
                        self.http, delivery, installation, self.token_clock()
                    )
                site.outbox.delivered.append(result)
                results.append(result)
        return results

    async def aclose(self) -> None:
        background = [*self._background, *self.forge.background_tasks]
        if background:
            await asyncio.gather(*background, return_exceptions=True)
        if self._owns_http:
            await self.http.aclose()


class SiteRouter:
    """ASGI middleware: finds the request's site and mounts it at its context path
    (`root_path`), keeping `raw_path` untouched for the qsh check."""

    def __init__(self, app: ASGIApp, sandbox: JiraSandbox) -> None:
        self._app = app
        self._sandbox = sandbox
        self._cdn = forge_ui.cdn_app(sandbox)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = ""
            for name, value in scope.get("headers", []):
                if name == b"host":
                    host = value.decode("latin-1")
                    break
            scheme = scope.get("scheme", "https")
            if _same_origin(host, scheme, self._sandbox.forge_cdn_url):
                await self._cdn(scope, receive, send)
                return
            gateway = self._gateway(host, scope["path"], scheme)
            if gateway is not None:
                gateway_site, prefix = gateway
                scope = dict(scope)
                scope[rest.SITE_SCOPE_KEY] = gateway_site
                scope[rest.GATEWAY_SCOPE_KEY] = True
                scope["root_path"] = scope.get("root_path", "") + prefix
                await self._app(scope, receive, send)
                return
            site = self._sandbox.site_for(host, scope["path"], scope.get("scheme", "http"))
            if site is not None:
                scope = dict(scope)
                scope[rest.SITE_SCOPE_KEY] = site
                scope["root_path"] = scope.get("root_path", "") + site.context_path
        await self._app(scope, receive, send)

    def _gateway(self, host: str, path: str, scheme: str) -> tuple[Site, str] | None:
        """`api.atlassian.com/ex/jira/{cloudId}/…`: the site of that cloudId, and the prefix."""
        if not _same_origin(host, scheme, self._sandbox.gateway_url):
            return None
        if not path.startswith(forge.GATEWAY_JIRA_PREFIX):
            return None
        cloud_id = path[len(forge.GATEWAY_JIRA_PREFIX) :].split("/", 1)[0]
        site = self._sandbox.forge.site_by_cloud_id(cloud_id)
        if site is None:
            return None
        return site, forge.GATEWAY_JIRA_PREFIX + cloud_id


def _same_origin(host: str, scheme: str, url: str) -> bool:
    """Whether a request's Host is the host of `url` (the scheme is the proxy's business:
    the emulator is reached over plain HTTP in tests for https URLs)."""
    parts = urlsplit(url)
    return _normalise_host(host, scheme) == _normalise_host(parts.netloc, parts.scheme)


class AtlassianTraceId:
    """ASGI middleware: every response carries an `atl-traceid` header, as Jira Cloud's do
    (the id Atlassian support asks for)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        trace = secrets.token_hex(8)

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"atl-traceid", trace.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_with_trace)


def _create_api(sandbox: JiraSandbox) -> FastAPI:
    api = FastAPI(title="Jira Cloud sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    api.state.sandbox = sandbox
    api.add_middleware(AtlassianTraceId)
    api.include_router(rest.router)
    api.include_router(privacy.router)
    api.include_router(control.router)
    api.include_router(host.router)
    api.include_router(forge.router)
    api.include_router(forge_ui.router)

    @api.exception_handler(JiraApiError)
    async def jira_error(_: Request, error: JiraApiError) -> JSONResponse:
        return rest.jira_error_response(error)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        fields = {
            ".".join(str(p) for p in e.get("loc", ())[1:]) or "body": str(e.get("msg", ""))
            for e in error.errors()
        }
        return rest.jira_error_response(JiraApiError(400, errors=fields))

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return rest.jira_error_response(
            JiraApiError(error.status_code, str(error.detail), headers=error.headers)
        )

    return api
