//! `hyops graph`, `hyops plan STACK`, `hyops destroy STACK` (reverse order) and `hyops promote`.

use crate::stack_support::{StackWorld, by_member};

#[test]
fn graph_prints_mermaid_dot_and_json() {
    let w = StackWorld::new();
    let out = w.run(&["graph", "three"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("%% stack three\nflowchart LR\n"),
        "{}",
        out.stdout
    );
    for edge in ["m_net --> m_db", "m_db --> m_app", "m_zone --> m_cache"] {
        assert!(out.stdout.contains(edge), "{edge} missing:\n{}", out.stdout);
    }
    let dot = w.run(&["graph", "three", "--format", "dot"]);
    assert!(dot.stdout.contains("\"db\" -> \"app\";"), "{}", dot.stdout);
    let (code, json) = w.json(&["graph", "three", "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(
        json["edges"],
        serde_json::json!([["db", "app"], ["net", "db"], ["zone", "cache"]])
    );
    let missing = w.run(&["graph", "thre"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("no stack `thre`; expected stacks/thre.yaml")
            && missing.stderr.contains("help: known stacks: `three`,"),
        "{}",
        missing.stderr
    );
    // A module where a stack belongs: say so and name the stacks using it.
    let module = w.run(&["graph", "t/base"]);
    assert_eq!(module.code, 2, "{}", module.stderr);
    assert!(
        module.stderr.contains("`t/base` is a module")
            && module.stderr.contains("`three` (member `net`)"),
        "{}",
        module.stderr
    );
}

#[test]
fn graph_into_a_closed_pipe_is_not_a_panic() {
    let w = StackWorld::new();
    let mut text = String::from("apiVersion: hyops/v1\nkind: Stack\nname: big\nmembers:\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "  m{i}: {{ module: t/step, inputs: {{ name: m{i} }} }}\n"
        ));
    }
    std::fs::write(w.world.catalog.join("stacks/big.yaml"), text).unwrap();
    for format in ["mermaid", "dot", "json"] {
        // `hyops graph big | head -c 0`: the reader is gone before the graph is written.
        let mut child = w
            .world
            .cmd(&["graph", "big", "--format", format])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
    }
}

#[test]
fn resolve_all_lists_stack_members_and_leaves_out_modules_only_stacks_complete() {
    // Every module of the stack fixture needs a `name` only stack members give: resolving them
    // alone failed, and `resolve --all` stopped at the first one.
    let w = StackWorld::new();
    let (code, all) = w.json(&["resolve", "--all", "--env", "dev"]);
    assert_eq!(code, 0, "{all}");
    let targets: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert!(targets.contains(&"three.db"), "{targets:?}");
    assert!(!targets.iter().any(|t| t.starts_with("t/")), "{targets:?}");
    let (_, db) = w.json(&["resolve", "three.db", "--env", "dev"]);
    let listed = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["target"] == "three.db")
        .unwrap();
    assert_eq!(listed["fingerprint"], db["fingerprint"]);
}

#[test]
fn plan_names_members_waiting_for_outputs_not_yet_produced() {
    let w = StackWorld::new();
    let (code, summary) = w.json(&["plan", "three", "--env", "dev"]);
    assert_eq!(code, 0, "{summary}");
    // An expected plan result: the verdict agrees with the exit code.
    assert_eq!(summary["passed"], true, "{summary}");
    let m = by_member(&summary);
    for planned in ["net", "zone", "cache"] {
        assert_eq!(m[planned].0, "passed", "{summary}");
    }
    assert!(
        m["db"].2.contains("depends on outputs not yet produced")
            && m["db"].2.contains("member `net`"),
        "{summary}"
    );
    assert_eq!(m["app"].0, "skipped");
    let text = w.run(&["plan", "three", "--env", "dev"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.starts_with("PASS plan stack three@dev"),
        "{}",
        text.stdout
    );
    // After a run, every wired input is known from the producers' last PASS.
    assert_eq!(w.run(&["run", "three", "--env", "dev"]).code, 0);
    let (code, summary) = w.json(&["plan", "three", "--env", "dev"]);
    assert_eq!(code, 0);
    assert!(
        by_member(&summary).values().all(|m| m.0 == "passed"),
        "{summary}"
    );
}

#[test]
fn destroy_in_a_fresh_environment_skips_members_never_applied() {
    // Nothing ran in dev: a wired member cannot have been applied (its producer never passed),
    // so it has nothing to destroy and does not hold its producers back (it used to skip with
    // "depends on outputs not yet produced", stop the destroy and blame the wrong member).
    let w = StackWorld::new();
    let (code, summary) = w.json(&["destroy", "three", "--env", "dev", "--yes"]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["passed"], true, "{summary}");
    let m = by_member(&summary);
    for wired in ["db", "app"] {
        assert_eq!(m[wired].0, "skipped", "{summary}");
        assert!(
            m[wired]
                .2
                .starts_with("nothing to destroy: never applied in dev"),
            "{summary}"
        );
        assert!(!w.started(wired, "destroy"), "{wired}'s destroy started");
    }
    for unwired in ["net", "zone", "cache"] {
        assert_eq!(m[unwired].0, "passed", "{summary}");
        assert!(
            w.started(unwired, "destroy"),
            "{unwired}'s destroy did not start"
        );
    }
}

#[test]
fn destroy_runs_members_in_reverse_dependency_order() {
    let w = StackWorld::new();
    assert_eq!(w.run(&["run", "three", "--env", "dev"]).code, 0);
    let refused = w.run(&["destroy", "three", "--env", "dev"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    w.clear_markers();
    let (code, summary) = w.json(&[
        "destroy",
        "three",
        "--env",
        "dev",
        "--yes",
        "--concurrency",
        "1",
    ]);
    assert_eq!(code, 0, "{summary}");
    let order = w.order();
    let pos = |m: &str| {
        order
            .iter()
            .position(|l| l == &format!("destroy {m}"))
            .unwrap()
    };
    assert!(
        pos("app") < pos("db") && pos("db") < pos("net"),
        "{order:?}"
    );
    assert!(pos("cache") < pos("zone"), "{order:?}");
}

#[test]
fn naming_a_stack_where_a_member_is_expected_says_so() {
    let w = StackWorld::new();
    let resolved = w.run(&["resolve", "three", "--env", "dev"]);
    assert_eq!(resolved.code, 1, "{}", resolved.stderr);
    assert!(
        resolved
            .stderr
            .contains("`three` is a stack, not a module or `STACK.MEMBER`"),
        "{}",
        resolved.stderr
    );
    assert!(
        resolved
            .stderr
            .contains("name one of its members (`three.app`,"),
        "{}",
        resolved.stderr
    );
    // A member typo names the stack and its closest member; an unknown name lists the closest
    // modules and stacks (run, plan and destroy take either).
    let typo = w.run(&["run", "three.ap", "--env", "dev"]);
    assert_eq!(typo.code, 1, "{}", typo.stderr);
    assert!(
        typo.stderr.contains("stack `three` has no member `ap`")
            && typo.stderr.contains("known members: `three.app`"),
        "{}",
        typo.stderr
    );
    let unknown = w.run(&["run", "thre", "--env", "dev"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("no module, stack or `STACK.MEMBER` is named `thre`")
            && unknown.stderr.contains("known stacks: `three`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn outputs_of_a_stack_lists_each_members_under_the_pass_rule() {
    let w = StackWorld::new();
    // Nothing ran: every member says why it has none, exit 1.
    let (code, outputs) = w.json(&["outputs", "three", "--env", "dev"]);
    assert_eq!(code, 1, "{outputs}");
    let members = outputs["members"].as_object().unwrap();
    assert_eq!(
        members.keys().collect::<Vec<_>>(),
        ["app", "cache", "db", "net", "zone"],
        "{outputs}"
    );
    assert!(
        members
            .values()
            .all(|m| m["error"]["code"] == "hyops::outputs::none_passed"),
        "{outputs}"
    );
    // One member passed: its outputs, the others' reasons.
    assert_eq!(w.run(&["run", "three.net", "--env", "dev"]).code, 0);
    let text = w.run(&["outputs", "three", "--env", "dev"]);
    assert_eq!(text.code, 1, "{}", text.stderr);
    assert!(
        text.stdout.contains("net:\n  value = ")
            && text
                .stdout
                .contains("db: none: no passed run of `three.db` in `dev`"),
        "{}",
        text.stdout
    );
    // All passed: exit 0, each member's run and outputs.
    assert_eq!(w.run(&["run", "three", "--env", "dev"]).code, 0);
    let (code, outputs) = w.json(&["outputs", "three", "--env", "dev"]);
    assert_eq!(code, 0, "{outputs}");
    let (_, net) = w.json(&["outputs", "three.net", "--env", "dev"]);
    assert_eq!(
        outputs["members"]["net"]["outputs"], net["outputs"],
        "{outputs}"
    );
    assert_eq!(
        outputs["members"]["net"]["run_id"], net["run_id"],
        "{outputs}"
    );
    assert!(
        outputs["members"]["app"]["outputs"]["value"]
            .as_str()
            .unwrap()
            .starts_with("ok:app:db="),
        "{outputs}"
    );
}

#[test]
fn a_destroyed_pass_is_neither_read_nor_reused_except_by_a_destroy() {
    let w = StackWorld::new();
    assert_eq!(w.run(&["run", "three", "--env", "dev"]).code, 0);
    let destroyed = w.run(&["destroy", "three.net", "--env", "dev", "--yes"]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    // `outputs` refuses, naming the destroy.
    let (code, refused) = w.json(&["outputs", "three.net", "--env", "dev"]);
    assert_eq!(code, 1, "{refused}");
    assert_eq!(refused["code"], "hyops::outputs::destroyed", "{refused}");
    // A consumer run on its own refuses to read it, and `--affected` does not reuse it.
    let db = w.run(&["run", "three.db", "--env", "dev"]);
    assert_eq!(db.code, 1, "{}", db.stderr);
    assert!(
        db.stderr.contains("was destroyed since by run"),
        "{}",
        db.stderr
    );
    // A destroy still reads what its producer was applied with (it tears down in reverse).
    w.clear_markers();
    let (code, summary) = w.json(&["destroy", "three", "--env", "dev", "--yes"]);
    assert_eq!(code, 0, "{summary}");
    assert!(w.started("db", "destroy") && w.started("app", "destroy"));
    w.clear_markers();
    let (code, summary) = w.json(&["run", "three", "--env", "dev", "--affected"]);
    assert_eq!(code, 0, "{summary}");
    let m = by_member(&summary);
    for name in ["net", "db", "app", "zone", "cache"] {
        assert!(!m[name].1, "{name} reused after a destroy: {summary}");
        assert!(
            m[name].2.starts_with("ran: its last PASS (run ")
                && m[name].2.contains("was destroyed since by run"),
            "{name}: {summary}"
        );
    }
    // Applied again, the outputs are readable and reusable.
    assert_eq!(w.json(&["outputs", "three.net", "--env", "dev"]).0, 0);
    let (_, again) = w.json(&["run", "three", "--env", "dev", "--affected"]);
    assert!(by_member(&again).values().all(|m| m.1), "{again}");
}

#[test]
fn a_failed_destroy_leaves_the_members_it_depends_on_standing() {
    let w = StackWorld::new();
    assert_eq!(w.run(&["run", "three", "--env", "dev"]).code, 0);
    w.clear_markers();
    let (code, summary) = w.json(&[
        "destroy",
        "three",
        "--env",
        "dev",
        "--yes",
        "--keep-going",
        "--set",
        "app.fail_destroy=true",
    ]);
    assert_eq!(code, 1, "{summary}");
    let m = by_member(&summary);
    assert_eq!(m["app"].0, "failed", "{summary}");
    for name in ["db", "net"] {
        assert_eq!(m[name].0, "skipped", "{summary}");
        assert_eq!(
            m[name].2, "not destroyed: dependent app failed (it may still use this member)",
            "{summary}"
        );
        assert!(
            !w.started(name, "destroy"),
            "{name} was destroyed under app"
        );
    }
    assert!(w.started("zone", "destroy") && w.started("cache", "destroy"));
}

#[test]
fn promote_refuses_without_a_pass_and_runs_once_every_member_has_one() {
    let w = StackWorld::new();
    let (code, refused) = w.json(&["promote", "three", "--from", "dev", "--to", "stage"]);
    assert_eq!(code, 1, "{refused}");
    assert_eq!(refused["result"], "refused");
    assert_eq!(
        refused["lacking"],
        serde_json::json!(["app", "cache", "db", "net", "zone"])
    );
    assert!(
        w.order().is_empty(),
        "a refused promotion must not run anything"
    );
    let text = w.run(&["promote", "three", "--from", "dev", "--to", "stage"]);
    assert!(text.stdout.contains("no PASS in `dev`"), "{}", text.stdout);

    assert_eq!(w.run(&["run", "three", "--env", "dev"]).code, 0);
    let (code, promoted) = w.json(&["promote", "three", "--from", "dev", "--to", "stage"]);
    assert_eq!(code, 0, "{promoted}");
    assert_eq!(promoted["result"], "passed");
    assert!(promoted["evidence"]["app"].as_str().is_some(), "{promoted}");
    let (_, outputs) = w.json(&["outputs", "three.app", "--env", "stage"]);
    assert!(outputs.to_string().contains("ok:app:"), "{outputs}");
    // A changed pack is no longer vouched for by dev.
    let pack = w.world.catalog.join("packs/shell/base/run.sh");
    let text = std::fs::read_to_string(&pack).unwrap() + "\n# changed\n";
    std::fs::write(&pack, text).unwrap();
    let (code, refused) = w.json(&["promote", "three", "--from", "dev", "--to", "stage"]);
    assert_eq!(code, 1);
    assert_eq!(refused["lacking"], serde_json::json!(["net"]));
}

#[test]
fn a_member_promoted_alone_reads_its_producers_in_the_target_environment() {
    let w = StackWorld::new();
    assert_eq!(w.run(&["run", "three", "--env", "dev"]).code, 0);
    let refused = w.run(&["promote", "three.db", "--from", "dev", "--to", "stage"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("input `upstream` is wired from member `net`, which has no PASS in `stage`"),
        "{}",
        refused.stderr
    );
    assert_eq!(w.run(&["run", "three.net", "--env", "stage"]).code, 0);
    let (code, promoted) = w.json(&["promote", "three.db", "--from", "dev", "--to", "stage"]);
    assert_eq!(code, 0, "{promoted}");
    assert_eq!(promoted["result"], "passed", "{promoted}");
    let (_, outputs) = w.json(&["outputs", "three.db", "--env", "stage"]);
    assert_eq!(outputs["outputs"]["value"], "ok:db:ok-v1:net:", "{outputs}");
}

#[test]
fn promote_refuses_an_unknown_or_the_same_environment_before_looking_for_passes() {
    let w = StackWorld::new();
    assert_eq!(w.run(&["run", "three", "--env", "dev"]).code, 0);
    w.clear_markers();
    let typo = w.run(&["promote", "three", "--from", "dve", "--to", "stage"]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(
        typo.stderr
            .contains("`--from dve`: environment `dve` does not exist")
            && typo.stderr.contains("known environments: `dev`, `stage`"),
        "{}",
        typo.stderr
    );
    let same = w.run(&["promote", "three", "--from", "dev", "--to", "dev"]);
    assert_eq!(same.code, 2, "{}", same.stderr);
    assert!(
        same.stderr.contains("`--from` and `--to` both name `dev`"),
        "{}",
        same.stderr
    );
    // An unknown environment of a stack run is one problem, not one per member.
    let unknown = w.run(&["run", "three", "--env", "dve"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert_eq!(
        unknown
            .stderr
            .matches("environment `dve` does not exist")
            .count(),
        1,
        "{}",
        unknown.stderr
    );
    assert!(
        unknown.stderr.contains("(1 problem(s))"),
        "{}",
        unknown.stderr
    );
    assert!(w.order().is_empty(), "{:?}", w.order());
    // Nothing ran in stage.
    let (_, listed) = w.json(&["runs", "list", "--env", "stage"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
}

#[test]
fn stack_flags_are_refused_for_a_module_and_concurrency_must_be_at_least_one() {
    let w = StackWorld::new();
    // A member run on its own is a module run: `--affected` must not silently rerun it.
    let refused = w.run(&["run", "three.net", "--env", "dev", "--affected"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("`--affected` applies to stacks only, and `three.net` is not a stack"),
        "{}",
        refused.stderr
    );
    let (code, json) = w.json(&[
        "run",
        "t/base",
        "--env",
        "dev",
        "--set",
        "name=solo",
        "--concurrency",
        "2",
        "--keep-going",
    ]);
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["code"], "hyops::cli::usage");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .starts_with("`--concurrency` and `--keep-going` apply to stacks only"),
        "{json}"
    );
    for zero in [
        &["run", "three", "--env", "dev", "--concurrency", "0"][..],
        &[
            "promote",
            "three",
            "--from",
            "dev",
            "--to",
            "stage",
            "--concurrency",
            "0",
        ],
    ] {
        let out = w.run(zero);
        assert_eq!(out.code, 2, "{zero:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("invalid value '0' for '--concurrency <N>': must be at least 1"),
            "{}",
            out.stderr
        );
    }
    // Nothing ran and nothing was recorded.
    assert!(w.order().is_empty(), "{:?}", w.order());
    assert!(w.world.list().is_empty());
}
