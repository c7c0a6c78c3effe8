"""Median figures of a bench/webhooks/run.sh session, ACE vs Worklog360."""

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
    print(
        f"{label:28s} runs={len(reports)} req/s={medians['rps']:.0f} "
        f"p50={medians['p50_ms']:.1f} p95={medians['p95_ms']:.1f} p99={medians['p99_ms']:.1f} ms "
        f"non-2xx={sum(int(r.get('non_2xx', 0)) for r in reports)}"
    )
    return medians


out, backend = Path(sys.argv[1]), sys.argv[2]
ace = summarise("ACE 11.5.3 (sqlite WAL)", sorted(out.glob("ace-run-*.json")))
ours = summarise(f"Worklog360 ({backend})", sorted(out.glob(f"w360-{backend}-run-*.json")))
print(
    f"ratio req/s {ours['rps'] / ace['rps']:.2f}x (target >= 2x); "
    f"p99 {ours['p99_ms']:.1f} vs {ace['p99_ms']:.1f} ms (target: no worse)"
)
