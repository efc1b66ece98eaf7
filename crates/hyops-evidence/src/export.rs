//! Export of a verified evidence folder as a reproducible `.tar.gz`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::verify::{VerifyError, VerifyReport, verify};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The folder failed verification; tampered evidence is never exported.
    #[error("refusing to export evidence that fails verification")]
    Verify(#[from] VerifyError),
    /// The output already exists.
    #[error("`{}` already exists\nhelp: choose another output path or remove the old export", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },
    /// Writing the archive failed.
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

fn io(step: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExportError {
    let path = path.to_path_buf();
    move |source| ExportError::Io { step, path, source }
}

/// Verifies `dir`, then writes it to `out` as a `.tar.gz` whose entries sit under the folder's
/// own name (`attempt-1/…`), sorted, with mtime 0, uid/gid 0, no user names, mode 0755 for folders
/// and 0444 for files: the same folder always gives the same bytes. `out` must not exist.
pub fn export(dir: &Path, out: &Path) -> Result<VerifyReport, ExportError> {
    let report = verify(dir)?;
    if out.symlink_metadata().is_ok() {
        return Err(ExportError::OutputExists {
            path: out.to_path_buf(),
        });
    }
    let prefix = dir
        .file_name()
        .map_or_else(|| PathBuf::from("evidence"), PathBuf::from);
    let out_dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".export-")
        .tempfile_in(out_dir)
        .map_err(io("create a temp file in", out_dir))?;
    let gz = GzEncoder::new(BufWriter::new(temp.as_file()), Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.mode(tar::HeaderMode::Deterministic);
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| ExportError::Io {
            step: "walk",
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let name = prefix.join(rel);
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if entry.file_type().is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder
                .append_data(&mut header, &name, std::io::empty())
                .map_err(io("archive", entry.path()))?;
        } else {
            let file = File::open(entry.path()).map_err(io("open", entry.path()))?;
            let size = file.metadata().map_err(io("stat", entry.path()))?.len();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o444);
            header.set_size(size);
            builder
                .append_data(&mut header, &name, file)
                .map_err(io("archive", entry.path()))?;
        }
    }
    let gz = builder.into_inner().map_err(io("write", out))?;
    let mut buffered = gz.finish().map_err(io("compress", out))?;
    buffered.flush().map_err(io("write", out))?;
    drop(buffered);
    temp.as_file()
        .sync_all()
        .map_err(io("fsync", temp.path()))?;
    temp.persist_noclobber(out).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            ExportError::OutputExists {
                path: out.to_path_buf(),
            }
        } else {
            ExportError::Io {
                step: "rename into place",
                path: out.to_path_buf(),
                source: e.error,
            }
        }
    })?;
    Ok(report)
}
