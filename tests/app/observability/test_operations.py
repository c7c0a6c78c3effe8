"""/healthz, /readyz, /metrics and the JSON request line, on a real SQLite file."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from app import migrations
from app.observability.logs import configure_logging
from tests.support.apps import make_settings, running_app


def _counter(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_ready_at_head_and_503_at_an_old_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    await asyncio.to_thread(migrations.upgrade, url)
    async with running_app(make_settings(url, tmp_path)) as (_app, client):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["failed"] == []
    await asyncio.to_thread(migrations.downgrade, url, "-1")
    async with running_app(make_settings(url, tmp_path)) as (_app, client):
        old = await client.get("/readyz")
        assert old.status_code == 503
        assert old.json()["failed"] == ["migrations"]
        with sqlite3.connect(tmp_path / "w.db") as db:
            (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        assert revision in old.json()["checks"]["migrations"]["detail"]


@asynccontextmanager
async def _app_logging_to(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, io.StringIO]]:
    """The app on a migrated SQLite file, its JSON log lines written to the stream."""
    url = f"sqlite:///{tmp_path}/w.db"
    await asyncio.to_thread(migrations.upgrade, url)
    stream = io.StringIO()
    configure_logging("INFO", stream)
    async with running_app(make_settings(url, tmp_path)) as (_app, client):
        yield client, stream


async def test_requests_are_counted_by_route_and_logged_as_json(tmp_path: Path) -> None:
    async with _app_logging_to(tmp_path) as (client, stream):
        before = (await client.get("/metrics")).text
        for _ in range(3):
            answer = await client.get("/readyz", headers={"X-Request-Id": "abc-123"})
            assert answer.headers["x-request-id"] == "abc-123"
        made = await client.get("/healthz", headers={"X-Request-Id": "bad id\nforged"})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
        after = (await client.get("/metrics")).text
    labels = {"method": "GET", "route": "/readyz", "status": "200"}
    name = "worklog360_http_requests_total"
    assert _counter(after, name, **labels) - _counter(before, name, **labels) == 3
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    requests = [x for x in lines if x.get("event") == "request" and x["route"] == "/readyz"]
    assert len(requests) == 3
    assert {x["request_id"] for x in requests} == {"abc-123"}
    assert all(x["status"] == 200 and x["duration_ms"] >= 0 for x in requests)


async def test_metrics_needs_its_token_when_one_is_set(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    await asyncio.to_thread(migrations.upgrade, url)
    settings = make_settings(url, tmp_path, metrics_token="metrics-secret-token")
    async with running_app(settings) as (_app, client):
        assert (await client.get("/metrics")).status_code == 401
        ok = await client.get("/metrics", headers={"Authorization": "Bearer metrics-secret-token"})
        assert ok.status_code == 200
        assert "worklog360_http_requests_total" in ok.text


async def test_webhook_requests_are_counted_and_logged_under_their_route(tmp_path: Path) -> None:
    """The lean webhook routes (plain Starlette routes) name their template like the others:
    the traffic operators watch most is not lumped under "<unmatched>"."""
    async with _app_logging_to(tmp_path) as (client, stream):
        before = (await client.get("/metrics")).text
        refused = await client.post("/webhooks/jira/worklog", json={"webhookEvent": "x"})
        forge = await client.post("/forge/events", json={})
        after = (await client.get("/metrics")).text
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    routes = {x["route"]: x["status"] for x in lines if x.get("event") == "request"}
    assert routes["/webhooks/jira/worklog"] == refused.status_code == 401
    assert routes["/forge/events"] == forge.status_code
    assert "<unmatched>" not in routes
    labels = {"method": "POST", "route": "/webhooks/jira/worklog", "status": "401"}
    name = "worklog360_http_requests_total"
    assert _counter(after, name, **labels) - _counter(before, name, **labels) == 1
