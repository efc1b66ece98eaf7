//! Every environment variable hyops reads or sets, declared once with what it means.
//!
//! Code never spells a variable name as a string literal elsewhere: it uses these constants, so
//! `grep EnvVars::` finds every place the process environment influences hyops.

/// Names of the environment variables hyops reads (and the ones it sets for plugins).
#[derive(Debug)]
pub struct EnvVars;

impl EnvVars {
    /// Catalog root, used when `--catalog` is not given. Must hold `hyops.yaml`. An empty value counts
    /// as unset.
    pub const HYOPS_CATALOG: &'static str = "HYOPS_CATALOG";

    /// Runtime state directory (ledger, evidence, work dirs), used when `--state-dir` is not given.
    /// Defaults to `<catalog>/.hyops/`. An empty value counts as unset.
    pub const HYOPS_STATE_DIR: &'static str = "HYOPS_STATE_DIR";

    /// Colon-separated directories searched for `hyops-<name>` plugin executables, in order, before
    /// `PATH`. Empty entries are skipped (they never mean "the current directory").
    pub const HYOPS_PLUGIN_PATH: &'static str = "HYOPS_PLUGIN_PATH";

    /// Prefix of per-input overrides: `HYOPS_INPUT_<NAME>` (upper-cased input name) sets input
    /// `<name>` above environment overlays and below `--set`. Read by `resolve`/`run`.
    pub const HYOPS_INPUT_PREFIX: &'static str = "HYOPS_INPUT_";

    /// Log filter for hyops' own diagnostics on stderr, in `tracing` `EnvFilter` syntax
    /// (`debug`, `hyops_cli=trace`). Overrides `-v`/`-q`.
    pub const HYOPS_LOG: &'static str = "HYOPS_LOG";

    /// Any non-empty value disables colour unless `--color always` is given (<https://no-color.org>).
    pub const NO_COLOR: &'static str = "NO_COLOR";

    /// Searched for plugins after `HYOPS_PLUGIN_PATH`.
    pub const PATH: &'static str = "PATH";

    /// Identity of age secret files (`environments/*.yaml` `secrets: {x: {age: ...}}`). Read by the
    /// secret resolver when runs land; declared here so the list stays complete.
    pub const HYOPS_AGE_IDENTITY: &'static str = "HYOPS_AGE_IDENTITY";

    /// How evidence folders become durable before a verdict is recorded: `syncfs` (default on
    /// Linux: one `syncfs(2)` when a folder is sealed, plus one for its manifest) or `fsync` (each
    /// file and directory on its own; pick it when the state dir shares a file system with heavy
    /// unrelated writers, whose dirty data `syncfs` also waits for).
    pub const HYOPS_EVIDENCE_SYNC: &'static str = "HYOPS_EVIDENCE_SYNC";

    /// Where attempts' work and io dirs go (scratch: pack copies, inputs and outputs files) instead
    /// of `<state dir>/work`; an absolute path, holding one sub-folder per state dir. On a fast
    /// local or memory-backed file system it keeps scratch writes out of the evidence seal's
    /// file-system sync. Set it for every command on that state dir (`runs prune` removes work
    /// dirs there).
    pub const HYOPS_WORK_DIR: &'static str = "HYOPS_WORK_DIR";

    /// Set for plugins: the version of the `hyops` that started them.
    pub const HYOPS_VERSION: &'static str = "HYOPS_VERSION";

    /// Set for plugins: absolute path of the `hyops` executable, so a plugin can call back into it.
    pub const HYOPS_BIN: &'static str = "HYOPS_BIN";

    /// Set for plugins: the `--output` format requested (`text` or `json`).
    pub const HYOPS_OUTPUT: &'static str = "HYOPS_OUTPUT";
}

/// The value of `name`, treating an empty value as unset.
pub fn non_empty(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}
