//! The shell driver: runs the pack's `entry` executable as `<entry> plan|apply|destroy`.
//!
//! Contract with the script (documented for pack authors):
//! - working directory: the attempt's work dir (a copy of the pack);
//! - `HYOPS_STAGE`: `plan`, `apply` or `destroy` (also the first argument);
//! - `HYOPS_INPUTS_FILE`: a JSON object of every input, secrets included as values (mode 0600);
//! - `HYOPS_INPUT_<NAME>`: each non-secret input (name upper-cased, non-alphanumerics → `_`);
//!   strings as they are, other values as compact JSON. Secret inputs are never in the environment
//!   (other processes of the same user can read it);
//! - `HYOPS_OUTPUTS_FILE`: where the script writes a JSON object of raw outputs (optional);
//! - `HYOPS_TARGET`, `HYOPS_ENVIRONMENT`: the target and environment names.
//!
//! The rest of the environment is the profile's allowlist, added by the caller.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path};

use hyops_contract::RunRequest;
use serde_json::{Map, Value};

use crate::{CommandPlan, DriverError, Stage};

/// `plan`, `apply` or `destroy`.
pub const ENV_STAGE: &str = "HYOPS_STAGE";
/// Path of the JSON inputs file.
pub const ENV_INPUTS_FILE: &str = "HYOPS_INPUTS_FILE";
/// Path where the script writes its JSON outputs.
pub const ENV_OUTPUTS_FILE: &str = "HYOPS_OUTPUTS_FILE";
/// Prefix of one variable per non-secret input.
pub const ENV_INPUT_PREFIX: &str = "HYOPS_INPUT_";
/// The run's target (module id or `STACK.MEMBER`).
pub const ENV_TARGET: &str = "HYOPS_TARGET";
/// The environment name.
pub const ENV_ENVIRONMENT: &str = "HYOPS_ENVIRONMENT";

/// Largest outputs file accepted.
pub const OUTPUTS_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// The shell driver (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct ShellDriver;

/// `HYOPS_INPUT_<NAME>`: upper-cased, every character that is not an ASCII letter or digit → `_`.
pub fn input_env_name(input: &str) -> String {
    let mangled: String = input
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{ENV_INPUT_PREFIX}{mangled}")
}

fn env_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

impl ShellDriver {
    /// Builds `<work_dir>/<entry> <stage>` with the `HYOPS_*` variables (see the module docs).
    ///
    /// An input is secret when the module marks it so, when it is bound to a secret reference, or
    /// when the caller resolved a secret value for it; secret inputs never reach the environment.
    /// The entry must exist in the work dir and be executable.
    pub fn command(
        &self,
        request: &RunRequest,
        stage: Stage,
        work_dir: &Path,
        inputs_file: &Path,
        outputs_file: &Path,
        resolved_secret_inputs: &Map<String, Value>,
    ) -> Result<CommandPlan, DriverError> {
        let program = entry_path(request, work_dir)?;
        let mut env = BTreeMap::new();
        env.insert(ENV_STAGE.to_owned(), OsString::from(stage.as_str()));
        env.insert(
            ENV_INPUTS_FILE.to_owned(),
            inputs_file.as_os_str().to_owned(),
        );
        env.insert(
            ENV_OUTPUTS_FILE.to_owned(),
            outputs_file.as_os_str().to_owned(),
        );
        env.insert(ENV_TARGET.to_owned(), OsString::from(&request.target));
        env.insert(
            ENV_ENVIRONMENT.to_owned(),
            OsString::from(&request.environment.name),
        );
        let mut owners: BTreeMap<String, &str> = BTreeMap::new();
        for (name, input) in &request.inputs {
            let variable = input_env_name(name);
            if let Some(first) = owners.insert(variable.clone(), name) {
                return Err(DriverError::InputEnvCollision {
                    first: first.to_owned(),
                    second: name.clone(),
                    variable,
                });
            }
            let secret = input.secret
                || input.secret_ref.is_some()
                || resolved_secret_inputs.contains_key(name);
            if secret {
                continue;
            }
            let value = input
                .value
                .as_ref()
                .ok_or_else(|| DriverError::InputWithoutValue {
                    input: name.clone(),
                })?;
            env.insert(variable, OsString::from(env_text(value)));
        }
        Ok(CommandPlan {
            program,
            args: vec![OsString::from(stage.as_str())],
            cwd: work_dir.to_path_buf(),
            env,
        })
    }

    /// The inputs file's content: every input's value, secret ones taken from
    /// `resolved_secret_inputs` (which must hold each of them).
    pub fn inputs_document(
        &self,
        request: &RunRequest,
        resolved_secret_inputs: &Map<String, Value>,
    ) -> Result<Map<String, Value>, DriverError> {
        let mut document = Map::new();
        for (name, input) in &request.inputs {
            let value = if let Some(secret) = resolved_secret_inputs.get(name) {
                secret.clone()
            } else if input.secret || input.secret_ref.is_some() {
                return Err(DriverError::SecretInputUnresolved {
                    input: name.clone(),
                });
            } else {
                input
                    .value
                    .clone()
                    .ok_or_else(|| DriverError::InputWithoutValue {
                        input: name.clone(),
                    })?
            };
            document.insert(name.clone(), value);
        }
        Ok(document)
    }
}

/// `<work_dir>/<entry>`, checked: relative, inside, an executable file.
fn entry_path(request: &RunRequest, work_dir: &Path) -> Result<std::path::PathBuf, DriverError> {
    let entry = &request.pack.entry;
    let inside = !entry.is_empty()
        && Path::new(entry)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Err(DriverError::EntryOutsidePack {
            entry: entry.clone(),
        });
    }
    let path = work_dir.join(entry);
    let missing = || DriverError::EntryMissing {
        entry: entry.clone(),
        pack: request.pack.path.clone(),
    };
    let meta = match fs::metadata(&path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(source) => {
            return Err(DriverError::Io {
                action: "inspect pack entry",
                path,
                source,
            });
        }
    };
    if !meta.is_file() {
        return Err(missing());
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(DriverError::EntryNotExecutable {
            entry: entry.clone(),
            pack: request.pack.path.clone(),
        });
    }
    Ok(path)
}

/// Writes the inputs JSON to a new file created with mode 0600 (never readable by others, not even
/// briefly: the mode is set at creation). The file must not exist yet, so a planted file or
/// symlink is refused rather than followed. Not fsynced: it lives in the attempt's private io dir,
/// which a crash makes worthless anyway (the attempt is recovered as `lost`).
pub fn write_inputs_file(path: &Path, inputs: &Map<String, Value>) -> Result<(), DriverError> {
    let bytes = serde_json::to_vec(inputs).map_err(|err| DriverError::Io {
        action: "serialise inputs for",
        path: path.to_path_buf(),
        source: std::io::Error::other(err),
    })?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(DriverError::io("create inputs file", path))?;
    file.write_all(&bytes)
        .map_err(DriverError::io("write inputs file", path))
}

/// Reads the script's raw outputs. A missing or blank file means no outputs; anything else must
/// be one JSON object of at most [`OUTPUTS_FILE_LIMIT`] bytes.
pub fn parse_outputs(outputs_file: &Path) -> Result<Map<String, Value>, DriverError> {
    let file = match fs::File::open(outputs_file) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(source) => {
            return Err(DriverError::Io {
                action: "open outputs file",
                path: outputs_file.to_path_buf(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(OUTPUTS_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(DriverError::io("read outputs file", outputs_file))?;
    if bytes.len() as u64 > OUTPUTS_FILE_LIMIT {
        let size = fs::metadata(outputs_file).map_or(bytes.len() as u64, |m| m.len());
        return Err(DriverError::OutputsTooLarge {
            path: outputs_file.to_path_buf(),
            size,
            limit: OUTPUTS_FILE_LIMIT,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|err| DriverError::OutputsInvalidJson {
            path: outputs_file.to_path_buf(),
            line: err.line(),
            column: err.column(),
            message: strip_position(&err.to_string()),
        })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(DriverError::OutputsNotObject {
            path: outputs_file.to_path_buf(),
            found: match other {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            },
        }),
    }
}

/// serde_json appends " at line L column C"; the error already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_upper_cased_and_mangled() {
        assert_eq!(input_env_name("greeting"), "HYOPS_INPUT_GREETING");
        assert_eq!(input_env_name("api-token.v2"), "HYOPS_INPUT_API_TOKEN_V2");
        assert_eq!(input_env_name("grüße"), "HYOPS_INPUT_GR__E");
    }

    #[test]
    fn env_text_keeps_strings_and_serialises_the_rest() {
        assert_eq!(env_text(&Value::from("a b")), "a b");
        assert_eq!(env_text(&Value::from(8080)), "8080");
        assert_eq!(
            env_text(&serde_json::json!({"a": [1, true]})),
            r#"{"a":[1,true]}"#
        );
    }
}
