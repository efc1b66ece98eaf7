//! Errors the CLI itself reports, each a miette diagnostic with a stable code, a `help:` line and
//! the exit code it maps to. Library errors (catalog, runner) are wrapped here, never stringified.

use std::path::PathBuf;

use miette::Diagnostic;

use crate::exit_codes;

/// Failure to decide where the catalog or state directory is.
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
pub enum SettingsError {
    /// `--catalog`/`HYOPS_CATALOG` names something that is not a directory.
    #[error("catalog `{}` (from {source_name}) is not a directory", path.display())]
    #[diagnostic(
        code(hyops::cli::catalog_not_found),
        help(
            "point --catalog or HYOPS_CATALOG at the directory that holds hyops.yaml, or create one with `hyops init DIR`"
        )
    )]
    CatalogNotADirectory {
        /// The path as given.
        path: PathBuf,
        /// `--catalog` or `HYOPS_CATALOG`.
        source_name: String,
    },

    /// `--catalog`/`HYOPS_CATALOG` names a directory without `hyops.yaml`.
    #[error("`{}` (from {source_name}) is not a hyops catalog: it has no hyops.yaml", path.display())]
    #[diagnostic(
        code(hyops::cli::catalog_without_manifest),
        help(
            "the catalog root is the directory that holds hyops.yaml; create one with `hyops init DIR`"
        )
    )]
    CatalogWithoutManifest {
        /// The path as given.
        path: PathBuf,
        /// `--catalog` or `HYOPS_CATALOG`.
        source_name: String,
    },

    /// Nothing selected a catalog and the current directory is not one.
    #[error("no catalog selected: the current directory has no hyops.yaml")]
    #[diagnostic(code(hyops::cli::no_catalog), help("{}", no_catalog_help(*has_git)))]
    NoCatalog {
        /// The current directory that was checked.
        cwd: PathBuf,
        /// It holds `.git`, which users sometimes expect to mark the root.
        has_git: bool,
    },

    /// The current directory is unreadable (deleted, no permission).
    #[error("cannot read the current directory")]
    #[diagnostic(
        code(hyops::cli::no_current_dir),
        help("pass --catalog DIR or set HYOPS_CATALOG")
    )]
    NoCurrentDir,
}

fn no_catalog_help(has_git: bool) -> String {
    let base = "pass `--catalog DIR`, set HYOPS_CATALOG=DIR, or run hyops from the catalog root; \
                hyops never searches parent directories";
    if has_git {
        format!("{base}, and a .git directory does not mark a catalog")
    } else {
        base.to_string()
    }
}

/// Everything a command can fail with, as seen at the CLI edge.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CliError {
    /// `hyops sources sync` failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sources(#[from] crate::sources_sync::SourcesError),

    /// Catalog or state directory could not be decided.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Settings(#[from] SettingsError),

    /// Command line rejected by the parser (clap already phrased it).
    #[error("{message}")]
    #[diagnostic(code(hyops::cli::usage))]
    Usage {
        /// clap's message, without colour.
        message: String,
    },

    /// Neither a core command nor a plugin.
    #[error("no such command: `{name}`")]
    #[diagnostic(
        code(hyops::cli::no_such_command),
        help("{}", suggestion_help(suggestions))
    )]
    NoSuchCommand {
        /// What the user typed.
        name: String,
        /// Close core commands and plugins, best first.
        suggestions: Vec<String>,
    },

    /// A core command name this build reserves but does not implement yet.
    #[error("`{name}` is a core hyops command that this build does not implement yet")]
    #[diagnostic(
        code(hyops::cli::not_implemented),
        help(
            "see docs/cli.md for the commands available in hyops {}; a plugin cannot take over a core command name",
            crate::identity::VERSION
        )
    )]
    NotImplemented {
        /// The reserved name.
        name: String,
    },

    /// A plugin was found but could not be started.
    #[error("failed to start plugin `{name}` at `{}`", path.display())]
    #[diagnostic(
        code(hyops::cli::plugin_spawn),
        help("check that the file is executable and its interpreter (#! line) exists")
    )]
    PluginSpawn {
        /// Plugin name.
        name: String,
        /// Its executable.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// `hyops init` refused or failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Init(#[from] crate::commands::init::InitError),

    /// The catalog does not validate; every finding is rendered.
    #[error("{rendered}the catalog has errors ({summary}); nothing was run")]
    #[diagnostic(
        code(hyops::catalog::invalid),
        help("fix the errors above; `hyops validate` lists them")
    )]
    CatalogInvalid {
        /// "N errors, M warnings in K files".
        summary: String,
        /// Every diagnostic, rendered.
        rendered: String,
    },

    /// A target could not be resolved for an environment.
    #[error("{rendered}\ncannot resolve `{target}` for environment `{env}` ({count} problem(s))")]
    #[diagnostic(code(hyops::catalog::resolve))]
    Resolve {
        /// The target.
        target: String,
        /// The environment.
        env: String,
        /// Number of problems.
        count: usize,
        /// Every diagnostic, rendered.
        rendered: String,
    },

    /// The run engine could not carry out a run.
    #[error(transparent)]
    #[diagnostic(code(hyops::run::error))]
    Run(Box<hyops_runner::RunError>),

    /// Another run holds the lock of the target (or the stack) in the environment (its text
    /// ends with the help, which rendering splits off).
    #[error(transparent)]
    #[diagnostic(code(hyops::run::locked))]
    Locked(Box<hyops_runner::RunError>),

    /// A command that writes the state dir (a run, a prune, a promotion) was given one this user
    /// cannot write.
    #[error("the state dir {} is not writable by this user", path.display())]
    #[diagnostic(
        code(hyops::state::read_only),
        help(
            "run it as the state dir's owner, or point `--state-dir` (HYOPS_STATE_DIR) at a \
             folder you can write; reading works as it is: `hyops runs list`, `runs show`, \
             `outputs`, `logs` and `evidence` open a read-only state dir without changing it"
        )
    )]
    StateDirReadOnly {
        /// The state dir.
        path: PathBuf,
    },

    /// The ledger or artifact store failed.
    #[error(transparent)]
    #[diagnostic(code(hyops::store::error))]
    Store(Box<hyops_store::StoreError>),

    /// No attempt of the target passed in the environment, so no outputs are readable.
    #[error(
        "no passed run of `{target}` in `{env}`: outputs are readable only from an attempt whose driver succeeded and whose probes all passed"
    )]
    #[diagnostic(
        code(hyops::outputs::none_passed),
        help(
            "run it with `hyops run {target} --env {env}`; `hyops runs list --target {target} --env {env}` shows what happened"
        )
    )]
    NoPassedOutputs {
        /// Target.
        target: String,
        /// Environment.
        env: String,
    },

    /// The newest PASS's resources were destroyed since: its outputs describe what is gone.
    #[error(
        "the last PASS of `{target}` in `{env}` (run `{run_id}`) was destroyed since by run `{destroyed_by}`: its outputs describe resources that are gone"
    )]
    #[diagnostic(
        code(hyops::outputs::destroyed),
        help(
            "run it again with `hyops run {target} --env {env}`; `hyops runs show {destroyed_by}` shows the destroy"
        )
    )]
    OutputsDestroyed {
        /// Target.
        target: String,
        /// Environment.
        env: String,
        /// The run that passed.
        run_id: String,
        /// The destroy run.
        destroyed_by: String,
    },

    /// `hyops apply --plan RUN` refused: the plan cannot be applied as saved.
    #[error("refusing to apply the plan of run `{run_id}`: {reason}")]
    #[diagnostic(code(hyops::apply::refused), help("{help}"))]
    PlanRefused {
        /// The plan run.
        run_id: String,
        /// Why (what changed, or what is missing).
        reason: String,
        /// What to do instead.
        help: String,
    },

    /// No run with that id.
    #[error("no run `{run_id}` in the ledger")]
    #[diagnostic(code(hyops::runs::unknown), help("{help}"))]
    UnknownRun {
        /// What was asked for.
        run_id: String,
        /// What to do instead ([`crate::commands::runs::find_run`]).
        help: String,
    },

    /// No such attempt of a run, or it has no evidence.
    #[error("run `{run_id}` has no attempt {attempt} with evidence")]
    #[diagnostic(
        code(hyops::runs::unknown_attempt),
        help("`hyops runs show {run_id}` lists its attempts")
    )]
    UnknownAttempt {
        /// The run.
        run_id: String,
        /// The attempt asked for.
        attempt: u32,
    },

    /// The attempt exists but never started its tool (skipped, refused), so it has no evidence.
    #[error(
        "attempt {attempt} of run `{run_id}` has no evidence: it ended `{status}` without starting its tool{}",
        message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
    )]
    #[diagnostic(
        code(hyops::evidence::none),
        help("`hyops runs show {run_id}` shows its events")
    )]
    NoEvidence {
        /// The run.
        run_id: String,
        /// The attempt.
        attempt: u32,
        /// Its status.
        status: String,
        /// Its last message, first line.
        message: Option<String>,
    },

    /// Evidence failed verification (fails closed, naming files).
    #[error(transparent)]
    #[diagnostic(code(hyops::evidence::verify))]
    EvidenceVerify(#[from] hyops_evidence::VerifyError),

    /// Evidence could not be exported.
    #[error(transparent)]
    #[diagnostic(code(hyops::evidence::export))]
    EvidenceExport(#[from] hyops_evidence::ExportError),

    /// Reading a file the command shows failed.
    #[error("failed to read {}", path.display())]
    #[diagnostic(code(hyops::cli::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// Writing the command's output failed (other than the reader going away).
    #[error("failed to write output")]
    #[diagnostic(code(hyops::cli::output))]
    Output(#[source] std::io::Error),
}

fn suggestion_help(suggestions: &[String]) -> String {
    match suggestions {
        [] => {
            "run `hyops --help` for core commands and `hyops plugins list` for plugins".to_string()
        }
        [one] => format!("a command with a similar name exists: `{one}`"),
        many => format!(
            "commands with similar names exist: {}",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl CliError {
    /// The exit code this error maps to: `USAGE` for anything fixed by changing the command line,
    /// `FAILED` for operations that were attempted and failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Settings(_) | Self::Usage { .. } | Self::NoSuchCommand { .. } => {
                exit_codes::USAGE
            }
            Self::NotImplemented { .. } => exit_codes::USAGE,
            // `-o` names a file that exists: another path on the command line fixes it.
            Self::EvidenceExport(hyops_evidence::ExportError::OutputExists { .. }) => {
                exit_codes::USAGE
            }
            Self::Init(e) => e.exit_code(),
            Self::PluginSpawn { .. } | Self::Output(_) => exit_codes::FAILED,
            Self::CatalogInvalid { .. }
            | Self::Resolve { .. }
            | Self::Run(_)
            | Self::Locked(_)
            | Self::StateDirReadOnly { .. }
            | Self::Store(_)
            | Self::NoPassedOutputs { .. }
            | Self::OutputsDestroyed { .. }
            | Self::EvidenceVerify(_)
            | Self::EvidenceExport(_)
            | Self::Read { .. }
            | Self::PlanRefused { .. }
            | Self::Sources(_)
            | Self::NoEvidence { .. } => exit_codes::FAILED,
            Self::UnknownRun { .. } | Self::UnknownAttempt { .. } => exit_codes::USAGE,
        }
    }
}

impl CliError {
    /// [`CliError::NoEvidence`] for an attempt recorded without an evidence folder.
    pub fn no_evidence(record: &hyops_contract::AttemptRecord) -> Self {
        Self::NoEvidence {
            run_id: record.run_id.clone(),
            attempt: record.attempt,
            status: record.status.as_str().to_owned(),
            message: record
                .message
                .as_deref()
                .and_then(|m| m.lines().next())
                .map(str::to_owned),
        }
    }
}

impl From<hyops_runner::RunError> for CliError {
    fn from(error: hyops_runner::RunError) -> Self {
        use hyops_runner::RunError;
        match error {
            RunError::Locked(_) | RunError::StackBusy { .. } => Self::Locked(Box::new(error)),
            error => Self::Run(Box::new(error)),
        }
    }
}

impl From<hyops_store::StoreError> for CliError {
    fn from(error: hyops_store::StoreError) -> Self {
        Self::Store(Box::new(error))
    }
}
