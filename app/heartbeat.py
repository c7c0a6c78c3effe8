"""Beating while a block of work runs: a claim that a process holds (a QuickBooks sync, a
site's backfill) stays alive only while that process says so, so that one it left by dying
lapses. `beating(every, beat)` calls `beat()` every `every` seconds until the block ends or
`beat()` answers False (the claim is no longer this process's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager


@asynccontextmanager
async def beating(
    every: float, beat: Callable[[], Awaitable[bool]], *, name: str | None = None
) -> AsyncIterator[None]:
    async def keep_beating() -> None:
        while True:
            await asyncio.sleep(every)
            if not await beat():
                return

    task = asyncio.create_task(keep_beating(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
