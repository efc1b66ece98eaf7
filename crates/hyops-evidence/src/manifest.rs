//! MANIFEST.json: the digest and size of every evidence file, written last, write-once.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::durability::{Durability, sync_filesystem};
use crate::evidence_dir::{EvidenceError, io_err};
use crate::write_once::{make_read_only, sync_dir, write_once, write_once_deferred};

/// File name of the manifest inside an evidence folder.
pub const MANIFEST_FILE: &str = "MANIFEST.json";

/// `schema_version` of manifests this crate writes and reads.
pub const MANIFEST_SCHEMA_VERSION: &str = "evidence/v1";

/// Prefix of temp files left by an interrupted [`crate::write_once`].
const TEMP_PREFIX: &str = ".write-once-";

/// The manifest of an evidence folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA_VERSION`].
    pub schema_version: String,
    /// Sealed after a crash or interruption: what exists was recorded, the attempt may be incomplete.
    pub partial: bool,
    /// Folder-relative path (`/`-separated) → digest and size; every file except the manifest.
    pub files: BTreeMap<String, FileEntry>,
}

/// One file of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// Digest of one file on disk, with whether it is still writable.
pub(crate) struct Observed {
    pub(crate) entry: FileEntry,
    pub(crate) writable: bool,
}

/// Hashes every regular file under `root` except the manifest, sorted by relative path.
pub(crate) fn observe(root: &Path) -> Result<BTreeMap<String, Observed>, EvidenceError> {
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            EvidenceError::Io {
                step: "walk",
                path,
                source: e.into(),
            }
        })?;
        let rel_path = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if rel_path.as_os_str().is_empty() {
            continue;
        }
        let rel = rel_path
            .to_str()
            .ok_or_else(|| EvidenceError::NonUtf8Name {
                path: entry.path().to_path_buf(),
            })?
            .to_owned();
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(EvidenceError::NotRegular { file: rel });
        }
        if rel == MANIFEST_FILE {
            continue;
        }
        let (entry_digest, mode) = hash_file(entry.path())?;
        files.insert(
            rel,
            Observed {
                entry: entry_digest,
                writable: mode & 0o222 != 0,
            },
        );
    }
    Ok(files)
}

/// SHA-256 and size of a file, plus its mode.
pub(crate) fn hash_file(path: &Path) -> Result<(FileEntry, u32), EvidenceError> {
    let mut file = File::open(path).map_err(io_err("open", path))?;
    let mode = file
        .metadata()
        .map_err(io_err("stat", path))?
        .permissions()
        .mode();
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher).map_err(io_err("read", path))?;
    Ok((
        FileEntry {
            sha256: hex::encode(hasher.finalize()),
            size_bytes: size,
        },
        mode,
    ))
}

pub(crate) fn seal_dir(
    root: &Path,
    partial: bool,
    durability: Durability,
) -> Result<Manifest, EvidenceError> {
    let observed = observe(root)?;
    let mut files = BTreeMap::new();
    for (rel, seen) in observed {
        if seen.writable && !partial {
            return Err(EvidenceError::Unfinished { file: rel });
        }
        files.insert(rel, seen.entry);
    }
    let manifest = Manifest {
        schema_version: MANIFEST_SCHEMA_VERSION.to_owned(),
        partial,
        files,
    };
    let mut bytes =
        serde_json::to_vec_pretty(&manifest).expect("a manifest of strings and numbers serializes");
    bytes.push(b'\n');
    let manifest_path = root.join(MANIFEST_FILE);
    if durability.per_file() {
        // Files were fsynced as they were written, their names were not (see
        // `write_once_unsynced_dir`): make every sub-folder durable now; writing the manifest
        // fsyncs the root, so a sealed folder is durable as a whole.
        for dir in sub_dirs(root)? {
            sync_dir(&dir)?;
        }
        write_once(&manifest_path, &bytes)?;
    } else {
        // One sync makes the files and the manifest durable together before sealing returns
        // (and so before the ledger records the verdict). A crash during that sync can leave a
        // manifest naming bytes that were lost; the ledger then still has the attempt running,
        // and recovery (`seal_partial`) trusts such a manifest only if the files match it.
        write_once_deferred(&manifest_path, &bytes)?;
        sync_filesystem(root).map_err(io_err("sync the file system of", root))?;
    }
    Ok(manifest)
}

/// Every folder below `root`, deepest first.
fn sub_dirs(root: &Path) -> Result<Vec<PathBuf>, EvidenceError> {
    let mut dirs = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .contents_first(true)
    {
        let entry = entry.map_err(|e| EvidenceError::Io {
            step: "walk",
            path: e.path().unwrap_or(root).to_path_buf(),
            source: e.into(),
        })?;
        if entry.file_type().is_dir() {
            dirs.push(entry.into_path());
        }
    }
    Ok(dirs)
}

/// Recovers an attempt folder after a crash: removes temp files of interrupted writes (they were
/// never renamed into place, so they are not evidence), makes unfinished logs read-only and seals
/// what exists with `partial: true`. If the folder is already sealed and its files match the
/// manifest, returns that manifest. A manifest the files do not match was written by a seal that a
/// crash interrupted before its sync finished (the ledger never recorded that attempt's verdict):
/// it is removed like any interrupted write, and the folder is sealed as partial.
pub fn seal_partial(root: &Path) -> Result<Manifest, EvidenceError> {
    let manifest_path = root.join(MANIFEST_FILE);
    if manifest_path.exists() {
        if crate::verify::verify(root).is_ok() {
            return read_manifest(&manifest_path);
        }
        std::fs::remove_file(&manifest_path)
            .map_err(io_err("remove the interrupted manifest", &manifest_path))?;
    }
    let mut leftovers = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            EvidenceError::Io {
                step: "walk",
                path,
                source: e.into(),
            }
        })?;
        if entry.file_type().is_file() {
            let temp = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TEMP_PREFIX));
            if temp {
                leftovers.push(entry.path().to_path_buf());
            } else {
                make_read_only(entry.path())?;
            }
        }
    }
    for temp in leftovers {
        std::fs::remove_file(&temp).map_err(io_err("remove interrupted temp file", &temp))?;
    }
    seal_dir(root, true, Durability::PerFile)
}

/// Reads and parses a MANIFEST.json.
pub(crate) fn read_manifest(path: &Path) -> Result<Manifest, EvidenceError> {
    let bytes = std::fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&bytes).map_err(|e| EvidenceError::Io {
        step: "parse",
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// `sha256:<hex>` of a folder's MANIFEST.json, for recording in the ledger: with it, even a
/// rewritten manifest is detected by [`crate::verify_with_digest`].
pub fn manifest_digest(root: &Path) -> Result<String, EvidenceError> {
    let (entry, _) = hash_file(&root.join(MANIFEST_FILE))?;
    Ok(format!("sha256:{}", entry.sha256))
}
