//! Exit codes, signal deaths, environment, output ordering and shape, spawn errors.

use std::time::Duration;

use hyops_process::{ExitStatus, OutputStream, ProcessError, ProcessSpec};

use crate::{run_lines, run_quiet, sh};

#[tokio::test]
async fn exit_codes_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    for code in [0, 1, 3, 127] {
        let outcome = run_quiet(&sh(dir.path(), &format!("exit {code}"))).await;
        assert_eq!(outcome.status, ExitStatus::Exited(code));
        assert_eq!(outcome.success(), code == 0);
        assert!(!outcome.timed_out && !outcome.cancelled && outcome.stop.is_none());
    }
}

#[tokio::test]
async fn death_by_signal_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_quiet(&sh(dir.path(), "kill -SEGV $$")).await;
    assert_eq!(
        outcome.status,
        ExitStatus::Signaled {
            signal: 11,
            name: "SIGSEGV".into()
        }
    );
    assert_eq!(outcome.status.to_string(), "killed by SIGSEGV (11)");
    assert!(outcome.stop.is_none(), "we sent nothing");
}

#[tokio::test]
async fn child_sees_exactly_the_given_environment() {
    let dir = tempfile::tempdir().unwrap();
    // The test process has HOME, USER, CARGO_* etc.; the child must see only our three variables.
    let spec = sh(dir.path(), "exec env")
        .env("HYOPS_A", "1")
        .env("LANG", "C");
    let (outcome, lines) = run_lines(&spec).await;
    assert!(outcome.success());
    let mut vars: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8(l.text.clone()).unwrap())
        .collect();
    vars.sort();
    // dash exports PWD it computed itself; everything else must be ours.
    vars.retain(|v| !v.starts_with("PWD=") && !v.starts_with("OLDPWD="));
    assert_eq!(vars, vec!["HYOPS_A=1", "LANG=C", "PATH=/usr/bin:/bin"]);
}

#[tokio::test]
async fn per_stream_order_is_preserved_and_partial_last_line_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let script = "i=0; while [ $i -lt 2000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; printf tail-no-newline";
    let (outcome, lines) = run_lines(&sh(dir.path(), script)).await;
    assert!(outcome.success());
    let text = |s: OutputStream| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.stream == s)
            .map(|l| String::from_utf8(l.text.clone()).unwrap())
            .collect()
    };
    let mut want_out: Vec<String> = (0..2000).map(|i| format!("out{i}")).collect();
    want_out.push("tail-no-newline".into());
    assert_eq!(text(OutputStream::Stdout), want_out);
    let want_err: Vec<String> = (0..2000).map(|i| format!("err{i}")).collect();
    assert_eq!(text(OutputStream::Stderr), want_err);
    let last = lines
        .iter()
        .rfind(|l| l.stream == OutputStream::Stdout)
        .unwrap();
    assert!(
        !last.newline,
        "final partial line is flagged as unterminated"
    );
    // Timestamps never go backwards within a stream.
    let out_times: Vec<_> = lines
        .iter()
        .filter(|l| l.stream == OutputStream::Stdout)
        .map(|l| l.at)
        .collect();
    assert!(out_times.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn stderr_tail_keeps_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let script = "i=0; while [ $i -lt 500 ]; do echo problem$i >&2; i=$((i+1)); done; exit 2";
    let outcome = run_quiet(&sh(dir.path(), script)).await;
    let tail = String::from_utf8(outcome.stderr_tail).unwrap();
    assert_eq!(tail.lines().count(), hyops_process::STDERR_TAIL_LINES);
    assert!(tail.ends_with("problem499\n"));
}

#[tokio::test]
async fn filters_run_before_line_splitting_and_tail() {
    struct Upper;
    impl hyops_process::StreamFilter for Upper {
        fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
            chunk.to_ascii_uppercase()
        }
        fn finish(&mut self) -> Vec<u8> {
            b"!".to_vec()
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    let io = hyops_process::ProcessIo::new(&mut lines)
        .stdout_filter(Box::new(Upper))
        .stderr_filter(Box::new(Upper));
    let outcome = hyops_process::run(&sh(dir.path(), "echo hello; echo oops >&2"), io)
        .await
        .unwrap();
    assert_eq!(outcome.stderr_tail, b"OOPS\n!");
    let out: Vec<_> = lines
        .iter()
        .filter(|l| l.stream == OutputStream::Stdout)
        .collect();
    assert_eq!(out[0].text, b"HELLO");
    assert_eq!(out[1].text, b"!");
}

#[tokio::test]
async fn on_spawn_gets_the_pid_before_output() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut lines = Vec::new();
    let io = hyops_process::ProcessIo::new(&mut lines).on_spawn(move |pid| tx.send(pid).unwrap());
    let outcome = hyops_process::run(&sh(dir.path(), "echo $$"), io)
        .await
        .unwrap();
    let hooked = rx.recv().unwrap();
    assert_eq!(hooked, outcome.pid);
    assert_eq!(lines[0].text, outcome.pid.to_string().into_bytes());
}

#[tokio::test]
async fn flood_on_one_stream_neither_deadlocks_nor_grows_memory() {
    struct Count(u64);
    impl hyops_process::LineSink for Count {
        fn line(&mut self, line: hyops_process::OutputLine) {
            self.0 += line.text.len() as u64 + u64::from(line.newline);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    // 50 MB on stdout while stderr stays silent, then a little on stderr.
    let line = "x".repeat(99);
    let spec = sh(
        dir.path(),
        &format!("yes {line} | head -c 50000000; echo done >&2"),
    )
    .timeout(Duration::from_secs(120));
    let mut count = Count(0);
    let outcome = hyops_process::run(&spec, hyops_process::ProcessIo::new(&mut count))
        .await
        .unwrap();
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(count.0, 50_000_000 + 5);
    let hwm_kb: u64 = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(
        hwm_kb < 48 * 1024,
        "peak RSS {hwm_kb} kB suggests output was buffered"
    );
}

#[tokio::test]
async fn missing_program_names_it_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ProcessSpec::new("no-such-tool-hyops", dir.path()).env("PATH", "/nowhere:/bin");
    let err = hyops_process::run(&spec, hyops_process::ProcessIo::new(&mut Vec::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::ProgramNotFound { .. }));
    assert!(!err.retryable());
    let msg = err.to_string();
    assert!(
        msg.contains("`no-such-tool-hyops`") && msg.contains("/nowhere:/bin"),
        "{msg}"
    );
    assert!(msg.contains("help:"), "{msg}");
}

#[tokio::test]
async fn program_found_only_on_the_child_path() {
    let dir = tempfile::tempdir().unwrap();
    // `sh` is on /bin but the child PATH does not include it: must not fall back to our PATH.
    let spec = ProcessSpec::new("sh", dir.path()).env("PATH", dir.path().as_os_str());
    let err = hyops_process::run(&spec, hyops_process::ProcessIo::new(&mut Vec::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::ProgramNotFound { .. }), "{err}");
    let ok = ProcessSpec::new("sh", dir.path())
        .arg("-c")
        .arg("exit 4")
        .env("PATH", "/bin");
    assert_eq!(crate::run_quiet(&ok).await.status, ExitStatus::Exited(4));
}

#[tokio::test]
async fn non_executable_program_is_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("tool.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let spec = ProcessSpec::new("./tool.sh", dir.path());
    let err = hyops_process::run(&spec, hyops_process::ProcessIo::new(&mut Vec::new()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProcessError::PermissionDenied { .. }),
        "{err}"
    );
    assert!(!err.retryable());
}

#[tokio::test]
async fn missing_cwd_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone");
    let err = hyops_process::run(
        &sh(&gone, "true"),
        hyops_process::ProcessIo::new(&mut Vec::new()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProcessError::CwdMissing { .. }));
    assert!(err.to_string().contains("gone"));
}

#[test]
fn root_check_matches_id() {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    let uid = String::from_utf8(out.stdout).unwrap();
    assert_eq!(hyops_process::current_uid_is_root(), uid.trim() == "0");
}

#[tokio::test]
async fn a_script_still_open_for_writing_is_spawned_once_it_is_closed() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    // While any process holds the script open for writing, exec fails with ETXTBSY: what another
    // thread's half-spawned child does for a moment to a script hyops just copied.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("run.sh");
    let mut writer = std::fs::File::create(&script).unwrap();
    writer.write_all(b"#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let spec = ProcessSpec::new(&script, dir.path()).env("PATH", "/usr/bin:/bin");
    let running = tokio::spawn(async move { run_lines(&spec).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !running.is_finished(),
        "the spawn waits while the script is busy"
    );
    drop(writer);
    let (outcome, lines) = running.await.unwrap();
    assert!(outcome.success());
    assert_eq!(lines[0].text, b"ran");
}
