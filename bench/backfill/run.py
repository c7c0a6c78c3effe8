"""Backfill benchmark (issue 3): N worklogs over 2,000 issues, 20 ms per Jira call.

    python bench/backfill/run.py                       # sqlite + postgresql, N = 25k, 50k, 100k
    python bench/backfill/run.py --backends sqlite --sizes 100000

For every (backend, N) the orchestrator (this process):
1. starts the Jira emulator as a real server (`python -m sandbox.jira`) on a free loopback port,
   seeds its site with N worklogs over 2,000 issues (`POST /_sandbox/sites/acme/seed`), records
   the app's installation (`POST .../installations`, which answers the shared secret), moves the
   emulator's clock 61 s on (every seeded worklog is then older than Jira's settling minute) and
   sets 20 ms latency on every REST call;
2. makes a fresh database (a SQLite file, or the PostgreSQL database `w360_bench_backfill`),
   migrates it and inserts the tenant with its encrypted shared secret;
3. runs the backfill in a *fresh* Python process (`run.py measure ...`, which at once starts the
   measured process from itself: Linux hands a forked child its parent's RSS as a starting
   `ru_maxrss`, and that first process is still small). The measured process builds the app's
   `Runtime` with `open_runtime(settings)` (real httpx to the emulator), times
   `run_worklog_sync(runtime, tenant_id)` and reports wall time, Jira wait, CPU time, GC pauses
   and memory as JSON;
4. reads the emulator's call counts, measures a "Jira-only floor" (the same calls, one after
   another, from a synchronous client that does nothing else: the sum of their durations is
   what waiting on Jira costs when nothing competes for the CPU), checks the mirror against the
   emulator (row counts, the full set of ids, a random sample of 1,000 worklogs field by field
   and their issues), then drops the database and stops the emulator (also on failure).

By default each (backend, N) runs the child twice on the same seeded emulator and a fresh
database: once untraced (wall time, Jira wait, ru_maxrss) and once under tracemalloc (its peak),
because tracemalloc slows every allocation and would distort the timing.

"Jira wait" is measured client-side by wrapping the runtime's httpx transport (not event hooks:
the response hook fires before the body is read): a call counts from the moment the request is
handed to the transport until its body has been read (the stream's `aclose`). Both the sum of
the durations and their union (time with at least one call in flight) are reported; the ratio
uses the union, which equals the sum when calls do not overlap. This in-process figure includes
time a response waits for the busy event loop; `wall/floor` is the stricter comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SITE = "acme"
APP_KEY = "com.worklog360.jira"
APP_BASE_URL = "http://127.0.0.1:8000"  # nothing listens there: no webhooks are sent
CLIENT_KEY = "bench-backfill-client"
# Encrypts the tenant's shared secret at rest; one per benchmark, handed to the children.
SECRET_KEY = os.environ.setdefault("W360_BENCH_SECRET_KEY", secrets.token_urlsafe(48))
ISSUES = 2000
PG_ADMIN_DSN = os.environ.get(
    "W360_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
PG_DATABASE = "w360_bench_backfill"
SAMPLE = 1000
CHILD_TIMEOUT_S = 600

UPDATED = "/rest/api/3/worklog/updated"
DELETED = "/rest/api/3/worklog/deleted"
LIST = "/rest/api/3/worklog/list"
SEARCH = "/rest/api/3/search/jql"


# --- the measured process ------------------------------------------------------------------


class _TimedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, on_close: Any) -> None:
        self._inner = inner
        self._on_close = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._on_close()


class TimedTransport(httpx.AsyncBaseTransport):
    """Records (start, end) of every request: end is when the body has been read and closed."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.intervals: list[tuple[float, float]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self.intervals.append((start, time.perf_counter()))
            raise
        closed = False

        def done() -> None:
            nonlocal closed
            if not closed:
                closed = True
                self.intervals.append((start, time.perf_counter()))

        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _TimedStream(response.stream, done)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    total, cursor = 0.0, -math.inf
    for start, end in sorted(intervals):
        if end <= cursor:
            continue
        total += end - max(start, cursor)
        cursor = end
    return total


class GcPauses:
    """Time the cyclic garbage collector stops the process, per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = int(info["generation"])
            self.seconds[generation] += time.perf_counter() - self._started
            self.count[generation] += 1


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset VmHWM (Linux >= 4.0): afterwards it is the peak RSS from now on."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def _measure(database_url: str, tenant_id: int, traced: bool) -> dict[str, Any]:
    from sqlalchemy import text

    from app.assembly import open_runtime
    from app.settings import Settings
    from app.worklogs.sync import run_worklog_sync

    settings = Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        base_url=APP_BASE_URL,
        app_key=APP_KEY,
        auto_migrate=False,
        data_dir=Path(tempfile.gettempdir()) / "w360-bench-backfill",
    )
    # The same pool limits `outbound_client` gives its own transport.
    inner = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
    )
    transport = TimedTransport(inner)
    async with open_runtime(settings, transport=transport) as runtime:
        async with runtime.sessions() as session:  # open the pool's first connection
            await session.execute(text("SELECT 1"))
        gc.collect()
        rss_before, maxrss_before = _proc_status_kib("VmRSS"), maxrss_kib()
        hwm_reset = reset_peak_rss()
        if traced:
            tracemalloc.start()
        pauses = GcPauses()
        gc.callbacks.append(pauses)
        cpu_before = time.process_time()
        started = time.perf_counter()
        ran = await run_worklog_sync(runtime, tenant_id)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        gc.callbacks.remove(pauses)
        traced_current = traced_peak = None
        if traced:
            traced_current, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        maxrss_after, rss_after = maxrss_kib(), _proc_status_kib("VmRSS")
        hwm_after = _proc_status_kib("VmHWM")
    intervals = transport.intervals
    return {
        "ran": ran,
        "traced": traced,
        "wall_s": wall,
        "cpu_s": cpu,
        "gc_pause_s": sum(pauses.seconds),
        "gc_pause_s_by_generation": pauses.seconds,
        "gc_collections_by_generation": pauses.count,
        "jira_calls_client": len(intervals),
        "jira_wait_sum_s": sum(end - start for start, end in intervals),
        "jira_wait_union_s": union_seconds(intervals),
        "tracemalloc_peak_bytes": traced_peak,
        "tracemalloc_end_bytes": traced_current,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "maxrss_before_kib": maxrss_before,
        "maxrss_after_kib": maxrss_after,
        "maxrss_delta_kib": maxrss_after - maxrss_before,
        "vmhwm_after_kib": hwm_after if hwm_reset else None,
        "vmhwm_delta_kib": hwm_after - rss_before if hwm_reset else None,
    }


def measure_main(args: argparse.Namespace) -> int:
    if not args.spawned:
        # Linux carries the parent's RSS into a child's ru_maxrss (fork copies the address
        # space; exec keeps its high-water mark). This process is still small: start the
        # measured one from here, so its ru_maxrss is its own.
        command = [sys.executable, *sys.argv, "--spawned"]
        return subprocess.call(command)  # noqa: S603 - our own interpreter and script
    result = asyncio.run(_measure(args.database_url, args.tenant_id, args.traced))
    Path(args.result).write_text(json.dumps(result))
    return 0


# --- the orchestrator: emulator ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Emulator:
    process: subprocess.Popen[bytes]
    url: str
    control: httpx.Client

    @property
    def site_url(self) -> str:
        return f"{self.url}/sites/{SITE}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.control.request(method, f"{self.url}/_sandbox{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None


@contextlib.contextmanager
def emulator(log_path: Path) -> Iterator[Emulator]:
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "sandbox.jira", "--port", str(port), "--queue-webhooks"],
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    control = httpx.Client(timeout=120.0)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the emulator exited with {process.returncode}; see {log_path}")
            try:
                if control.get(f"{url}/_sandbox/sites").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start; see {log_path}")
            time.sleep(0.1)
        yield Emulator(process, url, control)
    finally:
        control.close()
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def prepare_site(jira: Emulator, n: int, latency_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    seeded = jira.call(
        "POST", f"/sites/{SITE}/seed", json={"issues": ISSUES, "worklogs": n, "users": 20}
    )
    seed_s = time.perf_counter() - started
    descriptor = {"key": APP_KEY, "name": "Worklog360", "baseUrl": APP_BASE_URL}
    installation = jira.call(
        "POST",
        f"/sites/{SITE}/installations",
        json={"descriptor": descriptor, "client_key": CLIENT_KEY},
    )
    # Jira leaves out the last minute of changes: make every seeded worklog older than that.
    clock = jira.call("POST", "/clock", json={"advance_ms": 61_000})
    assert seeded["last_updated_ms"] < clock["now_ms"] - 60_000
    jira.call("PUT", f"/sites/{SITE}/faults/latency", json={"seconds": latency_s})
    return {"seed_s": seed_s, "seeded": seeded, "shared_secret": installation["shared_secret"]}


# --- the orchestrator: database ------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = workdir / f"backfill-{time.time_ns()}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')

    drop()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{PG_DATABASE}"
    finally:
        drop()


def sync_url(database_url: str) -> str:
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


def migrate_and_add_tenant(database_url: str, site_url: str, shared_secret: str) -> int:
    from app import migrations

    migrations.upgrade(database_url)
    return asyncio.run(_add_tenant(database_url, site_url, shared_secret))


async def _add_tenant(database_url: str, site_url: str, shared_secret: str) -> int:
    """The row a signed `installed` callback leaves (as bench/webhooks/seed_tenant.py does)."""
    from sqlalchemy import select

    from app.crypto import SecretBox
    from app.db import create_engine, create_session_factory, transaction
    from app.tenants import repository
    from app.tenants.models import Tenant
    from app.tenants.service import _secret_context

    box = SecretBox(SECRET_KEY)
    engine = create_engine(database_url)
    try:
        async with transaction(create_session_factory(engine)) as session:
            await repository.upsert_installed(
                session,
                {
                    "client_key": CLIENT_KEY,
                    "shared_secret_encrypted": box.encrypt(
                        shared_secret, context=_secret_context(CLIENT_KEY)
                    ),
                    "base_url": site_url,
                    "display_url": None,
                    "product_type": "jira",
                    "description": "backfill benchmark tenant",
                    "oauth_client_id": None,
                    "service_entitlement_number": None,
                },
                int(time.time()),
            )
            tenant_id = (
                await session.execute(select(Tenant.id).where(Tenant.client_key == CLIENT_KEY))
            ).scalar_one()
    finally:
        await engine.dispose()
    return int(tenant_id)


def run_child(
    database_url: str, tenant_id: int, traced: bool, workdir: Path, profile: Path | None
) -> dict[str, Any]:
    out = workdir / f"measure-{time.time_ns()}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "measure",
        "--database-url",
        database_url,
        "--tenant-id",
        str(tenant_id),
        "--result",
        str(out),
    ]
    if traced:
        command.append("--traced")
    if profile is not None:
        # py-spy starts the script itself (and is small, so ru_maxrss stays clean).
        pyspy = Path(sys.executable).with_name("py-spy")
        command = [str(pyspy), "record", "--format", "raw", "-o", str(profile), "--", *command]
        command.append("--spawned")
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)  # noqa: S603
    try:
        code = process.wait(timeout=CHILD_TIMEOUT_S)
    finally:
        stop_group(process)
    if code != 0:
        raise RuntimeError(f"the measured run exited with {code}")
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


# --- the orchestrator: Jira as the app, for the floor and the checks -----------------------


class SignedJira:
    """Synchronous REST calls signed as the app (the checks must not share the app's code)."""

    def __init__(self, site_url: str, shared_secret: str) -> None:
        self.site_url = site_url
        self._secret = shared_secret
        self._http = httpx.Client(timeout=60.0)
        self.calls = 0
        self.wait_s = 0.0  # from sending a request until its body is read (not decoded)

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        from connect.tokens import sign_request

        if "://" not in url:
            url = self.site_url + url
        request = self._http.build_request(method, url, **kwargs)
        token = sign_request(
            method,
            str(request.url),
            issuer=APP_KEY,
            shared_secret=self._secret,
            base_url=self.site_url,
        )
        request.headers["Authorization"] = f"JWT {token}"
        started = time.perf_counter()
        response = self._http.send(request)
        self.wait_s += time.perf_counter() - started
        self.calls += 1
        response.raise_for_status()
        return response.json()

    def feed(self, path: str) -> Iterator[dict[str, Any]]:
        body = self.call("GET", path, params={"since": 0})
        while True:
            yield body
            if body.get("lastPage", True) or not body.get("nextPage"):
                return
            body = self.call("GET", body["nextPage"])

    def issues(self, ids: list[int]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), 200):
            jql = f"id in ({','.join(str(i) for i in ids[start : start + 200])})"
            token = None
            while True:
                body: dict[str, Any] = {
                    "jql": jql,
                    "fields": ["summary", "project"],
                    "maxResults": 100,
                }
                if token:
                    body["nextPageToken"] = token
                page = self.call("POST", SEARCH, json=body)
                found.extend(page.get("issues") or [])
                token = page.get("nextPageToken")
                if not token or page.get("isLast") is True:
                    break
        return found


def jira_only_floor(jira: SignedJira) -> dict[str, Any]:
    """The backfill's Jira calls one after another from a client doing nothing else (no
    database, no event loop): what waiting on Jira costs when nothing competes for the CPU."""
    jira.calls, jira.wait_s = 0, 0.0
    started = time.perf_counter()
    issue_ids: set[int] = set()
    for page in jira.feed(UPDATED):
        ids = [value["worklogId"] for value in page["values"]]
        if ids:
            issue_ids.update(int(w["issueId"]) for w in jira.call("POST", LIST, json={"ids": ids}))
    issues = jira.issues(sorted(issue_ids))
    for _page in jira.feed(DELETED):
        pass
    return {
        "floor_wall_s": time.perf_counter() - started,
        "floor_wait_s": jira.wait_s,
        "floor_calls": jira.calls,
        "issues": len(issues),
    }


def verify(database_url: str, tenant_id: int, jira: SignedJira, n: int) -> dict[str, Any]:
    """The mirror equals the emulator: counts, the set of ids, a sample field by field."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from app.worklogs.jira_format import parse_worklog
    from app.worklogs.models import JiraIssue, Worklog, WorklogSync

    problems: list[str] = []
    jira_ids: set[int] = set()
    for page in jira.feed(UPDATED):
        jira_ids.update(int(v["worklogId"]) for v in page["values"])
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as session:
            live = Worklog.tenant_id == tenant_id, Worklog.deleted_in_jira_at.is_(None)
            rows = session.execute(select(func.count()).select_from(Worklog).where(*live))
            db_count = int(rows.scalar_one())
            db_ids = set(session.execute(select(Worklog.id).where(*live)).scalars())
            resolved = session.execute(
                select(func.count())
                .select_from(JiraIssue)
                .where(JiraIssue.tenant_id == tenant_id, JiraIssue.resolved_at.is_not(None))
            ).scalar_one()
            sync = session.execute(
                select(WorklogSync).where(WorklogSync.tenant_id == tenant_id)
            ).scalar_one()
            if db_count != n or len(jira_ids) != n:
                problems.append(f"counts: db={db_count} jira={len(jira_ids)} expected={n}")
            if db_ids != jira_ids:
                problems.append(
                    f"ids differ: {len(db_ids - jira_ids)} extra, {len(jira_ids - db_ids)} missing"
                )
            if resolved != ISSUES:
                problems.append(f"resolved issues: {resolved} != {ISSUES}")
            if sync.state != "succeeded" or sync.processed != n or sync.error:
                problems.append(f"sync row: {sync.state} processed={sync.processed} {sync.error}")

            sample = random.Random(n).sample(sorted(jira_ids), min(SAMPLE, len(jira_ids)))  # noqa: S311
            truth = {
                f.id: f
                for f in (parse_worklog(w) for w in jira.call("POST", LIST, json={"ids": sample}))
            }
            stored = {
                w.id: w
                for w in session.execute(
                    select(Worklog).where(Worklog.tenant_id == tenant_id, Worklog.id.in_(sample))
                ).scalars()
            }
            fields = (
                "issue_id",
                "author_account_id",
                "author_display_name",
                "started_at",
                "started_offset_minutes",
                "started_on",
                "time_spent_seconds",
                "comment",
            )
            mismatched = 0
            for worklog_id, facts in truth.items():
                row = stored.get(worklog_id)
                same = row is not None and all(getattr(row, f) == getattr(facts, f) for f in fields)
                same = same and row is not None and row.jira_updated_at == facts.updated_at
                same = same and row is not None and row.jira_created_at == facts.created_at
                mismatched += not same
            if len(truth) != len(sample) or mismatched:
                problems.append(f"sample: {mismatched} of {len(truth)} worklogs differ")

            issue_ids = sorted({f.issue_id for f in truth.values()})
            jira_issues = {int(i["id"]): i for i in jira.issues(issue_ids)}
            db_issues = {
                i.id: i
                for i in session.execute(
                    select(JiraIssue).where(
                        JiraIssue.tenant_id == tenant_id, JiraIssue.id.in_(issue_ids)
                    )
                ).scalars()
            }
            bad_issues = 0
            for issue_id, issue in jira_issues.items():
                row = db_issues.get(issue_id)
                fields_ = issue["fields"]
                bad_issues += not (
                    row is not None
                    and row.key == issue["key"]
                    and row.summary == fields_["summary"]
                    and row.project_key == fields_["project"]["key"]
                )
            if len(jira_issues) != len(issue_ids) or bad_issues:
                problems.append(f"issues: {bad_issues} of {len(jira_issues)} differ")
    finally:
        engine.dispose()
    return {
        "db_rows": db_count,
        "jira_worklogs": len(jira_ids),
        "resolved_issues": int(resolved),
        "sample_worklogs": len(truth),
        "sample_issues": len(jira_issues),
        "problems": problems,
        "ok": not problems,
    }


def calls_by_route(jira: Emulator) -> dict[str, int]:
    body = jira.call("GET", f"/sites/{SITE}/calls")
    return {f"{c['method']} {c['route']}": c["count"] for c in body["calls"]}


def bench_one(
    backend: str,
    n: int,
    latency_s: float,
    separate_trace: bool,
    workdir: Path,
    profile_dir: Path | None = None,
    trace: bool = True,
) -> dict[str, Any]:
    print(f"== {backend} N={n:,}", flush=True)
    result: dict[str, Any] = {"backend": backend, "n": n, "issues": ISSUES, "latency_s": latency_s}
    # Other work on the machine slows every figure: keep what the load was next to them.
    result["loadavg_1m_before"] = os.getloadavg()[0]
    with emulator(workdir / "emulator.log") as jira:
        site = prepare_site(jira, n, latency_s)
        result["seed_s"] = site["seed_s"]
        signed = SignedJira(jira.site_url, site["shared_secret"])
        try:
            modes = [False, True] if separate_trace else [True]
            if profile_dir is not None or not trace:
                modes = [False]  # a profile of the untraced run only
            for traced in modes:
                with fresh_database(backend, workdir) as database_url:
                    tenant_id = migrate_and_add_tenant(
                        database_url, jira.site_url, site["shared_secret"]
                    )
                    jira.call("DELETE", f"/sites/{SITE}/calls")
                    profile = None if profile_dir is None else profile_dir / f"{backend}-{n}.txt"
                    measured = run_child(database_url, tenant_id, traced, workdir, profile)
                    calls = calls_by_route(jira)
                    if traced and separate_trace:
                        result["tracemalloc_peak_bytes"] = measured["tracemalloc_peak_bytes"]
                        result["traced_wall_s"] = measured["wall_s"]
                        result["traced_calls_total"] = sum(calls.values())
                        continue
                    result.update(measured)
                    result["calls"] = calls
                    result["calls_total"] = sum(calls.values())
                    result["floor"] = jira_only_floor(signed)
                    jira.call("PUT", f"/sites/{SITE}/faults/latency", json={"seconds": 0})
                    result["verify"] = verify(database_url, tenant_id, signed, n)
                    jira.call("PUT", f"/sites/{SITE}/faults/latency", json={"seconds": latency_s})
        finally:
            signed.close()
    return summarise(result)


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    n = result["n"]
    calls = result["calls"]
    lookups = calls.get(f"POST {SEARCH}", 0)
    budget = 2 * math.ceil(n / 1000)
    result["calls_budget"] = budget
    result["calls_excluding_lookups"] = result["calls_total"] - lookups
    result["calls_pages"] = calls.get(f"GET {UPDATED}", 0) + calls.get(f"POST {LIST}", 0)
    result["ratio_wall_wait"] = result["wall_s"] / result["jira_wait_union_s"]
    result["ratio_wall_floor_wait"] = result["wall_s"] / result["floor"]["floor_wait_s"]
    result["targets"] = {
        # The formula counts the pages (/worklog/updated + /worklog/list); every run also
        # reads /worklog/deleted once, which `calls_excluding_lookups` includes.
        "calls_pages_within_budget": result["calls_pages"] <= budget,
        "calls_excluding_lookups_within_budget": result["calls_excluding_lookups"] <= budget,
        "wall_within_1_5x_wait": result["ratio_wall_wait"] <= 1.5,
        "wall_within_1_5x_floor_wait": result["ratio_wall_floor_wait"] <= 1.5,
        "mirror_equals_jira": result["verify"]["ok"],
    }
    return result


def memory_flatness(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per backend: peak memory at the largest N over the smallest (1.0 = flat)."""
    flat: dict[str, Any] = {}
    for backend in dict.fromkeys(r["backend"] for r in results):
        runs = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["n"])
        if len(runs) < 2:
            continue
        small, large = runs[0], runs[-1]
        entry: dict[str, Any] = {"from_n": small["n"], "to_n": large["n"]}
        for key in ("tracemalloc_peak_bytes", "maxrss_delta_kib"):
            if small.get(key) and large.get(key):
                entry[key.replace("_bytes", "").replace("_kib", "") + "_growth"] = (
                    large[key] / small[key]
                )
        entry["flat"] = all(v <= 1.25 for k, v in entry.items() if k.endswith("_growth"))
        flat[backend] = entry
    return flat


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| backend | N | updated | list | deleted | search | total | wall s | Jira wait s "
        "| wall/wait | floor wait s | wall/floor | CPU s | tracemalloc peak MiB | maxrss Δ MiB "
        "| rows ok |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        c = r["calls"]
        peak = r.get("tracemalloc_peak_bytes")
        lines.append(
            "| {b} | {n:,} | {u} | {l} | {d} | {s} | {t} | {w:.2f} | {j:.2f} | {rw:.2f} "
            "| {f:.2f} | {rf:.2f} | {cpu:.2f} | {p} | {m:.1f} | {ok} |".format(
                b=r["backend"],
                n=r["n"],
                u=c.get(f"GET {UPDATED}", 0),
                l=c.get(f"POST {LIST}", 0),
                d=c.get(f"GET {DELETED}", 0),
                s=c.get(f"POST {SEARCH}", 0),
                t=r["calls_total"],
                w=r["wall_s"],
                j=r["jira_wait_union_s"],
                rw=r["ratio_wall_wait"],
                f=r["floor"]["floor_wait_s"],
                rf=r["ratio_wall_floor_wait"],
                cpu=r["cpu_s"],
                p=f"{peak / 2**20:.1f}" if peak is not None else "-",
                m=r["maxrss_delta_kib"] / 1024,
                ok=f"{r['verify']['db_rows']:,} {'yes' if r['verify']['ok'] else 'NO'}",
            )
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main_all(args: argparse.Namespace) -> int:
    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="w360-bench-backfill-") as tmp:
        workdir = Path(tmp)
        try:
            for backend in backends:
                for n in sizes:
                    results.append(
                        bench_one(
                            backend,
                            n,
                            args.latency_ms / 1000,
                            not args.same_run,
                            workdir,
                            Path(args.profile).resolve() if args.profile else None,
                            trace=not args.no_trace,
                        )
                    )
                    print(table(results[-1:]).splitlines()[-1], flush=True)
        finally:
            log = workdir / "emulator.log"
            if log.exists() and not results:
                print(log.read_text()[-3000:], file=sys.stderr)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "total_s": time.perf_counter() - started,
        "memory_flatness": memory_flatness(results),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(results))
    for backend, entry in report["memory_flatness"].items():
        print(f"memory {backend}: {entry}")
    for r in results:
        missed = [name for name, met in r["targets"].items() if not met]
        print(f"targets {r['backend']} N={r['n']:,}: " + (f"missed {missed}" if missed else "met"))
    print(f"\nwrote {args.out} in {report['total_s']:.0f} s")
    return 0 if all(r["verify"]["ok"] for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command")
    measure = sub.add_parser("measure", help="(internal) one measured backfill run")
    measure.add_argument("--database-url", required=True)
    measure.add_argument("--tenant-id", type=int, required=True)
    measure.add_argument("--result", required=True)
    measure.add_argument("--traced", action="store_true")
    measure.add_argument("--spawned", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="25000,50000,100000")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument(
        "--same-run",
        action="store_true",
        help="measure tracemalloc in the timed run instead of a second run",
    )
    parser.add_argument(
        "--no-trace", action="store_true", help="skip the tracemalloc run (quicker)"
    )
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run the timed backfill under `py-spy record` (collapsed stacks into DIR)",
    )
    args = parser.parse_args(argv)
    if args.command == "measure":
        return measure_main(args)
    return main_all(args)


if __name__ == "__main__":
    raise SystemExit(main())
