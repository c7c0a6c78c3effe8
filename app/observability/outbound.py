"""Every call the app makes to Jira, Forge and QuickBooks, measured where they all pass: a
transport under the one shared `httpx.AsyncClient`.

Each call counts in `worklog360_outbound_requests_total` by service, method, endpoint (the
path as a template: ids, keys and the site's own prefix taken out) and status (the HTTP
status, or the transport error's name when no answer came), and its time in
`worklog360_outbound_request_duration_seconds`; and it writes one log line with the
service's correlation id (Jira's `atl-traceid`, Intuit's `intuit_tid`), which support at
Atlassian and Intuit ask for. Never the URL's query or a header value other than those ids:
both can carry tokens.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from app.observability.logs import get_logger
from app.observability.metrics import OUTBOUND_LATENCY, OUTBOUND_REQUESTS

logger = get_logger("app.outbound")

Observer = Callable[[httpx.Request, httpx.Response], None]

_JIRA_REST = re.compile(r"/(rest|ex/jira/[^/]+/rest)/")
_ID_SEGMENT = re.compile(r"^(\d+|[A-Z][A-Z0-9_]+-\d+|[0-9a-f-]{32,36})$")
# The segment after these is an API version (`/rest/api/3/…`), not an id.
_VERSIONED = frozenset({"api", "agile", "atlassian-connect"})
CORRELATION_HEADERS = ("atl-traceid", "intuit_tid")


class Services:
    """Which service a URL belongs to: QuickBooks by its configured hosts, Jira by its REST
    paths (every site has its own host), anything else `atlassian` (install keys, JWKS)."""

    def __init__(self, quickbooks_urls: list[str]) -> None:
        self._quickbooks_hosts = {urlsplit(u).netloc for u in quickbooks_urls if u}

    def of(self, url: httpx.URL) -> str:
        if url.netloc.decode() in self._quickbooks_hosts or url.path.startswith("/v3/company/"):
            return "quickbooks"
        if _JIRA_REST.search(url.path):
            return "jira"
        return "atlassian"


def endpoint_of(service: str, path: str) -> str:
    """`/rest/api/3/issue/{id}/worklog`, `/v3/company/{realm}/invoice/{id}`: low-cardinality."""
    if service == "jira":
        found = _JIRA_REST.search(path)
        path = "/rest/" + path[found.end() :] if found else path
    parts = path.strip("/").split("/")
    if service == "quickbooks" and parts[:2] == ["v3", "company"] and len(parts) > 2:
        parts[2] = "{realm}"
    out = [
        "{id}" if _ID_SEGMENT.match(p) and (i == 0 or parts[i - 1] not in _VERSIONED) else p
        for i, p in enumerate(parts)
    ]
    return "/" + "/".join(out)


class MeteredTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        services: Services,
        observers: list[Observer] | None = None,
    ) -> None:
        self._inner = inner
        self._services = services
        self._observers = observers or []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        service = self._services.of(request.url)
        endpoint = endpoint_of(service, request.url.path)
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception as exc:
            self._record(service, request.method, endpoint, type(exc).__name__, started, {})
            raise
        ids = {
            name.replace("-", "_"): response.headers[name]
            for name in CORRELATION_HEADERS
            if name in response.headers
        }
        self._record(service, request.method, endpoint, str(response.status_code), started, ids)
        for observe in self._observers:
            observe(request, response)
        return response

    def _record(
        self,
        service: str,
        method: str,
        endpoint: str,
        status: str,
        started: float,
        ids: dict[str, str],
    ) -> None:
        seconds = time.perf_counter() - started
        OUTBOUND_REQUESTS.labels(service, method, endpoint, status).inc()
        OUTBOUND_LATENCY.labels(service).observe(seconds)
        logger.info(
            "outbound",
            service=service,
            method=method,
            endpoint=endpoint,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            **ids,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
