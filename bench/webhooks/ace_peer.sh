# Sourced by run.sh and mirror_run.sh: the ACE peer copied out of ../shared and built once
# into $ACE_DIR (default bench/out/ace-peer, gitignored), with a venv for its loadgen.py.
ensure_ace_peer() {
  if [ ! -d "$ACE_DIR/node_modules" ]; then
    mkdir -p "$ACE_DIR"; cp -r "$ROOT/../shared/bench/ace-peer/." "$ACE_DIR/"
    (cd "$ACE_DIR" && npm install --no-audit --no-fund >/dev/null && python3 -m venv .venv \
      && .venv/bin/pip install -q aiohttp)
  fi
}
