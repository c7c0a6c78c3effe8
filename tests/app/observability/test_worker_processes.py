"""Readiness and metrics with real `worklog360 worker` and `serve` processes on one
PostgreSQL database (W360_JOBS=worker): /readyz is ready only while some worker beats, and a
worker's own metrics answer on `--metrics-port`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.app.quickbooks.processes.harness import wait_until
from tests.conftest import own_postgres_database
from tests.support.app_process import app_environment, free_port, serve_app_process


@pytest.fixture(scope="module")
def queue_database_url() -> Iterator[str]:
    yield from own_postgres_database()


def _ready(app_url: str) -> httpx.Response:
    return httpx.get(f"{app_url}/readyz", timeout=5)


def test_ready_while_a_worker_beats_and_its_metrics_answer(
    queue_database_url: str, tmp_path: Path
) -> None:
    with serve_app_process(queue_database_url, tmp_path, W360_JOBS="worker") as app_url:
        waiting = _ready(app_url)
        assert waiting.status_code == 503
        assert waiting.json()["failed"] == ["worker"]
        assert waiting.json()["checks"]["worker"]["detail"] == "no worker registered"

        port = free_port()
        env = app_environment(queue_database_url, tmp_path, W360_JOBS="worker")
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--metrics-port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: _ready(app_url).status_code == 200, "a worker's heartbeat")
            ready = _ready(app_url).json()
            assert ready["checks"]["worker"]["ok"] is True
            assert ready["checks"]["worker"]["detail"].startswith("last worker heartbeat")

            def metrics_answer() -> bool:
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).is_success
                except httpx.TransportError:
                    return False

            wait_until(metrics_answer, "the worker's metrics")
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert "# HELP worklog360_job_runs_total" in text
            assert "# HELP worklog360_outbound_requests_total" in text
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            log.close()
        # A worker that stops cleanly unregisters: not ready again at once.
        gone = _ready(app_url)
        assert gone.status_code == 503, (tmp_path / "worker.log").read_text()[-2000:]
        assert gone.json()["checks"]["worker"]["detail"] == "no worker registered"
