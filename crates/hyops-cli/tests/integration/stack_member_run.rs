//! A stack member run on its own (`hyops run|plan STACK.MEMBER`) reads its wired inputs from each
//! producer's last PASS or refuses naming the producer; wired values are checked against the
//! consumer's input schema before it starts; plain progress never repeats a status line.

use crate::stack_support::{StackWorld, by_member};

#[test]
fn a_member_alone_reads_its_producers_last_pass_or_names_the_one_without() {
    let w = StackWorld::new();
    for stage in ["run", "plan"] {
        let out = w.run(&[stage, "three.db", "--env", "dev"]);
        assert_eq!(out.code, 1, "{stage}: {}", out.stderr);
        for part in [
            "cannot start `three.db` in `dev`",
            "input `upstream` is wired from member `net`, which has no PASS in `dev`",
            "help: run the producer first (`hyops run three.net --env dev`)",
        ] {
            assert!(out.stderr.contains(part), "{part} missing:\n{}", out.stderr);
        }
    }
    assert!(w.order().is_empty(), "nothing may start: {:?}", w.order());

    assert_eq!(w.run(&["run", "three.net", "--env", "dev"]).code, 0);
    let (code, net) = w.json(&["outputs", "three.net", "--env", "dev"]);
    assert_eq!(code, 0, "{net}");
    let (code, report) = w.json(&["run", "three.db", "--env", "dev"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["outputs"]["value"], "ok:db:ok-v1:net:", "{report}");
    let request: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            w.world
                .evidence_dir(&report["attempts"][0])
                .join("request.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let upstream = &request["inputs"]["upstream"];
    assert_eq!(upstream["value"], "ok-v1:net:", "{request}");
    assert!(
        upstream["source_location"]
            .as_str()
            .unwrap()
            .contains("<- run "),
        "{request}"
    );
    // The same member in a whole-stack run has the same identity: same inputs, same fingerprint.
    let (code, summary) = w.json(&["run", "three", "--env", "dev", "--affected"]);
    assert_eq!(code, 0, "{summary}");
    let m = by_member(&summary);
    assert!(m["net"].1 && m["db"].1, "{summary}");
    let (code, plan) = w.json(&["plan", "three.db", "--env", "dev"]);
    assert_eq!(code, 0, "{plan}");
    assert!(w.started("db", "plan"));
}

#[test]
fn a_wired_value_of_the_wrong_shape_stops_the_member_before_it_starts() {
    let w = StackWorld::new();
    let expected = [
        "member `sink` input `count` expects {\"type\":\"integer\",\"minimum\":1}",
        "but output `value` of member `src` got \"ok-v1:src:\"",
        "is not of type \"integer\"",
        "change the wiring of `count` at stacks/shapes.yaml",
    ];
    let (code, summary) = w.json(&["run", "shapes", "--env", "dev"]);
    assert_eq!(code, 1, "{summary}");
    let m = by_member(&summary);
    assert_eq!(m["src"].0, "passed", "{summary}");
    assert_eq!(m["sink"].0, "errored", "{summary}");
    for part in expected {
        assert!(
            m["sink"].2.contains(part),
            "{part} missing: {}",
            m["sink"].2
        );
    }
    assert!(!w.started("sink", "apply"), "{:?}", w.order());
    let sink_run = summary["members"][1]["run_id"].as_str().unwrap().to_owned();
    let shown = w.world.show(&sink_run);
    assert_eq!(shown["run"]["status"], "errored", "{shown}");
    assert!(
        shown.to_string().contains("hyops::stack::input_mismatch"),
        "{shown}"
    );

    // Alone, from src's last PASS: the same refusal, still no process.
    let out = w.run(&["run", "shapes.sink", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for part in expected {
        assert!(out.stderr.contains(part), "{part} missing:\n{}", out.stderr);
    }
    assert!(!w.started("sink", "apply"), "{:?}", w.order());
}

/// Status lines of plain (non-terminal) progress: `[hyops] …` for a module, `member | …`
/// without tool output (indented) for a stack.
fn status_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| match l.split_once(" | ") {
            Some((_, text)) => !text.starts_with(' ') && !text.starts_with('!'),
            None => l.starts_with("[hyops] "),
        })
        .collect()
}

#[test]
fn plain_progress_reports_every_phase_once() {
    let w = StackWorld::new();
    let single = w.run(&["run", "three.net", "--env", "dev"]);
    assert_eq!(single.code, 0, "{}", single.stderr);
    let stack = w.run(&["run", "three", "--env", "dev", "--concurrency", "1"]);
    assert_eq!(stack.code, 0, "{}", stack.stderr);
    for out in [&single, &stack] {
        let lines = status_lines(&out.stderr);
        assert!(
            lines.iter().any(|l| l.ends_with(" driver")),
            "{}",
            out.stderr
        );
        let mut seen = std::collections::BTreeSet::new();
        for line in &lines {
            assert!(
                seen.insert(*line),
                "repeated status line `{line}`:\n{}",
                out.stderr
            );
        }
    }
}
