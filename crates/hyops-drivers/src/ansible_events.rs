//! Reading what the bundled callback wrote (one JSON object per line): task results per host,
//! the play recap and `set_stats` data; turning them into hyops' summary, failure message,
//! result details and raw outputs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// How many failures a failure message lists before it says "and N more".
const MAX_LISTED: usize = 5;

/// The status of one task on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Nothing to do.
    Ok,
    /// Changed something (or would have, in check mode).
    Changed,
    /// Failed.
    Failed,
    /// Skipped by a condition.
    Skipped,
    /// The host could not be reached.
    Unreachable,
}

/// One task result on one host.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskResult {
    /// What happened.
    pub status: TaskStatus,
    /// Inventory host name.
    pub host: String,
    /// Task name (ansible's: the action when the task has no name).
    pub task: String,
    /// Module or action.
    #[serde(default)]
    pub action: Option<String>,
    /// The result's `msg`.
    #[serde(default)]
    pub msg: Option<String>,
    /// A failure the play ignored (`ignore_errors`).
    #[serde(default)]
    pub ignored: bool,
    /// A command's exit code.
    #[serde(default)]
    pub rc: Option<i64>,
    /// A command's stderr (bounded by the callback).
    #[serde(default)]
    pub stderr: Option<String>,
}

/// Counts per host from the play recap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HostStats {
    /// Tasks ok (changed ones included).
    pub ok: u64,
    /// Tasks that changed something.
    pub changed: u64,
    /// Failed tasks.
    pub failures: u64,
    /// Unreachable.
    pub unreachable: u64,
    /// Skipped tasks.
    pub skipped: u64,
    /// Rescued failures.
    pub rescued: u64,
    /// Ignored failures.
    pub ignored: u64,
}

/// Everything the callback reported for one `ansible-playbook` run.
#[derive(Debug, Clone, Default)]
pub struct PlaybookEvents {
    /// ansible-core's version as the callback read it.
    pub ansible_version: Option<String>,
    /// The callback refused the version requirement before any play.
    pub version_mismatch: bool,
    /// Task results in the order they came.
    pub tasks: Vec<TaskResult>,
    /// The play recap, when the run got that far.
    pub recap: Option<BTreeMap<String, HostStats>>,
    /// `set_stats` data (`_run` holds the aggregated, not per-host, data).
    pub stats: Map<String, Value>,
    /// Every event as written, for the evidence.
    pub lines: Vec<Map<String, Value>>,
    /// Lines that were not JSON objects (a callback killed mid-line).
    pub unreadable_lines: usize,
}

impl PlaybookEvents {
    /// Parses the events file's bytes; never fails (what cannot be read is counted).
    pub fn parse(bytes: &[u8]) -> Self {
        let mut events = Self::default();
        for line in bytes.split(|b| *b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(line) else {
                events.unreadable_lines += 1;
                continue;
            };
            match object.get("event").and_then(Value::as_str) {
                Some("start") => {
                    events.ansible_version = object
                        .get("ansible_version")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                }
                Some("version_mismatch") => events.version_mismatch = true,
                Some("task") => match serde_json::from_value(Value::Object(object.clone())) {
                    Ok(task) => events.tasks.push(task),
                    Err(_) => events.unreadable_lines += 1,
                },
                Some("recap") => {
                    events.recap = object
                        .get("hosts")
                        .and_then(|h| serde_json::from_value(h.clone()).ok());
                    if let Some(Value::Object(stats)) = object.get("stats") {
                        events.stats = stats.clone();
                    }
                }
                _ => {}
            }
            events.lines.push(object);
        }
        events
    }

    /// Failed (not ignored) and unreachable results.
    pub fn problems(&self) -> Vec<&TaskResult> {
        self.tasks
            .iter()
            .filter(|t| {
                t.status == TaskStatus::Unreachable
                    || (t.status == TaskStatus::Failed && !t.ignored)
            })
            .collect()
    }

    /// Whether any host was unreachable.
    pub fn any_unreachable(&self) -> bool {
        self.tasks
            .iter()
            .any(|t| t.status == TaskStatus::Unreachable)
    }

    /// An actionable message naming each failed task, its host and ansible's message; `None`
    /// when no task failed (the playbook itself may still have, e.g. a syntax error).
    pub fn failure_message(&self, env: &str) -> Option<String> {
        let problems = self.problems();
        if problems.is_empty() {
            return None;
        }
        let mut out = String::new();
        for (i, t) in problems.iter().take(MAX_LISTED).enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let msg = t.msg.as_deref().unwrap_or("(no message)");
            match t.status {
                TaskStatus::Unreachable => {
                    let _ = write!(
                        out,
                        "host `{}` is unreachable (task `{}`): {msg}",
                        t.host, t.task
                    );
                }
                _ => {
                    let _ = write!(out, "task `{}` failed on host `{}`: {msg}", t.task, t.host);
                    if let Some(rc) = t.rc {
                        let _ = write!(out, " (rc {rc})");
                    }
                    if let Some(stderr) =
                        t.stderr.as_deref().map(str::trim).filter(|s| !s.is_empty())
                    {
                        let _ = write!(out, "\n  stderr: {}", stderr.replace('\n', "\n          "));
                    }
                }
            }
        }
        if problems.len() > MAX_LISTED {
            let _ = write!(
                out,
                "\n... and {} more (see events.jsonl)",
                problems.len() - MAX_LISTED
            );
        }
        if self.any_unreachable() {
            let _ = write!(
                out,
                "\nhelp: check the address and connection settings of the host under `hosts` in environments/{env}.yaml, and that it is up"
            );
        }
        Some(out)
    }

    /// Totals over hosts: `ok=3 changed=1 failed=0 unreachable=0 skipped=1` (check mode says
    /// what would change).
    pub fn summary(&self, check_mode: bool) -> String {
        let mut total = HostStats::default();
        if let Some(recap) = &self.recap {
            for s in recap.values() {
                total.ok += s.ok;
                total.changed += s.changed;
                total.failures += s.failures;
                total.unreachable += s.unreachable;
                total.skipped += s.skipped;
            }
        } else {
            for t in &self.tasks {
                match t.status {
                    TaskStatus::Ok => total.ok += 1,
                    TaskStatus::Changed => {
                        total.ok += 1;
                        total.changed += 1;
                    }
                    TaskStatus::Failed => total.failures += 1,
                    TaskStatus::Unreachable => total.unreachable += 1,
                    TaskStatus::Skipped => total.skipped += 1,
                }
            }
        }
        let hosts = self.recap.as_ref().map_or(0, BTreeMap::len);
        let what = if check_mode {
            format!("Check: {} would change", total.changed)
        } else {
            format!("Recap: changed={}", total.changed)
        };
        format!(
            "{what}, ok={} failed={} unreachable={} skipped={} ({hosts} host{})",
            total.ok,
            total.failures,
            total.unreachable,
            total.skipped,
            if hosts == 1 { "" } else { "s" }
        )
    }

    /// Raw outputs: the aggregated `set_stats` data (`per_host: false`, ansible's default).
    pub fn stats_outputs(&self) -> Map<String, Value> {
        match self.stats.get("_run") {
            Some(Value::Object(run)) => run.clone(),
            _ => Map::new(),
        }
    }

    /// The details result.json keeps under `driver`: tool version, check mode, recap per host.
    pub fn details(&self, check_mode: bool, exit_code: Option<i32>) -> Map<String, Value> {
        let recap: Map<String, Value> = self
            .recap
            .iter()
            .flatten()
            .map(|(host, s)| {
                (
                    host.clone(),
                    json!({
                        "ok": s.ok, "changed": s.changed, "failures": s.failures,
                        "unreachable": s.unreachable, "skipped": s.skipped,
                        "rescued": s.rescued, "ignored": s.ignored,
                    }),
                )
            })
            .collect();
        let mut details = Map::new();
        details.insert("tool".into(), json!("ansible-playbook"));
        details.insert("ansible_version".into(), json!(self.ansible_version));
        details.insert("check_mode".into(), json!(check_mode));
        details.insert("rc".into(), json!(exit_code));
        details.insert("recap".into(), Value::Object(recap));
        details.insert("tasks".into(), json!(self.tasks.len()));
        details
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"ansible_version": "2.19.14", "at_ms": 1, "event": "start", "playbook": "site.yml"}
{"at_ms": 2, "event": "play_start", "play": "local"}
{"action": "copy", "at_ms": 3, "duration_ms": 1690, "event": "task", "host": "localhost", "msg": null, "play": "local", "status": "changed", "task": "write"}
{"action": "command", "at_ms": 4, "duration_ms": 7, "event": "task", "host": "localhost", "ignored": true, "msg": "non-zero return code", "rc": 1, "status": "failed", "task": "ignored"}
{"action": "command", "at_ms": 5, "duration_ms": 7, "event": "task", "host": "web1", "msg": "non-zero return code", "rc": 2, "stderr": "boom", "status": "failed", "task": "break"}
{"action": "ping", "at_ms": 6, "duration_ms": 52, "event": "task", "host": "ghost", "msg": "Failed to connect", "status": "unreachable", "task": "ping"}
{"at_ms": 7, "event": "recap", "hosts": {"ghost": {"unreachable": 1}, "localhost": {"changed": 1, "ok": 2, "ignored": 1}}, "stats": {"_run": {"url": "http://x"}}}
{"event": "task", "trunc"#;

    #[test]
    fn events_give_tasks_recap_outputs_and_a_message_naming_task_host_and_msg() {
        let events = PlaybookEvents::parse(SAMPLE.as_bytes());
        assert_eq!(events.ansible_version.as_deref(), Some("2.19.14"));
        assert_eq!(events.tasks.len(), 4);
        assert_eq!(events.unreadable_lines, 1);
        assert_eq!(events.lines.len(), 7);
        assert_eq!(events.stats_outputs()["url"], "http://x");
        let message = events.failure_message("dev").unwrap();
        assert!(
            message.starts_with(
                "task `break` failed on host `web1`: non-zero return code (rc 2)\n  stderr: boom\nhost `ghost` is unreachable (task `ping`): Failed to connect\nhelp: "
            ),
            "{message}"
        );
        assert!(message.contains("environments/dev.yaml"), "{message}");
        assert_eq!(
            events.summary(false),
            "Recap: changed=1, ok=2 failed=0 unreachable=1 skipped=0 (2 hosts)"
        );
        assert_eq!(
            events.details(false, Some(2))["recap"]["ghost"]["unreachable"],
            1
        );
    }

    #[test]
    fn a_run_without_failures_has_no_failure_message() {
        let events = PlaybookEvents::parse(
            SAMPLE
                .lines()
                .take(4)
                .collect::<Vec<_>>()
                .join("\n")
                .as_bytes(),
        );
        assert_eq!(events.failure_message("dev"), None);
        assert!(events.summary(true).starts_with("Check: 1 would change"));
    }
}
