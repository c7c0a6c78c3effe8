#!/usr/bin/env python3
"""Forge worklog events, as Forge delivers them to a remote, with the peer's own load
generator (`loadgen.py` of ../shared/bench/ace-peer, imported from ACE_DIR): the same
closed-loop `run_load`, the same nearest-rank percentiles, the same row counting, the same
phases (auth probes, warm-up, measured run, persistence check), so the figures sit beside
the Connect webhook's.

What changes is the request: `POST /forge/events` with `Authorization: Bearer <FIT>`
(RS256 with the key forge_keys.py publishes; `iss` forge/invocation-token, `aud` the app id,
a trigger's claims: module `core:endpoint`, no principal, 25 s of life), Forge's
`x-forge-oauth-system` token (the same for hours, as Forge caches it), `x-b3-*` trace
headers, and the documented body of `avi:jira:updated:worklog`. A FIT is minted afresh
every `--fit-refresh` seconds (the Connect generator re-mints its JWT once a minute).

Beyond loadgen.py's report it records how many times the app fetched the JWKS before the
measured run and during it (`--jwks-count-url`): during it must be 0, verification must
use the cached keys.

usage: forge_loadgen.py --url URL --key PEM --app-id ARI --installation-id ID --cloud-id ID
       --api-base URL [-n N] [-c C] [--warmup W] [--count-url URL | --db FILE --table T]
       [--jwks-count-url URL] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import secrets
import sys
import time
import urllib.request
from typing import Any

import aiohttp
import jwt

sys.path.insert(0, os.environ.get("ACE_DIR", "bench/out/ace-peer"))
import loadgen  # the peer's generator, found through ACE_DIR

KID = "forge/invocation-token/bench-key-1"
PATH = "/forge/events"
OTHER_APP = "ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000"


def fit_claims(args: argparse.Namespace, now: int, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "app": {
            "id": args.app_id,
            "appVersion": "1.0.0",
            "installationId": args.installation_id,
            "apiBaseUrl": args.api_base,
            "installation": {
                "id": args.installation_id,
                "contexts": [
                    {"name": "jira", "apiBaseUrl": args.api_base, "cloudId": args.cloud_id}
                ],
            },
            "environment": {"type": "PRODUCTION", "id": "ari:cloud:ecosystem::environment/x/y"},
            "module": {"type": "core:endpoint", "key": "worklog360-worklog-events"},
        },
        "aud": args.app_id,
        "iss": "forge/invocation-token",
        "iat": now,
        "nbf": now,
        "exp": now + 25,
        "jti": secrets.token_hex(20),
    }
    claims.update(overrides)
    return claims


def mint(key: Any, claims: dict[str, Any], kid: str = KID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def event_body(seq: int, rng: random.Random, args: argparse.Namespace) -> bytes:
    """`avi:jira:updated:worklog` as the events reference documents it."""
    worklog_id = 100000 + seq
    issue_id = 10000 + rng.randrange(5000)
    ts_ms = int(time.time() * 1000)
    account_id = f"5b10ac8d82e05b22cc7d4e{rng.randrange(256):02x}"
    started = time.strftime(
        "%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(ts_ms / 1000 - rng.randrange(86400 * 7))
    )
    updated = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(ts_ms / 1000))
    seconds = rng.choice([900, 1800, 3600, 5400, 7200, 14400, 28800])
    body = {
        "eventType": "avi:jira:updated:worklog",
        "selfGenerated": False,
        "worklog": {
            "id": str(worklog_id),
            "issueId": str(issue_id),
            "author": {"accountId": account_id},
            "updateAuthor": {"accountId": account_id},
            "created": started,
            "updated": updated,
            "started": started,
            "timeSpent": f"{seconds // 3600}h {(seconds % 3600) // 60}m",
            "timeSpentSeconds": seconds,
        },
        "atlassianId": account_id,
        "timestamp": str(ts_ms),
        "context": {"cloudId": args.cloud_id, "moduleKey": "worklog360-worklog-events"},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def jwks_fetches(args: argparse.Namespace) -> int | None:
    if not args.jwks_count_url:
        return None
    # Our own forge_keys.py, at the URL run.sh gives.
    with urllib.request.urlopen(args.jwks_count_url, timeout=30) as response:  # noqa: S310
        return int(json.loads(response.read())["count"])


async def probe(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes
) -> int:
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        return response.status


async def main_async(args: argparse.Namespace, key: Any) -> tuple[int, dict[str, Any]]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    url = args.url.rstrip("/") + PATH
    rng = random.Random(args.seed)  # noqa: S311 - made-up worklogs, not secrets
    now = int(time.time())
    # What Forge caches and sends for hours: a JWT whose `exp` is all the app reads.
    system_token = jwt.encode(
        {"sub": "app:bench", "aud": "api.atlassian.com", "iat": now, "exp": now + 3 * 3600},
        secrets.token_bytes(32),
        algorithm="HS256",
    )
    state = {"fit": "", "minted": 0.0}

    def current_fit() -> str:
        t = time.time()
        if not state["fit"] or t - float(state["minted"]) > args.fit_refresh:
            state["fit"] = mint(key, fit_claims(args, int(t)))
            state["minted"] = t
        return str(state["fit"])

    def headers_with(fit: str | None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "x-forge-oauth-system": system_token,
            "x-b3-traceid": secrets.token_hex(8),
            "x-b3-spanid": secrets.token_hex(8),
        }
        if fit is not None:
            headers["Authorization"] = "Bearer " + fit
        return headers

    def headers_fn() -> dict[str, str]:
        return headers_with(current_fit())

    def body(seq: int) -> bytes:
        return event_body(seq, rng, args)

    report: dict[str, Any] = {
        "url": url,
        "installation_id": args.installation_id,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "warmup": args.warmup,
    }
    print(f"target {url}  (Forge Invocation Tokens, kid {KID})")
    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # ---- 1. authentication probes: each refused, nothing stored
        ok = True
        before = loadgen.stored_count(args)
        t = int(time.time())
        ui_claims = fit_claims(args, t, principal="5b10ac8d82e05b22cc7d4e01")
        ui_claims["app"]["module"] = {"type": "jira:globalPage", "key": "worklog360-app"}
        probes = {
            "no_token": None,
            "forged_signature": mint(stranger, fit_claims(args, t)),
            "expired": mint(key, fit_claims(args, t - 3600)),
            "wrong_audience": mint(
                key,
                fit_claims(
                    args, t, aud="ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000"
                ),
            ),
            "wrong_issuer": mint(key, fit_claims(args, t, iss="someone-else")),
            "ui_call_token": mint(key, ui_claims),
        }
        codes: dict[str, int] = {}
        for name, fit in probes.items():
            code = await probe(session, url, headers_with(fit), body(900_000 + len(codes)))
            codes[name] = code
            good = code == 401
            ok &= good
            print(f"probe {name:17s} -> {code} {'OK (rejected)' if good else 'UNEXPECTED'}")
        after_neg = loadgen.stored_count(args)
        if before is not None:
            print(f"rows stored by rejected probes: {after_neg - before} (must be 0)")
            ok &= after_neg == before
        code = await probe(session, url, headers_fn(), body(999_999))
        codes["valid"] = code
        ok &= 200 <= code < 300
        verdict = "OK (accepted)" if 200 <= code < 300 else "UNEXPECTED"
        print(f"probe {'valid':17s} -> {code} {verdict}")
        after_valid = loadgen.stored_count(args)
        if before is not None:
            print(f"rows stored by valid probe: {after_valid - after_neg} (must be 1)")
            ok &= after_valid - after_neg == 1
        report["probes"] = codes
        if not ok and not args.ignore_probe_failures:
            print("auth/persistence probes failed; not running the load", file=sys.stderr)
            return 2, report

        # ---- 2. warm-up (every worker process verifies a FIT, so each has the keys)
        ok_2xx_total = 0
        if args.warmup:
            warm = [body(i) for i in range(args.warmup)]
            wres, wdt = await loadgen.run_load(session, url, headers_fn, warm, args.concurrency)
            w2 = sum(c for s, c in wres.statuses.items() if 200 <= s < 300)
            ok_2xx_total += w2
            print(
                f"warm-up: {args.warmup} requests in {wdt:.2f}s "
                f"({args.warmup / wdt:.0f} req/s), 2xx={w2}"
            )

        # ---- 3. measured run
        fetched_before = jwks_fetches(args)
        bodies = [body(args.warmup + i) for i in range(args.requests)]
        report["body_bytes_avg"] = round(sum(map(len, bodies)) / len(bodies), 1)
        gc.collect()
        gc.disable()
        res, elapsed = await loadgen.run_load(session, url, headers_fn, bodies, args.concurrency)
        gc.enable()
        fetched_after = jwks_fetches(args)

    n_2xx = sum(c for s, c in res.statuses.items() if 200 <= s < 300)
    n_non2xx = sum(c for s, c in res.statuses.items() if not 200 <= s < 300)
    n_err = sum(res.errors.values())
    ok_2xx_total += n_2xx
    lat = sorted(res.latencies)
    completed = len(lat)
    report.update(
        {
            "elapsed_s": round(elapsed, 3),
            "completed": completed,
            "requests_per_s": round(completed / elapsed, 1),
            "ok_2xx_per_s": round(n_2xx / elapsed, 1),
            "latency_ms": {
                "mean": round(1000 * sum(lat) / completed, 2) if completed else None,
                "p50": round(1000 * loadgen.pct(lat, 50), 2),
                "p95": round(1000 * loadgen.pct(lat, 95), 2),
                "p99": round(1000 * loadgen.pct(lat, 99), 2),
                "max": round(1000 * lat[-1], 2) if lat else None,
            },
            "status_counts": {str(k): v for k, v in sorted(res.statuses.items())},
            "non_2xx": n_non2xx,
            "transport_errors": res.errors,
        }
    )
    if fetched_before is not None and fetched_after is not None:
        report["jwks_fetches_before_measured"] = fetched_before
        report["jwks_fetches_during_measured"] = fetched_after - fetched_before

    # ---- 4. persistence check
    after = loadgen.stored_count(args)
    if after is not None:
        stored = after - after_valid
        report["rows_stored_during_load"] = stored
        report["rows_expected"] = ok_2xx_total
        report["rows_total"] = after
        report["persistence_ok"] = stored == ok_2xx_total

    print(
        f"measured: {completed} requests in {elapsed:.2f}s -> "
        f"{report['requests_per_s']:.0f} req/s | "
        f"latency ms p50 {report['latency_ms']['p50']} p95 {report['latency_ms']['p95']} "
        f"p99 {report['latency_ms']['p99']} max {report['latency_ms']['max']} | "
        f"non-2xx {n_non2xx} transport errors {n_err}"
    )
    if "jwks_fetches_during_measured" in report:
        print(
            f"JWKS fetched {report['jwks_fetches_before_measured']} times before the measured "
            f"run, {report['jwks_fetches_during_measured']} during it (must be 0)"
        )
    if after is not None:
        verdict = "OK" if report["persistence_ok"] else "MISMATCH"
        print(
            f"rows stored during warm-up+run: {report['rows_stored_during_load']} "
            f"(2xx answered: {ok_2xx_total}) -> {verdict}; table total {after}"
        )
    failed = (
        n_non2xx
        or n_err
        or (after is not None and not report["persistence_ok"])
        or report.get("jwks_fetches_during_measured", 0) != 0
    )
    return (1 if failed else 0), report


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--url", default="http://127.0.0.1:3200")
    p.add_argument("--key", required=True, help="PEM of the key forge_keys.py publishes")
    p.add_argument("--app-id", required=True)
    p.add_argument("--installation-id", required=True)
    p.add_argument("--cloud-id", required=True)
    p.add_argument("--api-base", required=True, help="app.apiBaseUrl in the FITs")
    p.add_argument("-n", "--requests", type=int, default=20000)
    p.add_argument("-c", "--concurrency", type=int, default=64)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument(
        "--fit-refresh",
        type=float,
        default=5.0,
        help="mint a new FIT after this many seconds (a FIT lives 25 s)",
    )
    p.add_argument("--count-url", default=None)
    p.add_argument("--db", default=None)
    p.add_argument("--table", default="worklog_refreshes")
    p.add_argument("--jwks-count-url", default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json-out", default=None)
    p.add_argument("--ignore-probe-failures", action="store_true")
    args = p.parse_args()
    from cryptography.hazmat.primitives import serialization

    with open(args.key, "rb") as pem:
        key = serialization.load_pem_private_key(pem.read(), password=None)
    status, report = asyncio.run(main_async(args, key))
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as out:
            json.dump(report, out, indent=2)
            out.write("\n")
    print("RESULT " + json.dumps(report, separators=(",", ":")))
    return status


if __name__ == "__main__":
    sys.exit(main())
