#!/usr/bin/env bash
# The whole test suite. Installs what the tests need (idempotently), then runs format, lint and tests.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Real tools the tests drive, installed in the background while fmt and clippy compile (downloads
# and unpacking overlap the compiler instead of preceding it). Each installer is a no-op when its
# tool is present, so the same calls made again below only export the variables tests read.
install_tools() {
  source scripts/install-tools.sh
  # terraform 1.0.3 + null provider mirror for the terraform driver tests (HYOPS_TEST_TERRAFORM, HYOPS_TEST_TF_PLUGIN_DIR).
  hyops_need_terraform
  # ansible-core 2.19 for the ansible driver tests (HYOPS_TEST_ANSIBLE_PLAYBOOK).
  hyops_need_ansible
  # packer 1.6.6 for the packer driver tests (HYOPS_TEST_PACKER).
  hyops_need_packer
}
install_log="$(mktemp)"
(set -e; install_tools) >"$install_log" 2>&1 &
install_pid=$!
pg_started=""
cleanup() {
  if [ -n "$install_pid" ]; then kill "$install_pid" 2>/dev/null || true; fi
  if [ -n "$pg_started" ]; then bash scripts/pg-test-cluster.sh stop >/dev/null 2>&1 || true; fi
  rm -f "$install_log"
}
trap cleanup EXIT

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== test tools"
if ! wait "$install_pid"; then
  cat "$install_log" >&2
  echo "error: installing the tools the tests drive failed (log above)" >&2
  exit 1
fi
install_pid=""
cat "$install_log"
install_tools

# A throwaway PostgreSQL cluster on 127.0.0.1 (free port) so the ledger suite also runs on PostgreSQL.
if HYOPS_TEST_PG_URL="$(bash scripts/pg-test-cluster.sh start)"; then
  export HYOPS_TEST_PG_URL
  pg_started=1
else
  echo "error: could not start a PostgreSQL test cluster (see above)" >&2
  exit 1
fi

echo "== tests"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
