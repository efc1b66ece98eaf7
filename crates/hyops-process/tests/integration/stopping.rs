//! Timeout, cancellation, stragglers and escalation from SIGTERM to SIGKILL, all on the whole group.

use std::time::{Duration, Instant};

use hyops_process::{CancellationToken, ExitStatus, ProcessIo, StopSignal};

use crate::{alive, gone_within, read_pid, run_quiet, sh};

#[tokio::test]
async fn timeout_kills_the_whole_group_including_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sh(dir.path(), "sleep 1000 & echo $! > bg.pid; sleep 1000")
        .timeout(Duration::from_millis(300));
    let started = Instant::now();
    let outcome = run_quiet(&spec).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(outcome.timed_out && !outcome.cancelled);
    assert_eq!(outcome.stop, Some(StopSignal::Term));
    assert_eq!(
        outcome.status,
        ExitStatus::Signaled {
            signal: 15,
            name: "SIGTERM".into()
        }
    );
    let bg = read_pid(&dir.path().join("bg.pid"));
    assert!(
        gone_within(bg, Duration::from_secs(2)),
        "background grandchild {bg} survived the timeout"
    );
}

#[tokio::test]
async fn term_ignoring_group_is_killed_after_grace() {
    let dir = tempfile::tempdir().unwrap();
    // Both the leader and a grandchild ignore SIGTERM.
    let script =
        "trap '' TERM; (trap '' TERM; sleep 1000) & echo $! > bg.pid; while :; do sleep 0.05; done";
    let spec = sh(dir.path(), script)
        .timeout(Duration::from_millis(300))
        .kill_grace(Duration::from_millis(300));
    let outcome = run_quiet(&spec).await;
    assert!(outcome.timed_out);
    assert_eq!(outcome.stop, Some(StopSignal::Kill));
    assert_eq!(
        outcome.status,
        ExitStatus::Signaled {
            signal: 9,
            name: "SIGKILL".into()
        }
    );
    let bg = read_pid(&dir.path().join("bg.pid"));
    assert!(
        gone_within(bg, Duration::from_secs(2)),
        "TERM-ignoring grandchild {bg} survived SIGKILL"
    );
}

#[tokio::test]
async fn cancellation_stops_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let mut lines = Vec::new();
    let spec = sh(dir.path(), "sleep 1000 & echo $! > bg.pid; wait");
    let outcome = hyops_process::run(&spec, ProcessIo::new(&mut lines).cancel_on(token))
        .await
        .unwrap();
    assert!(outcome.cancelled && !outcome.timed_out);
    assert_eq!(outcome.stop, Some(StopSignal::Term));
    assert!(gone_within(
        read_pid(&dir.path().join("bg.pid")),
        Duration::from_secs(2)
    ));
}

#[tokio::test]
async fn stragglers_left_in_the_group_are_stopped_after_the_leader_exits() {
    let dir = tempfile::tempdir().unwrap();
    // The background job keeps our stdout open; without group cleanup this run would last 1000 s.
    let spec = sh(dir.path(), "sleep 1000 & echo $! > bg.pid; exit 0");
    let started = Instant::now();
    let outcome = run_quiet(&spec).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(outcome.status, ExitStatus::Exited(0));
    assert!(outcome.stragglers && !outcome.timed_out && !outcome.cancelled);
    assert_eq!(outcome.stop, Some(StopSignal::Term));
    assert!(outcome.success(), "the tool itself succeeded");
    assert!(gone_within(
        read_pid(&dir.path().join("bg.pid")),
        Duration::from_secs(2)
    ));
}

#[tokio::test]
async fn a_daemon_that_left_the_group_is_not_killed_but_cannot_hang_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // setsid puts the daemon in its own session; it still holds our stdout pipe.
    let spec = sh(dir.path(), "setsid sleep 1000 & sleep 0.2; exit 0")
        .drain_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let outcome = run_quiet(&spec).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(outcome.status, ExitStatus::Exited(0));
    assert!(outcome.output_incomplete);
    assert!(!outcome.stragglers);
    // Clean up the daemon we deliberately let escape: find it by its session (its own pid).
    let ps = std::process::Command::new("ps")
        .args(["-eo", "pid=,sid=,args="])
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&ps.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4 && f[0] == f[1] && f[2] == "sleep" && f[3] == "1000" {
            let _ = std::process::Command::new("kill").arg(f[0]).status();
        }
    }
}

#[tokio::test]
async fn dropping_the_run_future_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sh(dir.path(), "sleep 1000 & echo $! > bg.pid; sleep 1000");
    let fut = async {
        let mut sink = hyops_process::DiscardSink;
        hyops_process::run(&spec, ProcessIo::new(&mut sink)).await
    };
    let timed = tokio::time::timeout(Duration::from_millis(300), fut).await;
    assert!(timed.is_err(), "run must still be going when dropped");
    let bg = read_pid(&dir.path().join("bg.pid"));
    for _ in 0..50 {
        if !alive(bg) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("grandchild {bg} survived dropping the run");
}
