#!/usr/bin/env bash
# Sourced by scripts/test.sh: installs the real tools the tests drive, only when missing, and exports
# the variables tests read to find them. Registries only (crates.io, PyPI, Debian). Idempotent and quiet.
export CHECKPOINT_DISABLE=1

hyops_need_python3() {
  command -v python3 >/dev/null 2>&1 && return 0
  echo "== installing python3 (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
}

# PostgreSQL 15 server binaries (initdb, pg_ctl) for the ledger's PostgreSQL tests.
hyops_need_postgres() {
  if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    return 0
  fi
  echo "== installing postgresql (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

hyops_need_python3
hyops_need_postgres
