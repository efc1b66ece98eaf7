//! Data-driven invalid catalogs: one defect per fixture under `tests/fixtures/invalid/<NN-name>/`,
//! one snapshot of the rendered report each. Fixtures too large or too machine-specific to commit
//! carry a `GENERATE` file naming what to create in the temp copy at test time.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{copy_tree, fixtures};

/// Applies a `GENERATE` directive to the temp copy `root`; `outside` is a folder outside the root.
fn generate(root: &Path, outside: &Path) {
    let Ok(spec) = std::fs::read_to_string(root.join("GENERATE")) else {
        return;
    };
    std::fs::remove_file(root.join("GENERATE")).unwrap();
    let (what, rel) = spec.trim().split_once(' ').unwrap();
    let target = root.join(rel);
    match what {
        "big-file" => {
            // 50 MiB: a valid header followed by comment lines.
            let mut text = String::from("apiVersion: hyops/v1\nkind: Environment\nname: dev\n");
            let line =
                "# padding padding padding padding padding padding padding padding padding\n";
            while text.len() < 50 * 1024 * 1024 {
                text.push_str(line);
            }
            std::fs::write(target, text).unwrap();
        }
        "deep-nesting" => {
            let depth = 10_000;
            let text = format!(
                "apiVersion: hyops/v1\nkind: Environment\nname: dev\nvars:\n  deep: {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            std::fs::write(target, text).unwrap();
        }
        "symlink-escape" => {
            let victim = outside.join("outside.yaml");
            std::fs::write(&victim, "apiVersion: hyops/v1\nkind: Profile\nname: outside\nversion: 1.0.0\ndriver: shell\n").unwrap();
            #[cfg(unix)]
            std::os::unix::fs::symlink(&victim, &target).unwrap();
        }
        other => panic!("unknown GENERATE directive {other}"),
    }
}

#[test]
fn every_invalid_fixture_reports_located_errors() {
    let base = fixtures().join("invalid");
    let mut names: Vec<String> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 35, "only {} fixtures", names.len());
    for name in names {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = tmp.path().join("catalog");
        copy_tree(&base.join(&name), &root);
        generate(&root, outside.path());
        // Time bound: hostile input must fail fast, never hang.
        let (tx, rx) = mpsc::channel();
        let r = root.clone();
        std::thread::spawn(move || {
            let _ = tx.send(hyops_catalog::validate(&r));
        });
        let report = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name}: validation did not finish within 30 s"));
        let text = report.render_text();
        assert!(report.has_errors(), "{name}: no error\n{text}");
        assert!(
            report
                .diagnostics
                .iter()
                .any(|d| d.is_error() && d.file.is_some() && d.line > 0),
            "{name}: no error names a file and line\n{text}"
        );
        for p in [tmp.path(), outside.path()] {
            assert!(
                !text.contains(p.to_str().unwrap()),
                "{name}: absolute path in output\n{text}"
            );
        }
        let json = serde_json::to_string(&report.to_json()).unwrap();
        assert!(
            !json.contains(tmp.path().to_str().unwrap()),
            "{name}: absolute path in JSON"
        );
        insta::with_settings!({
            snapshot_path => "../snapshots/invalid",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.clone(), text);
        });
    }
}
