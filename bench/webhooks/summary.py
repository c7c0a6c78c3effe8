"""Median figures of a bench/webhooks/run.sh session: ACE, Worklog360's Connect webhooks and,
when run, its Forge events (with how often the JWKS was fetched during the measured runs)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def summarise(label: str, files: list[Path]) -> dict[str, float]:
    reports = [json.loads(f.read_text()) for f in files]
    # loadgen.py's JSON: requests/s and latency percentiles of the measured phase.
    medians = {"rps": statistics.median(float(r["requests_per_s"]) for r in reports)}
    for key in ("p50", "p95", "p99"):
        medians[f"{key}_ms"] = statistics.median(float(r["latency_ms"][key]) for r in reports)
    failed = [r for r in reports if not r.get("persistence_ok", False)]
    if failed:
        print(f"{label}: {len(failed)} run(s) failed the persistence check")
    fetched = [
        r["jwks_fetches_during_measured"] for r in reports if "jwks_fetches_during_measured" in r
    ]
    if fetched:
        print(f"{label}: JWKS fetches during the measured runs: {fetched} (must all be 0)")
    print(
        f"{label:28s} runs={len(reports)} req/s={medians['rps']:.0f} "
        f"p50={medians['p50_ms']:.1f} p95={medians['p95_ms']:.1f} p99={medians['p99_ms']:.1f} ms "
        f"non-2xx={sum(int(r.get('non_2xx', 0)) for r in reports)}"
    )
    return medians


out, backend = Path(sys.argv[1]), sys.argv[2]
ace = summarise("ACE 11.5.3 (sqlite WAL)", sorted(out.glob("ace-run-*.json")))
for door, pattern in (
    ("Connect", f"w360-{backend}-run-*.json"),
    ("Forge", f"w360-forge-{backend}-run-*.json"),
):
    files = sorted(out.glob(pattern))
    if not files:
        continue
    ours = summarise(f"Worklog360 {door} ({backend})", files)
    print(
        f"  {door}: ratio req/s {ours['rps'] / ace['rps']:.2f}x (target >= 2x); "
        f"p99 {ours['p99_ms']:.1f} vs {ace['p99_ms']:.1f} ms (target: no worse)"
    )
