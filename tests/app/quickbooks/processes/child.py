"""One app process of a multi-process test: `python -m tests.app.quickbooks.processes.child
--name A --barrier DIR <what> …`. Settings come from `W360_*` in the environment; the process
opens the app's own runtime, writes `DIR/A.ready`, waits for `DIR/go`, then does its part
with the app's own services and prints one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from app.assembly import open_runtime
from app.errors import AppError
from app.quickbooks import invoice_sync, service
from app.quickbooks.api_errors import ThrottledError
from app.quickbooks.tokens import ConnectionTokens
from app.runtime import Runtime
from app.settings import Settings

GO_DEADLINE_SECONDS = 60.0


async def _barrier(directory: Path, name: str) -> None:
    (directory / f"{name}.ready").touch()
    deadline = time.monotonic() + GO_DEADLINE_SECONDS
    while not (directory / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go within the deadline")
        await asyncio.sleep(0.005)


async def _token(runtime: Runtime, args: argparse.Namespace) -> dict[str, Any]:
    try:
        token = await ConnectionTokens(runtime, args.tenant).access_token()
    except AppError as exc:
        return {"error": exc.code}
    return {"token_sha256": hashlib.sha256(token.encode()).hexdigest()}


async def _calls(runtime: Runtime, args: argparse.Namespace) -> dict[str, Any]:
    api = await service.authorized_api(runtime, args.tenant)
    throttled = 0

    async def one() -> None:
        nonlocal throttled
        try:
            await api.company_info()
        except ThrottledError:
            throttled += 1

    await asyncio.gather(*(one() for _ in range(args.count)))
    return {"calls": args.count, "throttled": throttled}


async def _sync(runtime: Runtime, args: argparse.Namespace) -> dict[str, Any]:
    """`--count` Syncs of the invoice at once; how many returned, and each refusal's code."""
    outcomes: dict[str, int] = {}

    async def one() -> None:
        try:
            await invoice_sync.sync_invoice(runtime, args.tenant, args.invoice)
        except AppError as exc:
            outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
        else:
            outcomes["ok"] = outcomes.get("ok", 0) + 1

    await asyncio.gather(*(one() for _ in range(args.count)))
    return outcomes


WORK = {"token": _token, "calls": _calls, "sync": _sync}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--barrier", type=Path, required=True)
    parser.add_argument("--tenant", type=int, required=True)
    parser.add_argument("what", choices=sorted(WORK))
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--invoice", type=int, default=0)
    args = parser.parse_args()
    async with open_runtime(Settings()) as runtime:
        await _barrier(args.barrier, args.name)
        answer = await WORK[args.what](runtime, args)
    print(json.dumps(answer))


if __name__ == "__main__":
    asyncio.run(main())
