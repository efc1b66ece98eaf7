#!/usr/bin/env bash
# Benchmark (issue "Composition"): a generated random DAG of N no-op shell members (default 1,000,
# fixed seed, about 50 wide) run by `hyops run big --concurrency 2` against `make -j2` running the
# same script over the same DAG from a generated Makefile; plus plan time of a 10,000-member stack
# (`hyops plan` would spawn 10,000 processes, so "plan time" here is resolution + scheduling input:
# `hyops graph big --format json`, which loads, validates and builds the member graph).
# Goal: hyops at most 2x make's wall time, with every attempt's evidence and ledger rows durable.
# Usage: bench/stack_dag.sh [N] (HYOPS=path/to/hyops to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
if [ -z "${HYOPS:-}" ]; then cargo build --release -q -p hyops-cli; HYOPS="$PWD/target/release/hyops"; fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 bench/gen_stack.py "$WORK/cat" "$N"
python3 bench/gen_stack.py "$WORK/big" 10000
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$WORK/err" || { tail -5 "$WORK/err"; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
make_s=$(t make -s -j2 -C "$WORK/cat" all)
hyops_s=$(t "$HYOPS" --catalog "$WORK/cat" --state-dir "$WORK/state" run big --env dev --concurrency 2 --output json)
runs=$(sqlite3 "$WORK/state/ledger.sqlite" "select count(*) from attempt_events where status='passed'" 2>/dev/null || echo "?")
graph_s=$(t "$HYOPS" --catalog "$WORK/big" graph big --format json)
echo "members=$N make_-j2=${make_s}s hyops_c2=${hyops_s}s ratio=$(echo "scale=2; $hyops_s / $make_s" | bc) passed_attempts=$runs"
echo "10000-member stack: load+validate+graph ${graph_s}s"
