//! hyops as packer's wrapper. Run plainly, `packer` starts a second copy of itself under
//! `panicwrap` and stays as the parent: it gives the run a `PACKER_RUN_UUID`, sends the child's
//! log (stderr) to `PACKER_LOG_PATH` or nowhere, and writes `crash.log` if the child panics.
//! Packer skips that layer when `PACKER_WRAP_COOKIE` carries its cookie ("already wrapped", the
//! way terraform runs it), and hyops already does the parent's job: it supervises the process
//! group, keeps all output as evidence, and sets the run uuid itself. One Go process start less
//! per packer command: about 30 ms of a 0.27 s null build on the development VM (2026-11-30).
//!
//! What changes for the output: the wrapped packer writes its debug log to stderr, each line
//! starting with Go's `YYYY/MM/DD HH:MM:SS ` stamp. [`show_stderr_line`] keeps those lines in
//! `driver.log` at DEBUG (the log `PACKER_LOG=1` would have written), never on the terminal, and so
//! do the notices about the terminal its UI prints outside machine-readable mode (the wrapper
//! swallowed both); any other stderr line (a panic and its stack, an error printed before the UI
//! exists) is logged and shown as plain stderr, as before.

use crate::steps::{ShownLevel, ShownLine};

/// The variable packer reads to know it is already wrapped.
pub const WRAP_COOKIE_KEY: &str = "PACKER_WRAP_COOKIE";
/// Packer's own cookie value (`main.go`, packer 1.x).
pub const WRAP_COOKIE_VALUE: &str = "49C22B1A-3A93-4C98-97FA-E07D18C787B5";
/// The run uuid packer stamps on its manifest's builds (`packer_run_uuid`, `last_run_uuid`).
pub const RUN_UUID_KEY: &str = "PACKER_RUN_UUID";

/// A random (version 4) UUID for `PACKER_RUN_UUID`, as packer's wrapper would make one.
pub fn run_uuid() -> String {
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if random.is_err() {
        // Unique enough for a manifest's run stamp: the time and this process.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes[..12].copy_from_slice(&now.to_le_bytes()[..12]);
        bytes[12..].copy_from_slice(&std::process::id().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The message of a line of packer's debug log (Go's `log` stamp `YYYY/MM/DD HH:MM:SS ` cut
/// off), or `None` for any other line.
pub fn log_message(line: &str) -> Option<&str> {
    let stamp = line.get(..20)?.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    let shaped = digits.iter().all(|&i| stamp[i].is_ascii_digit())
        && stamp[4] == b'/'
        && stamp[7] == b'/'
        && stamp[10] == b' '
        && stamp[13] == b':'
        && stamp[16] == b':'
        && stamp[19] == b' ';
    shaped.then(|| &line[20..])
}

/// What a wrapped packer's UI says on stderr about the terminal when it is not in
/// machine-readable mode (`fmt`, `validate`, `version`): notices its wrapper used to swallow.
const TTY_NOTICES: [&str; 3] = [
    "Running in background, not using a TTY",
    "No tty available: ",
    "cannot determine if process is in background: ",
];

/// A line of packer's debug log or one of its terminal notices, as logged (stamp cut off).
fn debug_text(line: &str) -> Option<&str> {
    log_message(line).or_else(|| {
        TTY_NOTICES
            .iter()
            .any(|n| line.starts_with(n))
            .then_some(line)
    })
}

/// A stderr line of wrapped packer: its debug log and terminal notices at DEBUG (`driver.log`
/// only), anything else as plain stderr.
pub fn show_stderr_line(line: &str) -> Option<ShownLine> {
    Some(match debug_text(line) {
        Some(message) => ShownLine {
            component: "packer.log",
            level: ShownLevel::Debug,
            text: message.to_owned(),
        },
        None => ShownLine {
            component: "driver.stderr",
            level: ShownLevel::Warn,
            text: line.to_owned(),
        },
    })
}

/// The last `keep` lines of a stderr tail that are neither packer's debug log nor its terminal
/// notices.
pub fn tail_without_log(tail: &str, keep: usize) -> Vec<&str> {
    let lines: Vec<&str> = tail
        .lines()
        .filter(|l| debug_text(l).is_none() && !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(keep)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_told_from_other_stderr() {
        assert_eq!(
            log_message("2026/11/30 04:41:56 [INFO] Packer version: 1.6.6"),
            Some("[INFO] Packer version: 1.6.6")
        );
        assert_eq!(
            log_message("panic: runtime error: index out of range"),
            None
        );
        assert_eq!(log_message("goroutine 1 [running]:"), None);
        assert_eq!(log_message("2026/11/30 04:41:56"), None);
        assert_eq!(log_message("2026-11-30 04:41:56 not go's stamp"), None);
        let shown = show_stderr_line("2026/11/30 04:41:56 packer-builder-null plugin: ok").unwrap();
        assert_eq!(shown.level, ShownLevel::Debug);
        assert_eq!(shown.text, "packer-builder-null plugin: ok");
        let shown = show_stderr_line("Running in background, not using a TTY").unwrap();
        assert_eq!(shown.level, ShownLevel::Debug);
        let shown = show_stderr_line("Error executing CLI: boom").unwrap();
        assert_eq!(shown.level, ShownLevel::Warn);
        assert_eq!(shown.component, "driver.stderr");
    }

    #[test]
    fn the_tail_keeps_the_last_lines_that_are_not_log() {
        let tail = "2026/11/30 04:41:56 [INFO] a\npanic: boom\n\ngoroutine 1 [running]:\n\
                    2026/11/30 04:41:57 [INFO] b\nmain.main()";
        assert_eq!(
            tail_without_log(tail, 2),
            ["goroutine 1 [running]:", "main.main()"]
        );
        assert!(tail_without_log("2026/11/30 04:41:56 [INFO] a", 20).is_empty());
    }

    #[test]
    fn run_uuids_are_version_4_and_differ() {
        let a = run_uuid();
        let b = run_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{a}");
    }
}
