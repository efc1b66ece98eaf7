//! `prepare_workdir`: a fresh copy of the pack that keeps exec bits and refuses escaping symlinks.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use hyops_drivers::{DriverError, prepare_workdir};

use crate::write_file;

fn mode(path: &std::path::Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn copies_tree_keeping_modes_and_inside_symlinks() {
    let base = tempfile::tempdir().unwrap();
    let pack = base.path().join("pack");
    write_file(&pack.join("run.sh"), "#!/bin/sh\necho hi\n", 0o755);
    write_file(&pack.join("lib/data.txt"), "data", 0o644);
    write_file(&pack.join("lib/setuid-tool"), "x", 0o4755);
    symlink("lib/data.txt", pack.join("data-link")).unwrap();
    symlink("../run.sh", pack.join("lib/run-link")).unwrap();

    let work = base.path().join("work/run-1/attempt-1");
    let prepared = prepare_workdir(&pack, &work).unwrap();
    assert_eq!((prepared.files, prepared.bytes), (3, 23));
    assert_eq!(mode(&work.join("run.sh")), 0o755);
    assert_eq!(mode(&work.join("lib/data.txt")), 0o644);
    assert_eq!(
        mode(&work.join("lib/setuid-tool")),
        0o755,
        "setuid must be dropped"
    );
    assert_eq!(
        fs::read_link(work.join("data-link")).unwrap().to_str(),
        Some("lib/data.txt")
    );
    assert_eq!(fs::read_to_string(work.join("data-link")).unwrap(), "data");
    // The link resolves inside the copy, not the original pack.
    assert_eq!(
        work.join("lib/run-link").canonicalize().unwrap(),
        work.join("run.sh").canonicalize().unwrap()
    );
    let mut names: Vec<_> = fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["data-link", "lib", "run.sh"],
        "nothing but the pack is written"
    );

    let again = prepare_workdir(&pack, &work).unwrap_err();
    assert!(matches!(again, DriverError::WorkdirExists { .. }));
}

#[test]
fn escaping_symlink_is_refused_and_the_work_dir_removed() {
    let base = tempfile::tempdir().unwrap();
    let pack = base.path().join("pack");
    write_file(&pack.join("run.sh"), "#!/bin/sh\n", 0o755);
    write_file(&base.path().join("outside.txt"), "secret", 0o644);
    fs::create_dir_all(pack.join("sub")).unwrap();
    symlink("../../outside.txt", pack.join("sub/leak")).unwrap();
    let work = base.path().join("work");
    let err = prepare_workdir(&pack, &work).unwrap_err();
    assert_eq!(
        err.to_string(),
        "symlink sub/leak in the pack points outside the pack (to ../../outside.txt)\nhelp: packs must be self-contained; copy the file into the pack instead"
    );
    assert!(!err.is_retryable());
    assert!(!work.exists());
}

#[test]
fn absolute_and_dangling_symlinks_are_refused() {
    let base = tempfile::tempdir().unwrap();
    let pack = base.path().join("pack");
    write_file(&pack.join("run.sh"), "#!/bin/sh\n", 0o755);
    symlink(pack.join("run.sh"), pack.join("abs")).unwrap();
    let err = prepare_workdir(&pack, &base.path().join("w1")).unwrap_err();
    assert!(matches!(err, DriverError::SymlinkAbsolute { .. }), "{err}");

    fs::remove_file(pack.join("abs")).unwrap();
    symlink("nowhere", pack.join("dangling")).unwrap();
    let err = prepare_workdir(&pack, &base.path().join("w2")).unwrap_err();
    assert!(matches!(err, DriverError::SymlinkDangling { .. }), "{err}");
}

#[test]
fn symlink_that_leaves_and_reenters_the_pack_is_refused() {
    // `../pack/run.sh` resolves inside the pack but would point outside the copy.
    let base = tempfile::tempdir().unwrap();
    let pack = base.path().join("pack");
    write_file(&pack.join("run.sh"), "#!/bin/sh\n", 0o755);
    symlink("../pack/run.sh", pack.join("reenter")).unwrap();
    let err = prepare_workdir(&pack, &base.path().join("w")).unwrap_err();
    assert!(matches!(err, DriverError::SymlinkEscapes { .. }), "{err}");
}
