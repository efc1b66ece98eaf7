//! Ansible packs: the YAML ansible itself parses, the entry playbook and the task, handler,
//! vars, defaults and meta files of the pack's roles, must be YAML, so a syntax error is
//! reported by `hyops validate` with its line before `ansible-playbook` runs. Only syntax is
//! checked: tags such as `!vault` and `!unsafe` and Jinja inside strings are ansible's business.

use std::path::Path;

use super::Checker;
use crate::codes;
use crate::parallel::map_ordered;
use crate::source_file::SourceFile;
use crate::walk::sorted_names;
use crate::yaml;

/// Role folders ansible loads YAML from.
const ROLE_PARTS: [&str; 5] = ["tasks", "handlers", "vars", "defaults", "meta"];

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    let mut files = Vec::new();
    for ((driver, id), pack) in &cat.packs {
        if driver != "ansible" {
            continue;
        }
        let pack_rel = format!("packs/ansible/{id}");
        let pack_dir = cat.root.join(&pack_rel);
        let entry = pack.value.entry.trim_start_matches("./");
        for rel in std::iter::once(entry.to_owned()).chain(role_files(&pack_dir)) {
            let abs = pack_dir.join(&rel);
            // A missing entry is reported by the pack checks.
            if abs.is_file() {
                files.push((abs, format!("{pack_rel}/{rel}")));
            }
        }
    }
    let len = files.len();
    let found = map_ordered(files, len, |(abs, rel)| {
        SourceFile::read(&abs, &rel)
            .and_then(|file| {
                yaml::parse_syntax(&file).map_err(|mut d| {
                    d.code = codes::ANSIBLE_YAML;
                    Box::new(d.with_help(
                        "fix the YAML syntax; `ansible-playbook --syntax-check` judges the rest",
                    ))
                })
            })
            .err()
    });
    c.out.extend(found.into_iter().flatten().map(|d| *d));
}

/// `roles/<role>/<part>/*.yml|yaml` of the pack, sorted.
fn role_files(pack_dir: &Path) -> Vec<String> {
    let yaml = |_: &std::fs::DirEntry, n: &str| n.ends_with(".yml") || n.ends_with(".yaml");
    let mut files = Vec::new();
    for role in sorted_names(&pack_dir.join("roles"), |_, _| true) {
        for part in ROLE_PARTS {
            let rel = format!("roles/{role}/{part}");
            for name in sorted_names(&pack_dir.join(&rel), yaml) {
                files.push(format!("{rel}/{name}"));
            }
        }
    }
    files
}
