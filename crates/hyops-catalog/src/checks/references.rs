//! Cross-document references of modules: profile (and its version and driver), pack (version,
//! driver), `constraints.environments`, `requires`.

use hyops_contract::Module;

use super::Checker;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::document::Doc;
use crate::version_ref::{VersionedRef, parse_version, parse_versioned_ref};

pub(super) fn check_module(c: &mut Checker<'_>, m: &Doc<Module>) {
    let cat = c.catalog;
    let v = &m.value;
    let driver = v.execution.driver;
    match parse_versioned_ref(&v.execution.profile) {
        Err(msg) => c.push(
            m.error_at(
                codes::INVALID_VERSION,
                msg,
                "execution.profile",
                "invalid reference",
            )
            .with_help("write `name` or `name@<semver requirement>`, e.g. `shell-default@^1.2`"),
        ),
        Ok(r) => match cat.profiles.get(&r.name) {
            None if cat.is_broken(&format!("profiles/{}.yaml", r.name)) => {}
            None => c.push(
                m.error_at(
                    codes::UNKNOWN_PROFILE,
                    format!(
                        "profile `{}` does not exist; expected a file `profiles/{}.yaml`",
                        r.name, r.name
                    ),
                    "execution.profile",
                    "unknown profile",
                )
                .with_help(suggest("profiles", &r.name, cat.profiles.keys())),
            ),
            Some(p) => {
                if let Some(d) = version_unsatisfied(
                    m,
                    codes::PROFILE_VERSION_MISMATCH,
                    "profile",
                    &r,
                    &p.value.version,
                    p.path(),
                    "execution.profile",
                ) {
                    c.push(d);
                }
                if p.value.driver != driver {
                    c.push(
                        m.error_at(
                            codes::PROFILE_DRIVER_MISMATCH,
                            format!("profile `{}` governs driver `{}`, but this module runs with driver `{driver}`", r.name, p.value.driver),
                            "execution.profile",
                            "wrong driver",
                        )
                        .with_help(format!("pick a profile whose `driver` is `{driver}`")),
                    );
                }
            }
        },
    }
    match parse_versioned_ref(&v.execution.pack_ref.id) {
        Err(msg) => c.push(
            m.error_at(
                codes::INVALID_VERSION,
                msg,
                "execution.pack_ref.id",
                "invalid reference",
            )
            .with_help("write `id` or `id@<semver requirement>`, e.g. `web-site@1`"),
        ),
        Ok(r) => match cat.pack(driver.as_str(), &r.name) {
            None if cat.is_broken(&format!("packs/{driver}/{}/pack.yaml", r.name)) => {}
            None => {
                let other = cat
                    .packs
                    .keys()
                    .find(|(_, id)| id == &r.name)
                    .map(|(d, _)| d.clone());
                let (code, msg, help) = match other {
                    Some(d) => (
                        codes::PACK_DRIVER_MISMATCH,
                        format!(
                            "pack `{}` exists for driver `{d}`, but this module runs with driver `{driver}`",
                            r.name
                        ),
                        format!(
                            "use a pack under `packs/{driver}/`, or set `execution.driver: {d}`"
                        ),
                    ),
                    None => (
                        codes::UNKNOWN_PACK,
                        format!(
                            "pack `{}` does not exist; expected `packs/{driver}/{}/pack.yaml`",
                            r.name, r.name
                        ),
                        suggest(
                            "packs",
                            &r.name,
                            cat.packs
                                .keys()
                                .filter(|(d, _)| d == driver.as_str())
                                .map(|(_, id)| id),
                        ),
                    ),
                };
                c.push(
                    m.error_at(code, msg, "execution.pack_ref.id", "unknown pack")
                        .with_help(help),
                );
            }
            Some(p) => {
                if let Some(d) = version_unsatisfied(
                    m,
                    codes::PACK_VERSION_MISMATCH,
                    "pack",
                    &r,
                    &p.value.version,
                    p.path(),
                    "execution.pack_ref.id",
                ) {
                    c.push(d);
                }
                if p.value.driver != driver {
                    c.push(
                        m.error_at(
                            codes::PACK_DRIVER_MISMATCH,
                            format!("pack `{}` is for driver `{}`, but this module runs with driver `{driver}`", r.name, p.value.driver),
                            "execution.pack_ref.id",
                            "wrong driver",
                        )
                        .with_help("the pack's `driver` must equal the module's `execution.driver`"),
                    );
                }
            }
        },
    }
    if let Some(envs) = &v.constraints.environments {
        for (i, e) in envs.iter().enumerate() {
            if !cat.environments.contains_key(e)
                && !cat.is_broken(&format!("environments/{e}.yaml"))
            {
                c.push(
                    m.error_at(
                        codes::UNKNOWN_ENVIRONMENT,
                        format!(
                            "environment `{e}` does not exist; expected `environments/{e}.yaml`"
                        ),
                        &format!("constraints.environments[{i}]"),
                        "unknown environment",
                    )
                    .with_help(suggest(
                        "environments",
                        e,
                        cat.environments.keys(),
                    )),
                );
            }
        }
    }
    for (i, r) in v.requires.iter().enumerate() {
        if !cat.modules.contains_key(r) && !cat.is_broken(&format!("modules/{r}/module.yaml")) {
            c.push(
                m.error_at(
                    codes::UNKNOWN_MODULE,
                    format!(
                        "required module `{r}` does not exist; expected `modules/{r}/module.yaml`"
                    ),
                    &format!("requires[{i}]"),
                    "unknown module",
                )
                .with_help(suggest("modules", r, cat.modules.keys())),
            );
        }
    }
}

/// A `help:` line listing what exists, closest names first.
pub fn suggest<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a String>) -> String {
    let mut known: Vec<&String> = known.collect();
    if known.is_empty() {
        return format!("no {what} exist yet; create one");
    }
    known.sort_by_key(|k| (edit_distance(k, name), (*k).clone()));
    let shown: Vec<String> = known.iter().take(5).map(|k| format!("`{k}`")).collect();
    format!("known {what}: {}", shown.join(", "))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A `name@<req>` reference whose target's version does not satisfy `req`, as an error at `field`.
fn version_unsatisfied<T>(
    m: &Doc<T>,
    code: &'static str,
    kind: &str,
    r: &VersionedRef,
    version: &str,
    target_path: &str,
    field: &str,
) -> Option<Diagnostic> {
    let (Some(req), Ok(ver)) = (&r.req, parse_version(version)) else {
        return None;
    };
    (!req.matches(&ver)).then(|| {
        m.error_at(
            code,
            format!(
                "{kind} `{}` is version {ver}, which does not satisfy `{req}`",
                r.name
            ),
            field,
            "version not satisfied",
        )
        .with_help(format!("relax the requirement or update `{target_path}`"))
    })
}
