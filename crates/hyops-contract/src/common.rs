//! Small shared wire types: the API version marker, driver names, duration text.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only API version this build reads and writes.
pub const API_VERSION: &str = "hyops/v1";

/// `apiVersion` of every document. Only `hyops/v1` exists today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    /// `hyops/v1`
    #[serde(rename = "hyops/v1")]
    V1,
}

/// The tool adapters hyops ships. `tofu` is the terraform driver with `toolchain.binary: tofu`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DriverName {
    /// Runs the pack's `entry` executable as `<entry> plan|apply|destroy`.
    Shell,
    /// Terraform or OpenTofu root module.
    Terraform,
    /// Packer HCL2 template.
    Packer,
    /// Ansible playbook.
    Ansible,
}

impl DriverName {
    /// Every driver, in a stable order.
    pub const ALL: [DriverName; 4] = [Self::Shell, Self::Terraform, Self::Packer, Self::Ansible];

    /// The name as written in documents and pack folders (`packs/<driver>/<id>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shell => "shell",
            Self::Terraform => "terraform",
            Self::Packer => "packer",
            Self::Ansible => "ansible",
        }
    }

    /// The profile `settings` keys the driver reads (docs/drivers/<driver>.md); any other key is
    /// an error, since a typo would otherwise be policy silently ignored.
    pub fn settings(self) -> &'static [&'static str] {
        match self {
            Self::Shell => &[],
            Self::Terraform => &["plugin_cache_dir", "plugin_dir", "remote_states"],
            Self::Packer => &[
                "ansible",
                "ansible_assets",
                "builder_naming",
                "builders",
                "manifest",
                "puppet",
                "puppet_assets",
            ],
            Self::Ansible => &["env", "forks", "timeout"],
        }
    }
}

impl std::fmt::Display for DriverName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, not `write_str`: table columns (`{:<13}`) must apply to it.
        f.pad(self.as_str())
    }
}

/// A duration written as text: an integer followed by `ms`, `s`, `m` or `h` (`500ms`, `30s`, `10m`).
/// Parsed and range-checked by `hyops-catalog`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct DurationText(#[schemars(pattern(r"^[0-9]+(ms|s|m|h)$"))] pub String);

impl DurationText {
    /// Milliseconds, or `None` when the text is not `<digits><unit>`.
    pub fn to_millis(&self) -> Option<u64> {
        let s = self.0.trim();
        let split = s.find(|c: char| !c.is_ascii_digit())?;
        let (num, unit) = s.split_at(split);
        let n: u64 = num.parse().ok()?;
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return None,
        };
        n.checked_mul(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_text_parses_units_and_rejects_garbage() {
        assert_eq!(DurationText("500ms".into()).to_millis(), Some(500));
        assert_eq!(DurationText("2s".into()).to_millis(), Some(2_000));
        assert_eq!(DurationText("3m".into()).to_millis(), Some(180_000));
        assert_eq!(DurationText("1h".into()).to_millis(), Some(3_600_000));
        assert_eq!(DurationText("1d".into()).to_millis(), None);
        assert_eq!(DurationText("ms".into()).to_millis(), None);
        assert_eq!(
            DurationText("99999999999999999999s".into()).to_millis(),
            None
        );
    }

    #[test]
    fn names_honour_column_widths() {
        assert_eq!(format!("[{:<8}]", DriverName::Shell), "[shell   ]");
        assert_eq!(format!("[{:>8}]", crate::AttemptStatus::Lost), "[    lost]");
    }
}
