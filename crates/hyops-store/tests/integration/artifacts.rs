//! The artifact store: content addressing, idempotent writes, read-only blobs, fail-closed reads.

use std::os::unix::fs::PermissionsExt;

use hyops_store::{ArtifactStore, Ledger, StoreError};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn put_then_get_round_trips_under_the_content_address() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::local(dir.path()).unwrap();
    let bytes = br#"{"url":"http://127.0.0.1:8080"}"#.to_vec();
    let hex = hex::encode(Sha256::digest(&bytes));

    let artifact = store.put(bytes.clone(), Some("outputs/v1")).await.unwrap();
    assert_eq!(artifact.digest, format!("sha256:{hex}"));
    assert_eq!(artifact.digest_alg, "sha256");
    assert_eq!(
        artifact.locator,
        format!("artifacts/sha256/{}/{hex}", &hex[..2])
    );
    assert_eq!(artifact.size_bytes, bytes.len() as u64);
    assert_eq!(artifact.schema_version.as_deref(), Some("outputs/v1"));

    let file = dir.path().join(&artifact.locator);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes,
        "plain file, readable by sha256sum"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o222, 0, "blob must be read-only, mode {mode:o}");
    assert_eq!(store.get(&artifact).await.unwrap(), bytes);

    // Putting the same bytes again is idempotent and yields the same reference.
    let again = store.put(bytes.clone(), Some("outputs/v1")).await.unwrap();
    assert_eq!(again, artifact);

    // Registration in the ledger is idempotent too.
    let ledger = Ledger::open_sqlite(dir.path().join("ledger.sqlite"))
        .await
        .unwrap();
    ledger.record_artifact(&artifact, 1).await.unwrap();
    ledger.record_artifact(&artifact, 2).await.unwrap();
}

#[tokio::test]
async fn a_tampered_blob_fails_closed_naming_the_digests() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::local(dir.path()).unwrap();
    let artifact = store.put(b"original content".to_vec(), None).await.unwrap();
    let file = dir.path().join(&artifact.locator);
    let mut permissions = std::fs::metadata(&file).unwrap().permissions();
    permissions.set_mode(0o644);
    std::fs::set_permissions(&file, permissions).unwrap();
    std::fs::write(&file, b"tampered content").unwrap();
    let tampered_hex = hex::encode(Sha256::digest(b"tampered content"));

    let err = store.get(&artifact).await.unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&artifact.locator), "{text}");
    assert!(text.contains(&artifact.digest), "{text}");
    assert!(text.contains(&tampered_hex), "{text}");
    assert!(!err.is_retryable());

    // Re-putting the original bytes does not silently accept (or overwrite) the tampered blob.
    let err = store
        .put(b"original content".to_vec(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"tampered content");
}

#[tokio::test]
async fn malformed_or_missing_references_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::local(dir.path()).unwrap();
    let good = store.put(b"x".to_vec(), None).await.unwrap();

    let mut elsewhere = good.clone();
    elsewhere.locator = "ledger.sqlite".into();
    let err = store.get(&elsewhere).await.unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidArtifactRef { .. }),
        "{err}"
    );

    let mut md5 = good.clone();
    md5.digest_alg = "md5".into();
    assert!(matches!(
        store.get(&md5).await.unwrap_err(),
        StoreError::InvalidArtifactRef { .. }
    ));

    let missing_hex = "ab".repeat(32);
    let missing = hyops_contract::ArtifactRef {
        locator: ArtifactStore::locator_for(&missing_hex),
        digest: format!("sha256:{missing_hex}"),
        digest_alg: "sha256".into(),
        size_bytes: 1,
        schema_version: None,
    };
    let err = store.get(&missing).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ObjectStore { action: "read", .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&missing.locator), "{err}");
}
