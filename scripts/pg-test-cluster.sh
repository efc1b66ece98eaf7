#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the ledger tests (hyops-store).
#
#   url=$(bash scripts/pg-test-cluster.sh start)   # prints postgres://postgres@127.0.0.1:PORT/postgres
#   export HYOPS_TEST_PG_URL="$url"
#   bash scripts/pg-test-cluster.sh stop           # stops it and removes its data folder
#
# The cluster lives in a fresh temp folder, listens on 127.0.0.1 only on a free port, uses trust
# authentication (loopback, throwaway) and fsync=off (tests measure logic, not the disk). The folder
# is remembered in $HYOPS_PG_CLUSTER_STATE (default: $TMPDIR/hyops-pg-test-cluster.state) for `stop`.
# PostgreSQL refuses to run as root: as root the server runs as user `postgres` via runuser.
set -euo pipefail

state_file="${HYOPS_PG_CLUSTER_STATE:-${TMPDIR:-/tmp}/hyops-pg-test-cluster.state}"

find_bin() {
  local name=$1 candidate
  if candidate=$(command -v "$name" 2>/dev/null); then echo "$candidate"; return 0; fi
  for candidate in /usr/lib/postgresql/*/bin/"$name"; do
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

as_db_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  if [ -f "$state_file" ]; then
    echo "error: a test cluster is already recorded in $state_file" >&2
    echo "help: run \`$0 stop\` first" >&2
    exit 1
  fi
  if ! find_bin initdb >/dev/null && [ "$(id -u)" -eq 0 ]; then
    apt-get install -y -q postgresql >&2
  fi
  local initdb pg_ctl dir port
  initdb=$(find_bin initdb) || { echo "error: initdb not found (help: apt-get install -y postgresql)" >&2; exit 1; }
  pg_ctl=$(find_bin pg_ctl) || { echo "error: pg_ctl not found" >&2; exit 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/hyops-pg.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  as_db_user "$initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(free_port)
  as_db_user "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c max_connections=200" \
    >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  printf '%s\n' "$dir" >"$state_file"
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
  if [ ! -f "$state_file" ]; then
    echo "no test cluster recorded in $state_file; nothing to stop" >&2
    return 0
  fi
  local dir pg_ctl
  dir=$(cat "$state_file")
  pg_ctl=$(find_bin pg_ctl) || { echo "error: pg_ctl not found" >&2; exit 1; }
  as_db_user "$pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  case "$dir" in
    */hyops-pg.*) rm -rf -- "$dir" ;;
  esac
  rm -f -- "$state_file"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
