//! Process supervision from outside: a timeout stops the whole group (grandchildren too), and a
//! hyops killed with SIGKILL leaves an attempt the next command marks `lost`, its tool stopped.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::run_support::{ENV, World, process_alive, wait_for};

/// The pids the sleeper pack wrote: its background `sleep` and the script itself.
fn pack_pids(pid_file: &Path) -> Vec<u32> {
    std::fs::read_to_string(pid_file)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// Waits until the process is gone: reaped, or a zombie (dead; reaping orphans is the job of
/// whatever init the machine runs, which a test cannot rely on).
fn assert_gone(pid: u32, what: &str) {
    wait_for(Duration::from_secs(10), what, || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        let dead = stat.is_none_or(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        });
        dead.then_some(())
    });
}

#[test]
fn timeout_kills_the_pack_and_its_background_grandchildren() {
    let world = World::new("engine");
    let pid_file = world.scratch("sleeper.pids");
    let set = format!("pid_file={}", pid_file.display());
    let started = std::time::Instant::now();
    let (out, report) = world.run_json("t/timeout", &["--set", &set]);
    let elapsed = started.elapsed();
    assert_eq!(out.code, 1, "{report:#}\n{}", out.stderr);
    assert_eq!(report["status"], "timed_out", "{report:#}");
    assert_eq!(
        report["attempts"][0]["error"]["code"],
        "hyops::run::timed_out"
    );
    assert!(
        elapsed < Duration::from_secs(15),
        "a 2 s timeout took {elapsed:?}"
    );
    let pids = pack_pids(&pid_file);
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert_gone(pids[0], "the background sleep to be gone");
    assert_gone(pids[1], "the pack script to be gone");
    // Its evidence is sealed like any other attempt's.
    let run_id = report["run_id"].as_str().unwrap();
    let verify = world.run(&["evidence", "verify", run_id]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
}

#[test]
fn hyops_killed_with_sigkill_leaves_a_lost_attempt_that_the_next_command_recovers() {
    let world = World::new("engine");
    let pid_file = world.scratch("sleeper.pids");
    let set = format!("pid_file={}", pid_file.display());
    let mut child = world
        .cmd(&[
            "run",
            "t/sleep",
            "--env",
            ENV,
            "--set",
            "seconds=30",
            "--set",
            &set,
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(world.scratch("a.stderr")).unwrap())
        .spawn()
        .unwrap();
    let run_id = wait_for(Duration::from_secs(20), "the attempt to be running", || {
        world
            .list()
            .iter()
            .find(|r| r["status"] == "running")
            .map(|r| r["run_id"].as_str().unwrap().to_owned())
    });
    // The pack is really started (its pid file is written before it sleeps).
    wait_for(Duration::from_secs(20), "the pack's pid file", || {
        pid_file.exists().then_some(())
    });
    let pids = pack_pids(&pid_file);
    assert!(pids.iter().all(|p| process_alive(*p)), "{pids:?}");

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The next hyops command notices and marks the attempt lost.
    let runs = world.list();
    let run = runs
        .iter()
        .find(|r| r["run_id"] == run_id.as_str())
        .unwrap();
    assert_eq!(run["status"], "lost", "{run:#}");
    let shown = world.show(&run_id);
    let attempt = &shown["attempts"][0];
    assert_eq!(attempt["attempt"]["status"], "lost", "{shown:#}");
    let last_event = attempt["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last_event["event"]["status"], "lost");

    // The orphaned pack (and its background sleep) were stopped.
    for pid in &pids {
        assert_gone(*pid, "the orphaned pack process to be gone");
    }

    // The evidence is sealed as partial and verifies.
    let verify = world.run(&["evidence", "verify", &run_id, "--output", "json"]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert_eq!(verify.json()["verified"][0]["partial"], true);
    let text = world.run(&["evidence", "verify", &run_id]);
    assert!(text.stdout.contains("partial"), "{}", text.stdout);

    // The lock was released: the same target runs again and passes.
    let (again, report) = world.run_json("t/sleep", &["--set", "seconds=0"]);
    assert_eq!(again.code, 0, "{report:#}\n{}", again.stderr);
    assert_eq!(report["status"], "passed");
}

#[test]
fn a_reader_gone_from_stdout_and_stderr_does_not_stop_the_run() {
    // `hyops run t/hello 2>&1 | head -1`: progress lines hit a closed pipe. An eprintln! there
    // panicked (exit 101) and left the attempt lost.
    let world = World::new("engine");
    let mut child = world
        .cmd(&["run", "t/hello", "--env", ENV])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let runs = world.list();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "passed", "{runs:?}");
}

#[test]
fn logs_follow_stops_when_its_reader_is_gone() {
    // `hyops logs RUN --follow | head -1` while the tool sleeps: head exits after the first
    // line, and the follower must too, not poll until the attempt ends.
    let world = World::new("engine");
    let mut run = world
        .cmd(&["run", "t/sleep", "--env", ENV, "--set", "seconds=12"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run_id = wait_for(
        Duration::from_secs(30),
        "the run to print its first line",
        || {
            let runs = world.list();
            let id = runs.first()?["run_id"].as_str()?.to_owned();
            let logs = world.run(&["logs", &id]);
            logs.stdout.contains("sleeping 12 s").then_some(id)
        },
    );
    let started = std::time::Instant::now();
    let mut follow = world
        .cmd(&["logs", &run_id, "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(follow.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(first.contains("sleeping 12 s"), "{first}");
    // The reader (and the pipe's read end) is gone here.
    let status = follow.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the follower outlived its reader by {:?}",
        started.elapsed()
    );
    assert!(run.wait().unwrap().success());
}
