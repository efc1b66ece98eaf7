#!/usr/bin/env python3
"""Generate a synthetic hyops catalog with N shell modules (deterministic; no randomness).

usage: gen_catalog.py DIR N
"""
import os
import sys


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def main():
    root, n = sys.argv[1], int(sys.argv[2])
    write(f"{root}/hyops.yaml", "apiVersion: hyops/v1\nkind: Catalog\nname: bench\n")
    write(
        f"{root}/profiles/shell-default.yaml",
        "apiVersion: hyops/v1\nkind: Profile\nname: shell-default\nversion: 1.0.0\ndriver: shell\n"
        "execution:\n  timeout: 60s\n  retries: { max_attempts: 1 }\n",
    )
    write(
        f"{root}/packs/shell/noop/pack.yaml",
        "apiVersion: hyops/v1\nkind: Pack\nid: noop\nversion: 1.2.0\ndriver: shell\nentry: run.sh\n",
    )
    write(f"{root}/packs/shell/noop/run.sh", "#!/bin/sh\necho '{}' > \"$HYOPS_OUTPUTS_FILE\"\n", 0o755)
    for env in ("dev", "prod"):
        write(
            f"{root}/environments/{env}.yaml",
            f"apiVersion: hyops/v1\nkind: Environment\nname: {env}\ninputs:\n  \"*\":\n    region: {env}-1\n",
        )
    for i in range(n):
        group = f"g{i // 100:03d}"
        mid = f"{group}/m{i:05d}"
        write(
            f"{root}/modules/{mid}/module.yaml",
            f"""apiVersion: hyops/v1
kind: Module
id: {mid}
version: 1.0.0
description: synthetic module {i}
inputs:
  region: {{ type: string }}
  size: {{ type: integer, minimum: 1, default: {i % 7 + 1} }}
  name: {{ type: string, default: "m{i}" }}
execution:
  driver: shell
  profile: shell-default
  pack_ref: {{ id: noop@1 }}
outputs:
  publish:
    name: {{ from: name }}
probes:
  - {{ name: has-name, output: {{ name: name, matches: "^m" }} }}
""",
        )


if __name__ == "__main__":
    main()
