//! Reading terraform's machine output: `version -json`, the `-json` UI stream of `plan`,
//! `validate -json` diagnostics, `show -json` plans and `output -json`. Sensitive values are
//! collected (for the redactor) and masked in the plan JSON kept as evidence.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// `[REDACTED:sensitive]`, what a sensitive value becomes in kept plan JSON.
pub const SENSITIVE_PLACEHOLDER: &str = "[REDACTED:sensitive]";

/// The version `terraform version -json` (or `tofu version -json`) reports.
pub fn reported_version(stdout: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(stdout).ok()?;
    value
        .get("terraform_version")
        .or_else(|| value.get("tofu_version"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// One terraform diagnostic, its file relative to the work dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TfDiagnostic {
    /// `error` or `warning`.
    pub severity: String,
    /// One-line summary.
    pub summary: String,
    /// Longer explanation (may be empty).
    pub detail: String,
    /// `main.tf`, relative to the work dir, when terraform named one.
    pub filename: Option<String>,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl TfDiagnostic {
    fn from_json(value: &Value) -> Option<Self> {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let range = value.get("range");
        let start = range.and_then(|r| r.get("start"));
        let num = |k: &str| start.and_then(|s| s.get(k)).and_then(Value::as_u64);
        Some(Self {
            severity: text(value, "severity"),
            summary: value.get("summary").and_then(Value::as_str)?.to_owned(),
            detail: text(value, "detail"),
            filename: range
                .and_then(|r| r.get("filename"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            line: num("line").unwrap_or(0),
            column: num("column").unwrap_or(0),
        })
    }

    /// Rendered like rustc: `error: summary\n  --> <pack>/<file>:L:C\n  detail`.
    pub fn render(&self, pack_path: &str) -> String {
        let mut out = format!("{}: {}", self.severity, self.summary);
        if let Some(file) = &self.filename {
            out.push_str(&format!(
                "\n  --> {pack_path}/{file}:{}:{}",
                self.line, self.column
            ));
        }
        for line in self.detail.lines().filter(|l| !l.trim().is_empty()) {
            out.push_str(&format!("\n  {line}"));
        }
        out
    }
}

/// Diagnostics of a `validate -json` document.
pub fn validate_diagnostics(stdout: &[u8]) -> Vec<TfDiagnostic> {
    serde_json::from_slice::<Value>(stdout)
        .ok()
        .and_then(|v| v.get("diagnostics").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(TfDiagnostic::from_json)
        .collect()
}

/// What a `-json` UI stream (`plan -json`) said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UiStream {
    /// Diagnostics, in order.
    pub diagnostics: Vec<TfDiagnostic>,
    /// Planned changes: (address, action) with action `create`, `update`, `delete`, `replace`,
    /// `read`.
    pub changes: Vec<(String, String)>,
    /// `change_summary`: (add, change, remove).
    pub counts: Option<(u64, u64, u64)>,
}

/// Parses a `-json` UI stream line by line; lines that are not JSON are ignored.
pub fn parse_ui_stream(stdout: &[u8]) -> UiStream {
    let mut ui = UiStream::default();
    for line in stdout.split(|b| *b == b'\n') {
        let Ok(value) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        match value.get("type").and_then(Value::as_str) {
            Some("diagnostic") => {
                if let Some(d) = value.get("diagnostic").and_then(TfDiagnostic::from_json) {
                    ui.diagnostics.push(d);
                }
            }
            Some("planned_change") => {
                let change = value.get("change");
                let addr = change
                    .and_then(|c| c.get("resource"))
                    .and_then(|r| r.get("addr"))
                    .and_then(Value::as_str);
                let action = change.and_then(|c| c.get("action")).and_then(Value::as_str);
                if let (Some(addr), Some(action)) = (addr, action) {
                    ui.changes.push((addr.to_owned(), action.to_owned()));
                }
            }
            Some("change_summary") => {
                let changes = value.get("changes");
                let n = |k: &str| {
                    changes
                        .and_then(|c| c.get(k))
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                };
                ui.counts = Some((n("add"), n("change"), n("remove")));
            }
            _ => {}
        }
    }
    ui
}

/// Resources to add, change and destroy, by address.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlanSummary {
    /// Addresses created (replacements count here and in `destroy`).
    pub add: Vec<String>,
    /// Addresses updated in place.
    pub change: Vec<String>,
    /// Addresses destroyed.
    pub destroy: Vec<String>,
}

impl PlanSummary {
    /// From a UI stream's planned changes.
    pub fn from_ui(ui: &UiStream) -> Self {
        let mut summary = Self::default();
        for (addr, action) in &ui.changes {
            summary.push(addr, action);
        }
        summary
    }

    /// From a `show -json` plan's `resource_changes`.
    pub fn from_plan(plan: &Value) -> Self {
        let mut summary = Self::default();
        for rc in plan
            .get("resource_changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(addr) = rc.get("address").and_then(Value::as_str) else {
                continue;
            };
            let actions: Vec<&str> = rc
                .get("change")
                .and_then(|c| c.get("actions"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let action = match actions.as_slice() {
                ["create"] => "create",
                ["update"] => "update",
                ["delete"] => "delete",
                [_, _] => "replace",
                _ => continue,
            };
            summary.push(addr, action);
        }
        summary
    }

    fn push(&mut self, addr: &str, action: &str) {
        match action {
            "create" => self.add.push(addr.to_owned()),
            "update" => self.change.push(addr.to_owned()),
            "delete" => self.destroy.push(addr.to_owned()),
            "replace" => {
                self.add.push(addr.to_owned());
                self.destroy.push(addr.to_owned());
            }
            _ => {}
        }
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.change.is_empty() && self.destroy.is_empty()
    }

    /// `Plan: 1 to add (null_resource.f), 0 to change, 0 to destroy.` or `No changes.`
    pub fn line(&self) -> String {
        if self.is_empty() {
            return "No changes.".to_owned();
        }
        let part = |n: &[String], what: &str| {
            if n.is_empty() {
                format!("0 to {what}")
            } else {
                format!("{} to {what} ({})", n.len(), n.join(", "))
            }
        };
        format!(
            "Plan: {}, {}, {}.",
            part(&self.add, "add"),
            part(&self.change, "change"),
            part(&self.destroy, "destroy")
        )
    }
}

/// Replaces every value `mask` marks sensitive (`true`, possibly nested in objects and arrays
/// shaped like `value`) with [`SENSITIVE_PLACEHOLDER`], collecting the string forms of the values
/// replaced into `found`.
fn apply_mask(value: &mut Value, mask: &Value, found: &mut BTreeSet<String>) {
    match (value, mask) {
        (v, Value::Bool(true)) => {
            collect_strings(v, found);
            *v = Value::String(SENSITIVE_PLACEHOLDER.to_owned());
        }
        (Value::Object(map), Value::Object(masks)) => {
            for (k, m) in masks {
                if let Some(v) = map.get_mut(k) {
                    apply_mask(v, m, found);
                }
            }
        }
        (Value::Array(items), Value::Array(masks)) => {
            for (v, m) in items.iter_mut().zip(masks) {
                apply_mask(v, m, found);
            }
        }
        _ => {}
    }
}

fn collect_strings(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Null => {}
        Value::String(s) => {
            found.insert(s.clone());
        }
        Value::Bool(_) | Value::Number(_) => {
            found.insert(value.to_string());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, found)),
        Value::Object(map) => {
            // The whole object as JSON too: a tool may print it that way.
            found.insert(value.to_string());
            map.values().for_each(|v| collect_strings(v, found));
        }
    }
}

/// Masks sensitive values in a `show -json` plan (outputs marked `sensitive`, resource
/// attributes under `*_sensitive`/`sensitive_values` masks) and returns them.
pub fn mask_plan(plan: &mut Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    // Output values in planned_values / prior_state: `{sensitive: true, value}`.
    for root in ["planned_values", "prior_state"] {
        let outputs = plan
            .get_mut(root)
            .and_then(|r| {
                if root == "prior_state" {
                    r.get_mut("values")
                } else {
                    Some(r)
                }
            })
            .and_then(|r| r.get_mut("outputs"))
            .and_then(Value::as_object_mut);
        for output in outputs.into_iter().flat_map(|o| o.values_mut()) {
            if output.get("sensitive").and_then(Value::as_bool) == Some(true)
                && let Some(v) = output.get_mut("value")
            {
                apply_mask(v, &Value::Bool(true), &mut found);
            }
        }
        mask_module_resources(plan.get_mut(root), root, &mut found);
    }
    // Changes: before/after with before_sensitive/after_sensitive masks.
    let mut changes: Vec<&mut Value> = Vec::new();
    if let Some(rcs) = plan
        .get_mut("resource_changes")
        .and_then(Value::as_array_mut)
    {
        changes.extend(rcs.iter_mut().filter_map(|rc| rc.get_mut("change")));
    }
    for change in changes {
        mask_change(change, &mut found);
    }
    if let Some(ocs) = plan
        .get_mut("output_changes")
        .and_then(Value::as_object_mut)
    {
        for change in ocs.values_mut() {
            mask_change(change, &mut found);
        }
    }
    found
}

fn mask_change(change: &mut Value, found: &mut BTreeSet<String>) {
    for (field, mask_field) in [("before", "before_sensitive"), ("after", "after_sensitive")] {
        let mask = change.get(mask_field).cloned().unwrap_or(Value::Null);
        if let Some(v) = change.get_mut(field) {
            apply_mask(v, &mask, found);
        }
    }
}

/// Resources in `planned_values.root_module` / `prior_state.values.root_module` (and child
/// modules) carry a `sensitive_values` mask over their `values`.
fn mask_module_resources(root: Option<&mut Value>, which: &str, found: &mut BTreeSet<String>) {
    let Some(root) = root else {
        return;
    };
    let module = if which == "prior_state" {
        root.get_mut("values")
            .and_then(|v| v.get_mut("root_module"))
    } else {
        root.get_mut("root_module")
    };
    if let Some(module) = module {
        mask_module(module, found);
    }
}

fn mask_module(module: &mut Value, found: &mut BTreeSet<String>) {
    if let Some(resources) = module.get_mut("resources").and_then(Value::as_array_mut) {
        for resource in resources {
            let mask = resource
                .get("sensitive_values")
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(values) = resource.get_mut("values") {
                apply_mask(values, &mask, found);
            }
        }
    }
    if let Some(children) = module
        .get_mut("child_modules")
        .and_then(Value::as_array_mut)
    {
        for child in children {
            mask_module(child, found);
        }
    }
}

/// What `output -json` printed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TfOutputs {
    /// Name -> value.
    pub raw: Map<String, Value>,
    /// Names marked sensitive.
    pub sensitive: BTreeSet<String>,
    /// The string forms of sensitive values (for the redactor).
    pub secret_values: Vec<String>,
}

/// Parses `output -json`; None when it is not a JSON object.
pub fn parse_outputs(stdout: &[u8]) -> Option<TfOutputs> {
    let value: Value = serde_json::from_slice(stdout).ok()?;
    let object = value.as_object()?;
    let mut raw = Map::new();
    let mut sensitive = BTreeSet::new();
    let mut secret_values = BTreeSet::new();
    for (name, output) in object {
        let v = output.get("value").cloned().unwrap_or(Value::Null);
        if output.get("sensitive").and_then(Value::as_bool) == Some(true) {
            sensitive.insert(name.clone());
            collect_strings(&v, &mut secret_values);
        }
        raw.insert(name.clone(), v);
    }
    Some(TfOutputs {
        raw,
        sensitive,
        secret_values: secret_values.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn masks_sensitive_outputs_and_attributes() {
        let mut plan = json!({
            "planned_values": {"outputs": {"s": {"sensitive": true, "value": "s-topsecret"}, "n": {"sensitive": false, "value": "dev"}},
                "root_module": {"resources": [{"values": {"a": "x", "b": "hidden1"}, "sensitive_values": {"b": true}}]}},
            "resource_changes": [{"address": "r.x", "change": {"actions": ["create"], "before": null, "after": {"b": "hidden1"}, "after_sensitive": {"b": true}, "before_sensitive": false}}],
            "output_changes": {"s": {"before": null, "after": "s-topsecret", "after_sensitive": true, "before_sensitive": false}},
        });
        let found = mask_plan(&mut plan);
        let text = plan.to_string();
        assert!(
            !text.contains("topsecret") && !text.contains("hidden1"),
            "{text}"
        );
        assert!(text.contains("\"dev\""));
        assert!(found.contains("s-topsecret") && found.contains("hidden1"));
        assert_eq!(PlanSummary::from_plan(&plan).add, vec!["r.x".to_owned()]);
    }

    #[test]
    fn ui_stream_yields_changes_counts_and_diagnostics() {
        let stream = br#"{"type":"version"}
{"type":"planned_change","change":{"resource":{"addr":"null_resource.f"},"action":"create"}}
{"type":"change_summary","changes":{"add":1,"change":0,"remove":0}}
{"type":"diagnostic","diagnostic":{"severity":"error","summary":"Bad","detail":"why","range":{"filename":"main.tf","start":{"line":3,"column":9}}}}
not json"#;
        let ui = parse_ui_stream(stream);
        assert_eq!(ui.counts, Some((1, 0, 0)));
        let summary = PlanSummary::from_ui(&ui);
        assert_eq!(
            summary.line(),
            "Plan: 1 to add (null_resource.f), 0 to change, 0 to destroy."
        );
        assert_eq!(
            ui.diagnostics[0].render("packs/terraform/p"),
            "error: Bad\n  --> packs/terraform/p/main.tf:3:9\n  why"
        );
    }

    #[test]
    fn outputs_split_sensitive_ones() {
        let TfOutputs {
            raw,
            sensitive,
            secret_values: values,
        } = parse_outputs(
            br#"{"n":{"sensitive":false,"value":"dev"},"s":{"sensitive":true,"value":"s-x123456"}}"#,
        )
        .unwrap();
        assert_eq!(raw["n"], "dev");
        assert!(sensitive.contains("s"));
        assert_eq!(values, vec!["s-x123456".to_owned()]);
        assert_eq!(
            reported_version(br#"{"terraform_version":"1.0.3"}"#).as_deref(),
            Some("1.0.3")
        );
    }
}
