#!/usr/bin/env bash
# Benchmark: wall time of `hyops run` of an ansible module (the a/site fixture: 6 tasks on
# localhost, connection local) against the same playbook, inventory and variables run directly by
# `ansible-playbook`, and under `ansible-runner run` (installed here from PyPI when missing; the
# tests never need it). Runs are interleaved so machine load hits all three alike.
# Goal (issue 6): hyops <= 1.05x direct.
# Usage: bash bench/ansible_overhead.sh [RUNS]   (default 7; prints medians)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-7}"
source scripts/install-tools.sh
hyops_need_ansible >/dev/null
if ! python3 -c 'import ansible_runner' >/dev/null 2>&1; then
  echo "== installing ansible-runner (PyPI, for this comparison only)"
  python3 -m pip install -q --disable-pip-version-check ansible-runner 2>&1 | grep -v "WARNING: Running pip as" || true
fi
RUNNER="$(dirname "$HYOPS_TEST_ANSIBLE_PLAYBOOK")/ansible-runner"
cargo build --release -q -p hyops-cli
HYOPS="${CARGO_TARGET_DIR:-$PWD/target}/release/hyops"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r crates/hyops-cli/tests/fixtures/ansible "$WORK/catalog"
mkdir -p "$WORK/out"
export PATH="$(dirname "$HYOPS_TEST_ANSIBLE_PLAYBOOK"):$PATH"
export HYOPS_INPUT_OUT_DIR="$WORK/out" HYOPS_ANSIBLE_TOKEN="bench-token-1234"
PACK="$WORK/catalog/packs/ansible/site"

# The inputs and inventory hyops renders, written once for the direct and ansible-runner runs.
cat > "$WORK/inventory.json" <<EOF
{"all": {"vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
 "children": {"local": {"hosts": {"localhost": {"ansible_connection": "local"}}}}}}
EOF
cat > "$WORK/vars.json" <<EOF
{"site_name": "dev-box", "out_dir": "$WORK/out", "token": "bench-token-1234",
 "hyops_env": "dev", "hyops_stage": "apply", "hyops_target": "a/site",
 "hyops_outputs_file": "$WORK/direct-outputs.json"}
EOF
# ansible-runner's private data dir: project/, inventory/, env/extravars.
mkdir -p "$WORK/pdd/inventory" "$WORK/pdd/env"
cp -r "$PACK" "$WORK/pdd/project"
cp "$WORK/inventory.json" "$WORK/pdd/inventory/hosts.json"
cp "$WORK/vars.json" "$WORK/pdd/env/extravars"

python3 - "$HYOPS" "$WORK" "$PACK" "$RUNNER" "$RUNS" <<'PY'
import datetime, glob, json, os, shutil, statistics, subprocess, sys, time
hyops, work, pack, runner, runs = sys.argv[1:5] + [int(sys.argv[5])]
env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")

def fresh_outputs_file():
    """hyops hands every attempt a new, absent outputs file (the greet role writes it); the direct and
    ansible-runner runs must start from the same state, or their copy task finds the file already
    written, reports `ok` and skips the transfer and module run that the hyops run pays for."""
    try:
        os.remove(os.path.join(work, "direct-outputs.json"))
    except FileNotFoundError:
        pass

def direct():
    fresh_outputs_file()
    d = os.path.join(work, "direct")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(pack, d)
    return ["ansible-playbook", "-i", f"{work}/inventory.json", "-e", f"@{work}/vars.json",
            "--forks=5", "--timeout=3", "site.yml"], d

def via_hyops():
    return [hyops, "--catalog", f"{work}/catalog", "--state-dir", f"{work}/state", "-q",
            "run", "a/site", "--env", "dev"], work

def via_runner():
    fresh_outputs_file()
    shutil.rmtree(os.path.join(work, "pdd", "artifacts"), ignore_errors=True)
    return [runner, "run", f"{work}/pdd", "-p", "site.yml"], work

def at(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

def hyops_own(wall):
    """hyops' wall time minus the time ansible-playbook ran inside it (the newest attempt's events)."""
    newest = max(glob.glob(os.path.join(work, "state/evidence/dev/a/site/*/attempt-*/events.jsonl")),
                 key=os.path.getmtime)
    events = [json.loads(l) for l in open(newest)]
    started = min(at(e["at"]) for e in events if e["event"] == "step_started")
    finished = max(at(e["at"]) for e in events if e["event"] == "step_finished")
    return wall - (finished - started)

def timed(make):
    cmd, cwd = make()
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{cmd[:3]} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    return elapsed

kinds = {"direct": direct, "hyops": via_hyops, "runner": via_runner}
for make in kinds.values():  # warm caches (and the first, changing, run)
    timed(make)
samples = {k: [] for k in kinds}
own = []
for _ in range(runs):
    for k, make in kinds.items():
        samples[k].append(timed(make))
    own.append(hyops_own(samples["hyops"][-1]))
m = {k: statistics.median(v) for k, v in samples.items()}
# Rounds are interleaved; a ratio is the median of the per-round ratios, which machine drift
# moves less than a ratio of medians.
r = {k: statistics.median(b / a for a, b in zip(samples["direct"], samples[k])) for k in kinds}
print(f"ansible-playbook direct: {m['direct']:.3f} s (median of {runs})")
print(f"hyops run:               {m['hyops']:.3f} s  ratio {r['hyops']:.3f}x  goal <= 1.05x: {'MET' if r['hyops'] <= 1.05 else 'MISSED'}")
print(f"  ratio of the medians:  {m['hyops'] / m['direct']:.3f}x (the goal is judged on the per-round ratio above)")
print(f"  hyops' own time:       {statistics.median(own) * 1000:.1f} ms (median; wall minus ansible-playbook's run)")
print(f"ansible-runner run:      {m['runner']:.3f} s  ratio {r['runner']:.3f}x")
PY
