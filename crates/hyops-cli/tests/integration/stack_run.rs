//! `hyops run STACK`: gating on PASS (no downstream process ever starts after an upstream probe
//! failure), fail-fast vs `--keep-going`, skipped records in the ledger, wiring, `--affected`,
//! concurrency limits, Ctrl-C while members wait for a slot.

use crate::stack_support::{StackWorld, by_member, member_of};

#[test]
fn a_failed_probe_skips_downstream_and_keep_going_finishes_independent_branches() {
    let w = StackWorld::new();
    let (code, summary) = w.json(&["run", "broken", "--env", "dev", "--keep-going"]);
    assert_eq!(code, 1, "{summary}");
    let m = by_member(&summary);
    assert_eq!(m["net"].0, "passed");
    assert_eq!(m["db"].0, "probe_failed");
    assert_eq!(
        m["app"],
        ("skipped".into(), false, "upstream db probe failed".into())
    );
    assert_eq!(m["zone"].0, "passed");
    assert_eq!(m["cache"].0, "passed");
    assert!(
        !w.started("app", "apply"),
        "a downstream process started: {:?}",
        w.order()
    );
    assert!(w.started("cache", "apply"));
    // The skip is in the ledger with its reason.
    let app_run = member_of(&summary, "app")["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = w.world.show(&app_run);
    assert_eq!(shown["run"]["status"], "skipped", "{shown}");
    assert!(
        shown.to_string().contains("upstream db probe failed"),
        "{shown}"
    );
    // It never started, so it has no evidence, and the commands that read evidence say why.
    let tarball = w.world.scratch("app.tar.gz");
    let tarball = tarball.to_str().unwrap();
    for args in [
        &["evidence", "verify", &app_run][..],
        &["logs", &app_run],
        &["evidence", "export", &app_run, "-o", tarball],
    ] {
        let out = w.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(
                "has no evidence: it ended `skipped` without starting its tool \
                 (upstream db probe failed)"
            ),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn fail_fast_starts_nothing_after_a_failure() {
    let w = StackWorld::new();
    // Concurrency 1 makes the order deterministic (ready members start by name, one tool at a
    // time): net; once net's tool and probes pass its slot is free while net records its verdict,
    // and db is not ready until that verdict, so zone goes next; then db, which fails. cache is
    // independent of db, but fail-fast starts nothing more.
    let (code, summary) = w.json(&["run", "broken", "--env", "dev", "--concurrency", "1"]);
    assert_eq!(code, 1);
    assert_eq!(
        w.order(),
        ["apply net", "apply zone", "apply db"],
        "{summary}"
    );
    let m = by_member(&summary);
    assert_eq!(m["zone"].0, "passed", "{summary}");
    assert_eq!(m["app"].2, "upstream db probe failed");
    assert!(
        m["cache"]
            .2
            .starts_with("not started: the run stopped after db"),
        "{summary}"
    );
}

#[test]
fn fail_fast_stops_an_admitted_member_before_its_tool_starts() {
    let w = StackWorld::new();
    // Concurrency 1: first gets the slot; second is admitted behind it (its run recorded, its
    // evidence folder made) and waits for the slot; third is not admitted yet. first's probe
    // fails, so neither may start its tool.
    let (code, summary) = w.json(&["run", "halts", "--env", "dev", "--concurrency", "1"]);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(w.order(), ["apply first"], "{summary}");
    assert!(!w.started("second", "apply") && !w.started("third", "apply"));
    let attempts = |name: &str| member_of(&summary, name)["attempts"].as_u64().unwrap();
    // second's attempt was recorded and ended `skipped` at the slot; third never got a run.
    assert_eq!((attempts("second"), attempts("third")), (1, 0), "{summary}");
    let m = by_member(&summary);
    assert_eq!(m["first"].0, "probe_failed", "{summary}");
    for name in ["second", "third"] {
        assert_eq!(m[name].0, "skipped", "{summary}");
        assert!(
            m[name]
                .2
                .starts_with("not started: the run stopped after first did not pass"),
            "{summary}"
        );
    }
}

#[test]
fn set_reaches_every_member_declaring_the_input_or_the_one_member_it_names() {
    let w = StackWorld::new();
    let (code, summary) = w.json(&[
        "run",
        "three",
        "--env",
        "dev",
        "--set",
        "db.upstream=forced",
        "--set",
        "fail_probe=false",
    ]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(
        member_of(&summary, "db")["outputs"]["value"],
        "ok:db:forced"
    );
    assert_eq!(
        member_of(&summary, "app")["outputs"]["value"],
        "ok:app:db=ok:db:forced"
    );
    assert_eq!(member_of(&summary, "net")["outputs"]["value"], "ok-v1:net:");
    // An argument no member takes is one error each (not one per member), and nothing runs.
    w.clear_markers();
    let out = w.run(&[
        "run",
        "three",
        "--env",
        "dev",
        "--set",
        "bogus=1",
        "--set",
        "app.nope=1",
        "--set",
        "zzz",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for (needle, times) in [
        (
            "`--set bogus=…` names no input of any member of stack `three`",
            1,
        ),
        (
            "`--set app.nope=…` names no input of member `app` (module `t/step`)",
            1,
        ),
        ("`--set zzz` is not `name=value`", 1),
        ("names no input", 2),
    ] {
        assert_eq!(
            out.stderr.matches(needle).count(),
            times,
            "{needle}: {}",
            out.stderr
        );
    }
    assert!(w.order().is_empty(), "{:?}", w.order());
}

#[test]
fn wired_values_reach_consumers_and_affected_reruns_only_what_changed() {
    let w = StackWorld::new();
    let (code, summary) = w.json(&["run", "three", "--env", "dev"]);
    assert_eq!(code, 0, "{summary}");
    let app = member_of(&summary, "app");
    assert_eq!(app["outputs"]["value"], "ok:app:db=ok:db:ok-v1:net:");
    // Passed members' work dirs, every io dir and the emptied run folders are removed once the
    // stack has ended.
    let left = crate::run_support::entries_in(&w.world.state.join("work"));
    assert!(left.is_empty(), "left behind: {left:?}");

    // Nothing changed: everything is reused, no process starts.
    w.clear_markers();
    let (code, summary) = w.json(&["run", "three", "--env", "dev", "--affected"]);
    assert_eq!(code, 0, "{summary}");
    assert!(w.order().is_empty(), "{:?}", w.order());
    for (name, (status, reused, reason)) in by_member(&summary) {
        assert!(reused && status == "passed", "{name}: {reason}");
        assert!(
            reason.starts_with("reused: fingerprint unchanged"),
            "{reason}"
        );
    }

    // An edit of the environment file that changes no member's request (a free variable) reruns
    // nothing: the file's digest is not part of a run's identity, what it gives a run is.
    let env_file = w.world.catalog.join("environments/dev.yaml");
    let env_text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(&env_file, format!("{env_text}vars:\n  note: edited\n")).unwrap();
    let (code, summary) = w.json(&["run", "three", "--env", "dev", "--affected"]);
    assert_eq!(code, 0, "{summary}");
    assert!(w.order().is_empty(), "{:?}", w.order());

    // Change the leaf pack `base` (used by net only): net and its dependents rerun.
    let pack = w.world.catalog.join("packs/shell/base/run.sh");
    let text = std::fs::read_to_string(&pack)
        .unwrap()
        .replace("ok-v1:", "ok-v2:");
    std::fs::write(&pack, text).unwrap();
    w.clear_markers();
    let (code, summary) = w.json(&["run", "three", "--env", "dev", "--affected"]);
    assert_eq!(code, 0, "{summary}");
    let m = by_member(&summary);
    let mut ran: Vec<String> = w.order();
    ran.sort();
    assert_eq!(ran, ["apply app", "apply db", "apply net"], "{summary}");
    assert!(
        m["net"].2.starts_with("ran: fingerprint changed"),
        "{}",
        m["net"].2
    );
    assert!(m["zone"].1 && m["cache"].1, "{summary}");

    // The progress lines (plain here, as in CI): a member that runs says it started and why; a
    // reused one is a single line.
    let text = std::fs::read_to_string(&pack)
        .unwrap()
        .replace("ok-v2:", "ok-v3:");
    std::fs::write(&pack, text).unwrap();
    let out = w.run(&["run", "three", "--env", "dev", "--affected"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("net   | started: fingerprint changed"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr
            .matches("| reused: fingerprint unchanged")
            .count(),
        2,
        "zone and cache, once each:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains("reused: reused"), "{}", out.stderr);
}

/// The most tools that ran at once, from the members' `spans.log` ("start X" / "end X").
fn most_at_once(w: &StackWorld) -> usize {
    let log = std::fs::read_to_string(w.markers.join("spans.log")).unwrap();
    let (mut now, mut most) = (0usize, 0usize);
    for line in log.lines() {
        match line.split_once(' ') {
            Some(("start", _)) => now += 1,
            Some(("end", _)) => now -= 1,
            _ => panic!("unexpected line {line:?} in spans.log:\n{log}"),
        }
        most = most.max(now);
    }
    assert_eq!(now, 0, "a tool never ended:\n{log}");
    most
}

#[test]
fn concurrency_bounds_the_tools_running_at_once_and_a_profile_limit_bounds_its_members() {
    let w = StackWorld::new();
    let (code, summary) = w.json(&["run", "wide", "--env", "dev", "--concurrency", "2"]);
    assert_eq!(code, 0, "{summary}");
    // Four independent half-second tools, two slots: two at a time, never three.
    assert_eq!(most_at_once(&w), 2);
    // a and b get the slots as they are admitted; c and d are admitted too but wait for a slot,
    // which the summary keeps out of their duration.
    let times = |name: &str| {
        let m = member_of(&summary, name);
        (
            m["duration_ms"].as_u64().unwrap(),
            m["waited_ms"].as_u64().unwrap(),
        )
    };
    for name in ["a", "b"] {
        assert_eq!(times(name).1, 0, "{summary}");
    }
    for name in ["c", "d"] {
        // From its admission to a's or b's slot coming free (half a second of a's tool).
        assert!(times(name).1 >= 200, "{summary}");
    }
    for name in ["a", "b", "c", "d"] {
        assert!((450..5_000).contains(&times(name).0), "{summary}");
    }
    // Plain progress says so while they wait, and `driver` only once they have a slot (longer
    // tools, so that c is still waiting when its run record is written, even on a busy machine).
    let plain = w.run(&[
        "run",
        "wide",
        "--env",
        "dev",
        "--concurrency",
        "2",
        "--set",
        "seconds=1.5",
    ]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let text = format!("{}{}", plain.stdout, plain.stderr);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("c | ")).collect();
    let at = |line: &str| lines.iter().position(|l| *l == line);
    assert!(
        at("c | waiting for a slot") < at("c | driver") && at("c | waiting for a slot").is_some(),
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| **l == "c | driver").count(),
        1,
        "{lines:?}"
    );

    w.clear_markers();
    let (code, summary) = w.json(&["run", "wide-serial", "--env", "dev", "--concurrency", "4"]);
    assert_eq!(code, 0, "{summary}");
    // Their profile says `execution.concurrency: 1`, whatever --concurrency allows.
    assert_eq!(most_at_once(&w), 1);
    let m = by_member(&summary);
    assert!(m.values().all(|m| m.0 == "passed"), "{summary}");
}

#[test]
fn ctrl_c_cancels_the_running_member_and_the_one_waiting_for_its_slot() {
    let w = StackWorld::new();
    // a holds the one slot for ten seconds; b was admitted with it and waits for the slot; c
    // waits to be admitted.
    let child = w.spawn_until_started(
        &[
            "run",
            "waits",
            "--env",
            "dev",
            "--concurrency",
            "1",
            "--output",
            "json",
        ],
        "a",
    );
    let spans = w.markers.join("spans.log");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(out.status.code(), Some(0), "{summary}");
    let m = by_member(&summary);
    assert_eq!(m["a"].0, "cancelled", "{summary}");
    assert_eq!(m["b"].0, "cancelled", "{summary}");
    assert_eq!(
        m["b"].2, "the run was cancelled before this member's tool started",
        "{summary}"
    );
    assert_eq!(m["c"].0, "skipped", "{summary}");
    assert_eq!(m["c"].2, "not started: the run was cancelled", "{summary}");
    // Only a's tool ever started, and it was stopped.
    let log = std::fs::read_to_string(&spans).unwrap();
    assert_eq!(log, "start a\n", "{summary}");
}

#[test]
fn a_second_run_of_a_running_stack_is_refused_or_waits_with_wait_lock() {
    let w = StackWorld::new();
    let first = w.spawn_until_started(
        &[
            "run",
            "waits",
            "--env",
            "dev",
            "--concurrency",
            "3",
            "--set",
            "seconds=2",
            "--output",
            "json",
        ],
        "a",
    );
    let spans = w.markers.join("spans.log");
    // Interleaving two runs of one stack could re-apply a producer under the other's consumers.
    let refused = w.run(&["run", "waits", "--env", "dev", "--set", "seconds=0"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let busy = format!(
        "stack `waits` is already running in `dev` (pid {} on ",
        first.id()
    );
    assert!(refused.stderr.contains(&busy), "{}", refused.stderr);
    // As JSON: its own code, the message on one line, the help in its field.
    let (code, refused) = w.json(&["run", "waits", "--env", "dev", "--set", "seconds=0"]);
    assert_eq!(code, 1, "{refused}");
    assert_eq!(refused["code"], "hyops::run::locked", "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains(&busy) && !message.contains('\n'),
        "{refused}"
    );
    assert!(
        refused["help"].as_str().unwrap().contains("--wait-lock"),
        "{refused}"
    );
    let waited = w.run(&[
        "run",
        "waits",
        "--env",
        "dev",
        "--set",
        "seconds=0",
        "--wait-lock",
        "60s",
    ]);
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    let out = first.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The refused run started nothing; the waiting one started after the first had ended.
    let log = std::fs::read_to_string(&spans).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("start")).count(),
        6,
        "{log}"
    );
    let third_end = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("end"))
        .nth(2);
    let fourth_start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("start"))
        .nth(3);
    assert!(third_end.unwrap().0 < fourth_start.unwrap().0, "{log}");
}
