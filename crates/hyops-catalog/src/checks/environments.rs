//! Environments: overlays name existing modules and their declared inputs, values satisfy the input
//! schemas, secret inputs are bound with `secretRef` to a declared secret, and each secret source
//! sets exactly one of `env`, `file`, `age`.

use serde_json::Value;

use super::Checker;
use super::inputs::is_secret;
use super::references::suggest;
use crate::codes;
use crate::input_schema::check_value;

/// `{secretRef: name}` -> `Some(Ok(name))`; a malformed secretRef -> `Some(Err(()))`; else `None`.
pub(crate) fn secret_ref(v: &Value) -> Option<Result<&str, ()>> {
    let map = v.as_object()?;
    let r = map.get("secretRef")?;
    match (r.as_str(), map.len()) {
        (Some(name), 1) => Some(Ok(name)),
        _ => Some(Err(())),
    }
}

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    for e in cat.environments.values() {
        let env = &e.value;
        for (name, src) in &env.secrets {
            let path = format!("secrets.{name}");
            let set = [src.env.is_some(), src.file.is_some(), src.age.is_some()]
                .iter()
                .filter(|b| **b)
                .count();
            if set != 1 {
                c.push(
                    e.error_at(
                        codes::SECRET_SOURCE,
                        format!("secret `{name}` must set exactly one of `env`, `file`, `age`; it sets {set}"),
                        &path,
                        "ambiguous secret source",
                    )
                    .with_help("e.g. `{ env: SITE_TOKEN }` or `{ file: secrets/token.txt }`"),
                );
            }
            for (field, value) in [("file", &src.file), ("age", &src.age)] {
                if let Some(p) = value {
                    let escapes = p.split('/').any(|seg| seg == "..");
                    let absolute = p.starts_with('/');
                    if escapes || (absolute && field == "age") {
                        c.push(
                            e.error_at(
                                codes::PATH_ESCAPES_ROOT,
                                format!("secret `{name}` path `{p}` leaves the catalog root"),
                                &format!("{path}.{field}"),
                                "path escapes the root",
                            )
                            .with_help("use a path relative to the catalog root without `..`"),
                        );
                    }
                }
            }
        }
        for (target, values) in &env.inputs {
            let target_path = format!("inputs.{target}");
            let module = if target == "*" {
                None
            } else {
                match cat.modules.get(target) {
                    Some(m) => Some(m),
                    None if cat.is_broken(&format!("modules/{target}/module.yaml")) => continue,
                    None => {
                        // `STACK.MEMBER` is a target, not a module: its inputs live in the stack.
                        let member = target.split_once('.').filter(|(stack, member)| {
                            cat.stacks
                                .get(*stack)
                                .is_some_and(|s| s.value.members.contains_key(*member))
                        });
                        let help = match member {
                            Some((stack, member)) => format!(
                                "`{target}` is a stack member: set its inputs under \
                                 `members.{member}.inputs` in stacks/{stack}.yaml (overlays here \
                                 apply per module id, to every member using that module)"
                            ),
                            None => format!(
                                "use `\"*\"` for every module, or one of the module ids; {}",
                                suggest("modules", target, cat.modules.keys())
                            ),
                        };
                        c.push(
                            e.error_at_key(
                                codes::UNKNOWN_MODULE,
                                format!("`inputs` names module `{target}`, which does not exist"),
                                &target_path,
                                "unknown module",
                            )
                            .with_help(help),
                        );
                        continue;
                    }
                }
            };
            for (input, value) in values {
                let path = format!("{target_path}.{input}");
                let schema = module.map(|m| m.value.inputs.get(input));
                if let Some(None) = schema {
                    c.push(
                        e.error_at_key(
                            codes::UNKNOWN_INPUT,
                            format!("module `{target}` declares no input `{input}`"),
                            &path,
                            "unknown input",
                        )
                        .with_help(format!(
                            "declared inputs: {}",
                            module.map_or(String::new(), |m| m
                                .value
                                .inputs
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", "))
                        )),
                    );
                    continue;
                }
                let schema = schema.flatten();
                match secret_ref(value) {
                    Some(Err(())) => c.push(
                        e.error_at(
                            codes::SECRET_BINDING,
                            "`secretRef` must be the only key and name a secret",
                            &path,
                            "malformed secretRef",
                        )
                        .with_help("write `{ secretRef: <secret name> }`"),
                    ),
                    Some(Ok(secret)) => {
                        if !env.secrets.contains_key(secret) {
                            c.push(
                                e.error_at(
                                    codes::UNKNOWN_SECRET,
                                    format!("`secretRef` names secret `{secret}`, which this environment does not declare"),
                                    &format!("{path}.secretRef"),
                                    "unknown secret",
                                )
                                .with_help(format!("declare it under `secrets:`, e.g. `{secret}: {{ env: {} }}`", secret.to_uppercase().replace('-', "_"))),
                            );
                        }
                        if schema.is_some_and(|s| !is_secret(s)) {
                            c.push(
                                e.error_at(
                                    codes::SECRET_BINDING,
                                    format!("input `{input}` is not secret but is bound to a secret"),
                                    &path,
                                    "secretRef on a plain input",
                                )
                                .with_help(format!("mark the input `secret: true` in module `{target}`, or give a plain value")),
                            );
                        }
                    }
                    None => {
                        let Some(schema) = schema else { continue };
                        if is_secret(schema) {
                            c.push(
                                e.error_at(
                                    codes::SECRET_BINDING,
                                    format!("secret input `{input}` is given a plain value; secret values never live in the catalog"),
                                    &path,
                                    "plain value for a secret",
                                )
                                .with_help("declare a secret under `secrets:` and write `{ secretRef: <name> }`"),
                            );
                            continue;
                        }
                        let Ok(validator) = c.schemas.validator(schema) else {
                            continue;
                        };
                        for problem in check_value(&validator, value) {
                            c.push(
                                e.error_at(
                                    codes::INPUT_VALUE_INVALID,
                                    format!("value of input `{input}` for module `{target}` does not satisfy its schema: {}", problem.message),
                                    &format!("{path}{}", problem.path_suffix),
                                    "invalid value",
                                )
                                .with_help("change the value to match the module's input schema"),
                            );
                        }
                    }
                }
            }
        }
    }
}
