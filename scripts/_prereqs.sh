# Sourced by scripts/test: what the suite needs beyond Python packages, set up or named.
# Each need either ends satisfied or stops the run with the exact command that satisfies it.
# Installing uses Debian's apt-get as root (or through password-less sudo); nothing else.

prereq_stop() {
  printf '\nscripts/test cannot run yet: %s\n' "$1" >&2
  exit 2
}

prereq_as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

prereq_apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  echo "Installing Debian's $* (apt-get install -y $*)..." >&2
  prereq_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    prereq_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# The browser tests drive Debian's chromium; Playwright never downloads a browser here.
need_chromium() {
  local chromium="${W360_TEST_CHROMIUM:-/usr/bin/chromium}"
  [ "${W360_TEST_BROWSER:-}" = skip ] && return 0
  [ -x "$chromium" ] && return 0
  if [ "$chromium" = /usr/bin/chromium ]; then
    prereq_apt_install chromium >&2 || true
  fi
  [ -x "$chromium" ] && return 0
  prereq_stop "the browser tests need $chromium, and it could not be installed here.
Run, as root:   apt-get update && apt-get install -y chromium
or leave the browser tests out:   W360_TEST_BROWSER=skip ./scripts/test"
}

_pg_answers() {
  python - "$1" <<'PY' 2>/dev/null
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

_pg_is_local() {
  case "$1" in
    postgresql://*@127.0.0.1[:/]* | postgresql://*@localhost[:/]*) return 0 ;;
    *) return 1 ;;
  esac
}

# Debian's own cluster accepts only passwords over TCP; the suite's DSN is the
# password-less postgres role on loopback, as on the developers' machines.
_pg_trust_loopback() {
  local hba
  hba=$(prereq_as_root su postgres -c "psql -XAtc 'SHOW hba_file'" 2>/dev/null) || return 1
  if ! prereq_as_root grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
    prereq_as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
    prereq_as_root su postgres -c "psql -XAtc 'SELECT pg_reload_conf()'" >/dev/null
  fi
  prereq_as_root su postgres -c "psql -XAtc \"SELECT 1 FROM pg_database WHERE datname = 'test'\"" |
    grep -q 1 || prereq_as_root su postgres -c "createdb test"
}

_pg_start_clusters() {
  local version
  for version in $(ls /etc/postgresql 2>/dev/null); do
    echo "Starting PostgreSQL $version (pg_ctlcluster $version main start)..." >&2
    prereq_as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
}

_pg_wait() {
  local _
  for _ in $(seq 1 30); do
    _pg_answers "$1" && return 0
    sleep 1
  done
  return 1
}

# PostgreSQL at W360_TEST_POSTGRES_DSN: started when it is down, installed when it is absent
# (only for a DSN on this machine: another host's server is not ours to start).
need_postgres() {
  local dsn="$1"
  _pg_answers "$dsn" && return 0
  echo "PostgreSQL is not answering at $dsn." >&2
  if _pg_is_local "$dsn"; then
    local installed=no
    if [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
      prereq_apt_install postgresql >&2 && installed=yes
    fi
    _pg_start_clusters
    if [ "$installed" = yes ] || ! _pg_answers "$dsn"; then
      _pg_trust_loopback || true
    fi
    _pg_wait "$dsn" && return 0
  fi
  prereq_stop "the suite runs every test on PostgreSQL too, and none answers at $dsn.
Start one:      pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start
or install it:  apt-get update && apt-get install -y postgresql
point at another:  W360_TEST_POSTGRES_DSN=postgresql://user@host:5432/db ./scripts/test
or run SQLite only:  W360_TEST_BACKENDS=sqlite ./scripts/test"
}

# frontend/: the npm packages the suite uses (Atlassian's Forge manifest validator, the Forge
# bridge and esbuild for the Custom UI bundle), installed from its lock file when it changed.
need_frontend() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    prereq_apt_install nodejs npm >&2 || true
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    prereq_stop "the Forge tests need Node.js and npm, and they could not be installed here.
Run, as root:   apt-get update && apt-get install -y nodejs npm"
  fi
  local stamp
  stamp="frontend/node_modules/.installed-$(sha256sum frontend/package-lock.json | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "Installing frontend/'s npm packages (npm ci --ignore-scripts)..." >&2
    (cd frontend && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 ||
      prereq_stop "npm could not install frontend/'s packages (above). Run:
  cd frontend && npm ci --ignore-scripts"
    touch "$stamp"
  fi
}
