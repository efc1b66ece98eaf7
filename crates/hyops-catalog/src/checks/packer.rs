//! Packer packs: their HCL templates parse, every `source` block follows the builder naming
//! policy (`packer-builder-naming`) of each profile a module runs the pack with (the default
//! policy when no module uses the pack yet), and their var-file templates name only what the
//! modules running them provide (`packer_vars.rs`).

use std::collections::BTreeMap;

use hyops_contract::DriverName;

use super::{Checker, packer_vars};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::packer_builders::{BuilderNaming, pack_builders};
use crate::version_ref::parse_versioned_ref;

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    // Naming policy per profile; a broken policy is reported once, at the profile.
    let mut policies: BTreeMap<String, Option<BuilderNaming>> = BTreeMap::new();
    for (name, p) in &cat.profiles {
        if p.value.driver != DriverName::Packer {
            continue;
        }
        match BuilderNaming::from_settings(&p.value.settings) {
            Ok(naming) => {
                policies.insert(name.clone(), Some(naming));
            }
            Err(problem) => {
                c.push(
                    p.error_at(
                        codes::PACKER_NAMING_POLICY,
                        problem,
                        "settings.builder_naming",
                        "invalid naming policy",
                    )
                    .with_help("write e.g. `builder_naming: {\"*-iso\": \"^[a-z]+-[0-9]+$\"}`"),
                );
                policies.insert(name.clone(), None);
            }
        }
    }
    for ((driver, id), pack) in &cat.packs {
        if driver != "packer" {
            continue;
        }
        let users: Vec<_> = cat
            .modules
            .values()
            .filter(|m| {
                let exec = &m.value.execution;
                let pack_name = parse_versioned_ref(&exec.pack_ref.id).map(|r| r.name);
                exec.driver == DriverName::Packer && pack_name.as_deref() == Ok(id.as_str())
            })
            .collect();
        packer_vars::check_pack(c, id, &users);
        let mut governing: Vec<(String, BuilderNaming)> = Vec::new();
        for m in &users {
            let Ok(profile_name) = parse_versioned_ref(&m.value.execution.profile).map(|r| r.name)
            else {
                continue;
            };
            if let Some(Some(naming)) = policies.get(&profile_name)
                && !governing.iter().any(|(n, _)| n == &profile_name)
            {
                governing.push((profile_name, naming.clone()));
            }
        }
        if governing.is_empty() {
            governing.push(("the default policy".to_owned(), BuilderNaming::default()));
        }
        let found = pack_builders(&cat.root, id, &pack.value.entry);
        c.out.extend(found.errors);
        for b in &found.builders {
            for (profile, naming) in &governing {
                let Some(rule) = naming.violation(b) else {
                    continue;
                };
                let Some(file) = found.files.get(&b.file) else {
                    continue;
                };
                c.push(
                    Diagnostic::error(
                        codes::LINT_PACKER_BUILDER_NAMING,
                        format!(
                            "packer-builder-naming: builder `{}` breaks the naming rule of {} for `{}` builders: the name must match `{}`",
                            b.id,
                            if profile == "the default policy" { profile.clone() } else { format!("profile `{profile}`") },
                            rule.types,
                            rule.pattern
                        ),
                    )
                    .at(file, b.name_span, "name does not follow the convention")
                    .with_help(format!(
                        "ISO builders are named `<os>-<version>`, e.g. `source.{}.ubuntu-22`; the profile's `settings.builder_naming` sets the rule",
                        b.builder_type
                    )),
                );
            }
        }
    }
}
