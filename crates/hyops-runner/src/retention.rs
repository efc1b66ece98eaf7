//! Retention: `hyops runs prune` deletes old runs from the ledger, then their files.
//!
//! The ledger goes first (one transaction, recorded as an admin event); only then are the pruned
//! runs' evidence folders and leftover work dirs removed. A crash in between leaves files of runs
//! the ledger no longer knows, which the next prune removes again (it walks the same paths);
//! never a ledger row pointing at missing evidence. Artifact blobs are content-addressed and may
//! be shared with kept runs (a terraform plan applied later), so they stay.

use std::path::{Path, PathBuf};

use hyops_store::{PruneReport, PruneRequest};

use crate::{RunError, Runner};

/// What a prune did.
#[derive(Debug, Clone)]
pub struct PruneOutcome {
    /// The ledger's part.
    pub report: PruneReport,
    /// Evidence folders and work dirs removed (with `dry_run`: that a prune would remove).
    pub removed: Vec<PathBuf>,
    /// Bytes they held.
    pub freed_bytes: u64,
    /// Folders that could not be removed, with why (the ledger part is done regardless).
    pub failed: Vec<(PathBuf, String)>,
}

impl Runner {
    /// Prunes the ledger per `request`, then removes the deleted runs' evidence and work dirs.
    /// With `request.dry_run` nothing is deleted: the outcome lists what would be.
    pub async fn prune(&self, request: &PruneRequest) -> Result<PruneOutcome, RunError> {
        let report = self
            .ledger()
            .prune(request)
            .await
            .map_err(RunError::store("prune runs"))?;
        let mut outcome = PruneOutcome {
            report,
            removed: Vec::new(),
            freed_bytes: 0,
            failed: Vec::new(),
        };
        let layout = self.layout();
        let mut doomed = Vec::new();
        for run in &outcome.report.deleted_runs {
            doomed.push(layout.abs(&layout.run_evidence_rel(&run.env, &run.target, &run.run_id)));
            doomed.push(layout.work_root().join(&run.run_id));
        }
        for dir in doomed {
            if std::fs::symlink_metadata(&dir).is_err() {
                continue;
            }
            let size = tree_size(&dir);
            let removed = if request.dry_run {
                Ok(())
            } else {
                std::fs::remove_dir_all(&dir)
            };
            match removed {
                Ok(()) => {
                    outcome.freed_bytes += size;
                    outcome.removed.push(dir);
                }
                Err(e) => outcome.failed.push((dir, e.to_string())),
            }
        }
        Ok(outcome)
    }
}

/// Bytes of the regular files under `dir` (best effort: unreadable entries count as 0).
fn tree_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
