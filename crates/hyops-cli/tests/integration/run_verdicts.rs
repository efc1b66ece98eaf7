//! Run verdicts from outside: probes gate PASS and outputs (invariant 5), retries leave every
//! attempt in ledger and evidence, policy refusals, `--output json`, logs, destroy and prune.

use crate::run_support::{ENV, World};

#[test]
fn failing_probe_after_driver_success_is_probe_failed_and_outputs_refuse() {
    let world = World::new("engine");
    let (out, report) = world.run_json("t/probe-fails", &[]);
    assert_eq!(out.code, 1, "{report:#}");
    assert_eq!(report["status"], "probe_failed");
    assert_eq!(report["passed"], false);
    let attempt = &report["attempts"][0];
    assert_eq!(attempt["exit_code"], 0, "the driver itself succeeded");
    assert_eq!(attempt["error"]["code"], "hyops::run::probe_failed");
    assert!(
        attempt["error"]["message"]
            .as_str()
            .unwrap()
            .contains("never-matches"),
        "{attempt:#}"
    );
    assert!(report["outputs"].is_null() || report["passed"] == false);

    let outputs = world.run(&["outputs", "t/probe-fails", "--env", ENV]);
    assert_eq!(outputs.code, 1, "{}", outputs.stdout);
    assert!(outputs.stdout.is_empty(), "{}", outputs.stdout);
    assert!(
        outputs.stderr.contains("no passed run of `t/probe-fails`"),
        "{}",
        outputs.stderr
    );
    let json = world.run(&["outputs", "t/probe-fails", "--env", ENV, "--output", "json"]);
    assert_eq!(json.code, 1);
    assert!(
        !json.stdout.contains("hello world"),
        "outputs of a probe_failed attempt leaked: {}",
        json.stdout
    );
}

#[test]
fn flaky_pack_retries_once_records_both_attempts_and_passes() {
    let world = World::new("engine");
    let marker = world.scratch("flaky-marker");
    let set = format!("marker={}", marker.display());
    let (out, report) = world.run_json("t/flaky", &["--set", &set]);
    assert_eq!(out.code, 0, "{report:#}\n{}", out.stderr);
    assert_eq!(report["status"], "passed");
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{report:#}");
    assert_eq!(attempts[0]["status"], "failed");
    assert_eq!(attempts[0]["exit_code"], 3);
    assert_eq!(attempts[1]["status"], "passed");

    // Ledger: both attempts, each with its own running -> final events.
    let run_id = report["run_id"].as_str().unwrap();
    let shown = world.show(run_id);
    assert_eq!(shown["run"]["status"], "passed", "{shown:#}");
    let ledger_attempts = shown["attempts"].as_array().unwrap();
    assert_eq!(ledger_attempts.len(), 2, "{shown:#}");
    let statuses: Vec<Vec<&str>> = ledger_attempts
        .iter()
        .map(|a| {
            a["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"]["status"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        statuses,
        vec![vec!["running", "failed"], vec!["running", "passed"]],
        "{shown:#}"
    );

    // The failed attempt's work dir stays for inspection; the passed one's is gone.
    let run_work = world.state.join("work").join(run_id);
    assert!(run_work.join("attempt-1").is_dir());
    assert!(!run_work.join("attempt-2").exists());

    // Evidence: two attempt folders, both sealed and verifying.
    for (n, attempt) in attempts.iter().enumerate() {
        let dir = world.evidence_dir(attempt);
        assert!(
            dir.ends_with(format!("attempt-{}", n + 1)),
            "{}",
            dir.display()
        );
        assert!(dir.join("MANIFEST.json").is_file());
    }
    let verify = world.run(&["evidence", "verify", run_id, "--output", "json"]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    let verified = verify.json();
    let verified = verified["verified"].as_array().unwrap();
    assert_eq!(verified.len(), 2, "{verified:#?}");
    assert!(verified.iter().all(|v| v["partial"] == false));
}

#[test]
fn require_non_root_profile_refuses_root_with_errored() {
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    let is_root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let world = World::new("engine");
    let (out, report) = world.run_json("t/root", &[]);
    if !is_root {
        println!("not root: asserting that require_non_root lets an unprivileged user run");
        assert_eq!(out.code, 0, "{report:#}");
        assert_eq!(report["status"], "passed");
        return;
    }
    assert_eq!(out.code, 1, "{report:#}");
    assert_eq!(report["status"], "errored");
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "a policy refusal is not retried");
    let message = attempts[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("require_non_root"), "{message}");
    assert!(
        attempts[0]["exit_code"].is_null(),
        "the driver must not start"
    );
    // Nothing the pack would have written exists: it never ran.
    let log = world.evidence_dir(&attempts[0]).join("driver.log");
    assert!(
        std::fs::read_to_string(&log).map_or(true, |l| !l.contains("hello pack")),
        "the pack ran as root"
    );
}

#[test]
fn run_json_output_carries_run_id_status_and_attempts() {
    let world = World::new("engine");
    let (out, report) = world.run_json("t/hello", &[]);
    assert_eq!(out.code, 0, "{report:#}");
    let run_id = report["run_id"].as_str().unwrap();
    assert!(!run_id.is_empty());
    assert_eq!(report["status"], "passed");
    assert_eq!(report["target"], "t/hello");
    assert_eq!(report["env"], ENV);
    assert_eq!(report["attempts"][0]["attempt"], 1);
    assert_eq!(report["attempts"][0]["status"], "passed");
    assert_eq!(report["outputs"]["message"], "hello world");
    assert!(
        report["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // The same run is what the ledger lists.
    let listed = world.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["run_id"], run_id);
    // Nothing of the passed run stays in the work folder, not even its empty run folder.
    let left = crate::run_support::entries_in(&world.state.join("work"));
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn logs_prints_the_driver_output_of_a_run() {
    let world = World::new("engine");
    let (_, report) = world.run_json("t/hello", &["--set", "greeting=hello logs"]);
    let run_id = report["run_id"].as_str().unwrap();
    let logs = world.run(&["logs", run_id]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert!(
        logs.stdout
            .contains("hello pack stage=apply greeting=hello logs"),
        "{}",
        logs.stdout
    );
    assert!(
        logs.stdout.contains("hello pack on stderr"),
        "{}",
        logs.stdout
    );
    let unknown = world.run(&["logs", "no-such-run"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("`hyops runs list` shows"),
        "{}",
        unknown.stderr
    );
    // A target where a run id belongs: each command names the target's latest run.
    for command in [&["logs"][..], &["evidence", "verify"], &["runs", "show"]] {
        let args: Vec<&str> = command.iter().copied().chain(["t/hello"]).collect();
        let out = world.run(&args);
        assert_eq!(out.code, 2, "{}", out.stderr);
        let expected = format!(
            "`t/hello` is a target, not a run id; its latest run is `{run_id}` (run t/hello@test): `hyops {} {run_id}`",
            command.join(" ")
        );
        assert!(out.stderr.contains(&expected), "{}", out.stderr);
    }
}

#[test]
fn evidence_export_never_overwrites_and_says_so_as_a_usage_error() {
    let world = World::new("engine");
    let (_, report) = world.run_json("t/hello", &["--set", "greeting=hello export"]);
    let run_id = report["run_id"].as_str().unwrap();
    let tarball = world.scratch("hello.tar.gz");
    let tarball = tarball.to_str().unwrap();
    let first = world.run(&["evidence", "export", run_id, "-o", tarball]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let before = std::fs::read(tarball).unwrap();
    // Another `-o` fixes it: exit 2, and the first export is untouched.
    let again = world.run(&["evidence", "export", run_id, "-o", tarball]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(std::fs::read(tarball).unwrap(), before);
}

#[test]
fn destroy_without_yes_is_a_usage_error_and_runs_nothing() {
    let world = World::new("engine");
    let out = world.run(&["destroy", "t/hello", "--env", ENV]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "\n\nhelp: it runs the driver's destroy (of a stack: every member, dependents first); confirm with `hyops destroy t/hello --env {ENV} --yes`"
        )),
        "{}",
        out.stderr
    );
    assert!(
        !world.state.join("ledger.sqlite").exists() || world.list().is_empty(),
        "destroy without --yes recorded a run"
    );
    let confirmed = world.run(&["destroy", "t/hello", "--env", ENV, "--yes"]);
    assert_eq!(confirmed.code, 0, "{}", confirmed.stderr);
}

#[test]
fn prune_keeps_the_latest_passed_run_and_records_an_admin_event() {
    let world = World::new("engine");
    let mut ids = Vec::new();
    let mut evidence = Vec::new();
    for greeting in ["hello one", "hello two", "goodbye"] {
        let set = format!("greeting={greeting}");
        let (_, report) = world.run_json("t/hello", &["--set", &set]);
        ids.push(report["run_id"].as_str().unwrap().to_owned());
        evidence.push(world.evidence_dir(&report["attempts"][0]));
    }
    assert!(evidence.iter().all(|dir| dir.is_dir()), "{evidence:?}");
    // Oldest passed, newest passed, then a probe failure (the message must start with "hello").
    // A dry run names what would go and changes nothing.
    let dry = world.run(&["runs", "prune", "--keep", "1", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout
            .contains("would prune 1 run(s) and remove 1 folder(s)")
            && dry.stdout.contains(&format!("prune    {}", ids[0]))
            && dry.stdout.contains(&format!("protect  {}", ids[1])),
        "{}",
        dry.stdout
    );
    assert!(evidence.iter().all(|dir| dir.is_dir()), "{evidence:?}");
    let listed = world.run(&["runs", "list", "--output", "json"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed:#}");
    assert_eq!(world.run(&["runs", "list", "--limit", "0"]).code, 2);
    let out = world.run(&["runs", "prune", "--keep", "1", "--output", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pruned = out.json();
    assert_eq!(
        pruned["deleted_run_ids"],
        serde_json::json!([ids[0]]),
        "{pruned:#}"
    );
    assert_eq!(
        pruned["protected_run_ids"],
        serde_json::json!([ids[1]]),
        "{pruned:#}"
    );
    // The pruned run's evidence folder is gone; the kept runs' evidence still verifies.
    let gone = world.run(&["runs", "show", &ids[0]]);
    assert_eq!(gone.code, 2, "{}", gone.stderr);
    assert!(
        gone.stderr
            .contains("it was deleted by `hyops runs prune` (admin event `prune-"),
        "{}",
        gone.stderr
    );
    assert!(!evidence[0].exists(), "{pruned:#}");
    assert!(pruned["freed_bytes"].as_u64().unwrap() > 0, "{pruned:#}");
    for kept in &ids[1..] {
        let verify = world.run(&["evidence", "verify", kept]);
        assert_eq!(verify.code, 0, "{}", verify.stderr);
    }
    let mut left: Vec<String> = world
        .list()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_owned())
        .collect();
    left.sort();
    let mut expected = vec![ids[1].clone(), ids[2].clone()];
    expected.sort();
    assert_eq!(left, expected);
    // Outputs still come from the protected passed run.
    let outputs = world.run(&["outputs", "t/hello", "--env", ENV, "--output", "json"]);
    assert_eq!(outputs.code, 0, "{}", outputs.stderr);
    assert_eq!(outputs.json()["run_id"], ids[1].as_str());

    // The admin event is in the ledger.
    let admin_id = pruned["admin_event_id"].as_str().unwrap().to_owned();
    let ledger_path = world.state.join("ledger.sqlite");
    let events = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let ledger = hyops_store::Ledger::open_sqlite(&ledger_path)
                .await
                .unwrap();
            let events = ledger.admin_events().await.unwrap();
            ledger.close().await;
            events
        });
    let event = events
        .iter()
        .find(|e| e.admin_event_id == admin_id)
        .unwrap_or_else(|| panic!("no admin event {admin_id} in {events:?}"));
    let text = format!("{event:?}");
    assert!(text.contains(&ids[0]), "{text}");
}

#[test]
fn work_dirs_go_under_hyops_work_dir_and_prune_removes_them_there() {
    let world = World::new("engine");
    let work = world.scratch("scratch");
    let run = |args: &[&str]| {
        let out = world
            .cmd(args)
            .env("HYOPS_WORK_DIR", &work)
            .output()
            .unwrap();
        crate::run_support::Outcome::from(out)
    };
    // A failed attempt keeps its work dir for inspection: two runs, two kept work dirs.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let out = run(&["run", "t/probe-fails", "--env", ENV, "--output", "json"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        ids.push(out.json()["run_id"].as_str().unwrap().to_owned());
    }
    // One sub-folder per state dir, then `<run_id>/attempt-<n>` as in the state dir.
    let roots: Vec<_> = std::fs::read_dir(&work).unwrap().flatten().collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
    let root = roots[0].path();
    assert_eq!(root.file_name().unwrap().len(), 12, "{}", root.display());
    for id in &ids {
        assert!(root.join(id).join("attempt-1").is_dir(), "{id}");
    }
    assert!(
        crate::run_support::files_under(&world.state.join("work")).is_empty(),
        "nothing goes to the state dir's work folder"
    );

    let pruned = run(&["runs", "prune", "--keep", "1", "--output", "json"]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert_eq!(
        pruned.json()["deleted_run_ids"],
        serde_json::json!([ids[0]])
    );
    assert!(
        !root.join(&ids[0]).exists(),
        "the pruned run's work dir is removed"
    );
    assert!(root.join(&ids[1]).is_dir(), "the kept run's work dir stays");

    // Refused before anything is recorded: a relative path, and a path that is a file.
    let file = world.scratch("a-file");
    std::fs::write(&file, "x").unwrap();
    for (value, why) in [
        (
            std::path::PathBuf::from("relative/work"),
            "is not an absolute path",
        ),
        (file, "is not a directory"),
    ] {
        let out = world
            .cmd(&["run", "t/hello", "--env", ENV])
            .env("HYOPS_WORK_DIR", &value)
            .output()
            .unwrap();
        let out = crate::run_support::Outcome::from(out);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(why), "{}", out.stderr);
        assert!(out.stderr.contains("help:"), "{}", out.stderr);
    }
    assert_eq!(world.list().len(), 1, "the refused runs recorded nothing");
}

#[test]
fn outputs_of_a_pass_that_published_nothing_says_so() {
    let world = World::new("engine");
    let module = world.catalog.join("modules/t/quiet");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("module.yaml"),
        "apiVersion: hyops/v1\nkind: Module\nid: t/quiet\nversion: 1.0.0\n\
         description: publishes nothing\ninputs:\n  greeting: { type: string, default: hi }\n\
         execution:\n  driver: shell\n  profile: quick\n  pack_ref: { id: hello@1 }\n",
    )
    .unwrap();
    let (out, report) = world.run_json("t/quiet", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = report["run_id"].as_str().unwrap();
    // Text: a sentence, not an empty stdout that reads like a failure to find anything.
    let text = world.run(&["outputs", "t/quiet", "--env", ENV]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(
        text.stdout,
        format!(
            "no outputs: `t/quiet` passed in `{ENV}` (run {run_id}, attempt 1) and publishes none\n"
        )
    );
    // JSON: the empty object, as before.
    let json = world.run(&["outputs", "t/quiet", "--env", ENV, "--output", "json"]);
    assert_eq!(
        json.json()["outputs"],
        serde_json::json!({}),
        "{}",
        json.stdout
    );

    // A stack member that published nothing gets the same sentence, under its name.
    std::fs::create_dir_all(world.catalog.join("stacks")).unwrap();
    std::fs::write(
        world.catalog.join("stacks/pair.yaml"),
        "apiVersion: hyops/v1\nkind: Stack\nname: pair\ndescription: one quiet member\n\
         members:\n  quiet:\n    module: t/quiet\n  hello:\n    module: t/hello\n",
    )
    .unwrap();
    let (out, _) = world.run_json("pair", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stack = world.run(&["outputs", "pair", "--env", ENV]);
    assert_eq!(stack.code, 0, "{}", stack.stderr);
    assert!(
        stack.stdout.contains("quiet: no outputs (run ")
            && stack.stdout.contains("hello:\n  message = hello world\n"),
        "{}",
        stack.stdout
    );
}

#[test]
fn runs_fold_the_ledger_wal_while_their_tool_runs() {
    let world = World::new("engine");
    let wal = world.state.join("ledger.sqlite-wal");
    let mut sizes = Vec::new();
    for _ in 0..8 {
        let (out, report) = world.run_json("t/hello", &[]);
        assert_eq!(out.code, 0, "{report:#}");
        sizes.push(std::fs::metadata(&wal).unwrap().len());
        // The fold runs before the tool's pid is recorded, and the verdict waits for both: a
        // fast tool's attempt still has its pid (a destroy counts only with one).
        let shown = world.show(report["run_id"].as_str().unwrap());
        assert!(
            shown["attempts"][0]["attempt"]["pid"].as_u64().is_some(),
            "no pid recorded: {shown:#}"
        );
    }
    // Without the fold the WAL only grows (SQLite's own checkpoint at 4 MiB reuses the file
    // without shrinking it); with it, a run that starts with a WAL of 256 KiB or more empties it
    // while its tool runs, and leaves only its own later commits.
    let shrank = sizes.windows(2).any(|w| w[1] < w[0]);
    assert!(shrank, "the WAL never shrank: {sizes:?}");
    let most = *sizes.iter().max().unwrap();
    assert!(
        most < 2 * hyops_store::FOLD_WAL_FROM_BYTES,
        "the WAL grew to {most} bytes: {sizes:?}"
    );
    // Nothing was lost on the way.
    assert_eq!(world.list().len(), 8);
}
