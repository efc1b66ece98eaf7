#!/usr/bin/env bash
# Benchmark: validate and resolve a generated catalog of N modules (default 10,000), and hyops start-up.
# Prints wall times (median of several runs), per-module cost, and ratios against baselines measured in
# the same script: reading every catalog file (`cat`, the I/O floor) and starting `/bin/true`.
# Goals (issue "Foundation"): validate 10,000 modules < 0.4 s on 2 cores; `hyops --version` < 10 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
cargo build --release -q -p hyops-cli
HYOPS="$PWD/target/release/hyops"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 bench/gen_catalog.py "$WORK/cat" "$N"
python3 - "$HYOPS" "$WORK/cat" "$N" <<'PY'
import statistics, subprocess, sys, time
hyops, cat, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

def timed(cmd, runs, ok=(0,)):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append(time.perf_counter() - t)
        if p.returncode not in ok:
            sys.exit(f"{cmd} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    return statistics.median(samples)

floor = timed(["sh", "-c", f"find {cat} -type f -exec cat {{}} + > /dev/null"], 5)
validate = timed([hyops, "--catalog", cat, "validate"], 5)
resolve = timed([hyops, "--catalog", cat, "--output", "json", "resolve", "--all", "--env", "dev"], 3)
true_t = timed(["/bin/true"], 50)
version = timed([hyops, "--version"], 50)
print(f"modules: {n}")
print(f"read every file (cat, baseline): {floor*1000:8.1f} ms")
print(f"hyops validate:                  {validate*1000:8.1f} ms  ({validate/n*1e6:6.1f} us/module, {validate/floor:5.2f}x cat)  goal < 400 ms: {'MET' if validate < 0.4 else 'MISSED'}")
print(f"hyops resolve --all --env dev:   {resolve*1000:8.1f} ms  ({resolve/n*1e6:6.1f} us/module, {resolve/floor:5.2f}x cat)")
print(f"/bin/true start (baseline):      {true_t*1000:8.2f} ms")
print(f"hyops --version start:           {version*1000:8.2f} ms  ({version/true_t:5.2f}x /bin/true)  goal < 10 ms: {'MET' if version < 0.010 else 'MISSED'}")
PY
