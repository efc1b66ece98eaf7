//! The attempt's isolated work dir: a fresh folder holding a copy of the pack tree and nothing else.
//!
//! Copy rules: regular files keep their permission bits (executable scripts stay executable;
//! setuid/setgid/sticky bits are dropped); folders are recreated; a symlink is recreated with the
//! same relative target only when that target resolves inside the pack, so it points into the copy;
//! absolute, dangling and escaping symlinks are errors (DESIGN.md invariant 2: nothing may reach
//! outside the catalog through a pack). Entries are visited in sorted order.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};

use crate::DriverError;

/// What [`prepare_workdir`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedWorkdir {
    /// The work dir.
    pub path: PathBuf,
    /// Regular files copied.
    pub files: u64,
    /// Bytes copied.
    pub bytes: u64,
}

/// Truncates the file at `path` to zero bytes, if it exists (best effort). Used instead of removing
/// a file whose content must go now (secret values, a stale pid) while its entry may wait for the
/// work or io dir's removal: ext4 without a journal scans every inode freed in the last minute
/// before it hands out a new one, so each unlink in the middle of a run makes every later file
/// creation slower.
pub fn blank_file(path: &Path) {
    let _ = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(0));
}

/// Creates `work_dir` (its parent is created if needed; `work_dir` itself must not exist) and
/// copies the pack tree at `pack_src_dir` into it. On error the partly filled work dir is removed.
pub fn prepare_workdir(
    pack_src_dir: &Path,
    work_dir: &Path,
) -> Result<PreparedWorkdir, DriverError> {
    let root = pack_src_dir
        .canonicalize()
        .map_err(DriverError::io("open pack folder", pack_src_dir))?;
    if !root.is_dir() {
        return Err(DriverError::Io {
            action: "open pack folder",
            path: pack_src_dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    if let Some(parent) = work_dir.parent() {
        fs::create_dir_all(parent).map_err(DriverError::io("create work dir parent", parent))?;
    }
    // create_dir (not _all) so an existing work dir is an error, atomically.
    match fs::create_dir(work_dir) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(DriverError::WorkdirExists {
                path: work_dir.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(DriverError::Io {
                action: "create work dir",
                path: work_dir.to_path_buf(),
                source,
            });
        }
    }
    let mut prepared = PreparedWorkdir {
        path: work_dir.to_path_buf(),
        files: 0,
        bytes: 0,
    };
    match copy_tree(&root, &root, work_dir, &mut prepared) {
        Ok(()) => Ok(prepared),
        Err(err) => {
            // Best effort: the error is what matters, and a leftover dir is refused next time anyway.
            let _ = fs::remove_dir_all(work_dir);
            Err(err)
        }
    }
}

fn copy_tree(
    root: &Path,
    src_dir: &Path,
    dst_dir: &Path,
    prepared: &mut PreparedWorkdir,
) -> Result<(), DriverError> {
    let mut entries = fs::read_dir(src_dir)
        .map_err(DriverError::io("read pack folder", src_dir))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(DriverError::io("read pack folder", src_dir))?;
    entries.sort();
    for src in entries {
        let Some(name) = src.file_name() else {
            continue;
        };
        let dst = dst_dir.join(name);
        let relative = src.strip_prefix(root).unwrap_or(&src).to_path_buf();
        let meta =
            fs::symlink_metadata(&src).map_err(DriverError::io("inspect pack file", &src))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            copy_symlink(root, &src, &dst, relative)?;
        } else if kind.is_dir() {
            fs::create_dir(&dst).map_err(DriverError::io("create folder", &dst))?;
            copy_tree(root, &src, &dst, prepared)?;
        } else if kind.is_file() {
            let bytes = fs::copy(&src, &dst).map_err(DriverError::io("copy pack file", &src))?;
            let mode = meta.permissions().mode() & 0o777;
            fs::set_permissions(&dst, fs::Permissions::from_mode(mode))
                .map_err(DriverError::io("set permissions of", &dst))?;
            prepared.files += 1;
            prepared.bytes += bytes;
        } else {
            return Err(DriverError::UnsupportedFileType { path: relative });
        }
    }
    Ok(())
}

fn copy_symlink(root: &Path, src: &Path, dst: &Path, relative: PathBuf) -> Result<(), DriverError> {
    let target = fs::read_link(src).map_err(DriverError::io("read symlink", src))?;
    if target.is_absolute() {
        return Err(DriverError::SymlinkAbsolute {
            link: relative,
            target,
        });
    }
    let parent = src.parent().unwrap_or(root);
    let resolved = match parent.join(&target).canonicalize() {
        Ok(resolved) => resolved,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(DriverError::SymlinkDangling {
                link: relative,
                target,
            });
        }
        Err(source) => {
            return Err(DriverError::Io {
                action: "resolve symlink",
                path: src.to_path_buf(),
                source,
            });
        }
    };
    // Both checks: the resolved target must be inside the pack, and the link text itself must stay
    // inside lexically, or `../pack/x` would resolve inside the pack but outside the copy.
    if !resolved.starts_with(root) || !lexically_inside(&relative, &target) {
        return Err(DriverError::SymlinkEscapes {
            link: relative,
            target,
        });
    }
    symlink(&target, dst).map_err(DriverError::io("create symlink", dst))
}

/// Whether `target`, read relative to the folder of the link at `link` (pack-relative), stays
/// inside the pack without climbing above its root.
fn lexically_inside(link: &Path, target: &Path) -> bool {
    let mut depth = link.components().count().saturating_sub(1);
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_text_must_stay_inside_lexically() {
        let lex = |link: &str, target: &str| lexically_inside(Path::new(link), Path::new(target));
        assert!(lex("a", "b"));
        assert!(lex("sub/a", "../b"));
        assert!(lex("sub/a", "./x/../../b"));
        assert!(!lex("a", "../pack/b"));
        assert!(!lex("sub/a", "../../b"));
    }

    #[test]
    fn existing_work_dir_is_refused() {
        let pack = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let err = prepare_workdir(pack.path(), work.path()).unwrap_err();
        assert!(matches!(err, DriverError::WorkdirExists { .. }), "{err}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn missing_pack_is_an_io_error() {
        let base = tempfile::tempdir().unwrap();
        let err = prepare_workdir(&base.path().join("nope"), &base.path().join("w")).unwrap_err();
        assert!(
            err.to_string().starts_with("failed to open pack folder"),
            "{err}"
        );
        assert!(!base.path().join("w").exists());
    }
}
