//! Provisioner stacks of a packer build: Ansible (on by default) and Puppet (off by default),
//! toggled by profile settings or module inputs, their required assets verified under the pack's
//! `templates/ansible/` or `templates/puppet/` before packer starts, and the packer variables that
//! tell the template which stacks run.

use std::collections::BTreeMap;
use std::path::Path;

use hyops_contract::RunRequest;
use serde_json::Value;

use crate::DriverError;

/// One provisioner stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionerStack {
    /// `ansible` or `puppet`.
    pub name: &'static str,
    /// Whether it runs.
    pub enabled: bool,
    /// Files that must exist, relative to `templates/<name>/`.
    pub assets: Vec<String>,
}

impl ProvisionerStack {
    /// `templates/<name>`.
    pub fn dir(&self) -> String {
        format!("templates/{}", self.name)
    }
}

/// Both stacks, as the request configures them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioners {
    /// Ansible (default on; asset default `playbook.yml`).
    pub ansible: ProvisionerStack,
    /// Puppet (default off; asset default `manifests/site.pp`).
    pub puppet: ProvisionerStack,
}

fn flag(request: &RunRequest, name: &str, default: bool) -> Result<bool, DriverError> {
    // A module input wins over the profile: the toggle is intent ("this image has no Puppet").
    let input_name = format!("{name}_enabled");
    if let Some(value) = request
        .inputs
        .get(&input_name)
        .and_then(|i| i.value.as_ref())
    {
        return value.as_bool().ok_or(DriverError::SettingInvalid {
            key: input_name,
            expected: "a boolean",
        });
    }
    match request.settings.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(DriverError::SettingInvalid {
            key: name.to_owned(),
            expected: "a boolean",
        }),
    }
}

fn assets(request: &RunRequest, name: &str, default: &str) -> Result<Vec<String>, DriverError> {
    let key = format!("{name}_assets");
    match request.settings.get(&key) {
        None | Some(Value::Null) => Ok(vec![default.to_owned()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .filter(|s| !s.starts_with('/') && !s.split('/').any(|p| p == ".."))
                    .map(str::to_owned)
                    .ok_or_else(|| DriverError::SettingInvalid {
                        key: key.clone(),
                        expected: "a list of paths relative to the stack's templates folder",
                    })
            })
            .collect(),
        Some(_) => Err(DriverError::SettingInvalid {
            key,
            expected: "a list of paths relative to the stack's templates folder",
        }),
    }
}

impl Provisioners {
    /// Reads toggles (`settings.ansible`, `settings.puppet`, or inputs `ansible_enabled`,
    /// `puppet_enabled`) and assets (`settings.ansible_assets`, `settings.puppet_assets`).
    pub fn from_request(request: &RunRequest) -> Result<Self, DriverError> {
        Ok(Self {
            ansible: ProvisionerStack {
                name: "ansible",
                enabled: flag(request, "ansible", true)?,
                assets: assets(request, "ansible", "playbook.yml")?,
            },
            puppet: ProvisionerStack {
                name: "puppet",
                enabled: flag(request, "puppet", false)?,
                assets: assets(request, "puppet", "manifests/site.pp")?,
            },
        })
    }

    /// The enabled stacks.
    pub fn enabled(&self) -> impl Iterator<Item = &ProvisionerStack> {
        [&self.ansible, &self.puppet]
            .into_iter()
            .filter(|s| s.enabled)
    }

    /// Fails on the first missing asset of an enabled stack, naming it pack-relative.
    pub fn verify_assets(&self, work_dir: &Path, pack: &str) -> Result<(), DriverError> {
        for stack in self.enabled() {
            for asset in &stack.assets {
                let rel = format!("{}/{asset}", stack.dir());
                if !work_dir.join(&rel).is_file() {
                    return Err(DriverError::ProvisionerAssetMissing {
                        stack: stack.name,
                        path: format!("{pack}/{rel}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Packer variables for the enabled stacks only: `hyops_<stack>_enabled`, `hyops_<stack>_dir`
    /// (relative to the folder packer runs in, `to_work_dir` leading back to the work dir, so the
    /// file is the same for every attempt) and `hyops_<stack>_<asset stem>` for the first asset
    /// (`hyops_ansible_playbook`, `hyops_puppet_manifest`). A disabled stack emits nothing, so a
    /// template's own default (false) holds.
    pub fn variables(&self, to_work_dir: &str) -> BTreeMap<String, Value> {
        let mut vars = BTreeMap::new();
        for stack in self.enabled() {
            let dir = format!("{to_work_dir}{}", stack.dir());
            vars.insert(format!("hyops_{}_enabled", stack.name), Value::Bool(true));
            vars.insert(
                format!("hyops_{}_dir", stack.name),
                Value::String(dir.clone()),
            );
            let main = if stack.name == "ansible" {
                "playbook"
            } else {
                "manifest"
            };
            if let Some(first) = stack.assets.first() {
                vars.insert(
                    format!("hyops_{}_{main}", stack.name),
                    Value::String(format!("{dir}/{first}")),
                );
            }
        }
        vars
    }
}
