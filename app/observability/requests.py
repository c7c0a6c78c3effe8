"""One JSON log line and the metrics of every HTTP request (a pure ASGI middleware)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.context import CURRENT, WorkRecord
from app.observability.logs import get_logger
from app.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

REQUEST_ID_HEADER = "x-request-id"
# An incoming id is kept only when it looks like one (no log injection, bounded size).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED_ROUTE = "<unmatched>"
_PLAIN_TEMPLATES: dict[Any, str] = {}

logger = get_logger("worklog360.request")


def route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    plain = _PLAIN_TEMPLATES.get(scope.get("endpoint"))
    if plain is not None:
        return plain
    root = scope.get("root_path", "")
    return root if root else UNMATCHED_ROUTE  # a mount (/static) names its prefix only


def add_plain_route(
    router: APIRouter,
    path: str,
    endpoint: Callable[[Request], Awaitable[Response]],
    *,
    methods: list[str],
) -> None:
    """A plain Starlette route (no FastAPI dependencies: the lean webhook paths), counted and
    logged under its template like FastAPI's own routes. (Starlette's routes do not name
    themselves in the scope, and `include_router` copies them, so the template is kept by
    endpoint; these routers have no prefix.)"""
    _PLAIN_TEMPLATES[endpoint] = path
    router.add_route(path, endpoint, methods=methods)


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"")
        text = incoming.decode("latin-1")
        request_id = text if _REQUEST_ID.match(text) else uuid.uuid4().hex
        record = WorkRecord()
        token = CURRENT.set(record)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(elapsed)
            logger.info(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                **record.fields(),
            )
            structlog.contextvars.unbind_contextvars("request_id")
            CURRENT.reset(token)
