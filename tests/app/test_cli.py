"""`worklog360 serve` and `migrate` as a user runs them: real processes, a real SQLite file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, inspect


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("W360_")}
    env.update(
        W360_DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        W360_DATA_DIR=str(tmp_path / "data"),
        **extra,
    )
    return env


@contextmanager
def serving(tmp_path: Path, **extra: str) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=_env(tmp_path, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # wait for the server to answer (bounded), not for a fixed time
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _tables(tmp_path: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_serve_migrates_a_fresh_database_and_serves_the_descriptor(tmp_path: Path) -> None:
    with serving(tmp_path, W360_BASE_URL="http://localhost:8000") as base:
        descriptor = httpx.get(f"{base}/atlassian-connect.json").json()
    assert descriptor["baseUrl"] == "http://localhost:8000"
    assert {"tenants", "worklogs", "alembic_version"} <= _tables(tmp_path)
    # The development secret key was generated once into the data folder.
    assert (tmp_path / "data" / "secret_key").exists()


def test_serve_leaves_the_schema_alone_when_auto_migrate_is_off(tmp_path: Path) -> None:
    with serving(tmp_path, W360_AUTO_MIGRATE="false"):
        pass
    assert "tenants" not in _tables(tmp_path)


def test_migrate_command_brings_the_schema_to_head(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "head" in result.stdout
    assert {"tenants", "worklogs", "worklog_syncs", "jira_issues"} <= _tables(tmp_path)
