//! Driver errors, classified once as retryable (the machine) or not (the catalog or the pack).

use std::path::PathBuf;

/// Why a driver could not prepare, build or parse.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The attempt's work dir is already there; work dirs are never reused.
    #[error("work dir {} already exists\nhelp: every attempt needs a fresh work dir; remove it or use the next attempt number", path.display())]
    WorkdirExists {
        /// The work dir.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What hyops was doing, e.g. `copy pack file`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A symlink in the pack points outside the pack.
    #[error("symlink {} in the pack points outside the pack (to {})\nhelp: packs must be self-contained; copy the file into the pack instead", link.display(), target.display())]
    SymlinkEscapes {
        /// The link, relative to the pack folder.
        link: PathBuf,
        /// What it points to.
        target: PathBuf,
    },
    /// A symlink in the pack is absolute (it would point at the original, not the copy).
    #[error("symlink {} in the pack has an absolute target {}\nhelp: use a relative link to a file inside the pack", link.display(), target.display())]
    SymlinkAbsolute {
        /// The link, relative to the pack folder.
        link: PathBuf,
        /// Its target.
        target: PathBuf,
    },
    /// A symlink in the pack points to nothing.
    #[error("symlink {} in the pack is dangling (target {} does not exist)", link.display(), target.display())]
    SymlinkDangling {
        /// The link, relative to the pack folder.
        link: PathBuf,
        /// Its target.
        target: PathBuf,
    },
    /// A pack entry that is neither file, folder nor symlink (fifo, socket, device).
    #[error("{} in the pack is not a regular file, folder or symlink", path.display())]
    UnsupportedFileType {
        /// Relative to the pack folder.
        path: PathBuf,
    },
    /// A terraform profile names no backend, or a local backend path inside hyops' state dir:
    /// terraform state holds sensitive values in plain text, and nothing under the state dir may.
    #[error("profile `{profile}`: {problem}\nhelp: {help}")]
    StatePlacement {
        /// The profile's name.
        profile: String,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        help: &'static str,
    },
    /// The pack's `entry` is absolute or climbs out of the pack.
    #[error("pack entry {entry:?} must be a relative path inside the pack")]
    EntryOutsidePack {
        /// The entry as written.
        entry: String,
    },
    /// The pack's `entry` does not exist in the work dir.
    #[error(
        "pack entry {entry:?} not found in {pack}\nhelp: `entry` in pack.yaml names the script to run, relative to the pack folder"
    )]
    EntryMissing {
        /// The entry as written.
        entry: String,
        /// Catalog-relative pack folder.
        pack: String,
    },
    /// The pack's `entry` is not an executable file.
    #[error(
        "pack entry {pack}/{entry} is not executable\nhelp: run `chmod +x {pack}/{entry}` and give it a `#!` line"
    )]
    EntryNotExecutable {
        /// The entry as written.
        entry: String,
        /// Catalog-relative pack folder.
        pack: String,
    },
    /// A non-secret input has no value in the RunRequest.
    #[error(
        "input `{input}` has no value and no secret reference\nhelp: this is a resolution bug; re-run `hyops resolve` and report it"
    )]
    InputWithoutValue {
        /// Input name.
        input: String,
    },
    /// A secret input's value was not handed to the driver.
    #[error("secret input `{input}` was not resolved before the run")]
    SecretInputUnresolved {
        /// Input name.
        input: String,
    },
    /// Two input names map to the same `HYOPS_INPUT_*` variable.
    #[error(
        "inputs `{first}` and `{second}` both map to environment variable {variable}\nhelp: rename one of them; names are upper-cased and non-alphanumerics become `_`"
    )]
    InputEnvCollision {
        /// First input (sorted).
        first: String,
        /// Second input.
        second: String,
        /// The shared variable name.
        variable: String,
    },
    /// The outputs file is not valid JSON.
    #[error("outputs file {} is not valid JSON at line {line}, column {column}: {message}\nhelp: the pack must write one JSON object to $HYOPS_OUTPUTS_FILE", path.display())]
    OutputsInvalidJson {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's explanation.
        message: String,
    },
    /// The outputs file holds JSON that is not an object.
    #[error("outputs file {} holds a JSON {found}, expected an object of output name to value\nhelp: write e.g. {{\"url\": \"http://...\"}} to $HYOPS_OUTPUTS_FILE", path.display())]
    OutputsNotObject {
        /// The file.
        path: PathBuf,
        /// The JSON type found.
        found: &'static str,
    },
    /// The outputs file is larger than hyops accepts.
    #[error("outputs file {} is {size} bytes, more than the {limit} byte limit\nhelp: publish references (paths, ids), not data", path.display())]
    OutputsTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A profile naming template (backend config, workspace, remote_states) does not render.
    #[error(
        "profile {field} template {template:?} is invalid: {problem}\nhelp: see docs/drivers/terraform.md for the placeholders"
    )]
    TemplateInvalid {
        /// Which field (`backend.config.path`).
        field: String,
        /// The template as written.
        template: String,
        /// What is wrong.
        problem: String,
    },
    /// A driver setting in the profile has the wrong shape.
    #[error("profile setting `{key}` must be {expected}")]
    SettingInvalid {
        /// The settings key.
        key: String,
        /// What it must be.
        expected: &'static str,
    },
    /// The profile names a setting the driver does not know.
    #[error("profile setting `{key}` is not known to this driver\nhelp: known settings: {known}")]
    SettingUnknown {
        /// The settings key.
        key: String,
        /// The keys the driver reads.
        known: String,
    },
    /// Two extra-vars would have the same name.
    #[error(
        "input `{input}` has the name of a variable hyops passes to every playbook\nhelp: rename the input; hyops reserves {reserved}"
    )]
    InputNameReserved {
        /// Input name.
        input: String,
        /// The reserved names.
        reserved: String,
    },
    /// The stage cannot be run by this driver.
    #[error("the {driver} driver cannot {stage}\nhelp: {help}")]
    StageUnsupported {
        /// Driver name.
        driver: &'static str,
        /// The stage.
        stage: &'static str,
        /// What to do instead.
        help: &'static str,
    },
    /// An enabled provisioner stack's required asset is missing from the pack.
    #[error(
        "{stack} is enabled but its required asset {path} is missing\nhelp: add the file to the pack, or disable {stack} (`{stack}: false` in the profile's settings or input `{stack}_enabled: false`)"
    )]
    ProvisionerAssetMissing {
        /// `ansible` or `puppet`.
        stack: &'static str,
        /// Catalog-relative path of the missing file.
        path: String,
    },
    /// A packer var-file template does not render.
    #[error("failed to render a packer var-file: {0}")]
    PackerVars(#[from] crate::packer_vars::VarsError),
    /// The pack names a source that `hyops sources sync` has not checked out (or that moved).
    #[error("{problem}\nhelp: run `hyops sources sync` (add `--frozen` in CI to check hyops.lock)")]
    SourceNotSynced {
        /// What is wrong.
        problem: String,
    },
    /// `toolchain.version` is not a semver requirement.
    #[error(
        "toolchain.version {requirement:?} is not a semver requirement: {problem}\nhelp: write e.g. `>=1.0, <2` or `~1.0.3`"
    )]
    VersionReqInvalid {
        /// As written.
        requirement: String,
        /// The parser's explanation.
        problem: String,
    },
}

impl DriverError {
    /// Whether another attempt may succeed. File system failures come from the machine (disk
    /// full, interrupted call) and may clear; every other error is in the catalog or the pack and
    /// will happen again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Io { .. })
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
