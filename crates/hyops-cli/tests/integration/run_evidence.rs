//! Evidence fails closed (invariant 4): one changed byte, a deleted file or an extra file in an
//! attempt's folder makes `hyops evidence verify` fail naming the file.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::run_support::{ENV, Outcome, World, files_under};

/// Every file the acceptance list names, relative to the attempt folder.
const FILES: &[&str] = &[
    "request.json",
    "driver.log",
    "events.jsonl",
    "outputs.json",
    "result.json",
    "probes.junit.xml",
];

fn make_writable(path: &Path) {
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o200)).unwrap();
}

fn verify(world: &World, run_id: &str) -> crate::run_support::Outcome {
    world.run(&["evidence", "verify", run_id])
}

#[test]
fn evidence_verify_fails_closed_naming_a_changed_deleted_or_extra_file() {
    let world = World::new("engine");
    let (out, report) = world.run_json("t/hello", &[]);
    assert_eq!(out.code, 0, "{report:#}");
    let run_id = report["run_id"].as_str().unwrap();
    let dir = world.evidence_dir(&report["attempts"][0]);
    assert_eq!(verify(&world, run_id).code, 0);

    let probe_files: Vec<String> = files_under(&dir.join("probes"))
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(probe_files.len(), 2, "{probe_files:?}");
    let mut targets: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    targets.extend(probe_files);

    for rel in &targets {
        let path = dir.join(rel);
        let original = std::fs::read(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o222, 0, "{rel} is writable after sealing");
        make_writable(&path);
        let mut changed = original.clone();
        let middle = changed.len() / 2;
        changed[middle] ^= 0x01;
        std::fs::write(&path, &changed).unwrap();

        let out = verify(&world, run_id);
        assert_eq!(out.code, 1, "one byte changed in {rel} went unnoticed");
        assert!(out.stderr.contains(rel.as_str()), "{rel}: {}", out.stderr);

        std::fs::write(&path, &original).unwrap();
        let restored = verify(&world, run_id);
        assert_eq!(restored.code, 0, "{rel}: {}", restored.stderr);
    }

    // A deleted file.
    let log = dir.join("driver.log");
    let original = std::fs::read(&log).unwrap();
    make_writable(&dir);
    std::fs::remove_file(&log).unwrap();
    let out = verify(&world, run_id);
    assert_eq!(out.code, 1, "a deleted driver.log went unnoticed");
    assert!(out.stderr.contains("driver.log"), "{}", out.stderr);
    std::fs::write(&log, &original).unwrap();
    assert_eq!(verify(&world, run_id).code, 0);

    // An extra file.
    std::fs::write(dir.join("notes.txt"), b"added later\n").unwrap();
    let out = verify(&world, run_id);
    assert_eq!(out.code, 1, "an extra file went unnoticed");
    assert!(out.stderr.contains("notes.txt"), "{}", out.stderr);

    // The JSON error names it too.
    let json = world.run(&["evidence", "verify", run_id, "--output", "json"]);
    assert_eq!(json.code, 1);
    assert!(json.stdout.contains("notes.txt"), "{}", json.stdout);
}

#[test]
fn per_file_fsync_is_a_choice_and_a_wrong_sync_method_is_refused_before_running() {
    let world = World::new("engine");
    let out = Outcome::from(
        world
            .cmd(&["run", "t/hello", "--env", ENV, "--output", "json"])
            .env("HYOPS_EVIDENCE_SYNC", "fsync")
            .output()
            .unwrap(),
    );
    let report = out.json();
    assert_eq!(out.code, 0, "{report:#}\n{}", out.stderr);
    let run_id = report["run_id"].as_str().unwrap();
    assert_eq!(verify(&world, run_id).code, 0);
    for name in FILES {
        assert!(
            world
                .evidence_dir(&report["attempts"][0])
                .join(name)
                .is_file(),
            "{name}"
        );
    }

    let out = Outcome::from(
        world
            .cmd(&["run", "t/hello", "--env", ENV])
            .env("HYOPS_EVIDENCE_SYNC", "sometimes")
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("HYOPS_EVIDENCE_SYNC=sometimes") && out.stderr.contains("syncfs"),
        "{}",
        out.stderr
    );
    assert_eq!(
        world.list().len(),
        1,
        "a refused setting must not record a run"
    );
}
