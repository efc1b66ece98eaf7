//! A catalog big enough for the parallel paths (walk, parse, checks, `resolve_all` go on every
//! core from 16 items): findings and resolutions come out complete and in path order, exactly as
//! the one-thread path gives them for a small catalog.

use crate::support::{copy_tree, fixtures};

const GROUPS: usize = 20;
const PER_GROUP: usize = 2;

/// The basic fixture plus `GROUPS * PER_GROUP` copies of `net/vpc`; every fifth copy names a
/// profile that does not exist.
fn many_modules() -> (tempfile::TempDir, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid/basic"), tmp.path());
    let vpc = std::fs::read_to_string(tmp.path().join("modules/net/vpc/module.yaml")).unwrap();
    let mut broken = Vec::new();
    for i in 0..GROUPS * PER_GROUP {
        let id = format!("g{:02}/m{}", i / PER_GROUP, i % PER_GROUP);
        let mut text = vpc.replace("id: net/vpc", &format!("id: {id}"));
        if i % 5 == 0 {
            text = text.replace("profile: shell-default", "profile: no-such-profile");
            broken.push(format!("modules/{id}/module.yaml"));
        }
        let dir = tmp.path().join("modules").join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("module.yaml"), text).unwrap();
    }
    (tmp, broken)
}

#[test]
fn findings_of_a_large_catalog_are_complete_and_in_path_order() {
    let (tmp, broken) = many_modules();
    let report = hyops_catalog::validate(tmp.path());
    let files: Vec<&str> = report
        .diagnostics
        .iter()
        .map(|d| d.file.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(files, broken, "{}", report.render_text());
    for d in &report.diagnostics {
        assert_eq!(d.code, "hyops::catalog::unknown_profile", "{d:?}");
        assert!(d.line > 1, "located at the profile line: {d:?}");
    }
    // The same catalog validated again gives the same report, byte for byte.
    let again = hyops_catalog::validate(tmp.path());
    assert_eq!(again.render_text(), report.render_text());
}

#[test]
fn resolve_all_of_a_large_catalog_keeps_module_id_order() {
    let (tmp, broken) = many_modules();
    let loaded = hyops_catalog::load(tmp.path());
    let (catalog, _) = hyops_catalog::check(loaded);
    let all = hyops_catalog::resolve_all(&catalog, "dev", &hyops_catalog::Overrides::default());
    // Modules in id order, then the fixture's stack members.
    let ids: Vec<&str> = all
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| id.contains('/'))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    assert_eq!(ids.len(), GROUPS * PER_GROUP + 2);
    let failed: Vec<String> = all
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(id, _)| format!("modules/{id}/module.yaml"))
        .collect();
    assert_eq!(failed, broken);
}
