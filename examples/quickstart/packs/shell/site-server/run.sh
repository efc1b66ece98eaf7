#!/bin/sh
# Shell driver contract: called as `run.sh plan|apply|destroy` in the attempt's work dir (a copy of
# this pack). Non-secret inputs arrive as HYOPS_INPUT_<NAME>; raw outputs go as one JSON object to
# $HYOPS_OUTPUTS_FILE. The server runs detached (own session, stdio on files) so it outlives the
# attempt and never holds the driver's pipes open; its pid file lives under the `data_dir` input.
set -eu

stage="${1:?usage: run.sh plan|apply|destroy}"
outputs_file="${HYOPS_OUTPUTS_FILE:-outputs.json}"
data_dir="${HYOPS_INPUT_DATA_DIR:?data_dir input is required}"
port="${HYOPS_INPUT_PORT:?port input is required}"
greeting="${HYOPS_INPUT_GREETING:?}"
state="$data_dir/site-server"
pid_file="$state/server.pid"
log_file="$state/server.log"
url="http://127.0.0.1:$port"
# Serve the wired site (stack) when given, else our own page.
www="${HYOPS_INPUT_SITE_DIR:-}"
[ -n "$www" ] || www="$state/www"

write_outputs() {
  python3 -c 'import json, sys
pairs = sys.argv[2:]
json.dump(dict(zip(pairs[0::2], pairs[1::2])), open(sys.argv[1], "w"))' "$outputs_file" "$@"
}

# alive PID: the process exists and is not a zombie waiting for a parent that never reaps it.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]
}

# Prints the pid of our server if one runs; a recycled pid (another program) does not count.
server_pid() {
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  alive "$pid" || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q 'http.server' || return 1
  fi
  echo "$pid"
}

# The command line the server should have; a server started with other inputs is restarted.
wanted="http.server --bind 127.0.0.1 $port --directory $www"

stop_server() {
  pid=$(server_pid) || { rm -f "$pid_file"; return 0; }
  kill "$pid" 2>/dev/null || true
  i=0
  while alive "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pid_file"
  echo "stopped server (pid $pid)"
}

start_server() {
  launcher=""
  command -v setsid >/dev/null 2>&1 && launcher="setsid"
  # nohup and setsid exec in place, so $! is the python process itself.
  nohup $launcher python3 -m http.server --bind 127.0.0.1 "$port" --directory "$www" \
    >"$log_file" 2>&1 </dev/null &
  echo $! > "$pid_file"
  # Ready when our process is alive AND the port answers (another program may hold the port).
  if ! python3 - "$(cat "$pid_file")" "$port" <<'PY'
import os, socket, sys, time
pid, port = int(sys.argv[1]), int(sys.argv[2])
def alive():
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False
deadline = time.time() + 10
while time.time() < deadline:
    if not alive():
        sys.exit(1)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        time.sleep(0.2)
        sys.exit(0 if alive() else 1)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
  then
    echo "server did not start on 127.0.0.1:$port; its log:" >&2
    cat "$log_file" >&2 || true
    stop_server >/dev/null
    exit 1
  fi
  echo "started server on $url (pid $(cat "$pid_file"))"
}

case "$stage" in
  plan)
    if pid=$(server_pid); then
      echo "server already running (pid $pid); would keep or restart it on $url"
    else
      echo "would start a server on $url serving $www"
    fi
    write_outputs
    ;;
  apply)
    mkdir -p "$state"
    if [ -z "${HYOPS_INPUT_SITE_DIR:-}" ]; then
      mkdir -p "$www"
      python3 -c 'import html, sys
open(sys.argv[1], "w").write("<!doctype html><p>%s</p>\n" % html.escape(sys.argv[2]))' "$www/index.html" "$greeting"
    fi
    if pid=$(server_pid); then
      if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$wanted"; then
        echo "server already running on $url (pid $pid)"
      else
        stop_server
        start_server
      fi
    else
      start_server
    fi
    write_outputs url "$url" pid_file "$pid_file"
    ;;
  destroy)
    stop_server
    rm -rf "$state"
    write_outputs
    ;;
  *)
    echo "unknown stage: $stage (expected plan, apply or destroy)" >&2
    exit 2
    ;;
esac
