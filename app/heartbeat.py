"""Beating while a block of work runs: a claim that a process holds (a QuickBooks sync, a
site's backfill) stays alive only while that process says so, so that one it left by dying
lapses. `beating(every, beat)` calls `beat()` every `every` seconds until the block ends or
`beat()` answers False (the claim is no longer this process's).

The block's end waits for a beat under way instead of cancelling it: a beat writes under the
SQLite writer lock, and a beat cancelled while its thread waits on that file lock would
leave the lock taken by a handle nobody closes (until the garbage collector finds it),
stopping every writer meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager


@asynccontextmanager
async def beating(
    every: float, beat: Callable[[], Awaitable[bool]], *, name: str | None = None
) -> AsyncIterator[None]:
    done = asyncio.Event()

    async def keep_beating() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), every)
            if done.is_set() or not await beat():
                return

    task = asyncio.create_task(keep_beating(), name=name)
    try:
        yield
    finally:
        done.set()
        await task
