//! Integration tests of hyops-process against real processes started through /bin/sh.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture;
mod exit_and_output;
mod isolation;
mod stopping;

use std::path::Path;
use std::time::Duration;

use hyops_process::{DiscardSink, OutputLine, ProcessIo, ProcessOutcome, ProcessSpec};

/// A `/bin/sh -c script` spec with a minimal PATH, run in `dir`.
pub fn sh(dir: &Path, script: &str) -> ProcessSpec {
    ProcessSpec::new("/bin/sh", dir)
        .arg("-c")
        .arg(script)
        .env("PATH", "/usr/bin:/bin")
        .kill_grace(Duration::from_millis(500))
}

/// Runs and collects every line.
pub async fn run_lines(spec: &ProcessSpec) -> (ProcessOutcome, Vec<OutputLine>) {
    let mut lines = Vec::new();
    let outcome = hyops_process::run(spec, ProcessIo::new(&mut lines))
        .await
        .unwrap();
    (outcome, lines)
}

/// Runs and drops the output.
pub async fn run_quiet(spec: &ProcessSpec) -> ProcessOutcome {
    let mut sink = DiscardSink;
    hyops_process::run(spec, ProcessIo::new(&mut sink))
        .await
        .unwrap()
}

/// Whether a process with this pid still exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3 is the state; a zombie ("Z") is dead for our purposes.
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Whether `pid` is gone within `within`: signals are delivered asynchronously, so a process that
/// was sent SIGKILL may still be scheduled for a moment on a loaded machine.
pub fn gone_within(pid: i32, within: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if !alive(pid) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Reads a pid a script wrote, waiting briefly for the file to appear.
pub fn read_pid(path: &Path) -> i32 {
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no pid written to {}", path.display());
}
