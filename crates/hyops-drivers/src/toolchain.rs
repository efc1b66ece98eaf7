//! The profile's `toolchain`: which program a driver runs and the semver range its version must
//! satisfy. Shared by every driver that checks a tool's version before running anything.

use std::path::{Path, PathBuf};

use hyops_contract::RunRequest;

use crate::DriverError;

/// The program and version requirement of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// A name looked up on the tool's PATH, or a path (relative to the catalog root).
    pub program: PathBuf,
    /// Semver requirement on the reported version.
    pub version_req: Option<semver::VersionReq>,
    /// The requirement as written.
    pub version_text: Option<String>,
}

impl Toolchain {
    /// Reads `toolchain.binary` (default `default_binary`) and `toolchain.version`.
    pub fn from_request(
        request: &RunRequest,
        default_binary: &str,
        catalog_root: &Path,
    ) -> Result<Self, DriverError> {
        let toolchain = request.toolchain.as_ref();
        let binary = toolchain.map_or(default_binary, |t| t.binary.as_str());
        let program = if binary.contains('/') {
            catalog_root.join(binary)
        } else {
            PathBuf::from(binary)
        };
        let version_text = toolchain.and_then(|t| t.version.clone());
        let version_req = match &version_text {
            None => None,
            Some(text) => Some(semver::VersionReq::parse(text).map_err(|e| {
                DriverError::VersionReqInvalid {
                    requirement: text.clone(),
                    problem: e.to_string(),
                }
            })?),
        };
        Ok(Self {
            program,
            version_req,
            version_text,
        })
    }
}

/// Checks `found` (a leading `v` is ignored) against `req`; the error names the program, both
/// versions and how to fix it.
pub fn check_version(
    program: &Path,
    req: Option<&semver::VersionReq>,
    required: Option<&str>,
    found: &str,
) -> Result<(), String> {
    let Some(req) = req else {
        return Ok(());
    };
    let required = required.unwrap_or("");
    let program = program.display();
    match semver::Version::parse(found.trim_start_matches('v')) {
        Ok(version) if req.matches(&version) => Ok(()),
        Ok(_) => Err(format!(
            "{program} is version {found}, but the profile requires {required}\nhelp: install a matching version, or change toolchain.version in the profile; nothing was run"
        )),
        Err(e) => Err(format!(
            "{program} reported version `{found}`, which is not semver ({e}); the profile requires {required}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_errors_name_both_versions() {
        let req = semver::VersionReq::parse(">=1.0, <2").unwrap();
        let program = Path::new("terraform");
        assert!(check_version(program, Some(&req), Some(">=1.0, <2"), "v1.0.3").is_ok());
        assert!(check_version(program, None, None, "anything").is_ok());
        let message = check_version(program, Some(&req), Some(">=1.0, <2"), "2.1.0").unwrap_err();
        assert!(
            message.contains("2.1.0") && message.contains(">=1.0, <2"),
            "{message}"
        );
        let message = check_version(program, Some(&req), Some(">=1.0, <2"), "dev").unwrap_err();
        assert!(message.contains("not semver"), "{message}");
    }
}
