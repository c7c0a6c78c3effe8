"""The job queue's depth on /metrics (W360_JOBS=worker: the queue is PostgreSQL's, so this
uses a PostgreSQL database of its own whatever W360_TEST_BACKENDS says)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.job_queue import QueuedJobs
from tests.app.observability.test_outbound_and_figures import metric
from tests.conftest import own_postgres_database
from tests.support.world import World, jira_world

DEPTH = "worklog360_job_queue_depth"


@pytest.fixture(scope="module")
def queue_database_url() -> Iterator[str]:
    yield from own_postgres_database()


@pytest.fixture
async def world(queue_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(queue_database_url, tmp_path, jobs="worker") as world:
        yield world


async def test_jobs_waiting_in_the_queue_are_shown_until_a_worker_runs_them(
    world: World,
) -> None:
    await world.install()  # enabling the app queues its first backfill
    waiting = (await world.client.get("/metrics")).text
    assert metric(waiting, DEPTH, status="todo") == 1
    assert metric(waiting, DEPTH, status="doing") == 0

    jobs = world.runtime.jobs
    assert isinstance(jobs, QueuedJobs)
    await jobs.work(concurrency=1, wait=False)

    done = (await world.client.get("/metrics")).text
    assert metric(done, DEPTH, status="todo") == 0
