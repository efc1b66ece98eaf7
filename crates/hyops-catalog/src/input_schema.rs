//! Input JSON Schemas: compile each distinct schema once (annotations such as `default` and
//! `description` do not change what a schema accepts, so they are left out of the cache key), and
//! validate values with errors mapped to YAML paths.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::Validator;
use serde_json::Value;

use crate::canonical_json::{canonical_json, canonical_json_filtered};

/// Keywords that annotate rather than constrain; stripped before compiling.
const ANNOTATIONS: [&str; 6] = [
    "default",
    "description",
    "title",
    "examples",
    "secret",
    "deprecated",
];

/// What is wrong with a schema: a message and the YAML path suffix inside the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// Lowercase message.
    pub message: String,
    /// Path below the schema, e.g. `.properties.x` (empty for the schema itself).
    pub path_suffix: String,
}

/// One failed check of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProblem {
    /// Lowercase message from the validator.
    pub message: String,
    /// Path below the value, e.g. `[0].name` (empty for the value itself).
    pub path_suffix: String,
}

/// Compiled input schemas, shared by every module that declares the same schema. Safe to share
/// between threads (modules are checked in parallel).
#[derive(Default)]
pub struct SchemaCache {
    compiled: Mutex<HashMap<String, Result<Arc<Validator>, SchemaProblem>>>,
}

impl std::fmt::Debug for SchemaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaCache")
            .field("schemas", &self.lock().len())
            .finish()
    }
}

impl SchemaCache {
    /// The validator for `schema`, compiling it on first sight.
    pub fn validator(&self, schema: &Value) -> Result<Arc<Validator>, SchemaProblem> {
        let key = cache_key(schema);
        if let Some(found) = self.lock().get(&key) {
            return found.clone();
        }
        // Compiled without holding the lock; if another thread compiled the same schema
        // meanwhile, its (equal) result is kept.
        let compiled = compile(schema, &strip_annotations(schema));
        self.lock().entry(key).or_insert(compiled).clone()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Result<Arc<Validator>, SchemaProblem>>> {
        // A panic while holding the lock cannot leave the map half-updated (one insert).
        self.compiled.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The canonical JSON of `schema` without its top-level annotations, written without cloning it.
fn cache_key(schema: &Value) -> String {
    match schema {
        Value::Object(map) => canonical_json_filtered(map, |k| !ANNOTATIONS.contains(&k)),
        other => canonical_json(other),
    }
}

fn strip_annotations(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn compile(original: &Value, stripped: &Value) -> Result<Arc<Validator>, SchemaProblem> {
    let Value::Object(map) = original else {
        return Err(SchemaProblem {
            message: "an input schema must be a mapping such as `{ type: string }`".into(),
            path_suffix: String::new(),
        });
    };
    if let Some(secret) = map.get("secret")
        && !secret.is_boolean()
    {
        return Err(SchemaProblem {
            message: "`secret` must be `true` or `false`".into(),
            path_suffix: ".secret".into(),
        });
    }
    if let Some(s) = map.get("$schema")
        && s.as_str() != Some("https://json-schema.org/draft/2020-12/schema")
    {
        return Err(SchemaProblem {
                message: "input schemas are JSON Schema 2020-12; remove `$schema` or set it to `https://json-schema.org/draft/2020-12/schema`".into(),
                path_suffix: ".$schema".into(),
            });
    }
    if let Some(problem) = find_remote_ref(stripped, String::new()) {
        return Err(problem);
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(stripped)
        .map(Arc::new)
        .map_err(|e| SchemaProblem {
            message: format!("not a valid JSON Schema: {}", lower_first(&e.to_string())),
            path_suffix: pointer_to_path(e.instance_path().as_str()),
        })
}

/// Builds JSON Schema's 2020-12 meta-schema validator, which every first schema compile of a
/// process waits for (about 1 ms), so a caller can have it built on another thread while this
/// one reads the catalog. Idempotent; never fails.
pub fn warm_up() {
    let _ = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&serde_json::json!({ "type": "object" }));
}

/// Remote `$ref`s would need network or file access at validation time; only local ones are allowed.
fn find_remote_ref(v: &Value, path: String) -> Option<SchemaProblem> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, child)| {
            if k == "$ref" && !child.as_str().is_some_and(|r| r.starts_with('#')) {
                return Some(SchemaProblem {
                    message: "only local `$ref`s (`#/$defs/...`) are allowed in input schemas"
                        .into(),
                    path_suffix: format!("{path}.$ref"),
                });
            }
            find_remote_ref(child, format!("{path}.{k}"))
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, child)| find_remote_ref(child, format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Every way `value` fails `validator`.
pub fn check_value(validator: &Validator, value: &Value) -> Vec<ValueProblem> {
    // The common case (a valid value) needs no error objects.
    if validator.is_valid(value) {
        return Vec::new();
    }
    validator
        .iter_errors(value)
        .map(|e| ValueProblem {
            message: lower_first(&e.to_string()),
            path_suffix: pointer_to_path(e.instance_path().as_str()),
        })
        .collect()
}

/// `/0/name` -> `[0].name`.
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            out.push('.');
            out.push_str(&seg);
        }
    }
    out
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_compile_and_refuse_the_same_while_the_meta_schema_warms_up() {
        let warming = std::thread::spawn(warm_up);
        let cache = SchemaCache::default();
        let valid = cache.validator(&json!({"type": "integer", "minimum": 1}));
        let invalid = cache.validator(&json!({"type": "integer", "minimum": "one"}));
        warming.join().unwrap();
        warm_up();
        let validator = valid.unwrap();
        assert!(validator.is_valid(&json!(2)) && !validator.is_valid(&json!(0)));
        let Err(problem) = invalid else {
            panic!("a non-numeric minimum is no JSON Schema");
        };
        assert!(
            problem.message.starts_with("not a valid JSON Schema"),
            "{problem:?}"
        );
    }

    #[test]
    fn caches_by_constraint_not_annotation() {
        let cache = SchemaCache::default();
        let a = cache
            .validator(&json!({"type": "integer", "default": 1}))
            .unwrap();
        let b = cache
            .validator(&json!({"type": "integer", "default": 2, "description": "x"}))
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(check_value(&a, &json!(3)), vec![]);
        let problems = check_value(&a, &json!("x"));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("integer"), "{problems:?}");
    }

    #[test]
    fn rejects_invalid_schemas() {
        let cache = SchemaCache::default();
        assert!(cache.validator(&json!({"type": "intger"})).is_err());
        assert!(cache.validator(&json!({"minimum": "x"})).is_err());
        assert!(cache.validator(&json!({"$ref": "https://x/y"})).is_err());
        assert!(cache.validator(&json!("string")).is_err());
        assert_eq!(pointer_to_path("/0/a~1b"), "[0].a/b");
    }
}
