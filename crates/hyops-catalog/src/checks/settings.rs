//! Profile `settings`: every key is one the profile's driver reads (`DriverName::settings`). A
//! typo (`puppett: true`) would otherwise be policy silently ignored. Each value has the shape
//! the driver reads (a boolean, a list of strings, …); what a value means (a path inside the
//! pack, an `ANSIBLE_*` name) the driver checks when a run starts. `builders` and
//! `builder_naming` are checked with the packer packs (`checks/packer.rs`).

use hyops_contract::DriverName;
use serde_json::Value;

use super::Checker;
use super::references::suggest;
use crate::codes;

pub(super) fn check(c: &mut Checker<'_>) {
    for p in c.catalog.profiles.values() {
        let driver = p.value.driver;
        let known: Vec<String> = driver.settings().iter().map(|k| (*k).to_owned()).collect();
        for (key, value) in &p.value.settings {
            if known.contains(key) {
                if let Some(shape) = shape(driver, key)
                    && !value.is_null()
                    && !shape.fits(value)
                {
                    let path = format!("settings.{key}");
                    c.push(
                        p.error_at(
                            codes::SETTING_INVALID,
                            format!("`{key}` must be {}", shape.describe()),
                            &path,
                            format!("not {}", shape.describe()),
                        )
                        .with_help(format!("docs/drivers/{driver}.md describes `{key}`")),
                    );
                }
                continue;
            }
            let help = if known.is_empty() {
                format!("the {driver} driver reads no settings; remove `settings`")
            } else {
                format!(
                    "{} (docs/drivers/{driver}.md)",
                    suggest(&format!("{driver} settings"), key, known.iter())
                )
            };
            let diagnostic = p
                .error_at_key(
                    codes::UNKNOWN_SETTING,
                    format!("the {driver} driver has no setting `{key}`"),
                    &format!("settings.{key}"),
                    "unknown setting",
                )
                .with_help(help);
            c.push(diagnostic);
        }
    }
}

/// The JSON shape of a setting's value.
#[derive(Clone, Copy)]
enum Shape {
    Bool,
    Text,
    TextList,
    Map,
    Count,
}

/// The shape the driver reads `key` as (`None`: checked elsewhere).
fn shape(driver: DriverName, key: &str) -> Option<Shape> {
    match (driver, key) {
        (DriverName::Packer, "ansible" | "puppet") => Some(Shape::Bool),
        (DriverName::Packer, "ansible_assets" | "puppet_assets") => Some(Shape::TextList),
        (DriverName::Packer, "manifest")
        | (DriverName::Terraform, "plugin_dir" | "plugin_cache_dir") => Some(Shape::Text),
        (DriverName::Terraform, "remote_states") | (DriverName::Ansible, "env") => Some(Shape::Map),
        (DriverName::Ansible, "forks" | "timeout") => Some(Shape::Count),
        _ => None,
    }
}

impl Shape {
    fn fits(self, value: &Value) -> bool {
        match self {
            Self::Bool => value.is_boolean(),
            Self::Text => value.is_string(),
            Self::TextList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            Self::Map => value.is_object(),
            Self::Count => value.as_u64().is_some_and(|n| n >= 1),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Bool => "a boolean",
            Self::Text => "a string",
            Self::TextList => "a list of strings",
            Self::Map => "a map",
            Self::Count => "a whole number of at least 1",
        }
    }
}
