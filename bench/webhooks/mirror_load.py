"""Worklog webhooks as Jira really sends them under load, then the mirror checked against
Jira's final state, row by row.

A seeded history of one site's worklogs (created, edited several times, some deleted) is
turned into Connect worklog webhooks in the order Jira made them; then 10% of them are sent
twice and every delivery is moved up to `--reorder` places from where it was (webhooks are
repeated and reordered in transit). They are POSTed, signed, with the ACE peer's own load
loop (`loadgen.run_load`, aiohttp, C connections), so the figures stand beside the peer's.
Afterwards every worklog in the database must be exactly what the history ends with: time
spent, start, comment, and deleted or not.

usage (mirror_run.sh runs both):
  ACE_DIR/.venv/bin/python bench/webhooks/mirror_load.py send --loadgen ACE_DIR/loadgen.py \
      --url URL --secret S [-n 20000] [-c 64] [--json-out F]      # the peer's venv: aiohttp
  .venv/bin/python bench/webhooks/mirror_load.py check --database-url DB [-n 20000]
      # the app's venv: regenerates the same seeded history and compares the database
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PEOPLE = [f"5b10ac8d82e05b22cc7d4e{n:02x}" for n in range(12)]


@dataclass
class JiraWorklog:
    id: int
    issue_id: int
    author: str
    started: str
    seconds: int
    comment: str
    created: datetime
    updated: datetime
    deleted: bool = False


def _jira_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _payload(kind: str, w: JiraWorklog, base_url: str) -> dict[str, Any]:
    author = {
        "self": f"{base_url}/rest/api/2/user?accountId={w.author}",
        "accountId": w.author,
        "displayName": f"Bench User {int(w.author[-2:], 16)}",
        "active": True,
        "timeZone": "Europe/Berlin",
        "accountType": "atlassian",
    }
    return {
        "timestamp": int(w.updated.timestamp() * 1000),
        "webhookEvent": kind,
        "worklog": {
            "self": f"{base_url}/rest/api/2/issue/{w.issue_id}/worklog/{w.id}",
            "author": author,
            "updateAuthor": author,
            "comment": w.comment,
            "created": _jira_time(w.created),
            "updated": _jira_time(w.updated),
            "started": w.started,
            "timeSpent": f"{w.seconds // 3600}h {(w.seconds % 3600) // 60}m",
            "timeSpentSeconds": w.seconds,
            "id": str(w.id),
            "issueId": str(w.issue_id),
        },
    }


def history(
    events: int, rng: random.Random, base_url: str
) -> tuple[list[bytes], dict[int, JiraWorklog]]:
    """`events` webhooks in Jira's order: about 45% creations, 45% edits, 10% deletions,
    each change a second after the one before (Jira's `updated` orders them)."""
    worklogs: dict[int, JiraWorklog] = {}
    live: list[int] = []
    bodies: list[bytes] = []
    clock = T0
    next_id = 200_000
    while len(bodies) < events:
        clock += timedelta(seconds=1)
        roll = rng.random()
        if not live or roll < 0.45:
            started = T0 - timedelta(days=rng.randrange(60), minutes=rng.randrange(600))
            w = JiraWorklog(
                id=next_id,
                issue_id=10_000 + rng.randrange(5000),
                author=rng.choice(PEOPLE),
                started=_jira_time(started),
                seconds=rng.choice([900, 1800, 3600, 5400, 7200]),
                comment=f"Work item {next_id}",
                created=clock,
                updated=clock,
            )
            next_id += 1
            worklogs[w.id] = w
            live.append(w.id)
            kind = "worklog_created"
        elif roll < 0.90:
            w = worklogs[rng.choice(live)]
            w.seconds = rng.choice([600, 1800, 2700, 3600, 10800, 28800])
            w.comment = f"Work item {w.id}, edited at {clock.isoformat()}"
            w.updated = clock
            kind = "worklog_updated"
        else:
            w = worklogs[live.pop(rng.randrange(len(live)))]
            w.deleted = True
            w.updated = clock
            kind = "worklog_deleted"
        bodies.append(json.dumps(_payload(kind, w, base_url), separators=(",", ":")).encode())
    return bodies, worklogs


def in_transit(
    bodies: list[bytes], rng: random.Random, *, duplicates: float, reorder: int
) -> list[bytes]:
    """10% sent twice, then each delivery moved up to `reorder` places."""
    sent = list(bodies)
    for body in rng.sample(bodies, int(len(bodies) * duplicates)):
        sent.insert(rng.randrange(len(sent) + 1), body)
    keyed = sorted(enumerate(sent), key=lambda pair: pair[0] + rng.uniform(-reorder, reorder))
    return [body for _, body in keyed]


def compare(database_url: str, expected: dict[int, JiraWorklog]) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, time_spent_seconds, comment, deleted_in_jira_at IS NOT NULL"
                    " FROM worklogs"
                )
            ).all()
    finally:
        engine.dispose()
    stored = {int(r[0]): r for r in rows}
    wrong: list[str] = []
    for wid, w in expected.items():
        row = stored.get(wid)
        if row is None:
            wrong.append(f"{wid}: missing")
            continue
        if bool(row[3]) != w.deleted:
            wrong.append(f"{wid}: deleted {bool(row[3])}, Jira {w.deleted}")
        elif not w.deleted and (row[1] != w.seconds or row[2] != w.comment):
            wrong.append(f"{wid}: {row[1]} s {row[2]!r}, Jira {w.seconds} s {w.comment!r}")
    extra = sorted(set(stored) - set(expected))
    return {
        "worklogs": len(expected),
        "deleted": sum(w.deleted for w in expected.values()),
        "stored": len(stored),
        "mismatches": len(wrong) + len(extra),
        "first_mismatches": (wrong + [f"{e}: not in Jira" for e in extra])[:10],
    }


def _loadgen(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("loadgen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_last_report: dict[str, Any] = {}


def _history(args: argparse.Namespace) -> tuple[list[bytes], list[bytes], dict[int, JiraWorklog]]:
    rng = random.Random(args.seed)  # noqa: S311 (a seeded history, not a secret)
    unique = round(args.requests / (1 + args.duplicates))
    bodies, expected = history(unique, rng, args.tenant_base_url)
    sent = in_transit(bodies, rng, duplicates=args.duplicates, reorder=args.reorder)
    return bodies, sent, expected


async def send(args: argparse.Namespace) -> int:
    import aiohttp  # the peer's venv has it: the same client as the peer's own runs

    loadgen = _loadgen(args.loadgen)
    bodies, sent, _ = _history(args)
    path = "/webhooks/jira/worklog"
    qsh = loadgen.query_string_hash("POST", path, "")
    token = loadgen.make_jwt(args.secret, args.client_key, qsh, ttl=3600)

    def headers() -> dict[str, str]:
        return {"Content-Type": "application/json", "Authorization": "JWT " + token}

    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        result, elapsed = await loadgen.run_load(
            session, args.url.rstrip("/") + path, headers, sent, args.concurrency
        )
    latencies = sorted(result.latencies)
    report = {
        "requests": len(sent),
        "unique_events": len(bodies),
        "duplicates": len(sent) - len(bodies),
        "reorder_places": args.reorder,
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(loadgen.pct(latencies, 50) * 1000, 1),
        "p99_ms": round(loadgen.pct(latencies, 99) * 1000, 1),
        "statuses": result.statuses,
        "errors": result.errors,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(report))
    _last_report.clear()
    _last_report.update(report)
    return 0 if not result.errors and set(result.statuses) <= {200, 204} else 1


def send_and_record(args: argparse.Namespace) -> int:
    code = asyncio.run(send(args))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(_last_report, indent=2))
    return code


def check(args: argparse.Namespace) -> int:
    _, _, expected = _history(args)
    report = compare(args.database_url, expected)
    print(json.dumps(report))
    return 0 if report["mismatches"] == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["send", "check"])
    parser.add_argument("--loadgen", type=Path, help="the ACE peer's loadgen.py (send)")
    parser.add_argument("--url", help="the app's origin (send)")
    parser.add_argument("--database-url", help="the app's database (check)")
    parser.add_argument("--client-key", default="bench-tenant")
    parser.add_argument("--secret", default="")
    parser.add_argument("--tenant-base-url", default="http://127.0.0.1:3999")
    parser.add_argument("-n", "--requests", type=int, default=20000)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--duplicates", type=float, default=0.10)
    parser.add_argument("--reorder", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if args.what == "send":
        return send_and_record(args)
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
