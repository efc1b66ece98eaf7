#!/usr/bin/env python3
"""Generates a catalog with one stack of N no-op shell members forming a random DAG (fixed seed,
about WIDTH members per layer, each with 1-3 dependencies on the previous layers), and a Makefile
running the same no-op script over the same DAG. Usage: gen_stack.py DIR N [WIDTH]"""
import os, random, sys

out, n = sys.argv[1], int(sys.argv[2])
width = int(sys.argv[3]) if len(sys.argv) > 3 else 50
rng = random.Random(7)
w = lambda p, t: (os.makedirs(os.path.dirname(p), exist_ok=True), open(p, "w").write(t))
w(f"{out}/hyops.yaml", "apiVersion: hyops/v1\nkind: Catalog\nname: bench\n")
w(f"{out}/environments/dev.yaml", "apiVersion: hyops/v1\nkind: Environment\nname: dev\n")
w(f"{out}/profiles/noop.yaml", "apiVersion: hyops/v1\nkind: Profile\nname: noop\nversion: 1.0.0\ndriver: shell\n")
w(f"{out}/packs/shell/noop/pack.yaml", "apiVersion: hyops/v1\nkind: Pack\nid: noop\nversion: 1.0.0\ndriver: shell\nentry: run.sh\n")
w(f"{out}/packs/shell/noop/run.sh", "#!/bin/sh\necho '{}' > \"$HYOPS_OUTPUTS_FILE\"\n")
os.chmod(f"{out}/packs/shell/noop/run.sh", 0o755)
w(f"{out}/modules/b/noop/module.yaml", "apiVersion: hyops/v1\nkind: Module\nid: b/noop\nversion: 1.0.0\n"
  "execution: { driver: shell, profile: noop, pack_ref: { id: noop } }\n")
deps = {}
for i in range(n):
    layer = i // width
    earlier = list(range(0, layer * width))
    deps[i] = sorted(rng.sample(earlier, min(len(earlier), rng.randint(1, 3)))) if earlier else []
lines = ["apiVersion: hyops/v1", "kind: Stack", "name: big", "members:"]
for i in range(n):
    d = ", ".join(f"m{j:05d}" for j in deps[i])
    lines.append(f"  m{i:05d}: {{ module: b/noop, depends_on: [{d}] }}")
w(f"{out}/stacks/big.yaml", "\n".join(lines) + "\n")
mk = [f"STAMPS ?= {out}/.make", ".PHONY: all", "all: " + " ".join(f"m{i:05d}" for i in range(n))]
for i in range(n):
    mk.append(f"m{i:05d}: " + " ".join(f"m{j:05d}" for j in deps[i]))
    mk.append(f"\t@HYOPS_OUTPUTS_FILE=/dev/null {out}/packs/shell/noop/run.sh && touch $(STAMPS)/m{i:05d}")
os.makedirs(f"{out}/.make", exist_ok=True)
w(f"{out}/Makefile", "\n".join(mk) + "\n")
