//! What to run: program, arguments, working directory, the complete environment and stop timings.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::isolation::Isolation;

/// Default time between SIGTERM and SIGKILL when a group has to be stopped.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);

/// Default time to keep reading output after the process group is gone (see [`ProcessSpec::drain_timeout`]).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// A process to run. stdin is always `/dev/null`; the environment is exactly [`ProcessSpec::env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Program name (looked up in `env["PATH"]`) or a path (relative paths are relative to `cwd`).
    pub program: OsString,
    /// Arguments, without the program name.
    pub args: Vec<OsString>,
    /// Working directory; must exist.
    pub cwd: PathBuf,
    /// The complete environment: the child starts from an empty environment plus exactly these.
    pub env: BTreeMap<String, OsString>,
    /// Wall-clock limit from spawn; `None` means no limit.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL to the process group.
    pub kill_grace: Duration,
    /// How long to keep reading stdout/stderr once no process of the group is left. A process that
    /// left the group (e.g. `setsid` daemon) may still hold the pipes open; after this we stop
    /// reading and report [`crate::ProcessOutcome::output_incomplete`] instead of hanging.
    pub drain_timeout: Duration,
    /// Own session or own process group (see [`Isolation`]); [`Isolation::Auto`] by default.
    pub isolation: Isolation,
}

impl ProcessSpec {
    /// A spec with no arguments, an empty environment, no timeout and default stop timings.
    pub fn new(program: impl Into<OsString>, cwd: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            env: BTreeMap::new(),
            timeout: None,
            kill_grace: DEFAULT_KILL_GRACE,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            isolation: Isolation::Auto,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<OsString>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the grace period between SIGTERM and SIGKILL.
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Sets how the process is separated from hyops' session.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Sets how long output is still read after the process group is gone.
    pub fn drain_timeout(mut self, drain: Duration) -> Self {
        self.drain_timeout = drain;
        self
    }
}
