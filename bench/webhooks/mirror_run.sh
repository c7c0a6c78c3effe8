#!/usr/bin/env bash
# Webhooks as Jira sends them under load (10% repeated, reordered), then the mirror checked
# against Jira's final state; beside the ACE peer loaded with the same client in the same run.
#
# usage: bench/webhooks/mirror_run.sh [N] [C] [BACKEND] [WORKERS] [RUNS]
#   N, C     deliveries and connections (default 20000, 64)
#   BACKEND  postgresql (default) or sqlite; WORKERS for `worklog360 serve` (default 2)
#   RUNS     rounds of ACE then Worklog360 (default 3)
# The ACE peer is built as run.sh builds it (ace_peer.sh); results in bench/out/mirror/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
n=${1:-20000}; c=${2:-64}; backend=${3:-postgresql}; workers=${4:-2}; runs=${5:-3}
ACE_DIR=${ACE_DIR:-$ROOT/bench/out/ace-peer}
OUT=$ROOT/bench/out/mirror; mkdir -p "$OUT"
SECRET=bench-shared-secret-0123456789abcdefghijklmnopqrstuv
export W360_SECRET_KEY=bench-secret-key-0123456789abcdefghijklmnop W360_LOG_LEVEL=warning
source "$ROOT/bench/webhooks/ace_peer.sh"; ensure_ace_peer
wait_for() { for _ in $(seq 1 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done; return 1; }

for i in $(seq 1 "$runs"); do
  echo "== run $i: ACE peer (loadgen.py, $n requests, $c connections)"
  (cd "$ACE_DIR" && ACE_PEER_SQLITE_PRAGMAS="journal_mode=WAL,synchronous=NORMAL" exec node app.js \
    >"$OUT/ace-server-$i.log" 2>&1) & ace=$!
  wait_for http://127.0.0.1:3100/bench/count
  "$ACE_DIR/.venv/bin/python" "$ACE_DIR/loadgen.py" --url http://127.0.0.1:3100 \
    --path /webhooks/worklog --client-key bench-tenant --secret $SECRET -n "$n" -c "$c" \
    --warmup 0 --json-out "$OUT/ace-$i.json" | grep -E "^measured" || true
  kill "$ace"; wait "$ace" 2>/dev/null || true; sleep 2

  echo "== run $i: Worklog360 ($backend, $workers workers), 10% repeated, reordered"
  if [ "$backend" = postgresql ]; then
    psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS w360_bench_mirror WITH (FORCE)" \
      -c "CREATE DATABASE w360_bench_mirror" >/dev/null
    db=postgresql://postgres@127.0.0.1:5432/w360_bench_mirror
  else
    rm -rf "$OUT/db"; mkdir -p "$OUT/db"; db=sqlite:///$OUT/db/w360.db
  fi
  .venv/bin/python bench/webhooks/seed_tenant.py "$db" bench-tenant "$SECRET" http://127.0.0.1:3999 >/dev/null
  W360_DATABASE_URL=$db W360_AUTO_MIGRATE=false .venv/bin/worklog360 serve --port 3200 \
    --workers "$workers" >"$OUT/w360-server-$i.log" 2>&1 & app=$!
  wait_for http://127.0.0.1:3200/healthz
  "$ACE_DIR/.venv/bin/python" bench/webhooks/mirror_load.py send --loadgen "$ACE_DIR/loadgen.py" \
    --url http://127.0.0.1:3200 --secret $SECRET -n "$n" -c "$c" --json-out "$OUT/w360-$i.json"
  kill "$app"; wait "$app" 2>/dev/null || true
  .venv/bin/python bench/webhooks/mirror_load.py check --database-url "$db" -n "$n" \
    | tee "$OUT/w360-check-$i.json"
  sleep 2
done
