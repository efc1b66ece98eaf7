//! How a run shows progress: a spinner with stage and elapsed time on a terminal, plain lines in
//! CI or when piped, nothing with `--output json`. Every event also goes to `hyops.log`.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::render::stderr_line;
use hyops_evidence::{LogLevel, RotatingLog};
use hyops_runner::{Progress, RunEvent};
use indicatif::{ProgressBar, ProgressStyle};

/// Size at which `hyops.log` rotates, and how many old files are kept.
const LOG_MAX_BYTES: u64 = 10 * 1024 * 1024;
const LOG_KEEP: usize = 3;

enum Mode {
    Spinner(ProgressBar),
    Plain,
    Silent,
}

/// The console side of a run.
pub struct ConsoleProgress {
    mode: Mode,
    label: String,
    log: Option<Mutex<RotatingLog>>,
}

impl std::fmt::Debug for ConsoleProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleProgress")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl ConsoleProgress {
    /// Chooses the mode: `silent` for JSON output or `-q`; a spinner when stderr is a terminal
    /// and `CI` is unset; plain lines otherwise.
    pub fn new(label: String, silent: bool, state_dir: &Path) -> Self {
        let mode = if silent {
            Mode::Silent
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            Mode::Spinner(bar)
        } else {
            Mode::Plain
        };
        let log = RotatingLog::open(&state_dir.join("hyops.log"), LOG_MAX_BYTES, LOG_KEEP)
            .ok()
            .map(Mutex::new);
        Self { mode, label, log }
    }

    /// Clears the spinner before the final report is printed.
    pub fn finish(&self) {
        if let Mode::Spinner(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }

    fn status(&self, text: &str) {
        match &self.mode {
            Mode::Spinner(bar) => bar.set_message(text.to_owned()),
            Mode::Plain => stderr_line(&format!("[hyops] {} {text}", self.label)),
            Mode::Silent => {}
        }
    }

    fn above(&self, text: &str) {
        match &self.mode {
            Mode::Spinner(bar) => bar.println(text),
            Mode::Plain => stderr_line(text),
            Mode::Silent => {}
        }
    }

    fn log(&self, level: LogLevel, msg: &str) {
        if let Some(log) = &self.log
            && let Ok(mut log) = log.lock()
        {
            let _ = log.log(SystemTime::now(), level, "runner", msg);
        }
    }
}

impl Progress for ConsoleProgress {
    fn event(&self, event: &RunEvent) {
        match event {
            RunEvent::RunCreated {
                run_id,
                target,
                env,
            } => {
                self.status(&format!("run {run_id}"));
                self.log(
                    LogLevel::Info,
                    &format!("run {run_id} of {target} in {env} created"),
                );
            }
            RunEvent::AttemptStarted {
                attempt,
                max_attempts,
            } => {
                self.status(&format!("attempt {attempt}/{max_attempts}"));
                self.log(
                    LogLevel::Info,
                    &format!("{} attempt {attempt}/{max_attempts} started", self.label),
                );
            }
            RunEvent::Phase { name } => self.status(name),
            RunEvent::Step { n, name } => self.status(&format!("driver step {n}: {name}")),
            RunEvent::Output { stream, line } => {
                let bar = if *stream == "stderr" { "!" } else { "|" };
                self.above(&format!("  {bar} {line}"));
            }
            RunEvent::Probe(result) => {
                let mark = if result.passed { "ok  " } else { "FAIL" };
                self.above(&format!(
                    "  probe {mark} {} ({} tries, {} ms)",
                    result.name, result.tries, result.duration_ms
                ));
                if !result.passed {
                    self.above(&format!("       {}", result.message));
                }
            }
            RunEvent::AttemptFinished {
                attempt,
                status,
                message,
            } => {
                self.above(&format!("  attempt {attempt}: {status}"));
                let level = if *status == hyops_contract::AttemptStatus::Passed {
                    LogLevel::Info
                } else {
                    LogLevel::Warn
                };
                self.log(
                    level,
                    &format!(
                        "{} attempt {attempt} {status}{}",
                        self.label,
                        message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ),
                );
            }
            RunEvent::Retrying {
                next_attempt,
                backoff_ms,
            } => {
                self.status(&format!(
                    "retrying (attempt {next_attempt}) in {backoff_ms} ms"
                ));
            }
            RunEvent::WaitingForLock { holder } => {
                self.status(&format!("waiting for the lock held by {holder}"));
                self.log(
                    LogLevel::Info,
                    &format!("{} waiting for lock held by {holder}", self.label),
                );
            }
        }
    }
}
