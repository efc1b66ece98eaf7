//! An attempt's evidence folder: write-once files, streamed logs, sealing into MANIFEST.json.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use crate::durability::Durability;
use crate::manifest::{MANIFEST_FILE, Manifest, seal_dir};
use crate::redactor::Redactor;
use crate::write_once::{
    WriteOnceError, set_read_only, sync_dir, write_once_deferred, write_once_unsynced_dir,
};

/// Why an evidence operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A relative path inside the folder was unacceptable.
    #[error("invalid evidence path `{rel}`: {reason}")]
    InvalidPath {
        /// The path given.
        rel: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The attempt folder already exists.
    #[error("evidence folder `{}` already exists\nhelp: every attempt gets a fresh folder; this attempt number was used before", path.display())]
    FolderExists {
        /// The folder.
        path: PathBuf,
    },
    /// `seal(partial: false)` found a file still open for writing.
    #[error(
        "evidence file `{file}` is still writable (a log was not finished)\nhelp: finish every log before sealing, or seal as partial"
    )]
    Unfinished {
        /// Folder-relative path.
        file: String,
    },
    /// Evidence folders hold regular files and folders only.
    #[error(
        "evidence entry `{file}` is not a regular file (symlinks and special files are refused)"
    )]
    NotRegular {
        /// Folder-relative path.
        file: String,
    },
    /// A file name is not UTF-8 and cannot be recorded in the manifest.
    #[error("evidence file name `{}` is not UTF-8", path.display())]
    NonUtf8Name {
        /// The path.
        path: PathBuf,
    },
    /// Writing a write-once file failed.
    #[error(transparent)]
    WriteOnce(#[from] WriteOnceError),
    /// Another I/O step failed.
    #[error("failed to {step} `{}`", path.display())]
    Io {
        /// What we were doing.
        step: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn io_err(
    step: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> EvidenceError {
    let path = path.to_path_buf();
    move |source| EvidenceError::Io { step, path, source }
}

/// The evidence folder of one attempt. Every file in it is written once and then read-only.
#[derive(Debug, Clone)]
pub struct EvidenceDir {
    root: PathBuf,
    redactor: Option<Redactor>,
    durability: Durability,
}

impl EvidenceDir {
    /// Creates the folder (its parents may exist); fails if the folder itself already exists.
    pub fn create(path: &Path) -> Result<Self, EvidenceError> {
        Self::create_with(path, Durability::default())
    }

    /// [`EvidenceDir::create`] with an explicit [`Durability`]: with [`Durability::PerFile`] the
    /// parent directory is fsynced now, with [`Durability::Filesystem`] at sealing.
    pub fn create_with(path: &Path, durability: Durability) -> Result<Self, EvidenceError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        std::fs::create_dir(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                EvidenceError::FolderExists {
                    path: path.to_path_buf(),
                }
            } else {
                EvidenceError::Io {
                    step: "create",
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        if durability.per_file()
            && let Some(parent) = path.parent()
        {
            sync_dir(parent)?;
        }
        Ok(Self {
            root: path.to_path_buf(),
            redactor: None,
            durability,
        })
    }

    /// Opens an existing folder (to add files or seal it).
    pub fn open(path: &Path) -> Result<Self, EvidenceError> {
        std::fs::metadata(path).map_err(io_err("open evidence folder", path))?;
        Ok(Self {
            root: path.to_path_buf(),
            redactor: None,
            durability: Durability::default(),
        })
    }

    /// Passes every byte written through `redactor` from now on ([`EvidenceDir::write_file`] and
    /// [`LogWriter`] lines). Output that already went through a stream redactor may pass again:
    /// redaction is idempotent.
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Writes a write-once file at `rel` (parent folders are created). The file is durable when
    /// this returns; its directory entry is once the folder is sealed.
    pub fn write_file(&self, rel: &str, bytes: &[u8]) -> Result<PathBuf, EvidenceError> {
        let path = self.prepare(rel)?;
        let redacted;
        let bytes = match &self.redactor {
            Some(r) => {
                redacted = r.redact_bytes(bytes);
                &redacted[..]
            }
            None => bytes,
        };
        // Directories (and, with `Durability::Filesystem`, the file) are synced at sealing.
        if self.durability.per_file() {
            write_once_unsynced_dir(&path, bytes)?;
        } else {
            write_once_deferred(&path, bytes)?;
        }
        Ok(path)
    }

    /// Writes `value` as pretty JSON (trailing newline) at `rel`, write-once.
    pub fn write_json(
        &self,
        rel: &str,
        value: &serde_json::Value,
    ) -> Result<PathBuf, EvidenceError> {
        let mut bytes =
            serde_json::to_vec_pretty(value).expect("a serde_json::Value always serializes");
        bytes.push(b'\n');
        self.write_file(rel, &bytes)
    }

    /// Opens a streamed file (driver.log, events.jsonl); it becomes read-only on [`LogWriter::finish`].
    pub fn open_log(&self, rel: &str) -> Result<LogWriter, EvidenceError> {
        let path = self.prepare(rel)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    EvidenceError::WriteOnce(WriteOnceError::AlreadyExists { path: path.clone() })
                } else {
                    EvidenceError::Io {
                        step: "create",
                        path: path.clone(),
                        source,
                    }
                }
            })?;
        Ok(LogWriter {
            path,
            file: BufWriter::new(file),
            redactor: self.redactor.clone(),
            fsync: self.durability.per_file(),
        })
    }

    /// Hashes every file and writes `MANIFEST.json` (write-once). With `partial: false` every file
    /// must already be read-only (all logs finished).
    pub fn seal(&self, partial: bool) -> Result<Manifest, EvidenceError> {
        seal_dir(&self.root, partial, self.durability)
    }

    fn prepare(&self, rel: &str) -> Result<PathBuf, EvidenceError> {
        let checked = check_rel(rel)?;
        let path = self.root.join(checked);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        Ok(path)
    }
}

/// Accepts plain relative paths only: no `..`, no absolute paths, not the manifest itself.
fn check_rel(rel: &str) -> Result<&Path, EvidenceError> {
    let invalid = |reason| EvidenceError::InvalidPath {
        rel: rel.to_owned(),
        reason,
    };
    let path = Path::new(rel);
    if rel.is_empty() {
        return Err(invalid("it is empty"));
    }
    for component in path.components() {
        match component {
            Component::Normal(_) => {}
            Component::ParentDir => return Err(invalid("`..` would leave the evidence folder")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(invalid("it must be relative to the evidence folder"));
            }
            Component::CurDir => return Err(invalid("`.` components are not allowed")),
        }
    }
    if rel == MANIFEST_FILE {
        return Err(invalid("MANIFEST.json is written only by sealing"));
    }
    Ok(path)
}

/// A streamed evidence file. Each call appends and flushes, so a crash loses at most the
/// current line; [`LogWriter::finish`] fsyncs it and makes it read-only.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: BufWriter<File>,
    redactor: Option<Redactor>,
    fsync: bool,
}

impl LogWriter {
    /// Appends `text` and a newline, then flushes.
    pub fn line(&mut self, text: &[u8]) -> Result<(), EvidenceError> {
        let redacted;
        let text = match &self.redactor {
            Some(r) => {
                redacted = r.redact_bytes(text);
                &redacted[..]
            }
            None => text,
        };
        self.file
            .write_all(text)
            .map_err(io_err("write", &self.path))?;
        self.file
            .write_all(b"\n")
            .map_err(io_err("write", &self.path))?;
        self.file.flush().map_err(io_err("write", &self.path))
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes and makes the file read-only; fsyncs it unless the folder syncs its file system
    /// at sealing ([`Durability::Filesystem`]). Its directory is synced at sealing.
    pub fn finish(mut self) -> Result<(), EvidenceError> {
        self.file.flush().map_err(io_err("write", &self.path))?;
        set_read_only(&self.path, self.fsync)?;
        Ok(())
    }
}
