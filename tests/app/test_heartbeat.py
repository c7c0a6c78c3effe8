"""app.heartbeat.beating: beats while the block runs, and the block's end lets a beat under
way finish (it may hold the SQLite writer lock) rather than cancelling it."""

from __future__ import annotations

import asyncio

from app.heartbeat import beating


async def test_the_end_of_the_block_waits_for_a_beat_under_way() -> None:
    started, finish = asyncio.Event(), asyncio.Event()
    beats: list[str] = []

    async def beat() -> bool:
        beats.append("started")
        started.set()
        await finish.wait()
        beats.append("finished")
        return True

    async def block() -> None:
        async with beating(0.001, beat):
            await started.wait()

    ending = asyncio.create_task(block())
    await started.wait()
    await asyncio.sleep(0)
    assert not ending.done()  # waiting for the beat, not cancelling it
    finish.set()
    await ending
    assert beats == ["started", "finished"]
