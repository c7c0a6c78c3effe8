"""Two real `worklog360 worker` processes on one PostgreSQL queue: each tick of every
periodic job runs once, in one of them, never in both."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.worklogs.jobs import RESOLVE_ISSUES_EVERY_SECONDS
from tests.app.quickbooks.processes.harness import wait_until
from tests.conftest import own_postgres_database
from tests.support.app_process import app_environment

TICKS = 4


@pytest.fixture(scope="module")
def queue_database_url() -> Iterator[str]:
    yield from own_postgres_database()


def _runs(logs: list[Path]) -> list[tuple[str, int, str]]:
    """(job, tick, worker) of every periodic run the workers logged."""
    runs = []
    for log in logs:
        for line in log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "job" and "tick" in entry:
                runs.append((str(entry["job"]), int(entry["tick"]), log.stem))
    return runs


def test_two_workers_run_each_periodic_tick_once(queue_database_url: str, tmp_path: Path) -> None:
    env = app_environment(queue_database_url, tmp_path, W360_JOBS="worker", W360_LOG_LEVEL="INFO")
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = []
    for log in logs:
        with log.open("wb") as out:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "worker", "--concurrency", "2"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    job = "resolve-issues-all"  # every RESOLVE_ISSUES_EVERY_SECONDS, the shortest period

    def enough_ticks() -> bool:
        for worker, log in zip(workers, logs, strict=True):
            assert worker.poll() is None, log.read_text()[-3000:]
        return len({tick for name, tick, _ in _runs(logs) if name == job}) >= TICKS

    try:
        wait_until(enough_ticks, f"{TICKS} ticks of {job}", seconds=30 + 4 * TICKS)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)

    runs = _runs(logs)
    per_tick = Counter((name, tick) for name, tick, _ in runs)
    assert [key for key, count in per_tick.items() if count > 1] == []
    ticks = sorted(tick for name, tick in per_tick if name == job)
    assert len(ticks) >= TICKS
    # Ticks on the period's grid. (One may be skipped while the one before still waits:
    # procrastinate queues a periodic job once; that is a skip, never a second run.)
    assert all(
        (b - a) % RESOLVE_ISSUES_EVERY_SECONDS == 0 and b > a for a, b in itertools.pairwise(ticks)
    )
