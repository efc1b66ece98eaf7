//! `hyops init DIR`: scaffold a working catalog (one shell module with probes, a profile, a pack,
//! dev and prod environments). All-or-nothing: files are staged in a fresh directory next to DIR
//! and moved into place with `rename`, so an interrupted init leaves no half-written catalog.

use std::path::{Path, PathBuf};

use clap::Args;
use miette::Diagnostic;
use serde::Serialize;

use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;
use crate::settings::CATALOG_MANIFEST;

/// Arguments of `hyops init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create (or an empty one to fill).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Catalog name [default: DIR's name, lower-cased, other characters replaced by `-`].
    #[arg(long)]
    pub name: Option<String>,

    /// Write into a non-empty DIR: files the scaffold owns are replaced, all others are kept.
    #[arg(long)]
    pub force: bool,
}

/// One scaffold file: path relative to the catalog root, content, whether it is executable.
struct TemplateFile {
    path: &'static str,
    content: &'static str,
    executable: bool,
}

/// Replaced by the catalog name in `hyops.yaml`.
const NAME_PLACEHOLDER: &str = "__CATALOG_NAME__";

const TEMPLATE: &[TemplateFile] = &[
    TemplateFile {
        path: CATALOG_MANIFEST,
        content: include_str!("../../templates/init/hyops.yaml"),
        executable: false,
    },
    TemplateFile {
        path: ".gitignore",
        content: include_str!("../../templates/init/gitignore"),
        executable: false,
    },
    TemplateFile {
        path: "modules/hello/module.yaml",
        content: include_str!("../../templates/init/modules/hello/module.yaml"),
        executable: false,
    },
    TemplateFile {
        path: "profiles/shell-default.yaml",
        content: include_str!("../../templates/init/profiles/shell-default.yaml"),
        executable: false,
    },
    TemplateFile {
        path: "packs/shell/hello/pack.yaml",
        content: include_str!("../../templates/init/packs/shell/hello/pack.yaml"),
        executable: false,
    },
    TemplateFile {
        path: "packs/shell/hello/run.sh",
        content: include_str!("../../templates/init/packs/shell/hello/run.sh"),
        executable: true,
    },
    TemplateFile {
        path: "environments/dev.yaml",
        content: include_str!("../../templates/init/environments/dev.yaml"),
        executable: false,
    },
    TemplateFile {
        path: "environments/prod.yaml",
        content: include_str!("../../templates/init/environments/prod.yaml"),
        executable: false,
    },
];

/// Why `hyops init` refused or failed.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum InitError {
    /// DIR has files and `--force` was not given.
    #[error("`{}` is not empty", path.display())]
    #[diagnostic(
        code(hyops::init::not_empty),
        help(
            "choose a new directory, or pass --force to write the scaffold's files into it (other files are kept)"
        )
    )]
    NotEmpty {
        /// DIR as given.
        path: PathBuf,
    },

    /// DIR exists and is not a directory.
    #[error("`{}` exists and is not a directory", path.display())]
    #[diagnostic(code(hyops::init::not_a_directory), help("choose another path"))]
    NotADirectory {
        /// DIR as given.
        path: PathBuf,
    },

    /// With `--force`, a scaffold file would replace a directory (or need a directory where a
    /// file is).
    #[error("`{}` is in the way of the scaffold", path.display())]
    #[diagnostic(
        code(hyops::init::conflict),
        help("move it away, or scaffold into a new directory; nothing was written")
    )]
    Conflict {
        /// The obstructing path.
        path: PathBuf,
    },

    /// A file system operation failed; nothing was left half-written in DIR.
    #[error("failed to {action} `{}`", path.display())]
    #[diagnostic(code(hyops::init::io))]
    Io {
        /// What was being done ("create directory", "write", "move into place").
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl InitError {
    /// Refusals the user fixes on the command line are usage errors; I/O failures are failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NotEmpty { .. } | Self::NotADirectory { .. } | Self::Conflict { .. } => {
                exit_codes::USAGE
            }
            Self::Io { .. } => exit_codes::FAILED,
        }
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InitError {
    let path = path.to_path_buf();
    move |source| InitError::Io {
        action,
        path,
        source,
    }
}

#[derive(Serialize)]
struct InitReport {
    catalog: PathBuf,
    name: String,
    files: Vec<&'static str>,
    next_steps: Vec<String>,
}

/// Scaffolds the catalog and prints what was created and what to do next.
pub fn run(args: InitArgs, ctx: &Context) -> Result<u8, CliError> {
    let target = std::path::absolute(&args.dir).map_err(io("resolve", &args.dir))?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| catalog_name_from(&target));
    scaffold(&target, &args.dir, &name, args.force)?;

    let cd = shell_word(&args.dir.display().to_string());
    let report = InitReport {
        catalog: target.clone(),
        name: name.clone(),
        files: TEMPLATE.iter().map(|f| f.path).collect(),
        next_steps: vec![
            format!("cd {cd}"),
            "hyops validate".to_string(),
            "hyops resolve hello --env dev".to_string(),
            "hyops run hello --env dev".to_string(),
        ],
    };
    let quiet = ctx.printer.quiet();
    ctx.printer.emit(&report, |style| {
        let mut out = format!(
            "{} catalog `{}` in {}\n",
            style.good("created"),
            report.name,
            report.catalog.display()
        );
        if quiet {
            return out;
        }
        for file in &report.files {
            out.push_str(&format!("  {file}\n"));
        }
        out.push_str(&format!("\n{}\n", style.bold("next steps:")));
        out.push_str(&format!("  {}\n", report.next_steps[0]));
        let comments = [
            "check every document",
            "see the request a run would execute",
            "run it, then its probes; PASS only if they pass",
        ];
        let width = report.next_steps[1..]
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0);
        for (step, comment) in report.next_steps[1..].iter().zip(comments) {
            out.push_str(&format!("  {step:<width$}  # {comment}\n"));
        }
        out
    })?;
    Ok(exit_codes::OK)
}

/// Writes the scaffold into `target` (DIR made absolute; `given` is DIR as typed, for messages).
fn scaffold(target: &Path, given: &Path, name: &str, force: bool) -> Result<(), InitError> {
    let existing = match std::fs::symlink_metadata(target) {
        Ok(meta) if !meta.is_dir() => {
            return Err(InitError::NotADirectory {
                path: given.to_path_buf(),
            });
        }
        Ok(_) => Some(is_empty_dir(target)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("inspect", target)(e)),
    };
    let merge = match existing {
        Some(false) if !force => {
            return Err(InitError::NotEmpty {
                path: given.to_path_buf(),
            });
        }
        Some(false) => true,
        Some(true) | None => false,
    };
    if merge {
        check_conflicts(target)?;
    }

    let parent = target
        .parent()
        .ok_or_else(|| InitError::NotADirectory {
            path: given.to_path_buf(),
        })?
        .to_path_buf();
    std::fs::create_dir_all(&parent).map_err(io("create directory", &parent))?;
    let staging = Staging::create(&parent, target)?;
    for file in TEMPLATE {
        write_file(&staging.path, file, name)?;
    }

    if merge {
        // Each file lands atomically; files outside the scaffold are untouched.
        for file in TEMPLATE {
            let from = staging.path.join(file.path);
            let to = target.join(file.path);
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
            }
            std::fs::rename(&from, &to).map_err(io("move into place", &to))?;
        }
    } else {
        // rename(2) replaces an empty directory, so an existing empty DIR is fine too.
        std::fs::rename(&staging.path, target).map_err(io("move into place", target))?;
    }
    Ok(())
}

fn is_empty_dir(dir: &Path) -> Result<bool, InitError> {
    let mut entries = std::fs::read_dir(dir).map_err(io("read", dir))?;
    Ok(entries.next().is_none())
}

/// With `--force`, nothing is written when any scaffold path is blocked by something that a file
/// rename cannot replace (a directory where a file goes, a file where a directory goes).
fn check_conflicts(target: &Path) -> Result<(), InitError> {
    for file in TEMPLATE {
        let mut path = target.to_path_buf();
        let components: Vec<&str> = file.path.split('/').collect();
        for (i, part) in components.iter().enumerate() {
            path.push(part);
            let is_last = i + 1 == components.len();
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if is_last && meta.is_dir() => return Err(InitError::Conflict { path }),
                Ok(meta) if !is_last && !meta.is_dir() => {
                    return Err(InitError::Conflict { path });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn write_file(root: &Path, file: &TemplateFile, name: &str) -> Result<(), InitError> {
    let path = root.join(file.path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    }
    let content = file.content.replace(NAME_PLACEHOLDER, name);
    std::fs::write(&path, content).map_err(io("write", &path))?;
    #[cfg(unix)]
    if file.executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(io("make executable", &path))?;
    }
    Ok(())
}

/// A staging directory next to the target; removed on drop unless it was renamed away.
struct Staging {
    path: PathBuf,
}

impl Staging {
    /// Creates `.<target name>.hyops-init-<pid>-<n>` in `parent`. `create_dir` fails if the name
    /// exists, so two concurrent inits never share a staging directory.
    fn create(parent: &Path, target: &Path) -> Result<Self, InitError> {
        let base = target
            .file_name()
            .map_or_else(|| "catalog".into(), |n| n.to_string_lossy().into_owned());
        let pid = std::process::id();
        let mut last_err = None;
        for n in 0..100 {
            let path = parent.join(format!(".{base}.hyops-init-{pid}-{n}"));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(io("create directory", &path)(e)),
            }
        }
        let err = last_err.unwrap_or_else(|| std::io::Error::other("no free staging name"));
        Err(io("create directory", parent)(err))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // After a successful whole-directory rename the path no longer exists: nothing to do.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A catalog name from a directory name: lower-case ASCII letters, digits and single dashes.
fn catalog_name_from(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "catalog".to_string()
    } else {
        name
    }
}

/// `s` quoted for a POSIX shell when it has characters a shell would interpret.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/+:,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_names_are_slugs() {
        assert_eq!(
            catalog_name_from(Path::new("/x/My Catalog_2")),
            "my-catalog-2"
        );
        assert_eq!(catalog_name_from(Path::new("/x/__")), "catalog");
    }

    #[test]
    fn force_keeps_foreign_files_and_refuses_conflicts_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("cat");
        std::fs::create_dir_all(target.join("notes")).unwrap();
        std::fs::write(target.join("notes/keep.txt"), "mine").unwrap();
        std::fs::write(target.join(CATALOG_MANIFEST), "old").unwrap();
        scaffold(&target, &target, "cat", true).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("notes/keep.txt")).unwrap(),
            "mine"
        );
        assert!(
            std::fs::read_to_string(target.join(CATALOG_MANIFEST))
                .unwrap()
                .contains("name: cat")
        );

        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(blocked.join("environments/dev.yaml")).unwrap();
        let err = scaffold(&blocked, &blocked, "b", true).unwrap_err();
        assert!(matches!(err, InitError::Conflict { .. }), "{err:?}");
        assert!(!blocked.join(CATALOG_MANIFEST).exists(), "nothing written");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            2,
            "no staging dir left behind: {leftovers:?}"
        );
    }
}
