//! How a stack run shows progress: one spinner line per running member on a terminal, plain
//! prefixed lines in CI or when piped, nothing with `--output json`. Tool output of parallel
//! members is prefixed with the member name and always written as whole lines (one write per
//! line under a lock, or indicatif's `println`), so lines never interleave mid-line.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::render::stderr_line;
use hyops_runner::{MemberReport, Progress, RunEvent, StackProgress};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

enum Mode {
    Bars(MultiProgress),
    Plain,
    Silent,
}

/// The console side of a stack run.
pub struct StackConsole {
    mode: Mode,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    width: usize,
}

impl std::fmt::Debug for StackConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackConsole").finish_non_exhaustive()
    }
}

impl StackConsole {
    /// Chooses the mode like [`crate::progress_view::ConsoleProgress`]; `members` sets the
    /// prefix width so columns line up.
    pub fn new<'a>(silent: bool, members: impl Iterator<Item = &'a str>) -> Arc<Self> {
        let mode = if silent {
            Mode::Silent
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            Mode::Bars(MultiProgress::new())
        } else {
            Mode::Plain
        };
        let width = members.map(str::len).max().unwrap_or(0);
        Arc::new(Self {
            mode,
            bars: Mutex::new(BTreeMap::new()),
            width,
        })
    }

    /// Whole lines above the progress bars, each prefixed (a multi-line reason keeps its
    /// `help:` attributed to the member).
    fn line(&self, member: &str, text: &str) {
        let line = text
            .lines()
            .map(|l| format!("{member:<w$} | {l}", w = self.width))
            .collect::<Vec<_>>()
            .join("\n");
        match &self.mode {
            Mode::Bars(multi) => {
                let _ = multi.println(line);
            }
            Mode::Plain => stderr_line(&line),
            Mode::Silent => {}
        }
    }

    fn status(&self, member: &str, text: &str) {
        match &self.mode {
            Mode::Bars(_) => {
                if let Some(bar) = self
                    .bars
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(member)
                {
                    bar.set_message(text.to_owned());
                }
            }
            Mode::Plain => self.line(member, text),
            Mode::Silent => {}
        }
    }

    /// Removes every bar before the summary is printed.
    pub fn finish(&self) {
        let bars = std::mem::take(&mut *self.bars.lock().unwrap_or_else(PoisonError::into_inner));
        for bar in bars.values() {
            bar.finish_and_clear();
        }
    }
}

struct MemberConsole {
    console: Arc<StackConsole>,
    member: String,
}

impl Progress for MemberConsole {
    fn event(&self, event: &RunEvent) {
        let c = &self.console;
        let m = &self.member;
        match event {
            RunEvent::RunCreated { run_id, .. } => c.status(m, &format!("run {run_id}")),
            RunEvent::AttemptStarted {
                attempt,
                max_attempts,
            } => c.status(m, &format!("attempt {attempt}/{max_attempts}")),
            RunEvent::Phase { name } => c.status(m, name),
            RunEvent::Step { n, name } => c.status(m, &format!("driver step {n}: {name}")),
            RunEvent::Output { stream, line } => {
                let bar = if *stream == "stderr" { "!" } else { " " };
                c.line(m, &format!("{bar} {line}"));
            }
            RunEvent::Probe(result) => {
                let mark = if result.passed { "ok  " } else { "FAIL" };
                c.line(m, &format!("probe {mark} {}", result.name));
                if !result.passed {
                    c.line(m, &format!("      {}", result.message));
                }
            }
            RunEvent::AttemptFinished {
                attempt, status, ..
            } => c.line(m, &format!("attempt {attempt}: {status}")),
            RunEvent::Retrying { next_attempt, .. } => {
                c.status(m, &format!("retrying (attempt {next_attempt})"));
            }
            RunEvent::WaitingForLock { holder } => {
                c.status(m, &format!("waiting for the lock held by {holder}"));
            }
        }
    }
}

/// The [`StackProgress`] of a console.
#[derive(Debug)]
pub struct StackConsoleProgress(pub Arc<StackConsole>);

impl StackProgress for StackConsoleProgress {
    fn member_progress(&self, member: &str) -> Arc<dyn Progress> {
        Arc::new(MemberConsole {
            console: Arc::clone(&self.0),
            member: member.to_owned(),
        })
    }

    fn member_started(&self, member: &str, why: &str) {
        let c = &self.0;
        if let Mode::Bars(multi) = &c.mode {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(format!("{member:<w$}", w = c.width));
            bar.enable_steady_tick(Duration::from_millis(100));
            c.bars
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(member.to_owned(), bar);
        }
        // The reason reads "ran: …" in the summary; when the member starts it has not yet.
        let why = match why.strip_prefix("ran") {
            Some(rest) => format!("started{rest}"),
            None => why.to_owned(),
        };
        c.line(member, &why);
    }

    fn member_finished(&self, report: &MemberReport) {
        let c = &self.0;
        if let Some(bar) = c
            .bars
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&report.member)
        {
            bar.finish_and_clear();
        }
        if report.reused {
            // The reason reads "reused: fingerprint unchanged since run …".
            c.line(&report.member, &report.reason);
        } else {
            let status = report.status.as_str();
            c.line(&report.member, &format!("{status}: {}", report.reason));
        }
    }
}
