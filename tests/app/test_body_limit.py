"""Bodies above W360_MAX_BODY_BYTES are refused before they are read, on every route.

Against a real `worklog360 serve` process, installed by the Jira emulator (served over HTTP):
a signed worklog webhook whose body goes over the limit is answered 413 while the client is
still sending (chunked, or with a Content-Length the server never waits for), and nothing is
stored; the same webhook within the limit is stored. In-process, every route that takes a
body refuses an over-limit Content-Length without the app reading a single byte.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from app.worklogs.models import Worklog
from sandbox.jira import Installation, JiraSandbox, Site
from sandbox.jira.webhooks import WebhookDelivery, webhook_request
from tests.support.app_process import serve_app_process, serving
from tests.support.apps import make_settings, running_app
from tests.support.db import session_factory

LIMIT = 65_536
CHUNK = 8_192
ANSWER_DEADLINE_SECONDS = 15.0


@dataclass
class Served:
    app_url: str
    jira: JiraSandbox
    site: Site
    installation: Installation
    database_url: str


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    jira = JiraSandbox()
    async with serving(jira.app) as jira_url:
        site = jira.add_site(f"{jira_url}/sites/acme")
        site.add_user("Ada Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
        site.add_project("ACME")
        with serve_app_process(
            database_url,
            tmp_path,
            W360_MAX_BODY_BYTES=str(LIMIT),
            W360_CONNECT_INSTALL_KEYS_URL=f"{jira_url}/_sandbox/install-keys",
        ) as app_url:
            installation = await jira.install_app(site, f"{app_url}/atlassian-connect.json")
            yield Served(app_url, jira, site, installation, database_url)
        await jira.aclose()


def _one_webhook(served: Served) -> tuple[WebhookDelivery, dict[str, str], bytes]:
    """A signed worklog_created delivery that would store one worklog: (it, headers, body)."""
    issue = served.site.add_issue("ACME", "Big body")
    served.site.add_worklog(
        issue,
        "user-admin",
        started=datetime(2026, 11, 2, 9, tzinfo=UTC),
        time_spent_seconds=3600,
        comment="would be stored",
    )
    (delivery,) = served.site.outbox.take_all()
    headers, body = webhook_request(delivery, served.installation, served.jira.token_clock())
    return delivery, headers, body


async def _stored_worklogs(database_url: str) -> int:
    async with session_factory(database_url) as sessions, sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Worklog))).scalar_one())


async def _send_partly(
    url: str, headers: dict[str, str], pieces: list[bytes]
) -> tuple[int, dict[str, Any]]:
    """Write the request head and `pieces`, then stop sending (never the rest of the body)
    and read the answer: it must come while the body is unfinished."""
    return await asyncio.to_thread(_send_partly_blocking, url, headers, pieces)


def _send_partly_blocking(
    url: str, headers: dict[str, str], pieces: list[bytes]
) -> tuple[int, dict[str, Any]]:
    # A plain socket, not asyncio's streams: the server closes with our unread body in its
    # buffer, so its kernel answers the rest with a reset. The answer arrived before the
    # reset and recv() hands it over first; a StreamReader raises the reset instead and
    # drops what it had buffered (the flake CI saw as ConnectionResetError).
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    raw = b""
    with socket.create_connection((parts.hostname, parts.port), ANSWER_DEADLINE_SECONDS) as sock:
        head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for piece in pieces:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-body, as it should be: the answer is read below
        while not _complete(raw):
            try:
                block = sock.recv(65_536)
            except ConnectionResetError:
                break
            if not block:
                break
            raw += block
    status_line, _, rest = raw.partition(b"\r\n")
    status = int(status_line.split()[1])
    _, _, body = rest.partition(b"\r\n\r\n")
    return status, json.loads(body)


def _complete(raw: bytes) -> bool:
    """Whether `raw` holds a whole response: its head and the Content-Length it declares."""
    head, found, body = raw.partition(b"\r\n\r\n")
    if not found:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return length is not None and len(body) >= int(length.group(1))


def _padded(body: bytes, size: int) -> bytes:
    """The same JSON, made `size` bytes long with trailing whitespace (still valid JSON)."""
    return body + b" " * (size - len(body))


async def test_a_chunked_webhook_over_the_limit_is_refused_while_still_streaming(
    served: Served,
) -> None:
    delivery, headers, body = _one_webhook(served)
    padded = _padded(body, 4 * LIMIT)
    sent = padded[: LIMIT + 2 * CHUNK]  # past the limit, well short of the whole body
    chunks = [sent[i : i + CHUNK] for i in range(0, len(sent), CHUNK)]

    status, answer = await _send_partly(
        delivery.url,
        {**headers, "Transfer-Encoding": "chunked", "Connection": "keep-alive"},
        [f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks],
    )

    assert status == 413
    assert answer["error"]["code"] == "payload_too_large"
    assert f"{LIMIT:,} bytes" in answer["error"]["message"]
    assert await _stored_worklogs(served.database_url) == 0
    # The same webhook within the limit, chunked too, is stored: the refusal was the size.
    async with httpx.AsyncClient() as http:

        async def stream() -> AsyncIterator[bytes]:
            for i in range(0, len(body), CHUNK):
                yield body[i : i + CHUNK]

        accepted = await http.post(delivery.url, content=stream(), headers=headers)
    assert accepted.status_code == 204, accepted.text
    assert await _stored_worklogs(served.database_url) == 1


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    served: Served,
) -> None:
    delivery, headers, body = _one_webhook(served)
    padded = _padded(body, 10 * LIMIT)

    status, answer = await _send_partly(
        delivery.url, {**headers, "Content-Length": str(len(padded))}, [padded[:CHUNK]]
    )

    assert status == 413
    assert answer["error"]["code"] == "payload_too_large"
    assert await _stored_worklogs(served.database_url) == 0


def _flat_routes(routes: list[Any]) -> list[Any]:
    """The app's routes, those of included routers too (FastAPI keeps them nested)."""
    flat = []
    for route in routes:
        included = getattr(route, "original_router", None)
        flat += _flat_routes(included.routes) if included is not None else [route]
    return flat


def _routes_with_bodies(app: Any) -> list[tuple[str, str]]:
    found = []
    for route in _flat_routes(app.routes):
        methods = getattr(route, "methods", None) or set()
        for method in sorted(methods & {"POST", "PUT", "PATCH", "DELETE"}):
            found.append((method, re.sub(r"\{[^}]+\}", "1", route.path)))
    return found


async def _call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: Any):
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"worklog360.test"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("worklog360.test", 443),
    }
    await app(scope, body, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(answer) if answer else None


async def test_every_route_refuses_an_over_limit_length_without_reading_the_body(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, max_body_bytes=LIMIT)
    async with running_app(settings) as (app, _client):
        routes = _routes_with_bodies(app)
        assert ("POST", "/webhooks/jira/worklog") in routes
        assert ("POST", "/webhooks/quickbooks") in routes
        assert ("POST", "/forge/events") in routes
        assert ("POST", "/lifecycle/installed") in routes
        assert ("PATCH", "/api/invoices/1") in routes
        for method, path in routes:
            reads: list[int] = []

            async def receive(reads: list[int] = reads) -> dict[str, Any]:
                reads.append(1)
                return {"type": "http.request", "body": b"{}", "more_body": False}

            status, answer = await _call(
                app, method, path, [(b"content-length", str(LIMIT + 1).encode())], receive
            )
            assert (status, reads) == (413, []), (method, path)
            assert answer["error"]["code"] == "payload_too_large", (method, path)


async def test_every_route_stops_reading_a_stream_at_the_limit(
    database_url: str, tmp_path: Path
) -> None:
    """A body without a length that never ends: no route reads past the limit, and a route
    that reads it gets the 413 (one that answers without reading, e.g. 401, keeps its own)."""
    settings = make_settings(database_url, tmp_path, max_body_bytes=LIMIT)
    async with running_app(settings) as (app, _client):
        refused = 0
        for method, path in _routes_with_bodies(app):
            received = 0

            async def receive() -> dict[str, Any]:
                nonlocal received
                received += CHUNK
                assert received <= LIMIT + CHUNK, "read past the limit"
                return {"type": "http.request", "body": b" " * CHUNK, "more_body": True}

            status, answer = await _call(
                app, method, path, [(b"transfer-encoding", b"chunked")], receive
            )
            assert answer is None or set(answer["error"]) >= {"code", "message"}, (method, path)
            if received > LIMIT:
                assert status == 413, (method, path)
                refused += 1
        # The Connect lifecycle, Jira's, Forge's and QuickBooks' webhooks read before they
        # authenticate, or authenticate what they read: they all meet the limit.
        assert refused >= 4
