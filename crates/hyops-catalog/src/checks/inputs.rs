//! Module inputs: each schema is valid JSON Schema 2020-12, each `default` satisfies its schema,
//! and secret inputs carry no default.

use hyops_contract::Module;

use super::Checker;
use crate::codes;
use crate::document::Doc;
use crate::input_schema::check_value;

pub(super) fn check_module(c: &mut Checker<'_>, m: &Doc<Module>) {
    for (name, schema) in &m.value.inputs {
        let path = format!("inputs.{name}");
        let validator = match c.schemas.validator(schema) {
            Ok(v) => v,
            Err(problem) => {
                c.push(
                    m.error_at(
                        codes::INVALID_INPUT_SCHEMA,
                        format!("input `{name}`: {}", problem.message),
                        &format!("{path}{}", problem.path_suffix),
                        "invalid schema",
                    )
                    .with_help("input schemas are JSON Schema 2020-12, e.g. `{ type: integer, minimum: 1 }`"),
                );
                continue;
            }
        };
        let Some(default) = schema.get("default") else {
            continue;
        };
        if is_secret(schema) {
            c.push(
                m.error_at(
                    codes::SECRET_BINDING,
                    format!("secret input `{name}` has a `default`; secret values never live in modules"),
                    &format!("{path}.default"),
                    "secret value in a module",
                )
                .with_help("remove the default and bind the input in an environment: `{ secretRef: <name> }`"),
            );
            continue;
        }
        for problem in check_value(&validator, default) {
            c.push(
                m.error_at(
                    codes::INPUT_VALUE_INVALID,
                    format!(
                        "default of input `{name}` does not satisfy its schema: {}",
                        problem.message
                    ),
                    &format!("{path}.default{}", problem.path_suffix),
                    "invalid default",
                )
                .with_help("change the default or the schema so they agree"),
            );
        }
    }
}

/// Whether an input schema marks the input secret.
pub(crate) fn is_secret(schema: &serde_json::Value) -> bool {
    schema.get("secret").and_then(serde_json::Value::as_bool) == Some(true)
}
