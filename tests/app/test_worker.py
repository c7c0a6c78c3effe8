"""Background jobs queued in PostgreSQL for `worklog360 worker` (W360_JOBS=worker).

The queue is PostgreSQL's by design, so the queue's own tests use a PostgreSQL database of
their own whatever W360_TEST_BACKENDS says; the refusals on SQLite need none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app import cli
from app.db import conninfo
from app.job_queue import (
    PERIODIC_TASK,
    RETRY_STALLED,
    TENANT_TASK,
    QueuedJobs,
    cron_every,
)
from app.jobs import CATALOG
from app.settings import Settings, SettingsError
from app.worklogs import jobs as worklog_jobs
from tests.conftest import own_postgres_database
from tests.support.world import World, jira_world


@pytest.fixture(scope="module")
def queue_database_url() -> Iterator[str]:
    yield from own_postgres_database()


@pytest.fixture
async def world(queue_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(queue_database_url, tmp_path, jobs="worker") as world:
        yield world
    with psycopg.connect(queue_database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE tenants, procrastinate_jobs CASCADE")


def queued(url: str) -> list[tuple[str, str, dict[str, object]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT task_name, status::text, args FROM procrastinate_jobs ORDER BY id"
        ).fetchall()
    return [(task, status, args) for task, status, args in rows]


def _running_in_a_dead_worker(
    conn: psycopg.Connection[tuple[Any, ...]], task_name: str | None = None
) -> list[dict[str, Any]]:
    """The queue's jobs (of `task_name`) as a worker silent for 5 minutes left them: doing.
    Their arguments."""
    [(dead,)] = conn.execute(
        "INSERT INTO procrastinate_workers (last_heartbeat)"
        " VALUES (now() - interval '5 minutes') RETURNING id"
    ).fetchall()
    rows = conn.execute(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s"
        " WHERE %s::text IS NULL OR task_name = %s RETURNING args",
        (dead, task_name, task_name),
    ).fetchall()
    return [dict(args) for (args,) in rows]


def test_the_queue_needs_postgresql(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/w.db", jobs="worker")
    with pytest.raises(SettingsError, match="W360_JOBS=worker needs PostgreSQL"):
        settings.check()


def test_the_worker_command_refuses_without_the_queue(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("W360_DATABASE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.delenv("W360_JOBS", raising=False)
    assert cli.main(["worker"]) == 2
    assert "set W360_JOBS=worker" in capsys.readouterr().err
    monkeypatch.setenv("W360_JOBS", "worker")
    assert cli.main(["worker"]) == 2
    assert "needs PostgreSQL" in capsys.readouterr().err


def test_periodic_jobs_become_cron_lines() -> None:
    assert cron_every(2) == "* * * * * */2"
    assert cron_every(300) == "*/5 * * * *"
    assert cron_every(3600) == "0 */1 * * *"
    with pytest.raises(ValueError, match="every 7 seconds"):
        cron_every(7)
    assert conninfo("postgresql+psycopg://u@h:5432/d") == "postgresql://u@h:5432/d"


async def test_web_processes_queue_jobs_and_a_worker_runs_them(
    world: World, queue_database_url: str
) -> None:
    """Enabling the app asks for a backfill: the web process queues it and runs nothing;
    a burst of the same request waits as one job; a worker then mirrors the site."""
    world.site.add_project("ALPHA", "Alpha")
    world.site.add_worklog(
        world.site.add_issue("ALPHA", "Build it").id,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=3600,
        notify=False,
    )
    world.jira.clock.advance(61)  # Jira lists changes older than a minute
    await world.install()
    jobs = world.runtime.jobs
    assert isinstance(jobs, QueuedJobs)
    [(task, status, args)] = queued(queue_database_url)
    assert (task, status, args["name"]) == (TENANT_TASK, "todo", worklog_jobs.SYNC)
    tenant_id = int(str(args["tenant_id"]))
    for _ in range(5):
        await worklog_jobs.request_sync(world.runtime, tenant_id)
    assert len(queued(queue_database_url)) == 1
    listed = await world.api("GET", "/api/worklogs")
    assert listed.json()["items"] == []  # nothing ran in the web process

    await jobs.work(concurrency=1, wait=False)

    # Done jobs are deleted (a periodic sweep may have been queued meanwhile).
    assert [t for t, _, _ in queued(queue_database_url) if t == TENANT_TASK] == []
    listed = await world.api("GET", "/api/worklogs")
    assert [item["hours"] for item in listed.json()["items"]] == ["1.00"]


async def test_every_periodic_job_is_scheduled_by_the_workers(world: World) -> None:
    jobs = world.runtime.jobs
    assert isinstance(jobs, QueuedJobs)
    scheduled = {
        periodic.task.name: periodic.cron
        for periodic in jobs.app.periodic_registry.periodic_tasks.values()
    }
    assert scheduled == {
        **{
            PERIODIC_TASK + job.name: cron_every(job.every_seconds)
            for job in CATALOG.periodic.values()
        },
        PERIODIC_TASK + RETRY_STALLED: cron_every(10),
    }
    assert set(CATALOG.periodic) == {
        "reconcile-all",
        "resolve-issues-all",
        "refresh-worklogs-all",
        "quickbooks-changes-all",
        "quickbooks-keep-alive",
        "purge-uninstalled-sites",
        "report-personal-data",
    }


async def test_a_job_of_a_worker_that_died_goes_back_in_the_queue(
    world: World, queue_database_url: str
) -> None:
    """A worker killed mid-job leaves it running with the site's lock held; once the
    worker has been silent 30 s, the sweep puts the job back and a live worker runs it."""
    world.site.add_project("ALPHA", "Alpha")
    issue = world.site.add_issue("ALPHA", "Build it").id
    world.site.add_worklog(
        issue,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=1800,
        notify=False,
    )
    world.jira.clock.advance(61)
    await world.install()
    jobs = world.runtime.jobs
    assert isinstance(jobs, QueuedJobs)
    with psycopg.connect(queue_database_url, autocommit=True) as conn:
        _running_in_a_dead_worker(conn, TENANT_TASK)

    await jobs._retry_stalled_jobs(world.runtime)

    assert [(t, s) for t, s, _ in queued(queue_database_url)] == [(TENANT_TASK, "todo")]
    await jobs.work(concurrency=1, wait=False)
    listed = await world.api("GET", "/api/worklogs")
    assert [item["hours"] for item in listed.json()["items"]] == ["0.50"]


async def test_a_dead_workers_job_with_the_same_job_waiting_behind_it_lets_that_one_run(
    world: World, queue_database_url: str
) -> None:
    """Killed mid-backfill while a new request for it queued: putting the stalled job back
    would make two waiting jobs with one queueing lock (procrastinate's unique index), so
    the sweep used to fail on every tick and the site's jobs waited for ever. The stalled
    one is dropped; the waiting one runs."""
    world.site.add_project("ALPHA", "Alpha")
    issue = world.site.add_issue("ALPHA", "Build it").id
    world.site.add_worklog(
        issue,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=1800,
        notify=False,
    )
    world.jira.clock.advance(61)
    await world.install()
    jobs = world.runtime.jobs
    assert isinstance(jobs, QueuedJobs)
    with psycopg.connect(queue_database_url, autocommit=True) as conn:
        [args] = _running_in_a_dead_worker(conn, TENANT_TASK)
    await jobs.request(world.runtime, str(args["name"]), int(args["tenant_id"]))
    assert [(t, s) for t, s, _ in queued(queue_database_url)] == [
        (TENANT_TASK, "doing"),
        (TENANT_TASK, "todo"),
    ]

    await jobs._retry_stalled_jobs(world.runtime)

    assert [(t, s, a) for t, s, a in queued(queue_database_url)] == [(TENANT_TASK, "todo", args)]
    await jobs.work(concurrency=1, wait=False)
    assert queued(queue_database_url) == []
    listed = await world.api("GET", "/api/worklogs")
    assert [item["hours"] for item in listed.json()["items"]] == ["0.50"]


async def test_a_sweep_left_running_by_a_dead_worker_does_not_stop_the_next_sweeps(
    world: World, queue_database_url: str
) -> None:
    """A worker killed in the middle of the stalled-job sweep: were the sweep locked, its
    lock would stay held by a job no sweep could ever put back, and no stalled job would be
    recovered again. The next sweep runs, and puts the dead one back too."""
    jobs = world.runtime.jobs
    assert isinstance(jobs, QueuedJobs)
    sweep = jobs.app.tasks[PERIODIC_TASK + RETRY_STALLED]
    await sweep.defer_async(timestamp=1_000_000_000)
    with psycopg.connect(queue_database_url, autocommit=True) as conn:
        _running_in_a_dead_worker(conn)
    await sweep.defer_async(timestamp=1_000_000_010)

    await jobs.work(concurrency=1, wait=False)

    assert queued(queue_database_url) == []


async def test_a_failing_job_is_logged_and_leaves_nothing_behind(
    world: World,
    queue_database_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As in the embedded runner: the next request or sweep tries again; kept as failed,
    rows would pile up at one sweep every 2 s."""
    ran: list[int] = []

    async def boom(runtime: object, tenant_id: int) -> None:
        ran.append(tenant_id)
        raise RuntimeError("Jira fell over")

    monkeypatch.setitem(CATALOG.tenant_jobs, "test-boom", boom)
    jobs = world.runtime.jobs
    assert isinstance(jobs, QueuedJobs)
    await jobs.request(world.runtime, "test-boom", 7)

    await jobs.work(concurrency=1, wait=False)

    assert ran == [7]
    assert [t for t, _, _ in queued(queue_database_url) if t == TENANT_TASK] == []
    assert any("background job test-boom:7 failed" in r.message for r in caplog.records)
