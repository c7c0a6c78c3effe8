"""Real processes against one PostgreSQL database and the QuickBooks emulator served over
HTTP by its own process (`python -m sandbox.quickbooks`).

* `QboServer`: the emulator's process and its `/_sandbox` control API.
* `Children`: app processes (`python -m tests.app.quickbooks.processes.child …`) that each
  open the app's own runtime from `W360_*` settings, say they are ready, and wait for one go
  (a file appears: a barrier, not a sleep) before doing their part at the same moment.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[4]
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
REDIRECT_URI = "http://localhost:8000/quickbooks/callback"
DEADLINE_SECONDS = 60.0


def wait_until(condition: Callable[[], bool], what: str, seconds: float = DEADLINE_SECONDS) -> None:
    """Poll `condition` until it holds; fail with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """`wait_until` for a condition that is a coroutine."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class QboServer:
    base_url: str
    process: subprocess.Popen[bytes]
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=10.0)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"/_sandbox{path}", **kwargs)
        assert response.is_success, response.text
        return response.json() if response.content else None

    @property
    def realm_id(self) -> str:
        return str(self.control("GET", "/companies")[0]["realm_id"])

    def route_count(self, method: str, route: str) -> int:
        routes = self.control("GET", "/calls")["routes"]
        return sum(r["count"] for r in routes if r["method"] == method and r["route"] == route)

    def authorization_code(self) -> str:
        """The consent screen approves at once: the code from its redirect."""
        response = self.http.get(
            "/connect/oauth2",
            params={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": "com.intuit.quickbooks.accounting",
                "state": "processes",
            },
        )
        assert response.status_code == 302, response.text
        query = httpx.URL(response.headers["location"]).params
        return str(query["code"])

    def settings_env(self) -> dict[str, str]:
        return {
            "W360_QBO_CLIENT_ID": CLIENT_ID,
            "W360_QBO_CLIENT_SECRET": CLIENT_SECRET,
            "W360_QBO_AUTHORIZE_URL": f"{self.base_url}/connect/oauth2",
            "W360_QBO_TOKEN_URL": f"{self.base_url}/oauth2/v1/tokens/bearer",
            "W360_QBO_REVOKE_URL": f"{self.base_url}/v2/oauth2/tokens/revoke",
            "W360_QBO_API_BASE_URL": self.base_url,
        }


@contextmanager
def qbo_server(*extra: str) -> Iterator[QboServer]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.quickbooks",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uri",
            REDIRECT_URI,
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = QboServer(f"http://127.0.0.1:{port}", process)

    def answers() -> bool:
        assert process.poll() is None, "the emulator exited"
        try:
            return server.http.get("/_sandbox/clock").is_success
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, "the QuickBooks emulator to answer")
        yield server
    finally:
        server.http.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a call still held (a test failed before release)
            process.kill()
            process.wait()


@dataclass
class Children:
    """App processes started together behind a file barrier."""

    env: dict[str, str]
    barrier: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        self.processes[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.app.quickbooks.processes.child",
                "--name",
                name,
                "--barrier",
                str(self.barrier),
                *args,
            ],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def release_when_ready(self) -> None:
        def ready() -> bool:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    _, err = process.communicate()
                    raise AssertionError(f"child {name} exited early: {err.decode()[-2000:]}")
            return all((self.barrier / f"{n}.ready").exists() for n in self.processes)

        wait_until(ready, "every child to be ready")
        (self.barrier / "go").touch()

    def results(self) -> dict[str, dict[str, Any]]:
        """Each child's JSON answer (its last line of output), once all have exited."""
        answers: dict[str, dict[str, Any]] = {}
        for name, process in self.processes.items():
            out, err = process.communicate(timeout=DEADLINE_SECONDS * 2)
            assert process.returncode == 0, f"child {name} failed: {err.decode()[-3000:]}"
            answers[name] = json.loads(out.decode().strip().splitlines()[-1])
        return answers

    def kill_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
