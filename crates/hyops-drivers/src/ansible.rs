//! The ansible driver's policy and command, as pure functions of the RunRequest and the attempt's
//! folders: binary, version requirement (lowered to plain comparisons the bundled callback checks
//! in-process), `ANSIBLE_*` settings, forks, connection timeout, and the `ansible-playbook` line.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use hyops_contract::{DriverName, RunRequest};
use serde_json::{Value, json};

use crate::toolchain::Toolchain;
use crate::{CommandPlan, DriverError, Stage};

/// The callback plugin's name (`ANSIBLE_CALLBACKS_ENABLED`).
pub const CALLBACK_NAME: &str = "hyops_events";
/// The callback plugin's source, written to `<io dir>/callbacks/hyops_events.py` at run time.
pub const CALLBACK_SOURCE: &str = include_str!("ansible_callback.py");
/// Exit status of `ansible-playbook` when the callback refused the version (nothing ran).
pub const VERSION_MISMATCH_EXIT: i32 = 86;
/// The variable naming the events file the callback appends to.
pub const ENV_EVENTS: &str = "HYOPS_ANSIBLE_EVENTS";
/// The variable holding the lowered version requirement.
pub const ENV_VERSION_REQ: &str = "HYOPS_ANSIBLE_VERSION_REQ";

/// `ANSIBLE_*` variables hyops sets itself and a profile may not replace: hyops passes the
/// inventory on the command line and keeps ansible's local temp files in the private io dir.
const RESERVED_ENV: [&str; 3] = [
    "ANSIBLE_INVENTORY",
    "ANSIBLE_LOCAL_TEMP",
    "ANSIBLE_KEEP_REMOTE_FILES",
];

/// Where the driver's files go for one attempt (all in the private io dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsibleFiles {
    /// The rendered inventory (`inventory.json`).
    pub inventory: PathBuf,
    /// Non-secret inputs and hyops variables as extra-vars (`vars.yml`).
    pub vars: PathBuf,
    /// Secret inputs as extra-vars, 0600, removed as soon as ansible exits (`secrets.yml`).
    pub secrets: PathBuf,
    /// The folder holding the callback plugin.
    pub callbacks: PathBuf,
    /// The events file the callback appends to.
    pub events: PathBuf,
    /// The documented outputs file a playbook may write (`hyops_outputs_file`).
    pub outputs: PathBuf,
    /// ansible's local temp dir.
    pub local_temp: PathBuf,
}

impl AnsibleFiles {
    /// The files of an attempt whose io dir is `io_dir`.
    pub fn in_io_dir(io_dir: &Path) -> Self {
        Self {
            inventory: io_dir.join("inventory.json"),
            vars: io_dir.join("vars.yml"),
            secrets: io_dir.join("secrets.yml"),
            callbacks: io_dir.join("callbacks"),
            events: io_dir.join("ansible-events.jsonl"),
            outputs: io_dir.join("outputs.json"),
            local_temp: io_dir.join("ansible-tmp"),
        }
    }
}

/// The profile's ansible policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsiblePolicy {
    /// The program: a name looked up on the tool's PATH, or a path.
    pub program: PathBuf,
    /// Semver requirement on ansible-core's version.
    pub version_req: Option<semver::VersionReq>,
    /// The requirement as written.
    pub version_text: Option<String>,
    /// `settings.env`: `ANSIBLE_*` variables.
    pub env: BTreeMap<String, String>,
    /// `settings.forks`: `--forks`.
    pub forks: Option<u64>,
    /// `settings.timeout`: `--timeout`, the connection timeout in seconds.
    pub timeout: Option<u64>,
}

fn positive(request: &RunRequest, key: &str) -> Result<Option<u64>, DriverError> {
    match request.settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v >= 1) => Ok(n.as_u64()),
        Some(_) => Err(DriverError::SettingInvalid {
            key: key.to_owned(),
            expected: "a whole number of at least 1",
        }),
    }
}

fn valid_env_name(name: &str) -> bool {
    name.starts_with("ANSIBLE_")
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl AnsiblePolicy {
    /// Reads the request's policy; unknown settings are errors (a typo would otherwise be silently
    /// ignored policy).
    pub fn from_request(request: &RunRequest, catalog_root: &Path) -> Result<Self, DriverError> {
        if let Some(key) = request
            .settings
            .keys()
            .find(|k| !DriverName::Ansible.settings().contains(&k.as_str()))
        {
            return Err(DriverError::SettingUnknown {
                key: key.clone(),
                known: DriverName::Ansible.settings().join(", "),
            });
        }
        let Toolchain {
            program,
            version_req,
            version_text,
        } = Toolchain::from_request(request, "ansible-playbook", catalog_root)?;
        let mut env = BTreeMap::new();
        match request.settings.get("env") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, value) in map {
                    if !valid_env_name(name) || RESERVED_ENV.contains(&name.as_str()) {
                        return Err(DriverError::SettingInvalid {
                            key: format!("env.{name}"),
                            expected: "an ANSIBLE_* variable name (upper case) that hyops does not set itself (ANSIBLE_INVENTORY, ANSIBLE_LOCAL_TEMP, ANSIBLE_KEEP_REMOTE_FILES are reserved)",
                        });
                    }
                    let text = match value {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(DriverError::SettingInvalid {
                                key: format!("env.{name}"),
                                expected: "a string, number or boolean",
                            });
                        }
                    };
                    env.insert(name.clone(), text);
                }
            }
            Some(_) => {
                return Err(DriverError::SettingInvalid {
                    key: "env".to_owned(),
                    expected: "a map of ANSIBLE_* variable name to value",
                });
            }
        }
        Ok(Self {
            program,
            version_req,
            version_text,
            env,
            forks: positive(request, "forks")?,
            timeout: positive(request, "timeout")?,
        })
    }

    /// The driver's variables: hyops' defaults (no colour, no retry files), the profile's
    /// `ANSIBLE_*` settings over them, then what hyops must own: the callback (added to any the
    /// profile enables), the events file, the version requirement, the local temp dir.
    pub fn env(&self, files: &AnsibleFiles) -> BTreeMap<String, OsString> {
        let mut env: BTreeMap<String, OsString> = BTreeMap::new();
        env.insert("ANSIBLE_NOCOLOR".to_owned(), "1".into());
        env.insert("ANSIBLE_RETRY_FILES_ENABLED".to_owned(), "0".into());
        // ansible leaves stdout block-buffered on a pipe: without this, driver.log would get its
        // lines in 8 KiB bursts with wrong timestamps, and `hyops logs --follow` would lag.
        env.insert("PYTHONUNBUFFERED".to_owned(), "1".into());
        for (name, value) in &self.env {
            env.insert(name.clone(), OsString::from(value));
        }
        let mut enabled = OsString::from(CALLBACK_NAME);
        if let Some(theirs) = self.env.get("ANSIBLE_CALLBACKS_ENABLED") {
            enabled.push(",");
            enabled.push(theirs);
        }
        env.insert("ANSIBLE_CALLBACKS_ENABLED".to_owned(), enabled);
        let mut plugins = files.callbacks.clone().into_os_string();
        if let Some(theirs) = self.env.get("ANSIBLE_CALLBACK_PLUGINS") {
            plugins.push(":");
            plugins.push(theirs);
        }
        env.insert("ANSIBLE_CALLBACK_PLUGINS".to_owned(), plugins);
        env.insert(
            "ANSIBLE_LOCAL_TEMP".to_owned(),
            files.local_temp.clone().into_os_string(),
        );
        env.insert("ANSIBLE_KEEP_REMOTE_FILES".to_owned(), "0".into());
        env.insert(ENV_EVENTS.to_owned(), files.events.clone().into_os_string());
        if let Some(req) = &self.version_req {
            env.insert(
                ENV_VERSION_REQ.to_owned(),
                lower_version_req(req).to_string().into(),
            );
        }
        env
    }

    /// `ansible-playbook -i INVENTORY -e @VARS [-e @SECRETS] [--forks N] [--timeout N]
    /// [--check --diff] ENTRY` in `work_dir`.
    pub fn command(
        &self,
        stage: Stage,
        entry: &str,
        work_dir: &Path,
        files: &AnsibleFiles,
        with_secrets: bool,
    ) -> CommandPlan {
        let mut args: Vec<OsString> = vec!["-i".into(), files.inventory.clone().into_os_string()];
        args.push("-e".into());
        args.push(at(&files.vars));
        if with_secrets {
            args.push("-e".into());
            args.push(at(&files.secrets));
        }
        if let Some(forks) = self.forks {
            args.push(format!("--forks={forks}").into());
        }
        if let Some(timeout) = self.timeout {
            args.push(format!("--timeout={timeout}").into());
        }
        if stage == Stage::Plan {
            args.push("--check".into());
            args.push("--diff".into());
        }
        args.push(entry.into());
        CommandPlan {
            program: self.program.clone(),
            args,
            cwd: work_dir.to_path_buf(),
            env: self.env(files),
        }
    }

    /// The version failure message, naming the binary, what it reported and what was required.
    pub fn version_mismatch(&self, found: &str) -> String {
        format!(
            "{} runs ansible-core {found}, but the profile requires {}\nhelp: install a matching ansible-core (`pip install 'ansible-core==2.19.*'`), or change toolchain.version in the profile; nothing was run",
            self.program.display(),
            self.version_text.as_deref().unwrap_or("")
        )
    }
}

fn at(path: &Path) -> OsString {
    let mut arg = OsString::from("@");
    arg.push(path);
    arg
}

/// A semver requirement as a conjunction of plain comparisons on `[major, minor, patch]`
/// (`[[">=", [2, 19, 0]], ["<", [2, 20, 0]]]`), which the callback checks in Python without a
/// semver library. Pre-release tags are not compared: ansible-core spells them the PEP 440 way.
pub fn lower_version_req(req: &semver::VersionReq) -> Value {
    use semver::Op;
    let mut bounds: Vec<Value> = Vec::new();
    let mut push = |op: &str, v: [u64; 3]| bounds.push(json!([op, v]));
    for c in &req.comparators {
        let (major, minor, patch) = (c.major, c.minor, c.patch);
        let lower = [major, minor.unwrap_or(0), patch.unwrap_or(0)];
        // The first version past the precision given: `1.2` -> 1.3.0, `1` -> 2.0.0.
        let past = match (minor, patch) {
            (Some(m), Some(p)) => [major, m, p + 1],
            (Some(m), None) => [major, m + 1, 0],
            _ => [major + 1, 0, 0],
        };
        match c.op {
            Op::Exact | Op::Wildcard if patch.is_some() => push("==", lower),
            Op::Exact | Op::Wildcard => {
                push(">=", lower);
                push("<", past);
            }
            Op::Greater if patch.is_some() => push(">", lower),
            Op::Greater => push(">=", past),
            Op::GreaterEq => push(">=", lower),
            Op::Less => push("<", lower),
            Op::LessEq if patch.is_some() => push("<=", lower),
            Op::LessEq => push("<", past),
            Op::Tilde => {
                push(">=", lower);
                push(
                    "<",
                    match minor {
                        Some(m) => [major, m + 1, 0],
                        None => [major + 1, 0, 0],
                    },
                );
            }
            Op::Caret => {
                push(">=", lower);
                let upper = match (major, minor, patch) {
                    (0, Some(0), Some(p)) => [0, 0, p + 1],
                    (0, Some(m), _) => [0, m + 1, 0],
                    _ => [major + 1, 0, 0],
                };
                push("<", upper);
            }
            // semver's Op is non-exhaustive; an operator it adds later is checked as exact.
            _ => push("==", lower),
        }
    }
    Value::Array(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check the callback makes, in Rust, to compare lowering with semver itself.
    fn satisfies_lowered(bounds: &Value, found: [u64; 3]) -> bool {
        let Some(bounds) = bounds.as_array() else {
            return false;
        };
        bounds.iter().all(|b| {
            let op = b[0].as_str().unwrap_or("");
            let v: Vec<u64> = b[1]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            let bound = [
                v.first().copied().unwrap_or(0),
                v.get(1).copied().unwrap_or(0),
                v.get(2).copied().unwrap_or(0),
            ];
            match op {
                ">=" => found >= bound,
                ">" => found > bound,
                "<=" => found <= bound,
                "<" => found < bound,
                "==" => found == bound,
                _ => false,
            }
        })
    }

    #[test]
    fn lowered_requirements_agree_with_semver_on_release_versions() {
        let reqs = [
            ">=2.19, <2.20",
            "~2.19",
            "~2.19.3",
            "^2",
            "^0.3",
            "^0.0.4",
            "=2.19",
            "2.19.*",
            "2.*",
            "*",
            ">2.19",
            ">2.19.1",
            "<=2.19",
            "<=2.19.2",
            "<3",
            "=2.19.14",
            "2.19.14",
            ">2",
            "~2",
        ];
        let mut versions = Vec::new();
        for major in 0..4 {
            for minor in [0, 3, 4, 18, 19, 20] {
                for patch in [0, 1, 2, 3, 4, 5, 14] {
                    versions.push([major, minor, patch]);
                }
            }
        }
        for text in reqs {
            let req = semver::VersionReq::parse(text).unwrap();
            let lowered = lower_version_req(&req);
            for &v in &versions {
                let expected = req.matches(&semver::Version::new(v[0], v[1], v[2]));
                assert_eq!(
                    satisfies_lowered(&lowered, v),
                    expected,
                    "{text} vs {v:?}: lowered {lowered}"
                );
            }
        }
    }
}
