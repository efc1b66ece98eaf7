//! Write-once evidence folders, sealing, and fail-closed verification.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use hyops_evidence::{
    Durability, EvidenceDir, EvidenceError, MANIFEST_FILE, Redactor, VerifyError, VerifyProblem,
    seal_partial, verify, verify_with_digest,
};

/// A sealed attempt folder with one file of each kind the runner writes.
pub fn sealed_attempt(parent: &Path) -> std::path::PathBuf {
    sealed_attempt_with(parent, Durability::default())
}

fn sealed_attempt_with(parent: &Path, durability: Durability) -> std::path::PathBuf {
    let path = parent.join("evidence/dev/web-site/run-1/attempt-1");
    let dir = EvidenceDir::create_with(&path, durability).unwrap();
    dir.write_json("request.json", &serde_json::json!({ "module": "web/site" }))
        .unwrap();
    let mut log = dir.open_log("driver.log").unwrap();
    log.line(b"[2026-01-01T00:00:00.000Z] INFO shell starting")
        .unwrap();
    log.line(b"[2026-01-01T00:00:01.000Z] INFO shell done")
        .unwrap();
    log.finish().unwrap();
    let mut events = dir.open_log("events.jsonl").unwrap();
    events.line(br#"{"status":"running"}"#).unwrap();
    events.finish().unwrap();
    dir.write_file("outputs.json", b"{\"url\":\"http://127.0.0.1:8080\"}\n")
        .unwrap();
    dir.write_file("probes/serves-greeting.json", b"{\"passed\":true}\n")
        .unwrap();
    dir.write_file("result.json", b"{\"status\":\"passed\"}\n")
        .unwrap();
    dir.seal(false).unwrap();
    path
}

/// Rewrites a read-only file (tests run as root or as the owner, so chmod first like an attacker).
fn tamper(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn problems(err: VerifyError) -> Vec<VerifyProblem> {
    match err {
        VerifyError::Tampered { problems, .. } => problems,
        other => panic!("expected tampering, got {other}"),
    }
}

#[test]
fn sealed_folder_verifies_and_every_file_is_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let path = sealed_attempt(tmp.path());
    let report = verify(&path).unwrap();
    assert!(!report.partial);
    assert_eq!(report.files, 6);
    for entry in walkdir::WalkDir::new(&path) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o444, "{}", entry.path().display());
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path.join(MANIFEST_FILE)).unwrap()).unwrap();
    assert_eq!(manifest["schema_version"], "evidence/v1");
    assert_eq!(manifest["partial"], false);
    let names: Vec<&String> = manifest["files"].as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "driver.log",
            "events.jsonl",
            "outputs.json",
            "probes/serves-greeting.json",
            "request.json",
            "result.json"
        ]
    );
    let entry = &manifest["files"]["result.json"];
    assert_eq!(entry["size_bytes"], 20);
    assert_eq!(entry["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn both_durabilities_seal_the_same_verifiable_folder() {
    let mut manifests = Vec::new();
    for durability in [Durability::PerFile, Durability::Filesystem] {
        let tmp = tempfile::tempdir().unwrap();
        let path = sealed_attempt_with(tmp.path(), durability);
        let report = verify(&path).unwrap();
        assert_eq!(report.files, 6, "{durability:?}");
        let mut names = Vec::new();
        for entry in walkdir::WalkDir::new(&path) {
            let entry = entry.unwrap();
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        assert!(
            !names.iter().any(|n| n.starts_with(".write-once-")),
            "{durability:?} left a temp file: {names:?}"
        );
        manifests.push(std::fs::read(path.join(MANIFEST_FILE)).unwrap());
    }
    assert_eq!(manifests[0], manifests[1]);
    assert_eq!(Durability::parse("fsync"), Some(Durability::PerFile));
    assert_eq!(Durability::parse("syncfs"), Some(Durability::Filesystem));
    assert_eq!(Durability::parse("sync"), None);
    assert_eq!(Durability::Filesystem.as_str(), "syncfs");
}

#[test]
fn one_changed_byte_in_each_kind_of_file_is_named() {
    for file in [
        "request.json",
        "driver.log",
        "events.jsonl",
        "probes/serves-greeting.json",
        "result.json",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let path = sealed_attempt(tmp.path());
        tamper(&path.join(file), |b| b[2] ^= 0x01);
        let found = problems(verify(&path).unwrap_err());
        assert_eq!(found.len(), 1, "{file}: {found:?}");
        assert!(matches!(&found[0], VerifyProblem::DigestChanged { file: f, .. } if f == file));
        let msg = VerifyError::Tampered {
            dir: path.clone(),
            problems: found,
        }
        .to_string();
        assert!(msg.contains(&format!("`{file}`")), "{msg}");
    }
}

#[test]
fn size_change_missing_and_extra_files_are_each_named() {
    let tmp = tempfile::tempdir().unwrap();
    let path = sealed_attempt(tmp.path());
    tamper(&path.join("outputs.json"), |b| b.push(b' '));
    std::fs::remove_file(path.join("result.json")).unwrap();
    std::fs::write(path.join("probes/injected.json"), b"{}").unwrap();
    let found = problems(verify(&path).unwrap_err());
    assert_eq!(
        found,
        vec![
            VerifyProblem::SizeChanged {
                file: "outputs.json".into(),
                expected: 32,
                actual: 33
            },
            VerifyProblem::Missing {
                file: "result.json".into()
            },
            VerifyProblem::Extra {
                file: "probes/injected.json".into()
            },
        ]
    );
}

#[test]
fn missing_or_replaced_manifest_fails_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let path = sealed_attempt(tmp.path());
    let digest = hyops_evidence::manifest_digest(&path).unwrap();
    verify_with_digest(&path, &digest).unwrap();
    // Re-sealing after tampering produces a self-consistent folder; only the ledger's digest catches it.
    std::fs::remove_file(path.join(MANIFEST_FILE)).unwrap();
    assert!(matches!(
        verify(&path),
        Err(VerifyError::MissingManifest { .. })
    ));
    tamper(&path.join("result.json"), |b| b[2] = b'X');
    EvidenceDir::open(&path)
        .unwrap()
        .seal(false)
        .unwrap_or_else(|_| {
            // result.json is writable after tampering; a partial seal records whatever is there.
            seal_partial(&path).unwrap()
        });
    verify(&path).unwrap();
    let err = verify_with_digest(&path, &digest).unwrap_err();
    assert!(matches!(err, VerifyError::ManifestReplaced { .. }), "{err}");
}

#[test]
fn write_once_files_cannot_be_overwritten_and_paths_stay_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EvidenceDir::create(&tmp.path().join("attempt-1")).unwrap();
    dir.write_file("result.json", b"1").unwrap();
    assert!(matches!(
        dir.write_file("result.json", b"2"),
        Err(EvidenceError::WriteOnce(_))
    ));
    assert!(matches!(
        dir.open_log("result.json"),
        Err(EvidenceError::WriteOnce(_))
    ));
    for bad in [
        "../escape",
        "/etc/passwd",
        "probes/../../x",
        "MANIFEST.json",
        "",
        "./a",
    ] {
        let err = dir.write_file(bad, b"x").unwrap_err();
        assert!(
            matches!(err, EvidenceError::InvalidPath { .. }),
            "{bad}: {err}"
        );
    }
    assert!(!tmp.path().join("escape").exists());
    assert!(matches!(
        EvidenceDir::create(&tmp.path().join("attempt-1")),
        Err(EvidenceError::FolderExists { .. })
    ));
}

#[test]
fn sealing_complete_evidence_refuses_unfinished_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EvidenceDir::create(&tmp.path().join("attempt-1")).unwrap();
    let mut log = dir.open_log("driver.log").unwrap();
    log.line(b"still running").unwrap();
    let err = dir.seal(false).unwrap_err();
    assert!(
        matches!(err, EvidenceError::Unfinished { ref file } if file == "driver.log"),
        "{err}"
    );
    assert!(!dir.path().join(MANIFEST_FILE).exists());
}

#[test]
fn crash_recovery_seals_what_exists_as_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EvidenceDir::create(&tmp.path().join("attempt-1")).unwrap();
    dir.write_file("request.json", b"{}").unwrap();
    let mut log = dir.open_log("driver.log").unwrap();
    log.line(b"working...").unwrap();
    // The process dies here: the log is never finished, a write-once temp file is left behind.
    std::mem::forget(log);
    std::fs::write(dir.path().join(".write-once-abc123"), b"half").unwrap();

    let manifest = seal_partial(dir.path()).unwrap();
    assert!(manifest.partial);
    assert_eq!(
        manifest.files.keys().collect::<Vec<_>>(),
        ["driver.log", "request.json"]
    );
    let mode = std::fs::metadata(dir.path().join("driver.log"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o444);
    let report = verify(dir.path()).unwrap();
    assert!(report.partial);
    // Running recovery again is harmless.
    assert_eq!(seal_partial(dir.path()).unwrap(), manifest);
}

#[test]
fn recovery_replaces_a_manifest_whose_files_a_crash_lost() {
    // A crash during the seal's single sync can leave the manifest durable and a file it names
    // not (here: the file's bytes never reached the disk). The ledger then never recorded the
    // attempt's verdict, and recovery must not trust that manifest.
    let tmp = tempfile::tempdir().unwrap();
    let path = sealed_attempt(tmp.path());
    let log = path.join("driver.log");
    let mut perms = std::fs::metadata(&log).unwrap().permissions();
    perms.set_mode(0o644);
    std::fs::set_permissions(&log, perms).unwrap();
    std::fs::write(&log, b"").unwrap();
    assert!(verify(&path).is_err());

    let manifest = seal_partial(&path).unwrap();
    assert!(
        manifest.partial,
        "a manifest the files do not match is not kept"
    );
    assert_eq!(manifest.files["driver.log"].size_bytes, 0);
    assert!(verify(&path).unwrap().partial);

    // A manifest the files match is kept as it is (recovery after a completed seal).
    let other = sealed_attempt(&tmp.path().join("second"));
    let before = std::fs::read(other.join(MANIFEST_FILE)).unwrap();
    assert!(!seal_partial(&other).unwrap().partial);
    assert_eq!(std::fs::read(other.join(MANIFEST_FILE)).unwrap(), before);
}

#[test]
fn a_folder_with_a_redactor_never_writes_the_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let r = Redactor::new(&[("token", "tok-123456-secret")]).unwrap();
    let dir = EvidenceDir::create(&tmp.path().join("attempt-1"))
        .unwrap()
        .with_redactor(r);
    dir.write_file("outputs.json", b"{\"t\":\"tok-123456-secret\"}")
        .unwrap();
    let mut log = dir.open_log("driver.log").unwrap();
    log.line(b"using tok-123456-secret").unwrap();
    log.finish().unwrap();
    for f in ["outputs.json", "driver.log"] {
        let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert!(
            !text.contains("tok-123456-secret") && text.contains("[REDACTED:token]"),
            "{text}"
        );
    }
}
