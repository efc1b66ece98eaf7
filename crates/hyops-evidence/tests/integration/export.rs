//! Reproducible export of verified evidence.

use std::os::unix::fs::PermissionsExt;

use hyops_evidence::{ExportError, export, verify};

use crate::evidence::sealed_attempt;

#[test]
fn export_round_trips_and_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let path = sealed_attempt(tmp.path());
    let first = tmp.path().join("first.tar.gz");
    export(&path, &first).unwrap();

    let unpacked = tmp.path().join("unpacked");
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&first).unwrap());
    let mut archive = tar::Archive::new(gz);
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        assert_eq!(header.mtime().unwrap(), 0);
        assert_eq!(header.uid().unwrap(), 0);
        names.push(
            entry
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned(),
        );
    }
    assert_eq!(names.first().map(String::as_str), Some("attempt-1"));
    assert!(
        names.contains(&"attempt-1/probes/serves-greeting.json".to_owned()),
        "{names:?}"
    );
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are in sorted order");

    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&first).unwrap());
    tar::Archive::new(gz).unpack(&unpacked).unwrap();
    let report = verify(&unpacked.join("attempt-1")).unwrap();
    assert_eq!(report.files, 6);

    // Same folder, same bytes — even after its files' mtimes change.
    let second = tmp.path().join("second.tar.gz");
    std::thread::sleep(std::time::Duration::from_millis(10));
    std::fs::File::open(path.join("result.json"))
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .ok();
    export(&path, &second).unwrap();
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    assert!(matches!(
        export(&path, &second),
        Err(ExportError::OutputExists { .. })
    ));
}

#[test]
fn tampered_evidence_is_not_exported() {
    let tmp = tempfile::tempdir().unwrap();
    let path = sealed_attempt(tmp.path());
    let log = path.join("driver.log");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&log, b"rewritten history\n").unwrap();
    let out = tmp.path().join("out.tar.gz");
    let err = export(&path, &out).unwrap_err();
    assert!(matches!(err, ExportError::Verify(_)));
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("driver.log"), "{chain}");
    assert!(!out.exists());
}
