//! Multi-step drivers: a driver is a small state machine that asks the runner to run one command
//! at a time and decides what comes next from each outcome (terraform: version check, init,
//! workspace, plan, apply, output; shell: one step). The runner spawns, streams, redacts and
//! enforces the attempt timeout; the driver never spawns.

use std::path::{Path, PathBuf};

use hyops_contract::{DriverName, RunRequest};
use serde_json::{Map, Value};

use crate::{CommandPlan, DriverError, Stage};

/// What a driver can see while it plans steps.
#[derive(Debug, Clone, Copy)]
pub struct DriverContext<'a> {
    /// The resolved request.
    pub request: &'a RunRequest,
    /// The stage asked for.
    pub stage: Stage,
    /// The attempt's work dir: a fresh copy of the pack.
    pub work_dir: &'a Path,
    /// A private (0700) folder beside the work dir for inputs, outputs, plans; removed after the
    /// attempt. Files holding secrets go here, never into the work dir.
    pub io_dir: &'a Path,
    /// hyops' state dir (profiles template backend paths with `{state_dir}`).
    pub state_dir: &'a Path,
    /// Secret input name -> value, fetched by the runner.
    pub secret_inputs: &'a Map<String, Value>,
    /// The catalog root (profile settings name paths relative to it).
    pub catalog_root: &'a Path,
    /// A saved plan to apply instead of planning afresh (`hyops apply --plan RUN`).
    pub saved_plan: Option<&'a [u8]>,
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct Step {
    /// Short name shown in progress and evidence (`init`, `plan`, `entry`).
    pub name: String,
    /// The command (program, args, cwd, driver variables).
    pub command: CommandPlan,
    /// Keep stdout (redacted, bounded by [`Step::MAX_CAPTURE`]) and hand it back in
    /// [`StepOutcome::stdout`], instead of logging it line by line (machine-readable output such
    /// as `terraform show -json`).
    pub capture_stdout: bool,
    /// For a captured step: also show each stdout line in `driver.log` and progress, as this
    /// function renders it (`None` from it: keep the line in the capture only). Lets a driver
    /// stream a machine-readable format to humans while still parsing all of it.
    pub show_captured: Option<LineView>,
    /// How each stderr line reads in `driver.log` and progress (`None` from it: dropped). Without
    /// one, a stderr line is logged as is at WARN and shown. Lets a driver keep a tool's debug
    /// log (packer's, see `packer.rs`) in `driver.log` without showing it.
    pub stderr_view: Option<LineView>,
}

/// Renders one line of captured machine-readable output for humans.
pub type LineView = fn(&str) -> Option<ShownLine>;

/// A line as shown in `driver.log` (`[time] LEVEL <component> <text>`) and progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownLine {
    /// Log component, e.g. `packer`.
    pub component: &'static str,
    /// The level it is logged at; a [`ShownLevel::Debug`] line is not shown in progress.
    pub level: ShownLevel,
    /// The text. It may span lines: each non-blank line is logged and shown as its own line.
    pub text: String,
}

/// The level of a [`ShownLine`] in `driver.log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownLevel {
    /// In `driver.log` only, never in progress (a tool's own debug log).
    Debug,
    /// Normal output.
    Info,
    /// Something looks wrong (plain stderr).
    Warn,
    /// The tool reported an error.
    Error,
}

impl Step {
    /// Upper bound of captured stdout.
    pub const MAX_CAPTURE: usize = 64 * 1024 * 1024;

    /// A step whose output is logged.
    pub fn logged(name: impl Into<String>, command: CommandPlan) -> Self {
        Self {
            name: name.into(),
            command,
            capture_stdout: false,
            show_captured: None,
            stderr_view: None,
        }
    }

    /// A step whose stdout is captured for the driver.
    pub fn captured(name: impl Into<String>, command: CommandPlan) -> Self {
        Self {
            name: name.into(),
            command,
            capture_stdout: true,
            show_captured: None,
            stderr_view: None,
        }
    }

    /// A step whose stdout is captured for the driver and also shown through `view`.
    pub fn streamed(name: impl Into<String>, command: CommandPlan, view: LineView) -> Self {
        Self {
            name: name.into(),
            command,
            capture_stdout: true,
            show_captured: Some(view),
            stderr_view: None,
        }
    }
}

/// What a step did. Text is already redacted.
#[derive(Debug, Clone, Default)]
pub struct StepOutcome {
    /// The step's name.
    pub name: String,
    /// Exit code when the tool exited (None when killed by a signal).
    pub exit_code: Option<i32>,
    /// Exited 0.
    pub success: bool,
    /// Captured stdout (only for [`Step::captured`] steps).
    pub stdout: Vec<u8>,
    /// The last lines of stderr.
    pub stderr_tail: String,
}

/// A file the driver wants kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptFile {
    /// Name in the evidence folder (`plan.json`) or artifact schema (`terraform-plan/v1`).
    pub name: String,
    /// Where the driver left it.
    pub path: PathBuf,
}

/// How the attempt's tool work ended.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// The tool work succeeded (probes may still fail the attempt).
    pub success: bool,
    /// Why not, for humans (redacted by the runner).
    pub message: Option<String>,
    /// Whether another attempt may succeed.
    pub retryable: bool,
    /// Raw outputs, mapped through `outputs.publish` by the runner.
    pub raw_outputs: Map<String, Value>,
    /// Values that turned out secret (sensitive tool outputs): the runner adds them to the
    /// redactor before anything else is written.
    pub secret_values: Vec<String>,
    /// Extra evidence files (JSON plans, summaries): (file name in the evidence folder, bytes).
    pub evidence: Vec<(String, Vec<u8>)>,
    /// Files to store as content-addressed artifacts (binary plans): name is the schema version.
    pub artifacts: Vec<KeptFile>,
    /// A one-line summary (`2 to add, 0 to change, 0 to destroy`).
    pub summary: Option<String>,
    /// Raw outputs the tool marks sensitive: published as secret whatever the module says.
    pub sensitive_outputs: Vec<String>,
    /// Events the tool reported (per-task results): (event name, fields). The runner appends
    /// them, redacted, to the attempt's `events.jsonl` after its own step events.
    pub events: Vec<(String, Map<String, Value>)>,
    /// Driver details for `result.json` (under `driver`: tool version, recap), redacted.
    pub details: Map<String, Value>,
}

impl Verdict {
    /// Success with these raw outputs.
    pub fn succeeded(raw_outputs: Map<String, Value>) -> Self {
        Self {
            success: true,
            raw_outputs,
            ..Self::default()
        }
    }

    /// Failure.
    pub fn failed(message: impl Into<String>, retryable: bool) -> Self {
        Self {
            success: false,
            message: Some(message.into()),
            retryable,
            ..Self::default()
        }
    }
}

/// The driver's next move.
#[derive(Debug, Clone)]
pub enum Next {
    /// Run this step, then call [`StepDriver::after`] with its outcome.
    Run(Box<Step>),
    /// The tool work is over.
    Done(Box<Verdict>),
}

/// A durable write a driver leaves for after its verdict (`packer-state.json`): bookkeeping that
/// must be on disk before the attempt's verdict is, but need not hold up what the runner does
/// first. The runner runs it while it stores the attempt's artifacts and runs its probes, waits
/// for it before it writes the attempt's result, and fails an attempt that would otherwise pass
/// when it fails (retryable when its error is).
pub struct DeferredWrite {
    /// What went wrong when it fails, before the error: `packer-state.json could not be written`.
    pub failure: String,
    /// The write itself, run on a blocking thread.
    pub write: Box<dyn FnOnce() -> Result<(), DriverError> + Send>,
}

impl std::fmt::Debug for DeferredWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredWrite")
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

/// A driver as a state machine over steps.
pub trait StepDriver: Send {
    /// Which driver this is.
    fn name(&self) -> DriverName;
    /// Prepares files (inputs) and returns the first move.
    fn start(&mut self, ctx: &DriverContext<'_>) -> Result<Next, DriverError>;
    /// Decides the next move from the last step's outcome.
    fn after(&mut self, ctx: &DriverContext<'_>, outcome: StepOutcome)
    -> Result<Next, DriverError>;
    /// The write this driver left for after its verdict, if any; taken once, after the last
    /// [`StepDriver::after`] (see [`DeferredWrite`]).
    fn take_deferred(&mut self) -> Option<DeferredWrite> {
        None
    }
}

/// The step driver for `name`, or `None` when this build has none for it yet.
pub fn step_driver(name: DriverName) -> Option<Box<dyn StepDriver>> {
    match name {
        DriverName::Shell => Some(Box::new(crate::shell_steps::ShellSteps)),
        DriverName::Terraform => Some(Box::new(crate::terraform_steps::TerraformSteps::default())),
        DriverName::Ansible => Some(Box::new(crate::ansible_steps::AnsibleSteps::default())),
        DriverName::Packer => Some(Box::new(crate::packer_steps::PackerSteps::default())),
    }
}
