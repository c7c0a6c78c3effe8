#!/usr/bin/env bash
# Webhook ingestion, Worklog360 vs the ACE peer, side by side in one run; and Forge's
# worklog events to Worklog360's /forge/events beside them, with the same load generator.
#
# usage: bench/webhooks/run.sh [RUNS] [N] [C] [BACKEND] [WORKERS] [DOORS]
#   RUNS     runs per server (default 3), alternating ACE / Worklog360 (each door)
#   N, C     requests and connections per run (default 20000, 64), after 1000 warm-up
#   BACKEND  sqlite (default) or postgresql (Worklog360 only; ACE stays on sqlite)
#   WORKERS  uvicorn worker processes for Worklog360 (default 2, one per core)
#   DOORS    connect,forge (default), connect or forge: which of Worklog360's doors to load
#
# The Forge door: forge_keys.py serves a JWKS (and counts its fetches), seed_forge_tenant.py
# records a placed Forge installation, forge_loadgen.py (the peer's loadgen.py with FIT-signed
# requests and Forge's event body) loads /forge/events; a 2xx must leave a stored row of
# worklog_refreshes, and the JWKS must not be fetched during the measured run.
#
# Both persist every event before the 2xx; both use sqlite WAL + synchronous=NORMAL.
# The ACE peer is copied out of shared/ and built once into $ACE_DIR (default
# bench/out/ace-peer, gitignored). Results go to bench/out/webhooks/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
runs=${1:-3}; n=${2:-20000}; c=${3:-64}; backend=${4:-sqlite}; workers=${5:-2}
doors=${6:-connect,forge}
ACE_DIR=${ACE_DIR:-$ROOT/bench/out/ace-peer}
OUT=$ROOT/bench/out/webhooks; mkdir -p "$OUT"
SECRET=bench-shared-secret-0123456789abcdefghijklmnopqrstuv
export W360_SECRET_KEY=bench-secret-key-0123456789abcdefghijklmnop W360_LOG_LEVEL=warning

source "$ROOT/bench/webhooks/ace_peer.sh"; ensure_ace_peer
LOADGEN="$ACE_DIR/.venv/bin/python $ACE_DIR/loadgen.py"
# forge_loadgen.py signs RS256 FITs: PyJWT with cryptography in the peer's venv.
"$ACE_DIR/.venv/bin/python" -c 'import jwt, cryptography' 2>/dev/null \
  || "$ACE_DIR/.venv/bin/pip" install -q 'pyjwt[crypto]'
FORGE_APP=ari:cloud:ecosystem::app/5c3b2f1e-8a0d-4b7e-9f61-2d4c8e9a7b10
FORGE_INSTALLATION=ari:cloud:ecosystem::installation/0b8f7d1c-4e2a-4f6b-9a3d-7c5e1f2a8b90
FORGE_CLOUD=9d7e6f5a-1b2c-4d3e-8f9a-0b1c2d3e4f5a
# Nothing listens there, as for the Connect tenant's site URL: the app's background reads of
# Jira fail fast instead of reaching out.
FORGE_API=http://127.0.0.1:3999/ex/jira/$FORGE_CLOUD

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

run_w360() {  # run_w360 RUN DOOR
  local db count_args door=$2 table=worklogs label=$backend extra_env=() keys=""
  [ "$door" = forge ] && { table=worklog_refreshes; label=forge-$backend; }
  if [ "$backend" = postgresql ]; then
    psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS w360_bench_webhooks WITH (FORCE)" \
      -c "CREATE DATABASE w360_bench_webhooks" >/dev/null
    db=postgresql://postgres@127.0.0.1:5432/w360_bench_webhooks
    .venv/bin/python bench/webhooks/count_server.py "$db" 3299 "$table" & local counter=$!
    count_args="--count-url http://127.0.0.1:3299/"
  else
    rm -rf "$OUT/db"; mkdir -p "$OUT/db"; db=sqlite:///$OUT/db/w360.db
    count_args="--db $OUT/db/w360.db --table $table"
  fi
  if [ "$door" = forge ]; then
    .venv/bin/python bench/webhooks/forge_keys.py 3298 "$OUT/forge-key.pem" & keys=$!
    wait_for http://127.0.0.1:3298/count
    .venv/bin/python bench/webhooks/seed_forge_tenant.py "$db" "$FORGE_INSTALLATION" "$FORGE_CLOUD" \
      "$FORGE_API" >/dev/null
    extra_env=(W360_FORGE_APP_ID=$FORGE_APP W360_FORGE_JWKS_URL=http://127.0.0.1:3298/.well-known/jwks.json)
  else
    .venv/bin/python bench/webhooks/seed_tenant.py "$db" bench-tenant "$SECRET" http://127.0.0.1:3999 >/dev/null
  fi
  env "${extra_env[@]}" W360_DATABASE_URL=$db W360_AUTO_MIGRATE=false .venv/bin/worklog360 serve \
    --port 3200 --workers "$workers" >"$OUT/w360-$label-server-$1.log" 2>&1 & local pid=$!
  wait_for http://127.0.0.1:3200/healthz
  [ "$backend" = postgresql ] && wait_for http://127.0.0.1:3299/
  if [ "$door" = forge ]; then
    ACE_DIR=$ACE_DIR "$ACE_DIR/.venv/bin/python" bench/webhooks/forge_loadgen.py \
      --url http://127.0.0.1:3200 --key "$OUT/forge-key.pem" --app-id "$FORGE_APP" \
      --installation-id "$FORGE_INSTALLATION" --cloud-id "$FORGE_CLOUD" --api-base "$FORGE_API" \
      -n "$n" -c "$c" --warmup 1000 $count_args --jwks-count-url http://127.0.0.1:3298/count \
      --json-out "$OUT/w360-$label-run-$1.json" | grep -E "^measured|rows stored during|JWKS|failed" || true
  else
    $LOADGEN --url http://127.0.0.1:3200 --path /webhooks/jira/worklog --client-key bench-tenant \
      --secret $SECRET -n "$n" -c "$c" --warmup 1000 $count_args \
      --json-out "$OUT/w360-$label-run-$1.json" | grep -E "^measured|rows stored during|failed" || true
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ -n "$keys" ] && { kill "$keys"; wait "$keys" 2>/dev/null || true; }
  [ "$backend" = postgresql ] && { kill "$counter"; wait "$counter" 2>/dev/null || true; }
  return 0
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$runs"); do
  echo "== run $i: ACE peer"; run_ace "$i"; sleep 2
  for door in ${doors//,/ }; do
    echo "== run $i: Worklog360 $door door ($backend, $workers workers)"; run_w360 "$i" "$door"; sleep 2
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
.venv/bin/python bench/webhooks/summary.py "$OUT" "$backend"
