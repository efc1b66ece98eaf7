//! Pack tree digest: SHA-256 over the pack folder with unambiguous framing, so the same tree gives
//! the same digest wherever it is extracted.
//!
//! Stream: `hyops-pack-tree-v1\0`, then for every entry in byte order of its relative path
//! (`/`-separated, folders themselves omitted):
//! - file: `F` + u64 BE path length + path + u32 BE mode (`0o755` if any execute bit is set, else
//!   `0o644`) + u64 BE content length + content;
//! - symlink (must stay inside the catalog root): `L` + u64 BE path length + path + u64 BE target
//!   length + target text.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::loader::check_symlink;

/// `sha256:<hex>` of the pack folder `dir` (which is `rel_dir` under the root).
pub fn pack_tree_digest(
    canonical_root: &Path,
    dir: &Path,
    rel_dir: &str,
) -> Result<String, Box<Diagnostic>> {
    let mut entries: Vec<(String, std::path::PathBuf, bool)> = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry.map_err(|e| {
            Box::new(
                Diagnostic::error(
                    codes::IO,
                    format!(
                        "cannot read pack folder: {}",
                        e.io_error().map_or_else(
                            || "filesystem loop".to_string(),
                            |io| io.kind().to_string()
                        )
                    ),
                )
                .with_file(rel_dir),
            )
        })?;
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let rel: Vec<String> = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        entries.push((rel.join("/"), entry.path().to_path_buf(), ft.is_symlink()));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut h = Sha256::new();
    h.update(b"hyops-pack-tree-v1\0");
    for (rel, abs, is_link) in entries {
        let rel_file = format!("{rel_dir}/{rel}");
        if is_link {
            if let Some(d) = check_symlink(canonical_root, &abs, &rel_file) {
                return Err(Box::new(d));
            }
            let target = std::fs::read_link(&abs).map_err(|e| {
                Diagnostic::error(codes::IO, format!("cannot read symlink: {}", e.kind()))
                    .with_file(&rel_file)
            })?;
            let target = target.to_string_lossy();
            h.update(b"L");
            frame(&mut h, rel.as_bytes());
            frame(&mut h, target.as_bytes());
            continue;
        }
        let bytes = std::fs::read(&abs).map_err(|e| {
            Diagnostic::error(codes::IO, format!("cannot read pack file: {}", e.kind()))
                .with_file(&rel_file)
        })?;
        h.update(b"F");
        frame(&mut h, rel.as_bytes());
        h.update(mode_bits(&abs).to_be_bytes());
        frame(&mut h, &bytes);
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

fn frame(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

#[cfg(unix)]
fn mode_bits(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let exec = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    if exec { 0o755 } else { 0o644 }
}

#[cfg(not(unix))]
fn mode_bits(_path: &Path) -> u32 {
    0o644
}
