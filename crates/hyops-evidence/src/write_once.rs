//! Atomic write-once files: temp file, fsync, no-clobber rename, fsync dir, read-only.

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Mode of every sealed evidence file.
pub const READ_ONLY_MODE: u32 = 0o444;

/// Why a write-once file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteOnceError {
    /// The target already exists; write-once files are never replaced.
    #[error("`{}` already exists and write-once files are never replaced\nhelp: evidence is immutable; write a new attempt instead", path.display())]
    AlreadyExists {
        /// The target.
        path: PathBuf,
    },
    /// The target has no parent directory or file name.
    #[error("`{}` is not a file path", path.display())]
    NotAFilePath {
        /// The target.
        path: PathBuf,
    },
    /// An I/O step failed.
    #[error("failed to {step} `{}`", path.display())]
    Io {
        /// What we were doing.
        step: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn io(step: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WriteOnceError {
    let path = path.to_path_buf();
    move |source| WriteOnceError::Io { step, path, source }
}

/// Writes `bytes` to `path` atomically and exactly once, leaving it read-only (0444).
///
/// The file is written to a temp file in the same directory, made read-only and fsynced, then
/// renamed without replacing (`renameat2(RENAME_NOREPLACE)`, or link + unlink where unsupported),
/// and the directory is fsynced so the rename survives a crash. Readers never see a partial file.
pub fn write_once(path: &Path, bytes: &[u8]) -> Result<(), WriteOnceError> {
    let dir = write_once_unsynced_dir(path, bytes)?;
    sync_dir(&dir)
}

/// [`write_once`] without the final directory fsync: the file is complete and durable, its
/// name is not yet. Evidence folders use it and fsync every directory once when they seal, so
/// a crash before sealing can lose a name (the attempt is recovered as partial) but never leaves
/// a partial file. Returns the directory the caller must fsync.
pub fn write_once_unsynced_dir(path: &Path, bytes: &[u8]) -> Result<PathBuf, WriteOnceError> {
    place(path, bytes, true)
}

/// [`write_once`] with no fsync at all: atomic and write-once, durable only once the caller
/// syncs the file system ([`crate::Durability::Filesystem`]). Returns the file's directory.
pub(crate) fn write_once_deferred(path: &Path, bytes: &[u8]) -> Result<PathBuf, WriteOnceError> {
    place(path, bytes, false)
}

fn place(path: &Path, bytes: &[u8], fsync: bool) -> Result<PathBuf, WriteOnceError> {
    let dir = match (path.parent(), path.file_name()) {
        (Some(dir), Some(_)) => {
            if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }
        }
        _ => {
            return Err(WriteOnceError::NotAFilePath {
                path: path.to_path_buf(),
            });
        }
    };
    if path.symlink_metadata().is_ok() {
        return Err(WriteOnceError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    let mut temp = tempfile::Builder::new()
        .prefix(".write-once-")
        .tempfile_in(dir)
        .map_err(io("create a temp file in", dir))?;
    temp.write_all(bytes).map_err(io("write", temp.path()))?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(READ_ONLY_MODE))
        .map_err(io("make read-only", temp.path()))?;
    if fsync {
        temp.as_file()
            .sync_all()
            .map_err(io("fsync", temp.path()))?;
    }
    temp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            WriteOnceError::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            WriteOnceError::Io {
                step: "rename into place",
                path: path.to_path_buf(),
                source: e.error,
            }
        }
    })?;
    Ok(dir.to_path_buf())
}

/// Fsyncs a directory so renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), WriteOnceError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync directory", dir))
}

/// Fsyncs an existing file and makes it read-only (for streamed logs once they are complete).
pub fn make_read_only(path: &Path) -> Result<(), WriteOnceError> {
    set_read_only(path, true)
}

/// Makes an existing file read-only, fsyncing it when `fsync` is set.
pub(crate) fn set_read_only(path: &Path, fsync: bool) -> Result<(), WriteOnceError> {
    let file = File::open(path).map_err(io("open", path))?;
    file.set_permissions(Permissions::from_mode(READ_ONLY_MODE))
        .map_err(io("make read-only", path))?;
    if fsync {
        file.sync_all().map_err(io("fsync", path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_read_only_and_refuses_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        write_once(&path, b"{}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, READ_ONLY_MODE);
        let err = write_once(&path, b"changed").unwrap_err();
        assert!(matches!(err, WriteOnceError::AlreadyExists { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        // No temp files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("result.json")]);
    }
}
