//! The (target, env) lock between two real hyops processes: the second fails at once naming the
//! holder, or with `--wait-lock` waits and then runs.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::run_support::{ENV, Outcome, World, wait_for};

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn second_run_on_a_held_target_fails_at_once_naming_the_holder_or_waits_with_wait_lock() {
    let world = World::new("engine");
    let pid_file = world.scratch("a.pids");
    let set = format!("pid_file={}", pid_file.display());
    let a = world
        .cmd(&[
            "run",
            "t/sleep",
            "--env",
            ENV,
            "--set",
            "seconds=4",
            "--set",
            &set,
            "--output",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let a_pid = a.id();
    wait_for(Duration::from_secs(20), "run A's pack to start", || {
        pid_file.exists().then_some(())
    });
    let a_run = world
        .list()
        .iter()
        .find(|r| r["status"] == "running")
        .map(|r| r["run_id"].as_str().unwrap().to_owned())
        .expect("run A is running");

    // B without --wait-lock: refused at once, naming run id, pid and host of A.
    let started = Instant::now();
    let b = world.run(&["run", "t/sleep", "--env", ENV, "--set", "seconds=0"]);
    let b_elapsed = started.elapsed();
    assert_eq!(b.code, 1, "{}\n{}", b.stdout, b.stderr);
    assert!(
        b_elapsed < Duration::from_secs(3),
        "B waited {b_elapsed:?} without --wait-lock"
    );
    for needle in [a_run.clone(), a_pid.to_string(), host_name()] {
        assert!(
            b.stderr.contains(&needle),
            "B's error does not name `{needle}`:\n{}",
            b.stderr
        );
    }
    // Since when, as a timestamp (not epoch milliseconds), and how to wait instead.
    let since = b.stderr.split("since ").nth(1).unwrap_or_default();
    assert!(
        since.len() > 25 && since.as_bytes()[10] == b'T' && since[..25].ends_with("Z)"),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains("--wait-lock"), "{}", b.stderr);

    // B with --wait-lock: waits for A, then passes.
    let waiter = world
        .cmd(&[
            "run",
            "t/sleep",
            "--env",
            ENV,
            "--set",
            "seconds=0",
            "--wait-lock",
            "30s",
            "--output",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let a_out = Outcome::from(a.wait_with_output().unwrap());
    let w_out = Outcome::from(waiter.wait_with_output().unwrap());
    assert_eq!(a_out.code, 0, "A: {}\n{}", a_out.stdout, a_out.stderr);
    assert_eq!(w_out.code, 0, "B: {}\n{}", w_out.stdout, w_out.stderr);
    assert_eq!(w_out.json()["status"], "passed");

    // B's attempt started only after A's finished.
    let a_shown = world.show(&a_run);
    let w_shown = world.show(w_out.json()["run_id"].as_str().unwrap());
    let a_end = a_shown["attempts"][0]["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["event"]["at_ms"]
        .as_i64()
        .unwrap();
    let w_start = w_shown["attempts"][0]["events"][0]["event"]["at_ms"]
        .as_i64()
        .unwrap();
    assert!(
        w_start >= a_end,
        "B started at {w_start} before A finished at {a_end}"
    );
}

#[test]
fn concurrent_first_commands_on_a_fresh_state_dir_all_open_the_ledger() {
    // Regression: sqlx's migrator does not lock SQLite, so two processes creating the ledger at
    // once raced and one failed with "table run_sequences already exists".
    for round in 0..3 {
        let world = World::new("engine");
        let children: Vec<_> = (0..4)
            .map(|_| {
                world
                    .cmd(&["runs", "list", "--output", "json"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = Outcome::from(child.wait_with_output().unwrap());
            assert_eq!(out.code, 0, "round {round}: {}{}", out.stdout, out.stderr);
            assert_eq!(out.json(), serde_json::json!([]));
        }
    }
}
