//! What every driver provides: the stage it is asked to run, the command it builds for it, and
//! how it reads the tool's results.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use hyops_contract::{DriverName, RunRequest};
use serde_json::{Map, Value};

use crate::DriverError;

/// The stage a driver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Show what would change (`hyops plan`).
    Plan,
    /// Make it so (`hyops run`, `hyops apply`).
    Apply,
    /// Tear it down (`hyops destroy`).
    Destroy,
}

impl Stage {
    /// The word passed to tools and written to `HYOPS_STAGE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Apply => "apply",
            Self::Destroy => "destroy",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command ready for the process module: what to run, where, with which hyops variables.
///
/// `env` holds only the variables the driver defines (`HYOPS_*`); the caller clears the
/// environment, adds the profile's allowlisted variables from its own environment, then these.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandPlan {
    /// The executable (absolute when the work dir is).
    pub program: PathBuf,
    /// Arguments after the program.
    pub args: Vec<OsString>,
    /// Working directory: the attempt's work dir.
    pub cwd: PathBuf,
    /// Driver-defined variables.
    pub env: BTreeMap<String, OsString>,
}

impl fmt::Debug for CommandPlan {
    // Input values in `env` are not secret by construction, but keep Debug short and value-free
    // anyway: plans end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandPlan")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("cwd", &self.cwd)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A tool adapter.
pub trait Driver {
    /// Which driver this is.
    fn name(&self) -> DriverName;

    /// Builds the command for `stage` in a prepared `work_dir`.
    ///
    /// `inputs_file` and `outputs_file` are the paths the tool reads inputs from and writes raw
    /// outputs to; `resolved_secret_inputs` maps secret input names to their values (fetched by the
    /// caller) and is used only to keep those inputs out of the command's environment.
    fn command(
        &self,
        request: &RunRequest,
        stage: Stage,
        work_dir: &Path,
        inputs_file: &Path,
        outputs_file: &Path,
        resolved_secret_inputs: &Map<String, Value>,
    ) -> Result<CommandPlan, DriverError>;

    /// Reads the raw outputs the tool produced.
    fn parse_outputs(&self, outputs_file: &Path) -> Result<Map<String, Value>, DriverError>;
}
