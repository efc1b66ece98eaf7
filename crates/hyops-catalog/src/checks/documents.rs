//! Single-document checks: names match paths, versions are semver, durations parse, probes have
//! exactly one kind, secret sources set exactly one field, module ids are unique.

use std::collections::{BTreeMap, BTreeSet};

use hyops_contract::{DurationText, Module};

use super::Checker;
use crate::catalog::Catalog;
use crate::codes;
use crate::document::Doc;
use crate::version_ref::parse_version;

/// For each module (by folder id) whose `id` an earlier module (in folder order) already declares:
/// the path of that first module. Computed once up front so modules can be checked in parallel.
pub(super) fn duplicate_ids(cat: &Catalog) -> BTreeMap<&str, &str> {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    let mut dups = BTreeMap::new();
    for (folder_id, m) in &cat.modules {
        match first.get(m.value.id.as_str()) {
            Some(path) => {
                dups.insert(folder_id.as_str(), *path);
            }
            None => {
                first.insert(&m.value.id, m.path());
            }
        }
    }
    dups
}

/// Checks one module; `first_declared_by` is its entry in [`duplicate_ids`].
pub(super) fn check_module(
    c: &mut Checker<'_>,
    folder_id: &str,
    m: &Doc<Module>,
    first_declared_by: Option<&str>,
) {
    let v = &m.value;
    if v.id != folder_id {
        c.push(
            m.error_at(
                codes::NAME_MISMATCH,
                format!(
                    "module id `{}` does not match its folder `modules/{folder_id}/`",
                    v.id
                ),
                "id",
                format!("expected `{folder_id}`"),
            )
            .with_help(format!(
                "set `id: {folder_id}` or move the file to `modules/{}/module.yaml`",
                v.id
            )),
        );
    }
    if !valid_module_id(&v.id) {
        c.push(
            m.error_at(
                codes::NAME_MISMATCH,
                format!(
                    "module id `{}` is not lowercase letters, digits and dashes separated by `/`",
                    v.id
                ),
                "id",
                "invalid id",
            )
            .with_help("use ids like `web/site` or `net-core`"),
        );
    }
    if let Some(first) = first_declared_by {
        c.push(
            m.error_at(
                codes::DUPLICATE_MODULE_ID,
                format!("module id `{}` is already declared by `{first}`", v.id),
                "id",
                "duplicate id",
            )
            .with_help("give each module a unique id equal to its folder path"),
        );
    }
    version(c, m, &v.version);
    let mut names = BTreeSet::new();
    for (i, p) in v.probes.iter().enumerate() {
        let path = format!("probes[{i}]");
        let kinds = p.kinds_set();
        if kinds.len() != 1 {
            let found = if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            };
            c.push(
                m.error_at(
                    codes::PROBE_KIND,
                    format!("probe `{}` must set exactly one of command, http, tcp, file, output; found {found}", p.name),
                    &path,
                    "probe",
                )
                .with_help("split it into one probe per kind"),
            );
        }
        if !names.insert(p.name.as_str()) {
            c.push(
                m.error_at(
                    codes::PROBE_KIND,
                    format!("probe name `{}` is used twice", p.name),
                    &format!("{path}.name"),
                    "duplicate name",
                )
                .with_help("probe names are unique within a module; they name evidence files"),
            );
        }
        if let Some(r) = &p.retry {
            duration(c, m, &r.interval, &format!("{path}.retry.interval"));
            if r.attempts == 0 {
                c.push(
                    m.error_at(
                        codes::SCHEMA,
                        "`retry.attempts` must be at least 1",
                        &format!("{path}.retry.attempts"),
                        "0 attempts",
                    )
                    .with_help("set `attempts: 1` for a single try"),
                );
            }
        }
        if let Some(t) = &p.timeout {
            duration(c, m, t, &format!("{path}.timeout"));
        }
    }
}

/// Checks every document other than modules.
pub(super) fn check_others(c: &mut Checker<'_>) {
    let cat = c.catalog;
    for (stem, p) in &cat.profiles {
        let v = &p.value;
        name_matches(c, p, &v.name, stem, "profiles", "name");
        version(c, p, &v.version);
        let e = &v.execution;
        for (d, path) in [
            (&e.timeout, "execution.timeout"),
            (&e.kill_grace, "execution.kill_grace"),
        ] {
            if let Some(d) = d {
                duration(c, p, d, path);
            }
        }
        if let Some(r) = &e.retries {
            if let Some(b) = &r.backoff {
                duration(c, p, b, "execution.retries.backoff");
            }
            if r.max_attempts == 0 {
                c.push(
                    p.error_at(
                        codes::SCHEMA,
                        "`max_attempts` must be at least 1 (it counts the first attempt)",
                        "execution.retries.max_attempts",
                        "0",
                    )
                    .with_help("set `max_attempts: 1` for no retries"),
                );
            }
        }
        if let Some(req) = v.toolchain.as_ref().and_then(|t| t.version.as_ref())
            && let Err(msg) = semver::VersionReq::parse(req)
        {
            c.push(
                p.error_at(
                    codes::INVALID_VERSION,
                    format!("`{req}` is not a semver requirement: {msg}"),
                    "toolchain.version",
                    "invalid requirement",
                )
                .with_help("write a requirement such as `>=1.0, <2`"),
            );
        }
    }
    for ((driver, id), p) in &cat.packs {
        let v = &p.value;
        if &v.id != id {
            c.push(
                p.error_at(
                    codes::NAME_MISMATCH,
                    format!(
                        "pack id `{}` does not match its folder `packs/{driver}/{id}/`",
                        v.id
                    ),
                    "id",
                    format!("expected `{id}`"),
                )
                .with_help(format!("set `id: {id}`")),
            );
        }
        if v.driver.as_str() != driver {
            c.push(
                p.error_at(
                    codes::PACK_DRIVER_MISMATCH,
                    format!(
                        "pack driver `{}` does not match its folder `packs/{driver}/`",
                        v.driver
                    ),
                    "driver",
                    format!("expected `{driver}`"),
                )
                .with_help(format!(
                    "set `driver: {driver}` or move the pack to `packs/{}/{id}/`",
                    v.driver
                )),
            );
        }
        version(c, p, &v.version);
        if let Some(src) = &v.source {
            let known = cat
                .manifest
                .as_ref()
                .is_some_and(|m| m.value.sources.iter().any(|s| &s.name == src));
            if !known {
                c.push(
                    p.error_at(
                        codes::UNKNOWN_PACK,
                        format!("pack source `{src}` is not declared in hyops.yaml `sources`"),
                        "source",
                        "unknown source",
                    )
                    .with_help("add it to `sources` in hyops.yaml, or remove `source`"),
                );
            }
        }
    }
    for (stem, e) in &cat.environments {
        name_matches(c, e, &e.value.name, stem, "environments", "name");
    }
    for (stem, s) in &cat.stacks {
        name_matches(c, s, &s.value.name, stem, "stacks", "name");
    }
}

fn valid_module_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('/').all(|seg| {
            let mut chars = seg.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

fn name_matches<T>(
    c: &mut Checker<'_>,
    d: &Doc<T>,
    name: &str,
    stem: &str,
    folder: &str,
    path: &str,
) {
    if name != stem {
        c.push(
            d.error_at(
                codes::NAME_MISMATCH,
                format!("name `{name}` does not match the file name `{folder}/{stem}.yaml`"),
                path,
                format!("expected `{stem}`"),
            )
            .with_help(format!(
                "set `name: {stem}` or rename the file to `{folder}/{name}.yaml`"
            )),
        );
    }
}

fn version<T>(c: &mut Checker<'_>, d: &Doc<T>, v: &str) {
    if let Err(msg) = parse_version(v) {
        c.push(
            d.error_at(codes::INVALID_VERSION, msg, "version", "not semver")
                .with_help("write a semantic version such as `1.0.0`"),
        );
    }
}

pub(super) fn duration<T>(c: &mut Checker<'_>, d: &Doc<T>, text: &DurationText, path: &str) {
    if text.to_millis().is_none() {
        c.push(
            d.error_at(
                codes::INVALID_DURATION,
                format!(
                    "`{}` is not a duration; expected digits followed by ms, s, m or h",
                    text.0
                ),
                path,
                "invalid duration",
            )
            .with_help("write durations like `500ms`, `30s`, `10m` or `1h`"),
        );
    }
}
