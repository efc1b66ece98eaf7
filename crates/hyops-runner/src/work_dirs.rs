//! When a passed attempt's work dir is removed: as the attempt ends for a single run, once the
//! whole stack has ended for a stack run.
//!
//! Creating files right after deleting others is slow on some file systems: ext4 without a journal
//! scans every inode deleted in the last minute before it hands out a new one, so a 200-member
//! stack spent half its CPU time in that scan (`recently_deleted` in `perf`). Members create their
//! evidence and work files while earlier members' work dirs are being removed; collecting the
//! removals and doing them after the last member keeps inode allocation cheap for the whole run.
//! An io dir may hold secret values (inputs, outputs, vars files): when its removal is deferred,
//! every file in it is truncated to zero bytes as the attempt ends, so no secret outlives the
//! attempt on disk; only the empty entries wait for the end of the stack.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Work dirs to remove later, shared by the members of one stack run.
#[derive(Debug, Clone, Default)]
pub struct DeferredRemovals(Arc<Mutex<Vec<PathBuf>>>);

impl DeferredRemovals {
    /// Queues `dir` for removal.
    pub fn push(&self, dir: PathBuf) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(dir);
    }

    /// Removes every queued dir (best effort, like an immediate removal), then each run folder
    /// left empty, and empties the queue. A big queue is split over the machine's cores: after
    /// a stack's last member nothing else runs, and unlinking is CPU work in the file system
    /// (a 1,000-member stack queues 2,000 dirs, about a tenth of its wall time on one core).
    pub fn remove_all(&self) {
        let dirs = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = cores.min(dirs.len().div_ceil(DIRS_PER_REMOVER)).max(1);
        if workers == 1 {
            remove_dirs(&dirs);
        } else {
            std::thread::scope(|scope| {
                for chunk in dirs.chunks(dirs.len().div_ceil(workers)) {
                    scope.spawn(|| remove_dirs(chunk));
                }
            });
        }
        remove_empty_run_folders(&dirs);
    }
}

/// Below this many queued dirs per core, one thread removes them all (a thread costs more than
/// it saves).
const DIRS_PER_REMOVER: usize = 64;

fn remove_dirs(dirs: &[PathBuf]) {
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Removes an ended attempt's work dir (`None`: kept, e.g. a failed attempt's) and its io dir, now
/// or, with `later`, once the stack has ended (the io dir's files are blanked now).
pub(crate) fn remove_attempt_dirs(
    work_dir: Option<PathBuf>,
    io_dir: PathBuf,
    later: Option<&DeferredRemovals>,
) {
    match later {
        Some(later) => {
            blank_files(&io_dir);
            later.push(io_dir);
            if let Some(dir) = work_dir {
                later.push(dir);
            }
        }
        None => {
            for dir in work_dir.iter().chain(std::iter::once(&io_dir)) {
                let _ = std::fs::remove_dir_all(dir);
            }
            remove_empty_run_folders(std::slice::from_ref(&io_dir));
        }
    }
}

/// Removes the run folders (`<work root>/<run_id>`) holding `dirs` that are now empty; a folder
/// that still holds something (a failed attempt's kept work dir) stays. Without this every run
/// left an empty folder behind until `runs prune`.
fn remove_empty_run_folders(dirs: &[PathBuf]) {
    let mut parents: Vec<&Path> = dirs.iter().filter_map(|d| d.parent()).collect();
    parents.sort();
    parents.dedup();
    for parent in parents {
        // Only an empty folder goes: `remove_dir` refuses anything else.
        let _ = std::fs::remove_dir(parent);
    }
}

/// Truncates every regular file below `dir` to zero bytes (best effort): the content goes now,
/// the entries later.
fn blank_files(dir: &Path) {
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_file() {
            hyops_drivers::blank_file(entry.path());
        }
    }
}

/// Removes the queued dirs when dropped: however a stack run ends, its passed work dirs go.
#[derive(Debug)]
pub(crate) struct RemoveOnDrop(pub(crate) DeferredRemovals);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        self.0.remove_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_dirs_stay_until_the_guard_drops() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("w{i}"))).collect();
        let removals = DeferredRemovals::default();
        {
            let _guard = RemoveOnDrop(removals.clone());
            for dir in &dirs {
                std::fs::create_dir_all(dir.join("sub")).unwrap();
                std::fs::write(dir.join("sub/f"), b"x").unwrap();
                removals.push(dir.clone());
            }
            assert!(dirs.iter().all(|d| d.is_dir()));
        }
        assert!(dirs.iter().all(|d| !d.exists()));
    }

    #[test]
    fn a_big_queue_is_removed_whole_across_threads_with_its_run_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let removals = DeferredRemovals::default();
        let count = DIRS_PER_REMOVER * 3 + 1;
        for i in 0..count {
            let run = tmp.path().join(format!("run-{i}"));
            for dir in [run.join("attempt-1"), run.join("attempt-1.io")] {
                std::fs::create_dir_all(dir.join("sub")).unwrap();
                std::fs::write(dir.join("sub/f"), b"x").unwrap();
                removals.push(dir);
            }
        }
        removals.remove_all();
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_run_folder_goes_once_empty_and_stays_while_it_holds_a_kept_work_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let make = |run: &str, attempt: u32| {
            let work = tmp.path().join(run).join(format!("attempt-{attempt}"));
            let io = tmp.path().join(run).join(format!("attempt-{attempt}.io"));
            std::fs::create_dir_all(&work).unwrap();
            std::fs::create_dir_all(&io).unwrap();
            std::fs::write(work.join("main.tf"), b"x").unwrap();
            (work, io)
        };
        // Passed: work and io dir go, and so does the run folder.
        let (work, io) = make("run-1", 1);
        remove_attempt_dirs(Some(work), io, None);
        assert!(!tmp.path().join("run-1").exists());
        // Attempt 1 failed (work dir kept), attempt 2 passed: the folder keeps attempt 1.
        let (_kept, io1) = make("run-2", 1);
        remove_attempt_dirs(None, io1, None);
        let (work2, io2) = make("run-2", 2);
        remove_attempt_dirs(Some(work2), io2, None);
        assert!(tmp.path().join("run-2/attempt-1/main.tf").is_file());
        assert!(!tmp.path().join("run-2/attempt-2").exists());
        // Deferred (a stack): the folders go with the queue.
        let removals = DeferredRemovals::default();
        let (work3, io3) = make("run-3", 1);
        remove_attempt_dirs(Some(work3), io3, Some(&removals));
        assert!(tmp.path().join("run-3").is_dir());
        removals.remove_all();
        assert!(!tmp.path().join("run-3").exists());
    }

    #[test]
    fn blanking_empties_every_file_and_keeps_the_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let io = tmp.path().join("attempt-1.io");
        std::fs::create_dir_all(io.join("callbacks")).unwrap();
        std::fs::write(io.join("secrets.yml"), b"token: s3cr3t-value").unwrap();
        std::fs::write(io.join("callbacks/x.py"), b"print(1)").unwrap();
        blank_files(&io);
        for rel in ["secrets.yml", "callbacks/x.py"] {
            assert_eq!(std::fs::metadata(io.join(rel)).unwrap().len(), 0, "{rel}");
        }
    }
}
