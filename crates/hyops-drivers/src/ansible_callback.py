# hyops_events: the callback plugin hyops' ansible driver writes into the attempt's private io dir
# and enables with ANSIBLE_CALLBACKS_ENABLED. It appends one JSON object per line to the file named
# by HYOPS_ANSIBLE_EVENTS: every task result per host (ok, changed, failed, skipped, unreachable,
# with task name, action, duration and msg), the play recap and set_stats data. It also enforces
# the profile's version requirement before any play starts (HYOPS_ANSIBLE_VERSION_REQ), so hyops
# needs no separate `ansible --version` process. Written against the v2 callback API of
# ansible-core 2.19 (`result.result`), with a fallback to `result._result` for older cores.
from __future__ import annotations

import json
import os
import re
import time

from ansible import release
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: hyops_events
    type: aggregate
    short_description: per-task JSON lines events for hyops evidence
    description:
      - Writes task results, the play recap and set_stats data as JSON lines.
    requirements:
      - HYOPS_ANSIBLE_EVENTS names the events file.
"""

# Exit status when the version requirement fails: nothing has run yet.
VERSION_MISMATCH_EXIT = 86
MSG_LIMIT = 4000


def _now_ms():
    return int(time.time() * 1000)


def _text(value, limit=MSG_LIMIT):
    if value is None:
        return None
    if not isinstance(value, str):
        try:
            value = json.dumps(value, sort_keys=True, default=str)
        except (TypeError, ValueError):
            value = str(value)
    return value if len(value) <= limit else value[:limit] + "..."


def _version_triple(text):
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def _satisfies(found, requirement):
    compare = {
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b,
        "==": lambda a, b: a == b,
    }
    return all(compare[op](found, tuple(bound)) for op, bound in requirement)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "hyops_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        path = os.environ.get("HYOPS_ANSIBLE_EVENTS")
        self._out = open(path, "a", encoding="utf-8") if path else None
        self._play = None
        self._task_started = {}
        self._host_started = {}

    def _emit(self, event, **fields):
        if self._out is None:
            return
        fields["event"] = event
        fields["at_ms"] = _now_ms()
        self._out.write(json.dumps(fields, sort_keys=True, default=str) + "\n")
        self._out.flush()

    def v2_playbook_on_start(self, playbook):
        version = release.__version__
        self._emit("start", ansible_version=version, playbook=os.path.basename(playbook._file_name))
        requirement = os.environ.get("HYOPS_ANSIBLE_VERSION_REQ")
        if not requirement:
            return
        found = _version_triple(version)
        if found is None or not _satisfies(found, json.loads(requirement)):
            self._emit("version_mismatch", ansible_version=version)
            self._out and self._out.close()
            # No play has started: leaving now is the cheapest way to refuse the run.
            os._exit(VERSION_MISMATCH_EXIT)

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()
        self._emit("play_start", play=self._play)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_started[task._uuid] = _now_ms()

    def v2_playbook_on_handler_task_start(self, task):
        self._task_started[task._uuid] = _now_ms()

    def v2_runner_on_start(self, host, task):
        self._host_started[(host.get_name(), task._uuid)] = _now_ms()

    def v2_playbook_on_no_hosts_matched(self):
        self._emit("no_hosts_matched", play=self._play)

    def _task_event(self, status, result, ignore_errors=False):
        data = getattr(result, "result", None)
        if data is None:
            data = getattr(result, "_result", {}) or {}
        task = result.task
        host = result.host.get_name()
        started = self._host_started.pop((host, task._uuid), None) or self._task_started.get(task._uuid)
        if status == "ok" and data.get("changed"):
            status = "changed"
        msg = data.get("msg")
        if msg is None and status == "failed":
            failed_items = [r for r in data.get("results", []) if isinstance(r, dict) and r.get("failed")]
            if failed_items:
                msg = failed_items[0].get("msg")
        fields = {
            "status": status,
            "host": host,
            "task": task.get_name(),
            "action": task.action,
            "play": self._play,
            "duration_ms": (_now_ms() - started) if started else None,
            "msg": _text(msg),
        }
        if ignore_errors:
            fields["ignored"] = True
        if status == "failed":
            if "rc" in data:
                fields["rc"] = data.get("rc")
            stderr = data.get("stderr")
            if stderr:
                fields["stderr"] = _text(stderr)
        if status == "skipped" and data.get("skip_reason"):
            fields["msg"] = _text(data.get("skip_reason"))
        self._emit("task", **fields)

    def v2_runner_on_ok(self, result):
        self._task_event("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._task_event("failed", result, ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._task_event("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._task_event("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        hosts = {host: stats.summarize(host) for host in sorted(stats.processed.keys())}
        self._emit("recap", hosts=hosts, stats=getattr(stats, "custom", {}) or {})
        if self._out is not None:
            self._out.close()
            self._out = None
