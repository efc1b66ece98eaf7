//! The content-addressed artifact store over `object_store` (local files now, S3 later).
//!
//! Layout: `artifacts/sha256/<first 2 hex>/<64 hex>` under the store's root (the state dir
//! locally). Writes use `PutMode::Create`, so a blob is never overwritten: writing bytes that are
//! already stored verifies the stored copy and succeeds (idempotent); reads re-hash and fail closed
//! on a mismatch (DESIGN.md invariant 4). Locally, blobs are made read-only after the write and
//! fsynced with their folders, unless the store was opened with [`ArtifactStore::local_unsynced`]
//! (the caller syncs the whole file system later).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyops_contract::ArtifactRef;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The only digest algorithm hyops writes.
pub const DIGEST_ALG: &str = "sha256";

/// Content-addressed blobs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    store: Arc<dyn ObjectStore>,
    /// Set for the local file system: where blobs live, to make them read-only after writing.
    local_root: Option<PathBuf>,
}

impl ArtifactStore {
    /// A store rooted at `state_dir` on the local file system, with fsync on every write.
    pub fn local(state_dir: &Path) -> Result<Self, StoreError> {
        Self::local_with_fsync(state_dir, true)
    }

    /// A store rooted at `state_dir` on the local file system that does not fsync its writes: a
    /// blob is durable only once the caller has synced the file system holding `state_dir`
    /// (`syncfs`), and nothing may refer to it durably before that. The runner uses it when
    /// evidence is made durable by `syncfs` anyway: the artifacts an attempt stores ride on the
    /// sync that seals its evidence, and the ledger registers them with the attempt's final
    /// event, after that sync.
    pub fn local_unsynced(state_dir: &Path) -> Result<Self, StoreError> {
        Self::local_with_fsync(state_dir, false)
    }

    fn local_with_fsync(state_dir: &Path, fsync: bool) -> Result<Self, StoreError> {
        std::fs::create_dir_all(state_dir).map_err(|source| StoreError::Io {
            action: "create the state folder",
            path: state_dir.to_path_buf(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(state_dir)
            .map_err(|source| StoreError::ObjectStore {
                action: "open the store for",
                locator: state_dir.display().to_string(),
                source,
            })?
            .with_fsync(fsync);
        Ok(Self {
            store: Arc::new(store),
            local_root: Some(state_dir.to_path_buf()),
        })
    }

    /// A store over any `object_store` backend (S3, memory, …). Blobs are not made read-only there:
    /// immutability comes from `PutMode::Create` and the digest check on read.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            local_root: None,
        }
    }

    /// The locator of a blob with this hex SHA-256 digest.
    pub fn locator_for(hex_digest: &str) -> String {
        let shard = hex_digest.get(..2).unwrap_or(hex_digest);
        format!("artifacts/{DIGEST_ALG}/{shard}/{hex_digest}")
    }

    /// Stores `bytes` under their digest. If the blob already exists, its content is verified
    /// instead (a mismatch fails closed).
    pub async fn put(
        &self,
        bytes: Vec<u8>,
        schema_version: Option<&str>,
    ) -> Result<ArtifactRef, StoreError> {
        let hex_digest = hex::encode(Sha256::digest(&bytes));
        let artifact = ArtifactRef {
            locator: Self::locator_for(&hex_digest),
            digest: format!("{DIGEST_ALG}:{hex_digest}"),
            digest_alg: DIGEST_ALG.to_owned(),
            size_bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            schema_version: schema_version.map(str::to_owned),
        };
        if let Some(root) = &self.local_root
            && root.join(&artifact.locator).is_file()
        {
            // Locally, look before writing: a failed create would leave its temp file to unlink,
            // and every unlink slows later file creation (ext4 without a journal rescans inodes
            // freed in the last minute). The stored copy is verified as below.
            self.get(&artifact).await?;
            return Ok(artifact);
        }
        let path = ObjectPath::from(artifact.locator.as_str());
        let options = PutOptions::from(PutMode::Create);
        match self
            .store
            .put_opts(&path, PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                // Same digest already stored: check the stored copy is still intact.
                self.get(&artifact).await?;
            }
            Err(source) => {
                return Err(StoreError::ObjectStore {
                    action: "write",
                    locator: artifact.locator,
                    source,
                });
            }
        }
        self.make_read_only(&artifact.locator)?;
        Ok(artifact)
    }

    /// Reads a blob and checks it against the reference's size and digest.
    pub async fn get(&self, artifact: &ArtifactRef) -> Result<Vec<u8>, StoreError> {
        let expected_hex = validate_ref(artifact)?;
        let path = ObjectPath::from(artifact.locator.as_str());
        let read_error = |source| StoreError::ObjectStore {
            action: "read",
            locator: artifact.locator.clone(),
            source,
        };
        let bytes = self
            .store
            .get(&path)
            .await
            .map_err(read_error)?
            .bytes()
            .await
            .map_err(read_error)?;
        let actual_hex = hex::encode(Sha256::digest(&bytes));
        if actual_hex != expected_hex
            || u64::try_from(bytes.len()).ok() != Some(artifact.size_bytes)
        {
            return Err(StoreError::DigestMismatch {
                locator: artifact.locator.clone(),
                expected: artifact.digest.clone(),
                actual: format!("{DIGEST_ALG}:{actual_hex} ({} bytes)", bytes.len()),
            });
        }
        Ok(bytes.to_vec())
    }

    fn make_read_only(&self, locator: &str) -> Result<(), StoreError> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let file = root.join(locator);
        let io_error = |source| StoreError::Io {
            action: "make read-only",
            path: file.clone(),
            source,
        };
        let mut permissions = std::fs::metadata(&file).map_err(io_error)?.permissions();
        if !permissions.readonly() {
            permissions.set_readonly(true);
            std::fs::set_permissions(&file, permissions).map_err(io_error)?;
        }
        Ok(())
    }
}

/// Checks a reference is well formed and points where its digest says; returns the hex digest.
/// A reference whose locator is not the canonical one for its digest is refused rather than
/// followed (it could name any object).
fn validate_ref(artifact: &ArtifactRef) -> Result<&str, StoreError> {
    let invalid = |reason: &str| StoreError::InvalidArtifactRef {
        locator: artifact.locator.clone(),
        reason: reason.to_owned(),
    };
    if artifact.digest_alg != DIGEST_ALG {
        return Err(invalid("digest_alg must be `sha256`"));
    }
    let hex_digest = artifact
        .digest
        .strip_prefix("sha256:")
        .ok_or_else(|| invalid("digest must start with `sha256:`"))?;
    if hex_digest.len() != 64
        || !hex_digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(invalid("digest must be 64 lowercase hex digits"));
    }
    if artifact.locator != ArtifactStore::locator_for(hex_digest) {
        return Err(invalid(
            "locator does not match the digest (expected artifacts/sha256/<2 hex>/<64 hex>)",
        ));
    }
    Ok(hex_digest)
}
