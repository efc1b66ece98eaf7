//! The vocabulary every driver shares: the stage it is asked to run and the command it builds
//! (drivers themselves are [`crate::StepDriver`]s).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

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

/// Why `driver` has nothing to tear down, for the drivers whose results outlive hyops by design:
/// a packer build leaves an image on its platform and keeps no state hyops could destroy; a
/// playbook has no inverse (what it configured goes with the hosts, torn down by the members
/// that made them). A `destroy` of such a module is refused; a stack's destroy skips the member
/// with this reason and goes on with the members it depends on.
pub fn nothing_to_destroy(driver: hyops_contract::DriverName) -> Option<&'static str> {
    match driver {
        hyops_contract::DriverName::Packer => Some(
            "packer builds keep no state to destroy: the image stays; delete it on its platform",
        ),
        hyops_contract::DriverName::Ansible => Some(
            "a playbook has no inverse: nothing to destroy (its hosts go with the members that made them); write a teardown as its own playbook and module",
        ),
        _ => None,
    }
}

/// Whether what a `driver` run made goes with the resources it ran against, torn down by other
/// members (a playbook's configuration with its hosts): after a stack destroy, its last PASS
/// counts as destroyed though nothing ran. A packer image stays on its platform.
pub fn destroyed_with_producers(driver: hyops_contract::DriverName) -> bool {
    driver == hyops_contract::DriverName::Ansible
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
