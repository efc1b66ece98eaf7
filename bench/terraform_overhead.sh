#!/usr/bin/env bash
# Benchmark: wall time of `hyops run` of a terraform module (null_resource + local-exec, local
# backend) against the same init/plan/apply/output sequence run directly by a shell script.
# Each iteration starts from empty state, so both create one resource. Goal (issue 4): <= 1.05x.
# Usage: bash bench/terraform_overhead.sh [RUNS]   (default 7; prints medians)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-7}"
source scripts/install-tools.sh
hyops_need_terraform >/dev/null
cargo build --release -q -p hyops-cli
HYOPS="${CARGO_TARGET_DIR:-$PWD/target}/release/hyops"
TF_DIR="$(dirname "$HYOPS_TEST_TERRAFORM")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r crates/hyops-cli/tests/fixtures/terraform "$WORK/catalog"
sed -i "s#@PLUGIN_DIR@#$HYOPS_TEST_TF_PLUGIN_DIR#" "$WORK/catalog"/profiles/*.yaml
mkdir -p "$WORK/out"
export PATH="$TF_DIR:$PATH" HYOPS_INPUT_OUT_DIR="$WORK/out"

direct() { # the same steps hyops runs, without hyops
  local d="$WORK/direct" io="$WORK/direct-io"
  rm -rf "$d" "$io" "$WORK/direct-state"; mkdir -p "$io"
  cp -r "$WORK/catalog/packs/terraform/plain" "$d"
  printf '{"name":"dev-box","out_dir":"%s"}' "$WORK/out" > "$d/hyops.tfvars.json"
  ( cd "$d"
    export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1 TF_DATA_DIR="$io/data"
    terraform init -input=false -no-color -plugin-dir="$HYOPS_TEST_TF_PLUGIN_DIR" \
      -backend-config=path="$WORK/direct-state/t.tfstate" >/dev/null
    terraform plan -input=false -json -out="$io/plan" -var-file=hyops.tfvars.json >/dev/null
    terraform apply -input=false -no-color -auto-approve "$io/plan" >/dev/null
    terraform output -json >/dev/null )
}
via_hyops() {
  rm -rf "$WORK/tfstate"
  "$HYOPS" --catalog "$WORK/catalog" --state-dir "$WORK/state" -q run t/plain --env dev >/dev/null
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_it() { local s e; s=$(date +%s.%N); "$1"; e=$(date +%s.%N); echo "$e - $s" | bc; }
direct; via_hyops # warm caches
D=$(for _ in $(seq "$RUNS"); do time_it direct; done | median)
H=$(for _ in $(seq "$RUNS"); do time_it via_hyops; done | median)
R=$(echo "scale=3; $H / $D" | bc)
echo "direct init/plan/apply/output: ${D} s (median of $RUNS)"
echo "hyops run:                     ${H} s (median of $RUNS)"
echo "ratio: ${R}x  goal <= 1.05x: $(echo "$R <= 1.05" | bc | sed 's/1/MET/;s/0/MISSED/')"
