//! Pack entries: relative, inside the pack folder, present, and of the shape the driver runs
//! (an executable file for shell, a folder for terraform, a folder or `.pkr.hcl` file for packer,
//! a file for ansible).

use std::path::Path;

use hyops_contract::DriverName;

use super::Checker;
use crate::codes;

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    for ((driver, id), p) in &cat.packs {
        let entry = p.value.entry.as_str();
        let escapes = entry.starts_with('/') || entry.split('/').any(|s| s == "..");
        if escapes || entry.is_empty() {
            c.push(
                p.error_at(
                    codes::PATH_ESCAPES_ROOT,
                    format!("entry `{entry}` must be a relative path inside the pack folder"),
                    "entry",
                    "leaves the pack",
                )
                .with_help("write the entry relative to the pack folder, without `..`"),
            );
            continue;
        }
        let rel = format!("packs/{driver}/{id}/{entry}");
        let abs = cat.root.join("packs").join(driver).join(id).join(entry);
        let Ok(meta) = std::fs::symlink_metadata(&abs) else {
            c.push(
                p.error_at(
                    codes::PACK_ENTRY,
                    format!("entry `{entry}` does not exist; expected `{rel}`"),
                    "entry",
                    "missing",
                )
                .with_help("add the file to the pack or fix `entry`"),
            );
            continue;
        };
        if meta.file_type().is_symlink() {
            let inside = std::fs::canonicalize(&abs).is_ok_and(|t| t.starts_with(c.canonical_root));
            if !inside {
                c.push(
                    p.error_at(
                        codes::PATH_ESCAPES_ROOT,
                        format!("entry `{entry}` is a symlink that leaves the catalog root"),
                        "entry",
                        "escapes the root",
                    )
                    .with_help("copy the file into the pack; a catalog must work as a tarball"),
                );
                continue;
            }
        }
        let is_dir = abs.is_dir();
        let problem = match p.value.driver {
            DriverName::Shell if is_dir => Some("must be a file for the shell driver"),
            DriverName::Shell if !is_executable(&abs) => {
                Some("is not executable; the shell driver runs it directly")
            }
            DriverName::Terraform if !is_dir => {
                Some("must be `.` or a folder of .tf files for the terraform driver")
            }
            DriverName::Packer if !is_dir && !entry.ends_with(".pkr.hcl") => Some(
                "must be `.`, a folder of .pkr.hcl files, or one .pkr.hcl file for the packer driver",
            ),
            DriverName::Ansible if is_dir => Some("must be a file (the playbook)"),
            _ => None,
        };
        if let Some(problem) = problem {
            c.push(
                p.error_at(
                    codes::PACK_ENTRY,
                    format!("entry `{entry}` {problem}"),
                    "entry",
                    "wrong entry",
                )
                .with_help(if p.value.driver == DriverName::Shell {
                    "run `chmod +x` on the script and start it with a `#!` line"
                } else {
                    "see docs/catalog.md for what each driver expects as `entry`"
                }),
            );
        }
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}
