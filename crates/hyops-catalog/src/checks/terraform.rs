//! Terraform packs: every `*.tf` file terraform reads from the entry folder parses as HCL, so a
//! syntax error is reported by `hyops validate`, with its line, before terraform runs.

use super::Checker;
use crate::codes;
use crate::hcl_files::{hcl_files, parse_hcl};
use crate::parallel::map_ordered;
use crate::source_file::SourceFile;

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    let mut files = Vec::new();
    for ((driver, id), pack) in &cat.packs {
        if driver != "terraform" {
            continue;
        }
        let pack_rel = format!("packs/terraform/{id}");
        let pack_dir = cat.root.join(&pack_rel);
        for rel in hcl_files(&pack_dir, &pack.value.entry, ".tf") {
            files.push((pack_dir.join(&rel), format!("{pack_rel}/{rel}")));
        }
    }
    // Parsing is most of a large catalog's check: on every core when there are many files.
    let len = files.len();
    let found = map_ordered(files, len, |(abs, rel)| {
        SourceFile::read(&abs, &rel)
            .and_then(|file| parse_hcl(&file, codes::TERRAFORM_HCL, "terraform file", "terraform"))
            .err()
    });
    c.out.extend(found.into_iter().flatten().map(|d| *d));
}
