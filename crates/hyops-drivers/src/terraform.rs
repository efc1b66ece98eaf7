//! The terraform (and OpenTofu: same CLI) driver's policy and commands, as pure functions of the
//! RunRequest and the attempt's folders: binary, version constraint, backend and workspace naming
//! templates, plugin dirs, the tfvars file, the environment, and each command's arguments.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use hyops_contract::RunRequest;
use serde_json::{Map, Value};

use crate::toolchain::Toolchain;
use crate::{CommandPlan, DriverError};

/// The tfvars file of non-secret inputs, in the work dir.
pub const TFVARS_FILE: &str = "hyops.tfvars.json";
/// The generated backend override (selects the profile's backend type).
pub const BACKEND_OVERRIDE_FILE: &str = "hyops_backend_override.tf.json";
/// The variable carrying `settings.remote_states` (a map of name -> rendered path).
pub const REMOTE_STATES_VAR: &str = "hyops_remote_states";

/// The profile's terraform policy with every template rendered for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerraformPolicy {
    /// The program: a name looked up on the tool's PATH, or a path.
    pub program: PathBuf,
    /// Semver requirement on the reported version.
    pub version_req: Option<semver::VersionReq>,
    /// The requirement as written.
    pub version_text: Option<String>,
    /// Rendered workspace name (None: terraform's `default`).
    pub workspace: Option<String>,
    /// Backend type.
    pub backend_type: String,
    /// Rendered `-backend-config` pairs.
    pub backend_config: BTreeMap<String, String>,
    /// `-plugin-dir` for init (offline provider mirror).
    pub plugin_dir: Option<PathBuf>,
    /// `plugin_cache_dir` in the generated CLI config.
    pub plugin_cache_dir: Option<PathBuf>,
    /// Rendered `settings.remote_states`.
    pub remote_states: BTreeMap<String, String>,
}

/// The values naming templates may use.
#[derive(Debug, Clone)]
pub struct TemplateValues {
    /// hyops' state dir.
    pub state_dir: String,
    /// Environment name.
    pub env: String,
    /// Module id with `/` replaced by `-`.
    pub module: String,
    /// Rendered workspace (`default` when the profile names none).
    pub workspace: String,
}

/// Renders `{state_dir}`, `{env}`, `{module}`, `{workspace}` in `template`; any other `{name}` is
/// an error (`{{` and `}}` are literal braces).
pub fn render_template(
    template: &str,
    values: &TemplateValues,
    field: &str,
) -> Result<String, DriverError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let close = if tail.starts_with('{') {
            tail.find('}')
        } else {
            None
        };
        let Some(close) = close else {
            return Err(DriverError::TemplateInvalid {
                field: field.to_owned(),
                template: template.to_owned(),
                problem: "unbalanced brace".to_owned(),
            });
        };
        let name = &tail[1..close];
        let value = match name {
            "state_dir" => &values.state_dir,
            "env" => &values.env,
            "module" => &values.module,
            "workspace" => &values.workspace,
            other => {
                return Err(DriverError::TemplateInvalid {
                    field: field.to_owned(),
                    template: template.to_owned(),
                    problem: format!(
                        "unknown placeholder `{{{other}}}` (known: {{state_dir}}, {{env}}, {{module}}, {{workspace}})"
                    ),
                });
            }
        };
        out.push_str(value);
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn setting_path(
    request: &RunRequest,
    key: &str,
    catalog_root: &Path,
) -> Result<Option<PathBuf>, DriverError> {
    match request.settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(catalog_root.join(text))),
        Some(_) => Err(DriverError::SettingInvalid {
            key: key.to_owned(),
            expected: "a path (absolute, or relative to the catalog root)",
        }),
    }
}

/// The `help:` of a profile without a backend.
const NO_BACKEND_HELP: &str = "add a backend to the profile, e.g. `backend: { type: local, config: { path: \"/var/lib/tfstate/{env}/{module}.tfstate\" } }` (outside hyops' state dir), or a remote backend with encryption (s3 + KMS, gcs, ...)";

/// Refuses local state that would land in hyops' state dir or in the work dir.
fn check_local_state_paths(
    profile: &str,
    config: &BTreeMap<String, String>,
    state_dir: &Path,
) -> Result<(), DriverError> {
    let state_dir = lexical_normal(state_dir);
    for key in ["path", "workspace_dir"] {
        let Some(value) = config.get(key) else {
            continue;
        };
        let path = Path::new(value);
        if path.is_relative() {
            return Err(DriverError::StatePlacement {
                profile: profile.to_owned(),
                problem: format!(
                    "local backend `{key}` {value:?} is relative, so terraform state would live in the attempt's throwaway work dir"
                ),
                help: "make it absolute, usually with a template such as `/var/lib/tfstate/{env}/{module}.tfstate`",
            });
        }
        if lexical_normal(path).starts_with(&state_dir) {
            return Err(DriverError::StatePlacement {
                profile: profile.to_owned(),
                problem: format!(
                    "local backend `{key}` {value:?} is inside hyops' state dir, which must hold no secret (terraform state keeps sensitive values in plain text)"
                ),
                help: "put state outside the state dir, e.g. `{state_dir}/../tfstate/{env}/{module}.tfstate`, or use a remote backend with encryption",
            });
        }
    }
    Ok(())
}

/// `path` with `.` and `..` resolved without touching the file system.
fn lexical_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl TerraformPolicy {
    /// Reads and renders the request's policy. The profile must name a backend: terraform state
    /// holds variable values and sensitive outputs in plain text, so hyops never picks a place for
    /// it, and refuses a local backend inside its own state dir (which must hold no secret) or in
    /// the attempt's throwaway work dir (which would lose the state).
    pub fn from_request(
        request: &RunRequest,
        state_dir: &Path,
        catalog_root: &Path,
    ) -> Result<Self, DriverError> {
        let Toolchain {
            program,
            version_req,
            version_text,
        } = Toolchain::from_request(request, "terraform", catalog_root)?;
        let mut values = TemplateValues {
            state_dir: state_dir.to_string_lossy().into_owned(),
            env: request.environment.name.clone(),
            module: request.module.name.replace('/', "-"),
            workspace: "default".to_owned(),
        };
        let workspace = match &request.workspace {
            None => None,
            Some(t) => Some(render_template(t, &values, "workspace")?),
        };
        if let Some(ws) = &workspace {
            values.workspace.clone_from(ws);
        }
        let Some(backend) = &request.backend else {
            return Err(DriverError::StatePlacement {
                profile: request.profile.name.clone(),
                problem: "names no terraform backend, so hyops cannot know where state belongs"
                    .into(),
                help: NO_BACKEND_HELP,
            });
        };
        let (backend_type, templates) = (backend.backend_type.clone(), backend.config.clone());
        let mut backend_config = BTreeMap::new();
        for (key, template) in &templates {
            let rendered = render_template(template, &values, &format!("backend.config.{key}"))?;
            backend_config.insert(key.clone(), rendered);
        }
        if backend_type == "local" {
            check_local_state_paths(&request.profile.name, &backend_config, state_dir)?;
        }
        let mut remote_states = BTreeMap::new();
        match request.settings.get("remote_states") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, template) in map {
                    let Some(template) = template.as_str() else {
                        return Err(DriverError::SettingInvalid {
                            key: "remote_states".to_owned(),
                            expected: "a map of name to path template",
                        });
                    };
                    let field = format!("settings.remote_states.{name}");
                    remote_states.insert(name.clone(), render_template(template, &values, &field)?);
                }
            }
            Some(_) => {
                return Err(DriverError::SettingInvalid {
                    key: "remote_states".to_owned(),
                    expected: "a map of name to path template",
                });
            }
        }
        Ok(Self {
            program,
            version_req,
            version_text,
            workspace,
            backend_type,
            backend_config,
            plugin_dir: setting_path(request, "plugin_dir", catalog_root)?,
            plugin_cache_dir: setting_path(request, "plugin_cache_dir", catalog_root)?,
            remote_states,
        })
    }

    /// `{"terraform":{"backend":{"<type>":{}}}}`: the override that selects the backend type; its
    /// settings come from `-backend-config`.
    pub fn backend_override(&self) -> Value {
        let mut backend = Map::new();
        backend.insert(self.backend_type.clone(), Value::Object(Map::new()));
        serde_json::json!({ "terraform": { "backend": backend } })
    }

    /// The CLI config file's content (`TF_CLI_CONFIG_FILE`): hyops owns it so the user's
    /// `~/.terraformrc` (credentials, mirrors) never changes a run silently.
    pub fn cli_config(&self) -> String {
        match &self.plugin_cache_dir {
            Some(dir) => format!(
                "plugin_cache_dir = {}\n",
                Value::String(dir.to_string_lossy().into_owned())
            ),
            None => String::new(),
        }
    }

    /// The driver's variables for every command: non-interactive, no update checks, hyops' CLI
    /// config and data dir, and each secret input as `TF_VAR_<name>` (never on disk, never in
    /// argv).
    pub fn env(
        &self,
        io_dir: &Path,
        secret_inputs: &Map<String, Value>,
    ) -> BTreeMap<String, OsString> {
        let mut env = BTreeMap::new();
        env.insert("TF_IN_AUTOMATION".to_owned(), OsString::from("1"));
        env.insert("TF_INPUT".to_owned(), OsString::from("0"));
        env.insert("CHECKPOINT_DISABLE".to_owned(), OsString::from("1"));
        env.insert(
            "TF_CLI_CONFIG_FILE".to_owned(),
            io_dir.join("terraformrc").into_os_string(),
        );
        env.insert(
            "TF_DATA_DIR".to_owned(),
            io_dir.join("tf-data").into_os_string(),
        );
        for (name, value) in secret_inputs {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            env.insert(format!("TF_VAR_{name}"), OsString::from(text));
        }
        if !self.remote_states.is_empty() {
            let map: Map<String, Value> = self
                .remote_states
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            env.insert(
                format!("TF_VAR_{REMOTE_STATES_VAR}"),
                OsString::from(Value::Object(map).to_string()),
            );
        }
        env
    }

    /// A command `<binary> <args>` in `work_dir` with `env`.
    pub fn command(
        &self,
        work_dir: &Path,
        env: &BTreeMap<String, OsString>,
        args: &[OsString],
    ) -> CommandPlan {
        CommandPlan {
            program: self.program.clone(),
            args: args.to_vec(),
            cwd: work_dir.to_path_buf(),
            env: env.clone(),
        }
    }

    /// `init -input=false -no-color [-plugin-dir=D] -backend-config=K=V...`
    pub fn init_args(&self) -> Vec<OsString> {
        let mut args = os(&["init", "-input=false", "-no-color"]);
        if let Some(dir) = &self.plugin_dir {
            args.push(flag("-plugin-dir=", dir.as_os_str()));
        }
        for (key, value) in &self.backend_config {
            args.push(OsString::from(format!("-backend-config={key}={value}")));
        }
        args
    }
}

/// Arguments of each terraform command the driver runs.
pub mod args {
    use super::{OsString, Path, TFVARS_FILE, flag, os};

    /// `version -json`
    pub fn version() -> Vec<OsString> {
        os(&["version", "-json"])
    }
    /// `workspace select NAME` / `workspace new NAME`
    pub fn workspace(verb: &str, name: &str) -> Vec<OsString> {
        os(&["workspace", verb, name])
    }
    /// `validate -json` (reports syntax errors even before init)
    pub fn validate() -> Vec<OsString> {
        os(&["validate", "-json", "-no-color"])
    }
    /// `plan -input=false -json -out=PLAN -var-file=hyops.tfvars.json`
    pub fn plan(plan_file: &Path) -> Vec<OsString> {
        let mut args = os(&["plan", "-input=false", "-json"]);
        args.push(flag("-out=", plan_file.as_os_str()));
        args.push(OsString::from(format!("-var-file={TFVARS_FILE}")));
        args
    }
    /// `show -json PLAN`
    pub fn show(plan_file: &Path) -> Vec<OsString> {
        let mut args = os(&["show", "-json", "-no-color"]);
        args.push(plan_file.as_os_str().to_owned());
        args
    }
    /// `apply -input=false -no-color -auto-approve PLAN` (variables are inside the plan)
    pub fn apply(plan_file: &Path) -> Vec<OsString> {
        let mut args = os(&["apply", "-input=false", "-no-color", "-auto-approve"]);
        args.push(plan_file.as_os_str().to_owned());
        args
    }
    /// `destroy -input=false -no-color -auto-approve -var-file=hyops.tfvars.json`
    pub fn destroy() -> Vec<OsString> {
        let mut args = os(&["destroy", "-input=false", "-no-color", "-auto-approve"]);
        args.push(OsString::from(format!("-var-file={TFVARS_FILE}")));
        args
    }
    /// `output -json -no-color`
    pub fn output() -> Vec<OsString> {
        os(&["output", "-json", "-no-color"])
    }
}

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn flag(prefix: &str, value: &std::ffi::OsStr) -> OsString {
    let mut out = OsString::from(prefix);
    out.push(value);
    out
}

/// Non-secret inputs as a tfvars JSON object. An input is secret when the module marks it, when
/// it is bound to a secret reference, or when a secret value was resolved for it.
pub fn tfvars(
    request: &RunRequest,
    secret_inputs: &Map<String, Value>,
) -> Result<Map<String, Value>, DriverError> {
    let mut vars = Map::new();
    for (name, input) in &request.inputs {
        if input.secret || input.secret_ref.is_some() || secret_inputs.contains_key(name) {
            if !secret_inputs.contains_key(name) {
                return Err(DriverError::SecretInputUnresolved {
                    input: name.clone(),
                });
            }
            continue;
        }
        let value = input
            .value
            .clone()
            .ok_or_else(|| DriverError::InputWithoutValue {
                input: name.clone(),
            })?;
        vars.insert(name.clone(), value);
    }
    Ok(vars)
}

/// Checks `found` against the policy's requirement; the error names both.
pub fn check_version(policy: &TerraformPolicy, found: &str) -> Result<(), String> {
    crate::toolchain::check_version(
        &policy.program,
        policy.version_req.as_ref(),
        policy.version_text.as_deref(),
        found,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TemplateValues {
        TemplateValues {
            state_dir: "/s".into(),
            env: "dev".into(),
            module: "net-vpc".into(),
            workspace: "dev-net-vpc".into(),
        }
    }

    #[test]
    fn templates_render_known_placeholders_only() {
        let v = values();
        assert_eq!(
            render_template("{state_dir}/tf/{env}/{module}.tfstate", &v, "f").unwrap(),
            "/s/tf/dev/net-vpc.tfstate"
        );
        assert_eq!(
            render_template("{{x}}-{workspace}", &v, "f").unwrap(),
            "{x}-dev-net-vpc"
        );
        let err = render_template("{region}", &v, "backend.config.key").unwrap_err();
        assert!(
            err.to_string().contains("unknown placeholder `{region}`"),
            "{err}"
        );
        assert!(render_template("{env", &v, "f").is_err());
    }

    #[test]
    fn local_state_must_be_absolute_and_outside_the_state_dir() {
        let state = Path::new("/srv/hyops/state");
        let config = |path: &str| BTreeMap::from([("path".to_owned(), path.to_owned())]);
        assert!(
            check_local_state_paths("p", &config("/srv/hyops/tfstate/dev.tfstate"), state).is_ok()
        );
        assert!(
            check_local_state_paths("p", &config("/srv/hyops/state/../tfstate/x"), state).is_ok()
        );
        assert!(check_local_state_paths("p", &config("/srv/hyops/state-other/x"), state).is_ok());
        for inside in [
            "/srv/hyops/state/tf/x",
            "/srv/hyops/x/../state/./y",
            "/srv/hyops/state",
        ] {
            let err = check_local_state_paths("p", &config(inside), state).unwrap_err();
            assert!(
                err.to_string().contains("inside hyops' state dir"),
                "{inside}: {err}"
            );
        }
        let err = check_local_state_paths("p", &config("tfstate/x"), state).unwrap_err();
        assert!(err.to_string().contains("is relative"), "{err}");
        let ws = BTreeMap::from([("workspace_dir".to_owned(), "/srv/hyops/state/ws".to_owned())]);
        assert!(check_local_state_paths("p", &ws, state).is_err());
    }
}
