//! JSON Schema export. The committed files under `contracts/` are generated from these types;
//! `tests/jsonschema.rs` fails when they drift (run it with `HYOPS_BLESS=1` to regenerate).

use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::Value;

use crate::{
    AdminEvent, ArtifactRef, AttemptRecord, Catalog, ConfigVersionRef, Environment, ErrorResponse,
    Module, Pack, Probe, Profile, RunRecord, RunRequest, Stack,
};

fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// `(file stem, schema)` for every document kind and public record, in a stable order.
pub fn all_schemas() -> Vec<(&'static str, Value)> {
    vec![
        ("catalog", schema_of::<Catalog>()),
        ("lock", schema_of::<crate::Lock>()),
        ("module", schema_of::<Module>()),
        ("profile", schema_of::<Profile>()),
        ("pack", schema_of::<Pack>()),
        ("environment", schema_of::<Environment>()),
        ("stack", schema_of::<Stack>()),
        ("probe", schema_of::<Probe>()),
        ("run-request", schema_of::<RunRequest>()),
        ("artifact-ref", schema_of::<ArtifactRef>()),
        ("attempt-record", schema_of::<AttemptRecord>()),
        ("run-record", schema_of::<RunRecord>()),
        ("config-version-ref", schema_of::<ConfigVersionRef>()),
        ("admin-event", schema_of::<AdminEvent>()),
        ("error-response", schema_of::<ErrorResponse>()),
    ]
}

/// One schema bundling every other under `$defs`, keyed by file stem.
pub fn bundle() -> Value {
    let mut defs = serde_json::Map::new();
    for (name, schema) in all_schemas() {
        defs.insert(name.to_string(), schema);
    }
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://hyops.invalid/contracts/hyops-v1.bundle.schema.json",
        "title": "hyops/v1 public contracts",
        "$defs": Value::Object(defs),
    })
}

/// Pretty JSON text with a trailing newline, as committed.
pub fn to_file_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a JSON value always serialises");
    text.push('\n');
    text
}
