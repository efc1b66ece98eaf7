//! The synchronous capture helper for short commands.

use std::time::Duration;

use hyops_process::{CaptureFilters, ExitStatus, run_capture};

use crate::sh;

#[test]
fn captures_stdout_and_stderr_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sh(
        dir.path(),
        "printf '{\"v\":1}\\n\\nend'; printf 'warn\\n' >&2; exit 3",
    );
    let captured = run_capture(&spec, 1024, CaptureFilters::default()).unwrap();
    assert_eq!(captured.outcome.status, ExitStatus::Exited(3));
    assert_eq!(captured.stdout, b"{\"v\":1}\n\nend");
    assert_eq!(captured.stderr, b"warn\n");
    assert!(!captured.stdout_truncated && !captured.stderr_truncated);
}

#[test]
fn capture_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sh(dir.path(), "yes | head -c 100000").timeout(Duration::from_secs(30));
    let captured = run_capture(&spec, 1000, CaptureFilters::default()).unwrap();
    assert!(captured.outcome.success());
    assert_eq!(captured.stdout.len(), 1000);
    assert!(captured.stdout_truncated);
}
