//! How evidence reaches the disk: one fsync per file, or one `syncfs(2)` per folder.
//!
//! An evidence folder must be durable before the ledger records its attempt's verdict
//! (DESIGN invariant 4). Each fsync on a journaling file system is a journal commit and a device
//! cache flush, so fsyncing each of a folder's ~10 files and directories cost a no-op run about
//! 3 ms, and a 1,000-member stack 10 fsyncs per member. [`Durability::Filesystem`] writes the
//! folder and its manifest without fsync and makes all of it durable with one `syncfs` when it is
//! sealed: one flush per attempt, whatever the number of files.

use std::path::Path;

/// How the files of an evidence folder are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync every file when it is complete and every directory at sealing. Portable; costs one
    /// flush per file. Use it when the state dir shares its file system with heavy unrelated
    /// writers, whose dirty data a `syncfs` would also wait for.
    PerFile,
    /// No fsync while writing; sealing writes MANIFEST.json, then calls `syncfs` on the folder's
    /// file system once. Linux only; elsewhere it behaves as [`Durability::PerFile`].
    Filesystem,
}

impl Default for Durability {
    /// [`Durability::Filesystem`] on Linux, [`Durability::PerFile`] elsewhere.
    fn default() -> Self {
        if cfg!(target_os = "linux") {
            Durability::Filesystem
        } else {
            Durability::PerFile
        }
    }
}

impl Durability {
    /// Parses a setting value: `fsync` ([`Durability::PerFile`]) or `syncfs`
    /// ([`Durability::Filesystem`]).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "fsync" => Some(Durability::PerFile),
            "syncfs" => Some(Durability::Filesystem),
            _ => None,
        }
    }

    /// The setting value of this choice (what [`Durability::parse`] accepts).
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::PerFile => "fsync",
            Durability::Filesystem => "syncfs",
        }
    }

    /// Whether each file is fsynced as it is written (otherwise sealing syncs the file system).
    pub fn per_file(self) -> bool {
        self == Durability::PerFile || !cfg!(target_os = "linux")
    }
}

/// Flushes every dirty file and directory of the file system holding `dir` (`syncfs(2)`).
#[cfg(target_os = "linux")]
pub(crate) fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    let handle = std::fs::File::open(dir)?;
    nix::unistd::syncfs(&handle).map_err(std::io::Error::from)
}

/// Other systems: the caller fsynced each file already ([`Durability::per_file`]).
#[cfg(not(target_os = "linux"))]
pub(crate) fn sync_filesystem(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}
