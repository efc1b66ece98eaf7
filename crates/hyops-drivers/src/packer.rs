//! The packer driver's policy and commands, as pure functions of the RunRequest and the attempt's
//! folders: binary and version constraint, template folder and target, manifest path, builder
//! selection, provisioner stacks, the environment, each command's arguments, and the pinned
//! source a pack builds from.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use hyops_contract::{Lock, RunRequest};
use serde_json::{Map, Value};

use crate::packer_provisioners::Provisioners;
use crate::packer_wrap;
use crate::toolchain::Toolchain;
use crate::{CommandPlan, DriverError};

/// Default manifest path, relative to the template folder.
pub const DEFAULT_MANIFEST: &str = "manifest.json";
/// The var-file of hyops' own variables, last on the command line.
pub const HYOPS_VARS_FILE: &str = "hyops.pkrvars.hcl";
/// The var-file of module inputs when the pack has no var-file templates.
pub const INPUTS_VARS_FILE: &str = "inputs.pkrvars.hcl";

/// The profile's packer policy for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackerPolicy {
    /// The program: a name looked up on PATH, or a path.
    pub program: PathBuf,
    /// Semver requirement on the reported version.
    pub version_req: Option<semver::VersionReq>,
    /// The requirement as written.
    pub version_text: Option<String>,
    /// Where packer runs: the work dir, or the entry folder inside it.
    pub template_dir: PathBuf,
    /// What packer is pointed at: `.` or the entry file name.
    pub target: OsString,
    /// Manifest path relative to `template_dir` (`settings.manifest`).
    pub manifest: String,
    /// `settings.builders`: canonical ids (`source.null.a`) passed as `-only=null.a`.
    pub only: Vec<String>,
    /// Provisioner stacks.
    pub provisioners: Provisioners,
}

impl PackerPolicy {
    /// Reads the request's policy.
    pub fn from_request(
        request: &RunRequest,
        work_dir: &Path,
        catalog_root: &Path,
    ) -> Result<Self, DriverError> {
        let Toolchain {
            program,
            version_req,
            version_text,
        } = Toolchain::from_request(request, "packer", catalog_root)?;
        let entry = request
            .pack
            .entry
            .trim_start_matches("./")
            .trim_end_matches('/');
        let (template_dir, target) = if entry.is_empty() || entry == "." {
            (work_dir.to_path_buf(), OsString::from("."))
        } else if work_dir.join(entry).is_dir() {
            (work_dir.join(entry), OsString::from("."))
        } else {
            let path = work_dir.join(entry);
            let dir = path.parent().unwrap_or(work_dir).to_path_buf();
            let file = path
                .file_name()
                .map_or_else(|| OsString::from("."), ToOwned::to_owned);
            (dir, file)
        };
        let manifest = match request.settings.get("manifest") {
            None | Some(Value::Null) => DEFAULT_MANIFEST.to_owned(),
            Some(Value::String(m)) if !m.starts_with('/') && !m.split('/').any(|p| p == "..") => {
                m.clone()
            }
            Some(_) => {
                return Err(DriverError::SettingInvalid {
                    key: "manifest".to_owned(),
                    expected: "a path relative to the template folder",
                });
            }
        };
        let only = match request.settings.get("builders") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .filter(|s| s.starts_with("source.") && s.split('.').count() == 3)
                        .map(str::to_owned)
                        .ok_or_else(|| DriverError::SettingInvalid {
                            key: "builders".to_owned(),
                            expected: "a list of builder ids `source.<type>.<name>` (see `hyops packer builders`)",
                        })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(DriverError::SettingInvalid {
                    key: "builders".to_owned(),
                    expected: "a list of builder ids `source.<type>.<name>` (see `hyops packer builders`)",
                });
            }
        };
        Ok(Self {
            program,
            version_req,
            version_text,
            template_dir,
            target,
            manifest,
            only,
            provisioners: Provisioners::from_request(request)?,
        })
    }

    /// The manifest's absolute path.
    pub fn manifest_path(&self) -> PathBuf {
        self.template_dir.join(&self.manifest)
    }

    /// Non-interactive, no update checks, a config file hyops owns, each secret input as
    /// `PKR_VAR_<name>` (never on disk, never in argv).
    pub fn env(
        &self,
        io_dir: &Path,
        secret_inputs: &Map<String, Value>,
    ) -> BTreeMap<String, OsString> {
        let mut env = BTreeMap::new();
        env.insert("CHECKPOINT_DISABLE".to_owned(), OsString::from("1"));
        env.insert("PACKER_NO_COLOR".to_owned(), OsString::from("1"));
        // hyops is packer's wrapper: no second packer process under panicwrap (`packer_wrap`).
        env.insert(
            packer_wrap::WRAP_COOKIE_KEY.to_owned(),
            OsString::from(packer_wrap::WRAP_COOKIE_VALUE),
        );
        env.insert(
            packer_wrap::RUN_UUID_KEY.to_owned(),
            OsString::from(packer_wrap::run_uuid()),
        );
        env.insert(
            "PACKER_CONFIG".to_owned(),
            io_dir.join("packerconfig.json").into_os_string(),
        );
        for (name, value) in secret_inputs {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            env.insert(format!("PKR_VAR_{name}"), OsString::from(text));
        }
        env
    }

    /// `<binary> <args>` in the template folder.
    pub fn command(&self, env: &BTreeMap<String, OsString>, args: Vec<OsString>) -> CommandPlan {
        CommandPlan {
            program: self.program.clone(),
            args,
            cwd: self.template_dir.clone(),
            env: env.clone(),
        }
    }

    /// `version`
    pub fn version_args(&self) -> Vec<OsString> {
        vec![OsString::from("version")]
    }

    /// `fmt -check -diff TARGET` (exit 3 when a file is not formatted)
    pub fn fmt_args(&self) -> Vec<OsString> {
        let mut args = os(&["fmt", "-check", "-diff"]);
        args.push(self.target.clone());
        args
    }

    /// `validate -var-file=... TARGET`
    pub fn validate_args(&self, var_files: &[PathBuf]) -> Vec<OsString> {
        let mut args = os(&["validate"]);
        args.extend(self.selection(var_files));
        args.push(self.target.clone());
        args
    }

    /// `build -machine-readable -var-file=... [-only=...] TARGET`
    pub fn build_args(&self, var_files: &[PathBuf]) -> Vec<OsString> {
        let mut args = os(&["build", "-machine-readable"]);
        args.extend(self.selection(var_files));
        args.push(self.target.clone());
        args
    }

    fn selection(&self, var_files: &[PathBuf]) -> Vec<OsString> {
        let mut args: Vec<OsString> = var_files
            .iter()
            .map(|f| {
                let mut a = OsString::from("-var-file=");
                a.push(f);
                a
            })
            .collect();
        if !self.only.is_empty() {
            let names: Vec<&str> = self
                .only
                .iter()
                .map(|id| id.strip_prefix("source.").unwrap_or(id))
                .collect();
            args.push(OsString::from(format!("-only={}", names.join(","))));
        }
        args
    }
}

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

/// The version in `packer version` output (`Packer v1.6.6`).
pub fn reported_version(stdout: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stdout)
        .split_whitespace()
        .find_map(|w| {
            w.strip_prefix('v')
                .filter(|v| semver::Version::parse(v).is_ok())
        })
        .map(str::to_owned)
}

/// Checks a version against the policy; the error names both.
pub fn check_version(policy: &PackerPolicy, found: &str) -> Result<(), String> {
    crate::toolchain::check_version(
        &policy.program,
        policy.version_req.as_ref(),
        policy.version_text.as_deref(),
        found,
    )
}

/// `<state_dir>/sources.lock`: runs building from a source hold it shared from the check of
/// the checkout until their build ends; `hyops sources sync` holds it exclusively while it moves
/// checkouts, so a build never reads a tree that changes under it. `on_wait` is called once
/// when the lock is held the other way and this call is about to wait for it.
pub fn sources_lock(
    state_dir: &Path,
    exclusive: bool,
    on_wait: impl FnOnce(),
) -> Result<std::fs::File, DriverError> {
    let path = state_dir.join("sources.lock");
    std::fs::create_dir_all(state_dir).map_err(DriverError::io("create", state_dir))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(DriverError::io("open", &path))?;
    let attempt = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match attempt {
        Ok(()) => return Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => on_wait(),
        Err(std::fs::TryLockError::Error(e)) => return Err(DriverError::io("lock", &path)(e)),
    }
    let locked = if exclusive {
        file.lock()
    } else {
        file.lock_shared()
    };
    locked.map_err(DriverError::io("lock", &path))?;
    Ok(file)
}

/// A pack's pinned source: its checkout under `<state_dir>/sources/<name>` and its commit, which
/// must equal the one in `hyops.lock` (packs name sources, never paths).
#[derive(Debug)]
pub struct PinnedSource {
    /// Source name.
    pub name: String,
    /// Git URL from the lock.
    pub url: String,
    /// Checked-out commit.
    pub commit: String,
    /// The checkout.
    pub dir: PathBuf,
    /// [`sources_lock`] held shared: the checkout stays at `commit` while this lives.
    pub guard: std::fs::File,
}

/// Finds the pack's source checkout and checks it against `pinned`, the commit `hyops.lock`
/// pinned when the request was resolved (part of its fingerprint); the URL comes from the lock.
pub fn pinned_source(
    name: &str,
    pinned: Option<&str>,
    state_dir: &Path,
    catalog_root: &Path,
) -> Result<PinnedSource, DriverError> {
    let not_synced = |problem: String| DriverError::SourceNotSynced { problem };
    let pinned =
        pinned.ok_or_else(|| not_synced(format!("source `{name}` is not pinned in hyops.lock")))?;
    // Taken before HEAD is read: a sync moving the checkout now waits until the build ends.
    let guard = sources_lock(state_dir, false, || {})?;
    let dir = state_dir.join("sources").join(name);
    // `sources sync` checks out a detached commit, so HEAD holds the SHA itself.
    let head = std::fs::read_to_string(dir.join(".git").join("HEAD"))
        .map(|h| h.trim().to_owned())
        .map_err(|_| {
            not_synced(format!(
                "source `{name}` is not checked out under the state dir"
            ))
        })?;
    if head != pinned {
        return Err(not_synced(format!(
            "source `{name}` is checked out at {head} but hyops.lock pins {pinned}"
        )));
    }
    let url = std::fs::read(catalog_root.join("hyops.lock"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Lock>(&b).ok())
        .and_then(|lock| Some(lock.sources.get(name)?.url.clone()))
        .unwrap_or_default();
    Ok(PinnedSource {
        name: name.to_owned(),
        url,
        commit: head,
        dir,
        guard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_packer_output() {
        assert_eq!(
            reported_version(b"Packer v1.6.6\n").as_deref(),
            Some("1.6.6")
        );
        assert_eq!(reported_version(b"nothing"), None);
    }

    #[test]
    fn source_must_match_the_pin() {
        let root = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let not_pinned = pinned_source("s", None, state.path(), root.path()).unwrap_err();
        assert!(
            not_pinned.to_string().contains("not pinned in hyops.lock"),
            "{not_pinned}"
        );
        assert!(matches!(
            pinned_source("s", Some("abc"), state.path(), root.path()),
            Err(DriverError::SourceNotSynced { .. })
        ));
        std::fs::write(
            root.path().join("hyops.lock"),
            r#"{"version":1,"sources":{"s":{"url":"file:///x","ref":"main","commit":"abc"}}}"#,
        )
        .unwrap();
        let git = state.path().join("sources/s/.git");
        std::fs::create_dir_all(&git).unwrap();
        std::fs::write(git.join("HEAD"), "def\n").unwrap();
        let err = pinned_source("s", Some("abc"), state.path(), root.path()).unwrap_err();
        assert!(err.to_string().contains("pins abc"), "{err}");
        std::fs::write(git.join("HEAD"), "abc\n").unwrap();
        let ok = pinned_source("s", Some("abc"), state.path(), root.path()).unwrap();
        assert_eq!((ok.commit.as_str(), ok.url.as_str()), ("abc", "file:///x"));
    }
}
