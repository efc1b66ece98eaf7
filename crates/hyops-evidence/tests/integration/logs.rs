//! The shared log line format and hyops' size-rotated log.

use std::time::{Duration, UNIX_EPOCH};

use hyops_evidence::{LogLevel, Redactor, RotatingLog};

#[test]
fn rotates_by_size_and_keeps_n_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("hyops.log");
    let mut log = RotatingLog::open(&path, 120, 2).unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    for i in 0..10 {
        // Each record is 57 bytes with its newline: two fit in 120 bytes, the third rotates.
        log.log(
            at,
            LogLevel::Info,
            "runner",
            &format!("message number {i:02}"),
        )
        .unwrap();
    }
    let read = |name: &str| std::fs::read_to_string(tmp.path().join(name)).unwrap();
    let current = read("hyops.log");
    assert_eq!(current.lines().count(), 2);
    assert!(current.starts_with("[2026-01-01T00:00:00.000Z] INFO runner message number 08\n"));
    assert!(read("hyops.log.1").contains("number 06") && read("hyops.log.1").contains("number 07"));
    assert!(read("hyops.log.2").contains("number 04"));
    assert!(!tmp.path().join("hyops.log.3").exists());
    for name in ["hyops.log", "hyops.log.1", "hyops.log.2"] {
        assert!(std::fs::metadata(tmp.path().join(name)).unwrap().len() <= 120);
    }
}

#[test]
fn reopening_appends_and_counts_existing_size() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("logs/hyops.log");
    RotatingLog::open(&path, 60, 1)
        .unwrap()
        .write_line(&"a".repeat(50))
        .unwrap();
    RotatingLog::open(&path, 60, 1)
        .unwrap()
        .write_line("bbbbbbbbbbbb")
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "bbbbbbbbbbbb\n");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("logs/hyops.log.1"))
            .unwrap()
            .len(),
        51
    );
}

#[test]
fn log_lines_pass_the_redactor() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("hyops.log");
    let r = Redactor::new(&[("pw", "p4ssw0rd-xyz")]).unwrap();
    let mut log = RotatingLog::open(&path, 1 << 20, 3)
        .unwrap()
        .with_redactor(r);
    log.log(
        UNIX_EPOCH,
        LogLevel::Error,
        "cli",
        "login with p4ssw0rd-xyz failed",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[1970-01-01T00:00:00.000Z] ERROR cli login with [REDACTED:pw] failed\n"
    );
}
