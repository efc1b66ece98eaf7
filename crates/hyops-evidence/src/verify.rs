//! Fail-closed verification of an evidence folder against its MANIFEST.json.

use std::path::{Path, PathBuf};

use crate::evidence_dir::EvidenceError;
use crate::manifest::{MANIFEST_FILE, MANIFEST_SCHEMA_VERSION, hash_file, observe, read_manifest};

/// A verified folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The folder was sealed after an interruption.
    pub partial: bool,
    /// Number of files checked (manifest excluded).
    pub files: usize,
    /// Their total size.
    pub total_bytes: u64,
}

/// One way the folder differs from its manifest; each names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyProblem {
    /// Content changed (same size).
    #[error("`{file}`: content changed (sha256 {actual}, manifest says {expected})")]
    DigestChanged {
        /// Folder-relative path.
        file: String,
        /// Digest in the manifest.
        expected: String,
        /// Digest on disk.
        actual: String,
    },
    /// Size changed.
    #[error("`{file}`: size changed ({actual} bytes, manifest says {expected})")]
    SizeChanged {
        /// Folder-relative path.
        file: String,
        /// Size in the manifest.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// Listed in the manifest but gone.
    #[error("`{file}`: missing (listed in the manifest)")]
    Missing {
        /// Folder-relative path.
        file: String,
    },
    /// On disk but not in the manifest.
    #[error("`{file}`: not in the manifest (added after sealing)")]
    Extra {
        /// Folder-relative path.
        file: String,
    },
}

/// Why a folder failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// No MANIFEST.json: the folder was never sealed (or the manifest was removed).
    #[error("evidence folder `{}` has no MANIFEST.json\nhelp: an unsealed folder cannot be trusted; if hyops crashed, the next hyops command seals it as partial", dir.display())]
    MissingManifest {
        /// The folder.
        dir: PathBuf,
    },
    /// The manifest does not parse or has an unknown schema version.
    #[error("MANIFEST.json in `{}` is unreadable: {reason}", dir.display())]
    BadManifest {
        /// The folder.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The manifest itself is not the one recorded in the ledger.
    #[error("MANIFEST.json in `{}` was replaced (sha256:{actual}, ledger recorded {expected})", dir.display())]
    ManifestReplaced {
        /// The folder.
        dir: PathBuf,
        /// Digest recorded by the caller.
        expected: String,
        /// Digest on disk.
        actual: String,
    },
    /// Files differ from the manifest.
    #[error("evidence in `{}` does not match its MANIFEST.json:\n{}", dir.display(), list(problems))]
    Tampered {
        /// The folder.
        dir: PathBuf,
        /// Every difference found.
        problems: Vec<VerifyProblem>,
    },
    /// Reading the folder failed.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

fn list(problems: &[VerifyProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks every file against MANIFEST.json: changed, missing and extra files are all errors.
pub fn verify(dir: &Path) -> Result<VerifyReport, VerifyError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if !manifest_path.is_file() {
        return Err(VerifyError::MissingManifest {
            dir: dir.to_path_buf(),
        });
    }
    let manifest = read_manifest(&manifest_path).map_err(|e| VerifyError::BadManifest {
        dir: dir.to_path_buf(),
        reason: std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string),
    })?;
    if manifest.schema_version != MANIFEST_SCHEMA_VERSION {
        return Err(VerifyError::BadManifest {
            dir: dir.to_path_buf(),
            reason: format!(
                "schema_version `{}` is not `{MANIFEST_SCHEMA_VERSION}`",
                manifest.schema_version
            ),
        });
    }
    let mut observed = observe(dir)?;
    let mut problems = Vec::new();
    let mut total_bytes = 0;
    for (file, expected) in &manifest.files {
        let Some(seen) = observed.remove(file) else {
            problems.push(VerifyProblem::Missing { file: file.clone() });
            continue;
        };
        let actual = seen.entry;
        total_bytes += actual.size_bytes;
        if actual.size_bytes != expected.size_bytes {
            problems.push(VerifyProblem::SizeChanged {
                file: file.clone(),
                expected: expected.size_bytes,
                actual: actual.size_bytes,
            });
        } else if actual.sha256 != expected.sha256 {
            problems.push(VerifyProblem::DigestChanged {
                file: file.clone(),
                expected: expected.sha256.clone(),
                actual: actual.sha256,
            });
        }
    }
    problems.extend(
        observed
            .into_keys()
            .map(|file| VerifyProblem::Extra { file }),
    );
    if !problems.is_empty() {
        return Err(VerifyError::Tampered {
            dir: dir.to_path_buf(),
            problems,
        });
    }
    Ok(VerifyReport {
        partial: manifest.partial,
        files: manifest.files.len(),
        total_bytes,
    })
}

/// [`verify`], and also checks MANIFEST.json against the `sha256:<hex>` digest the ledger recorded
/// at sealing time (see [`crate::manifest_digest`]).
pub fn verify_with_digest(dir: &Path, expected: &str) -> Result<VerifyReport, VerifyError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if !manifest_path.is_file() {
        return Err(VerifyError::MissingManifest {
            dir: dir.to_path_buf(),
        });
    }
    let (entry, _) = hash_file(&manifest_path)?;
    let want = expected.strip_prefix("sha256:").unwrap_or(expected);
    if entry.sha256 != want {
        return Err(VerifyError::ManifestReplaced {
            dir: dir.to_path_buf(),
            expected: expected.to_owned(),
            actual: entry.sha256,
        });
    }
    verify(dir)
}
