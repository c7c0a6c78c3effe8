"""The embedded job runner coalesces bursts and never runs one key twice at once."""

from __future__ import annotations

import asyncio

from app.jobs import JobRunner


async def test_a_burst_of_submissions_runs_once_more_not_once_per_submission() -> None:
    runner = JobRunner()
    started = asyncio.Event()
    release = asyncio.Event()
    runs = 0
    concurrent = 0
    most_concurrent = 0

    async def job() -> None:
        nonlocal runs, concurrent, most_concurrent
        runs += 1
        concurrent += 1
        most_concurrent = max(most_concurrent, concurrent)
        started.set()
        await release.wait()
        concurrent -= 1

    runner.submit("k", job)
    await started.wait()
    for _ in range(50):
        runner.submit("k", job)
    release.set()
    await runner.drain()
    assert runs == 2
    assert most_concurrent == 1
    await runner.close()


async def test_a_failing_job_is_logged_and_does_not_poison_the_key() -> None:
    runner = JobRunner()
    calls: list[str] = []

    async def boom() -> None:
        calls.append("boom")
        raise RuntimeError("jira down")

    async def fine() -> None:
        calls.append("fine")

    runner.submit("k", boom)
    await runner.drain()
    runner.submit("k", fine)
    await runner.drain()
    assert calls == ["boom", "fine"]
    await runner.close()


async def test_close_cancels_running_work() -> None:
    runner = JobRunner()
    forever = asyncio.Event()

    async def job() -> None:
        await forever.wait()

    runner.submit("k", job)
    await asyncio.sleep(0)
    assert runner.is_running("k")
    await runner.close()
    assert not runner.is_running("k")
    runner.submit("k", job)  # ignored after close
    assert not runner.is_running("k")
