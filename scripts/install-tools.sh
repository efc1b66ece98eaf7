#!/usr/bin/env bash
# Sourced by scripts/test.sh: installs the real tools tests drive, only when missing, and exports
# the variables tests read to find them. Registries only (crates.io, PyPI, Debian).
set -euo pipefail
export CHECKPOINT_DISABLE=1
