//! Terraform packs: every `*.tf` file terraform reads from the entry folder parses as HCL, so a
//! syntax error is reported by `hyops validate`, with its line, before terraform runs.

use super::Checker;
use crate::codes;
use crate::hcl_files::{hcl_files, parse_hcl};
use crate::source_file::SourceFile;

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    for ((driver, id), pack) in &cat.packs {
        if driver != "terraform" {
            continue;
        }
        let pack_rel = format!("packs/terraform/{id}");
        let pack_dir = cat.root.join(&pack_rel);
        for rel in hcl_files(&pack_dir, &pack.value.entry, ".tf") {
            let file_rel = format!("{pack_rel}/{rel}");
            let parsed = SourceFile::read(&pack_dir.join(&rel), &file_rel).and_then(|file| {
                parse_hcl(&file, codes::TERRAFORM_HCL, "terraform file", "terraform")
            });
            if let Err(d) = parsed {
                c.push(*d);
            }
        }
    }
}
