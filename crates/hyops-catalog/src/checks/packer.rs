//! Packer packs: their HCL templates parse, every `source` block follows the builder naming
//! policy (`packer-builder-naming`) of each profile a module runs the pack with (the default
//! policy when no module uses the pack yet), and their var-file templates name only what the
//! modules running them provide (`packer_vars.rs`).

use std::collections::BTreeMap;

use hyops_contract::{DriverName, Profile};

use super::{Checker, packer_vars};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::document::Doc;
use crate::packer_builders::{Builder, BuilderNaming, pack_builders};
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
    for p in cat.profiles.values() {
        if p.value.driver == DriverName::Packer {
            builder_ids(c, p);
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
        // Profile name -> the modules running the pack with it.
        let mut profiles: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for m in &users {
            if let Ok(r) = parse_versioned_ref(&m.value.execution.profile) {
                profiles.entry(r.name).or_default().push(&m.value.id);
            }
        }
        let mut governing: Vec<(String, BuilderNaming)> = profiles
            .keys()
            .filter_map(|name| Some((name.clone(), policies.get(name)?.clone()?)))
            .collect();
        if governing.is_empty() {
            governing.push(("the default policy".to_owned(), BuilderNaming::default()));
        }
        let found = pack_builders(&cat.root, id, &pack.value.entry);
        if found.errors.is_empty() {
            selected_builders(c, id, &profiles, &found.builders);
        }
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

/// Every builder a profile selects (`settings.builders`, passed as `packer build -only`) must be
/// one of the pack's, for each pack a module runs with that profile: packer runs no build for an
/// unknown id and exits 0, so a typo would surface as a missing manifest.
fn selected_builders(
    c: &mut Checker<'_>,
    pack_id: &str,
    profiles: &BTreeMap<String, Vec<&str>>,
    builders: &[Builder],
) {
    let cat = c.catalog;
    for (name, modules) in profiles {
        let Some(profile) = cat.profiles.get(name) else {
            continue;
        };
        let Some(serde_json::Value::Array(items)) = profile.value.settings.get("builders") else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("settings.builders[{i}]");
            // Ids not of the form are reported once, with the profile (`builder_ids`).
            let Some(wanted) = item.as_str().filter(|s| is_builder_id(s)) else {
                continue;
            };
            if builders.iter().any(|b| b.id == wanted) {
                continue;
            }
            let ids: Vec<&str> = builders.iter().map(|b| b.id.as_str()).collect();
            c.push(
                profile
                    .error_at(
                        codes::PACKER_UNKNOWN_BUILDER,
                        format!(
                            "builder `{wanted}` is not in pack `{pack_id}`, which {} run{} with this profile: packer would build nothing",
                            modules.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                            if modules.len() == 1 { "s" } else { "" },
                        ),
                        &path,
                        "unknown builder",
                    )
                    .with_help(format!("the pack's builders: {}", ids.join(", "))),
            );
        }
    }
}

fn is_builder_id(s: &str) -> bool {
    s.starts_with("source.") && s.split('.').count() == 3
}

/// A profile's `settings.builders` is a list of `source.<type>.<name>` ids.
fn builder_ids(c: &mut Checker<'_>, profile: &Doc<Profile>) {
    let help = "write ids as `hyops packer builders` lists them, e.g. `[source.null.linux-1]`";
    match profile.value.settings.get("builders") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !item.as_str().is_some_and(is_builder_id) {
                    c.push(
                        profile
                            .error_at(
                                codes::PACKER_UNKNOWN_BUILDER,
                                "a builder id reads `source.<type>.<name>`",
                                &format!("settings.builders[{i}]"),
                                "not a builder id",
                            )
                            .with_help(help),
                    );
                }
            }
        }
        Some(_) => c.push(
            profile
                .error_at(
                    codes::PACKER_UNKNOWN_BUILDER,
                    "`settings.builders` is a list of builder ids",
                    "settings.builders",
                    "not a list",
                )
                .with_help(help),
        ),
    }
}
