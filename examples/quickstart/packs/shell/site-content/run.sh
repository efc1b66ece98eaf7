#!/bin/sh
# Shell driver contract: called as `run.sh plan|apply|destroy` in the attempt's work dir (a copy of
# this pack). Non-secret inputs arrive as HYOPS_INPUT_<NAME>, all inputs in the JSON file
# $HYOPS_INPUTS_FILE; raw outputs go as one JSON object to $HYOPS_OUTPUTS_FILE. State lives under
# the `data_dir` input, never in the work dir (hyops discards it) nor in hyops' state dir.
set -eu

stage="${1:?usage: run.sh plan|apply|destroy}"
outputs_file="${HYOPS_OUTPUTS_FILE:-outputs.json}"
data_dir="${HYOPS_INPUT_DATA_DIR:?data_dir input is required}"
greeting="${HYOPS_INPUT_GREETING:?}"
title="${HYOPS_INPUT_TITLE:?}"
site_dir="$data_dir/site-content/www"
index_file="$site_dir/index.html"

# write_outputs KEY VALUE [KEY VALUE ...]: the raw outputs, as one JSON object of strings.
write_outputs() {
  python3 -c 'import json, sys
pairs = sys.argv[2:]
json.dump(dict(zip(pairs[0::2], pairs[1::2])), open(sys.argv[1], "w"))' "$outputs_file" "$@"
}

case "$stage" in
  plan)
    echo "would render $index_file (title: $title, greeting: $greeting)"
    write_outputs
    ;;
  apply)
    mkdir -p "$site_dir"
    # Rendered by python so the greeting and title are HTML-escaped; written via rename so a
    # server never sees half a page. Re-running apply rewrites the same bytes (idempotent).
    python3 - "$index_file" "$title" "$greeting" <<'PY'
import html, os, sys
path, title, greeting = sys.argv[1:4]
page = (
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n"
    "<body><h1>%s</h1><p>%s</p></body></html>\n"
) % (html.escape(title), html.escape(title), html.escape(greeting))
tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write(page)
os.replace(tmp, path)
PY
    echo "rendered $index_file"
    write_outputs site_dir "$site_dir" index_file "$index_file"
    ;;
  destroy)
    rm -rf "$data_dir/site-content"
    echo "removed $data_dir/site-content"
    write_outputs
    ;;
  *)
    echo "unknown stage: $stage (expected plan, apply or destroy)" >&2
    exit 2
    ;;
esac
