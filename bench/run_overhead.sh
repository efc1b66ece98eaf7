#!/usr/bin/env bash
# Benchmark: per-run overhead of `hyops run` on a no-op shell module against spawning the same
# script directly, both in this script (durable SQLite ledger and sealed evidence included).
# Goal (issue "Run engine"): under 20 ms added per run.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-40}"
cargo build --release -q -p hyops-cli
HYOPS="$PWD/target/release/hyops"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 bench/gen_catalog.py "$WORK/cat" 1
# One module whose output probe passes; `name` is published from the script's outputs.
cat > "$WORK/cat/packs/shell/noop/run.sh" <<'SH'
#!/bin/sh
printf '{"name":"m0"}' > "$HYOPS_OUTPUTS_FILE"
SH
chmod +x "$WORK/cat/packs/shell/noop/run.sh"
python3 - "$HYOPS" "$WORK" "$RUNS" <<'PY'
import os, statistics, subprocess, sys, time
hyops, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
cat = f"{work}/cat"
script = f"{cat}/packs/shell/noop/run.sh"

def direct():
    env = {"PATH": os.environ["PATH"], "HYOPS_STAGE": "apply", "HYOPS_OUTPUTS_FILE": f"{work}/out.json"}
    t = time.perf_counter()
    subprocess.run([script, "apply"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t

def via_hyops():
    t = time.perf_counter()
    p = subprocess.run([hyops, "--catalog", cat, "--state-dir", f"{work}/state", "-q", "run", "g000/m00000", "--env", "dev"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    d = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"hyops run failed: {p.stderr.decode()[-2000:]}")
    return d

via_hyops()  # create the ledger once; every later run appends to it
d = [direct() for _ in range(runs)]
h = [via_hyops() for _ in range(runs)]
dm, hm = statistics.median(d), statistics.median(h)
print(f"runs: {runs} each")
print(f"script spawned directly (baseline): median {dm*1000:7.2f} ms")
print(f"hyops run (ledger + evidence):      median {hm*1000:7.2f} ms  ({hm/dm:5.2f}x baseline)")
added = (hm - dm) * 1000
print(f"added per run:                      {added:7.2f} ms   goal < 20 ms: {'MET' if added < 20 else 'MISSED'}")
PY
