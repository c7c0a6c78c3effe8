"""The app as a real `worklog360 serve` process, and emulators served over real HTTP.

with serve_app_process(database_url, tmp_path, W360_MAX_BODY_BYTES="65536") as app_url:
    ...   # http://127.0.0.1:<port>, answering /healthz

async with serving(jira.app) as jira_url:   # the Jira emulator on a loopback port
    ...
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.support.apps import TEST_SECRET_KEY

START_DEADLINE_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def app_environment(database_url: str, data_dir: Path, **env: str) -> dict[str, str]:
    """The environment of an app process (`serve`, `worker`, a one-off command) of a test:
    this one's, the test's database and key, migrations left to the test, W360_* of `env`
    on top. No inherited PROMETHEUS_MULTIPROC_DIR: each process has its own metrics."""
    environment = {
        **os.environ,
        "W360_DATABASE_URL": database_url,
        "W360_SECRET_KEY": TEST_SECRET_KEY,
        "W360_DATA_DIR": str(data_dir),
        "W360_AUTO_MIGRATE": "false",
        "W360_LOG_LEVEL": "warning",
        **env,
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return environment


@dataclass
class ServedApp:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def served_app(
    database_url: str, data_dir: Path, *args: str, port: int | None = None, **env: str
) -> Iterator[ServedApp]:
    """`worklog360 serve` on `port` (default a free one) with the database migrated (W360_*
    from `env`; W360_BASE_URL is its own URL unless `env` names the balancer's), once
    /healthz answers; stopped after (a test may have killed it already)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    environment = app_environment(database_url, data_dir, **{"W360_BASE_URL": url, **env})
    log_path = data_dir / f"serve-{port}.log"
    log = log_path.open("wb")
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *args]
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(url, process, log_path)
        yield ServedApp(url, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextlib.contextmanager
def serve_app_process(
    database_url: str, data_dir: Path, *args: str, port: int | None = None, **env: str
) -> Iterator[str]:
    """`served_app`'s URL."""
    with served_app(database_url, data_dir, *args, port=port, **env) as app:
        yield app.url


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worklog360 serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling a condition with a deadline, not waiting out a race
    raise RuntimeError(f"worklog360 serve did not answer within {START_DEADLINE_SECONDS} s")


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """An ASGI app (an emulator) served by uvicorn in this event loop on a free port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    server = _QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not server.started:
            if task.done():
                task.result()
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()
