#!/usr/bin/env bash
# Benchmark: wall time of `hyops run` of the packer null build (null + file builders, shell-local,
# manifest post-processor, fixture catalog) against `packer build` run directly on a copy of the
# same pack with the same var-files. hyops' extra work: resolve, ledger, var-file rendering,
# evidence, artifacts, packer-state.json, the file probe. `packer version` is cached in
# packer-state.json, so after the warm-up hyops runs one packer process, like the baseline.
# Goal (issue 5): <= 1.05x.
# Usage: bash bench/packer_overhead.sh [RUNS]   (default 15; prints medians)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-15}"
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

# Interleaved rounds (direct, hyops, direct, hyops, ...) so machine drift hits both alike; the
# ratio is the median of the per-round ratios. hyops' own time is its wall time minus the time
# packer ran inside it (from the attempt's events.jsonl), a figure packer's own jitter does not move.
python3 - "$HYOPS" "$WORK" "$CONFIGS" "$RUNS" <<'PY'
import datetime, json, os, shutil, statistics, subprocess, sys, time
hyops, work, configs, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def direct():
    d = os.path.join(work, "direct")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(os.path.join(work, "catalog/packs/packer/null-img"), d)
    env = dict(os.environ, PKR_VAR_token=os.environ["HYOPS_PK_TOKEN"])
    t = time.perf_counter()
    subprocess.run(["packer", "build", "-machine-readable", f"-var-file={configs}/build.pkrvars.hcl",
                    f"-var-file={configs}/hyops.pkrvars.hcl", "."], cwd=d, env=env,
                   stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t, None
def at(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
def via_hyops():
    t = time.perf_counter()
    p = subprocess.run([hyops, "--catalog", f"{work}/catalog", "--state-dir", f"{work}/state", "-q",
                        "run", "img/null", "--env", "dev", "--output", "json"],
                       stdout=subprocess.PIPE, check=True)
    wall = time.perf_counter() - t
    attempt = json.loads(p.stdout)["attempts"][-1]
    events = [json.loads(l) for l in open(os.path.join(work, "state", attempt["evidence_path"], "events.jsonl"))]
    started = min(at(e["at"]) for e in events if e["event"] == "step_started")
    finished = max(at(e["at"]) for e in events if e["event"] == "step_finished")
    return wall, wall - (finished - started)
direct(); via_hyops()  # warm caches
d, h, own = [], [], []
for _ in range(runs):
    d.append(direct()[0])
    wall, mine = via_hyops()
    h.append(wall); own.append(mine)
ratio = statistics.median(b / a for a, b in zip(d, h))
print(f"packer build directly: {statistics.median(d):.3f} s (median of {runs})")
print(f"hyops run:             {statistics.median(h):.3f} s (median of {runs})")
print(f"ratio of the medians:  {statistics.median(h) / statistics.median(d):.3f}x")
print(f"hyops' own time:       {statistics.median(own) * 1000:.1f} ms (median; wall minus packer's run)")
print(f"ratio: {ratio:.3f}x (median of per-round ratios)  goal <= 1.05x: {'MET' if ratio <= 1.05 else 'MISSED'}")
PY
