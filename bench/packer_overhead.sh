#!/usr/bin/env bash
# Benchmark: wall time of `hyops run` of the packer null build (null + file builders, shell-local,
# manifest post-processor, fixture catalog) against `packer build` run directly on a copy of the
# same pack with the same var-files. hyops' extra work: resolve, ledger, var-file rendering,
# evidence, artifacts, packer-state.json, the file probe. `packer version` is cached in
# packer-state.json, so after the warm-up hyops runs one packer process, like the baseline.
# Goal (issue 5): <= 1.05x.
# Usage: bash bench/packer_overhead.sh [RUNS]   (default 9; prints medians)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-9}"
source scripts/install-tools.sh
hyops_need_packer >/dev/null
cargo build --release -q -p hyops-cli
HYOPS="${CARGO_TARGET_DIR:-$PWD/target}/release/hyops"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r crates/hyops-cli/tests/fixtures/packer "$WORK/catalog"
mkdir -p "$WORK/out"
export HYOPS_INPUT_OUT_DIR="$WORK/out" HYOPS_PK_TOKEN="bench-token-123456" CHECKPOINT_DISABLE=1

# The var-files hyops renders, taken from the warm-up run's evidence.
"$HYOPS" --catalog "$WORK/catalog" --state-dir "$WORK/state" -q run img/null --env dev >/dev/null
CONFIGS="$(find "$WORK/state/evidence" -path '*driver/configs/dev' -type d | head -1)"

direct() {
  local d="$WORK/direct"
  rm -rf "$d"; cp -r "$WORK/catalog/packs/packer/null-img" "$d"
  ( cd "$d"
    PKR_VAR_token="$HYOPS_PK_TOKEN" packer build -machine-readable \
      -var-file="$CONFIGS/build.pkrvars.hcl" -var-file="$CONFIGS/hyops.pkrvars.hcl" . >/dev/null )
}
via_hyops() {
  "$HYOPS" --catalog "$WORK/catalog" --state-dir "$WORK/state" -q run img/null --env dev >/dev/null
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_it() { local s e; s=$(date +%s.%N); "$1"; e=$(date +%s.%N); echo "$e - $s" | bc; }
direct; via_hyops # warm caches
D=$(for _ in $(seq "$RUNS"); do time_it direct; done | median)
H=$(for _ in $(seq "$RUNS"); do time_it via_hyops; done | median)
R=$(echo "scale=3; $H / $D" | bc)
echo "packer build directly: ${D} s (median of $RUNS)"
echo "hyops run:             ${H} s (median of $RUNS)"
echo "ratio: ${R}x  goal <= 1.05x: $(echo "$R <= 1.05" | bc | sed 's/1/MET/;s/0/MISSED/')"
