#!/usr/bin/env bash
# Webhook ingestion, Worklog360 vs the ACE peer, side by side in one run.
#
# usage: bench/webhooks/run.sh [RUNS] [N] [C] [BACKEND] [WORKERS]
#   RUNS     runs per server (default 3), alternating ACE / Worklog360
#   N, C     requests and connections per run (default 20000, 64), after 1000 warm-up
#   BACKEND  sqlite (default) or postgresql (Worklog360 only; ACE stays on sqlite)
#   WORKERS  uvicorn worker processes for Worklog360 (default 2, one per core)
#
# Both persist every event before the 2xx; both use sqlite WAL + synchronous=NORMAL.
# The ACE peer is copied out of shared/ and built once into $ACE_DIR (default
# bench/out/ace-peer, gitignored). Results go to bench/out/webhooks/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
runs=${1:-3}; n=${2:-20000}; c=${3:-64}; backend=${4:-sqlite}; workers=${5:-2}
ACE_DIR=${ACE_DIR:-$ROOT/bench/out/ace-peer}
OUT=$ROOT/bench/out/webhooks; mkdir -p "$OUT"
SECRET=bench-shared-secret-0123456789abcdefghijklmnopqrstuv
export W360_SECRET_KEY=bench-secret-key-0123456789abcdefghijklmnop W360_LOG_LEVEL=warning

if [ ! -d "$ACE_DIR/node_modules" ]; then
  mkdir -p "$ACE_DIR"; cp -r "$ROOT/../shared/bench/ace-peer/." "$ACE_DIR/"
  (cd "$ACE_DIR" && npm install --no-audit --no-fund >/dev/null && python3 -m venv .venv \
    && .venv/bin/pip install -q aiohttp)
fi
LOADGEN="$ACE_DIR/.venv/bin/python $ACE_DIR/loadgen.py"

wait_for() { for _ in $(seq 1 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done; return 1; }

run_ace() {
  (cd "$ACE_DIR" && ACE_PEER_SQLITE_PRAGMAS="journal_mode=WAL,synchronous=NORMAL" exec node app.js \
    >"$OUT/ace-server-$1.log" 2>&1) & local pid=$!
  wait_for http://127.0.0.1:3100/bench/count
  $LOADGEN --url http://127.0.0.1:3100 --path /webhooks/worklog --client-key bench-tenant \
    --secret $SECRET -n "$n" -c "$c" --warmup 1000 --count-url http://127.0.0.1:3100/bench/count \
    --json-out "$OUT/ace-run-$1.json" | grep -E "^measured|rows stored during" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_w360() {
  local db count_args
  if [ "$backend" = postgresql ]; then
    psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS w360_bench_webhooks WITH (FORCE)" \
      -c "CREATE DATABASE w360_bench_webhooks" >/dev/null
    db=postgresql://postgres@127.0.0.1:5432/w360_bench_webhooks
    .venv/bin/python bench/webhooks/count_server.py "$db" 3299 & local counter=$!
    count_args="--count-url http://127.0.0.1:3299/"
  else
    rm -rf "$OUT/db"; mkdir -p "$OUT/db"; db=sqlite:///$OUT/db/w360.db
    count_args="--db $OUT/db/w360.db --table worklogs"
  fi
  .venv/bin/python bench/webhooks/seed_tenant.py "$db" bench-tenant "$SECRET" http://127.0.0.1:3999 >/dev/null
  W360_DATABASE_URL=$db W360_AUTO_MIGRATE=false .venv/bin/worklog360 serve --port 3200 \
    --workers "$workers" >"$OUT/w360-server-$1.log" 2>&1 & local pid=$!
  wait_for http://127.0.0.1:3200/healthz
  [ "$backend" = postgresql ] && wait_for http://127.0.0.1:3299/
  $LOADGEN --url http://127.0.0.1:3200 --path /webhooks/jira/worklog --client-key bench-tenant \
    --secret $SECRET -n "$n" -c "$c" --warmup 1000 $count_args \
    --json-out "$OUT/w360-$backend-run-$1.json" | grep -E "^measured|rows stored during|failed" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ "$backend" = postgresql ] && { kill "$counter"; wait "$counter" 2>/dev/null || true; }
  return 0
}

for i in $(seq 1 "$runs"); do
  echo "== run $i: ACE peer"; run_ace "$i"; sleep 2
  echo "== run $i: Worklog360 ($backend, $workers workers)"; run_w360 "$i"; sleep 2
done
.venv/bin/python bench/webhooks/summary.py "$OUT" "$backend"
