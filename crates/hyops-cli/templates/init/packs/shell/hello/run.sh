#!/bin/sh
# Shell driver contract: called as `run.sh plan|apply|destroy` in the attempt's work dir (a copy of
# this pack). Inputs arrive as HYOPS_INPUT_<NAME> (non-secret) and in the JSON file
# $HYOPS_INPUTS_FILE (all, secrets included); raw outputs go as a JSON object to $HYOPS_OUTPUTS_FILE.
set -eu

stage="${1:?usage: run.sh plan|apply|destroy}"
outputs_file="${HYOPS_OUTPUTS_FILE:-outputs.json}"
message="${HYOPS_INPUT_GREETING:?}, ${HYOPS_INPUT_AUDIENCE:?}!"
# Not in the work dir: hyops removes a passed attempt's work dir, and a published path must outlive it.
greeting_file="${HYOPS_INPUT_OUT_DIR:?}/greeting.txt"

# write_outputs KEY VALUE [KEY VALUE ...]: the raw outputs, as one JSON object of strings.
write_outputs() {
  python3 -c 'import json, sys
pairs = sys.argv[2:]
json.dump(dict(zip(pairs[0::2], pairs[1::2])), open(sys.argv[1], "w"))' "$outputs_file" "$@"
}

case "$stage" in
  plan)
    echo "would write '$message' to $greeting_file"
    write_outputs
    ;;
  apply)
    mkdir -p "$HYOPS_INPUT_OUT_DIR"
    printf '%s\n' "$message" > "$greeting_file"
    echo "wrote '$message' to $greeting_file"
    write_outputs message "$message" greeting_file "$greeting_file"
    ;;
  destroy)
    rm -f "$greeting_file"
    write_outputs
    ;;
  *)
    echo "unknown stage: $stage (expected plan, apply or destroy)" >&2
    exit 2
    ;;
esac
