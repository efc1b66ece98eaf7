//! The runtime state layout under the state dir (DESIGN.md section 4): one place computes every path.

use std::path::{Path, PathBuf};

/// Paths under a state dir. All evidence and work paths are deterministic functions of
/// (env, target, run id, attempt).
#[derive(Debug, Clone)]
pub struct StateLayout {
    root: PathBuf,
    /// Where work and io dirs go: `<state dir>/work` unless moved ([`StateLayout::with_work_root`]).
    work: PathBuf,
}

impl StateLayout {
    /// A layout rooted at `state_dir` (created on demand by the runner).
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        let root = state_dir.into();
        Self {
            work: root.join("work"),
            root,
        }
    }

    /// The same layout with work and io dirs under `work_root` instead of `<state dir>/work`
    /// (scratch on another file system; see `HYOPS_WORK_DIR` in docs/cli.md).
    pub fn with_work_root(mut self, work_root: impl Into<PathBuf>) -> Self {
        self.work = work_root.into();
        self
    }

    /// The folder holding every run's work and io dirs (`<work root>/<run_id>/…`).
    pub fn work_root(&self) -> &Path {
        &self.work
    }

    /// The state dir.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ledger.sqlite`
    pub fn ledger(&self) -> PathBuf {
        self.root.join("ledger.sqlite")
    }

    /// `hyops.log`
    pub fn log_file(&self) -> PathBuf {
        self.root.join("hyops.log")
    }

    /// `evidence/<env>/<target>/<run_id>/attempt-<n>` relative to the state dir. A stack member
    /// target `STACK.MEMBER` and a module id `a/b` both map to nested folders.
    pub fn evidence_rel(&self, env: &str, target: &str, run_id: &str, attempt: u32) -> String {
        format!("evidence/{env}/{target}/{run_id}/attempt-{attempt}")
    }

    /// `evidence/<env>/<target>/<run_id>` relative to the state dir.
    pub fn run_evidence_rel(&self, env: &str, target: &str, run_id: &str) -> String {
        format!("evidence/{env}/{target}/{run_id}")
    }

    /// Absolute path of a state-dir-relative path.
    pub fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// `<work root>/<run_id>/attempt-<n>`: the isolated work dir (a copy of the pack).
    pub fn work_dir(&self, run_id: &str, attempt: u32) -> PathBuf {
        self.work.join(run_id).join(format!("attempt-{attempt}"))
    }

    /// `<work root>/<run_id>/attempt-<n>.io`: inputs and outputs files beside the work dir, so the
    /// pack copy stays exactly the pack and the 0600 inputs file can be removed on its own.
    pub fn io_dir(&self, run_id: &str, attempt: u32) -> PathBuf {
        self.work.join(run_id).join(format!("attempt-{attempt}.io"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_deterministic_and_relative_where_recorded() {
        let layout = StateLayout::new("/state");
        assert_eq!(
            layout.evidence_rel("dev", "web/site", "abc-1", 2),
            "evidence/dev/web/site/abc-1/attempt-2"
        );
        assert_eq!(
            layout.work_dir("abc-1", 1),
            PathBuf::from("/state/work/abc-1/attempt-1")
        );
    }
}
