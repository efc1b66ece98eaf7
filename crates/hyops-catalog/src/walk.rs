//! Walking one catalog folder: every file (and symlink to a file inside the root) in sorted,
//! depth-first order, with problems found on the way. The subtrees directly below the folder are
//! walked in parallel (a module catalog is one directory per module, so the walk is mostly
//! `opendir`/`getdents` calls), and the results are concatenated in walk order: the outcome is
//! exactly that of one sequential sorted walk.

use std::path::Path;

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::loader::check_symlink;
use crate::parallel::map_ordered;

/// One thing the walk found, in walk order.
#[derive(Debug)]
pub(crate) enum Found {
    /// A file: catalog-relative path and depth (1 = directly inside the folder).
    File { rel: String, depth: usize },
    /// A problem with an entry (unreadable directory, symlink leaving the root).
    Problem(Diagnostic),
}

/// Work for the parallel phase: an entry already decided, or a subtree still to walk.
enum Job {
    Done(Vec<Found>),
    Subtree(std::path::PathBuf),
}

/// Walks `root/<folder>` without following symlinks; see the module docs for the order.
pub(crate) fn walk(root: &Path, canonical_root: &Path, folder: &str) -> Vec<Found> {
    let base = root.join(folder);
    if !base.exists() && std::fs::symlink_metadata(&base).is_err() {
        return Vec::new();
    }
    let ctx = Ctx {
        root,
        canonical_root,
        folder,
    };
    // The folder itself first, exactly as walkdir reports it (it also reads the folder to report
    // an unreadable one); then its direct entries, sorted by name like walkdir sorts them. Real
    // directories among them become subtree jobs; everything else is decided right here.
    let mut jobs = Vec::new();
    let mut head = Vec::new();
    let mut listable = false;
    for entry in walkdir::WalkDir::new(&base)
        .follow_links(false)
        .sort_by_file_name()
        .max_depth(0)
    {
        if let Ok(e) = &entry {
            listable = e.file_type().is_dir() || (e.file_type().is_symlink() && base.is_dir());
        }
        ctx.visit(entry, 0, &mut head);
    }
    jobs.push(Job::Done(head));
    if listable {
        match std::fs::read_dir(&base) {
            Ok(rd) => {
                let mut entries: Vec<std::io::Result<std::fs::DirEntry>> = rd.collect();
                // walkdir's order: errors first, then entries by file name.
                entries.sort_by(|a, b| match (a, b) {
                    (Ok(a), Ok(b)) => a.file_name().cmp(&b.file_name()),
                    (Err(_), Err(_)) => std::cmp::Ordering::Equal,
                    (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
                    (Err(_), Ok(_)) => std::cmp::Ordering::Less,
                });
                for entry in entries {
                    let mut out = Vec::new();
                    match entry.and_then(|e| Ok((e.path(), e.file_type()?))) {
                        Ok((path, ft)) if ft.is_dir() => jobs.push(Job::Subtree(path)),
                        Ok((path, ft)) => {
                            ctx.visit_entry(&path, ft, 1, &mut out);
                            jobs.push(Job::Done(out));
                        }
                        Err(err) => {
                            out.push(ctx.io_problem(None, &err));
                            jobs.push(Job::Done(out));
                        }
                    }
                }
            }
            Err(err) => jobs.push(Job::Done(vec![ctx.io_problem(Some(&base), &err)])),
        }
    }
    let len = jobs.len();
    let parts: Vec<Vec<Found>> = map_ordered(jobs, len, |job| match job {
        Job::Done(found) => found,
        Job::Subtree(dir) => {
            let mut out = Vec::new();
            let sub = walkdir::WalkDir::new(&dir)
                .follow_links(false)
                .sort_by_file_name()
                .min_depth(1);
            for entry in sub {
                ctx.visit(entry, 1, &mut out);
            }
            out
        }
    });
    parts.into_iter().flatten().collect()
}

struct Ctx<'a> {
    root: &'a Path,
    canonical_root: &'a Path,
    folder: &'a str,
}

impl Ctx<'_> {
    /// Records what one walk entry means; `depth_offset` maps subtree depths to folder depths.
    fn visit(
        &self,
        entry: walkdir::Result<walkdir::DirEntry>,
        depth_offset: usize,
        out: &mut Vec<Found>,
    ) {
        match entry {
            Ok(e) => self.visit_entry(e.path(), e.file_type(), e.depth() + depth_offset, out),
            Err(err) => {
                let rel = err
                    .path()
                    .and_then(|p| rel_path(self.root, p))
                    .unwrap_or_else(|| self.folder.to_string());
                out.push(Found::Problem(
                    Diagnostic::error(
                        codes::IO,
                        format!("cannot read directory entry: {}", io_text(&err)),
                    )
                    .with_file(&rel),
                ));
            }
        }
    }

    /// The same diagnostic walkdir's error would give, for an error of the direct listing.
    fn io_problem(&self, path: Option<&Path>, err: &std::io::Error) -> Found {
        let rel = path
            .and_then(|p| rel_path(self.root, p))
            .unwrap_or_else(|| self.folder.to_string());
        Found::Problem(
            Diagnostic::error(
                codes::IO,
                format!("cannot read directory entry: {}", err.kind()),
            )
            .with_file(&rel),
        )
    }

    /// Records what one entry (not a directory to descend into) means.
    fn visit_entry(&self, path: &Path, ft: std::fs::FileType, depth: usize, out: &mut Vec<Found>) {
        let Some(rel) = rel_path(self.root, path) else {
            return;
        };
        if ft.is_symlink() {
            if let Some(d) = check_symlink(self.canonical_root, path, &rel) {
                out.push(Found::Problem(d));
                return;
            }
            // A symlink inside the root to a file is read like the file; symlinked folders
            // are not descended into (their target is walked where it lives).
            if path.is_file() {
                out.push(Found::File { rel, depth });
            }
            return;
        }
        if ft.is_file() {
            out.push(Found::File { rel, depth });
        }
    }
}

/// The names of the entries of `dir` that `keep` accepts, sorted; none when the folder cannot
/// be read (an optional folder such as a pack's `vars/` or `roles/` may not exist).
pub(crate) fn sorted_names(
    dir: &Path,
    keep: impl Fn(&std::fs::DirEntry, &str) -> bool,
) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_owned();
                    keep(&e, &name).then_some(name)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `root/a/b` -> `a/b` (always `/`-separated); `None` outside the root.
pub(crate) fn rel_path(root: &Path, abs: &Path) -> Option<String> {
    let rel = abs.strip_prefix(root).ok()?;
    let mut out = String::with_capacity(rel.as_os_str().len());
    for (i, c) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&c.as_os_str().to_string_lossy());
    }
    Some(out)
}

fn io_text(err: &walkdir::Error) -> String {
    err.io_error()
        .map_or_else(|| "filesystem loop".to_string(), |e| e.kind().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(found: &[Found]) -> Vec<(String, usize)> {
        found
            .iter()
            .filter_map(|f| match f {
                Found::File { rel, depth } => Some((rel.clone(), *depth)),
                Found::Problem(_) => None,
            })
            .collect()
    }

    #[test]
    fn walks_in_sorted_depth_first_order_with_folder_depths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            "m/b/x/f.yaml",
            "m/a/f.yaml",
            "m/a/z/g.yaml",
            "m/top.yaml",
            "m/c.yaml",
        ] {
            let abs = root.join(p);
            std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
            std::fs::write(abs, "x").unwrap();
        }
        let found = walk(root, root, "m");
        assert_eq!(
            files(&found),
            [
                ("m/a/f.yaml".to_string(), 2),
                ("m/a/z/g.yaml".to_string(), 3),
                ("m/b/x/f.yaml".to_string(), 3),
                ("m/c.yaml".to_string(), 1),
                ("m/top.yaml".to_string(), 1),
            ]
        );
        assert!(walk(root, root, "missing").is_empty());
    }
}
