#!/bin/sh
# Shell driver contract: called as `run.sh plan|apply|destroy` in the attempt's work dir (a copy of
# this pack). The secret `api_token` is only in $HYOPS_INPUTS_FILE (mode 0600), never in the
# environment: it is read by python and never passes through a shell variable, argv or stdout.
set -eu

stage="${1:?usage: run.sh plan|apply|destroy}"
outputs_file="${HYOPS_OUTPUTS_FILE:-outputs.json}"
data_dir="${HYOPS_INPUT_DATA_DIR:?data_dir input is required}"
: "${HYOPS_INPUTS_FILE:?the inputs file is required (it holds the api_token secret)}"
state="$data_dir/app-config"
config="$state/config.json"

case "$stage" in
  plan)
    echo "would write $config for ${HYOPS_INPUT_APP_NAME:?} (${HYOPS_INPUT_REPLICAS:?} replicas)"
    echo '{}' > "$outputs_file"
    ;;
  apply)
    mkdir -p "$state"
    python3 - "$config" "$outputs_file" <<'PY'
import hashlib, json, os, sys
config_path, outputs_path = sys.argv[1], sys.argv[2]
with open(os.environ["HYOPS_INPUTS_FILE"]) as f:
    inputs = json.load(f)
token = inputs["api_token"]
config = {"app_name": inputs["app_name"], "replicas": inputs["replicas"], "api_token": token}
tmp = config_path + ".tmp"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(config, f, indent=2, sort_keys=True)
os.chmod(tmp, 0o600)
os.replace(tmp, config_path)
outputs = {
    "config_path": config_path,
    "token_fingerprint": "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16],
    "replicas": inputs["replicas"],
}
with open(outputs_path, "w") as f:
    json.dump(outputs, f)
print("wrote %s for %s (%d replicas)" % (config_path, inputs["app_name"], inputs["replicas"]))
PY
    ;;
  destroy)
    rm -rf "$state"
    echo "removed $state"
    echo '{}' > "$outputs_file"
    ;;
  *)
    echo "unknown stage: $stage (expected plan, apply or destroy)" >&2
    exit 2
    ;;
esac
