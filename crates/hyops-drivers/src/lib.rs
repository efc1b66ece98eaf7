//! Tool adapters: shell, terraform (and OpenTofu), packer, ansible. Build commands, render inputs, parse results.
//!
//! A driver never spawns: it turns a RunRequest into a [`CommandPlan`] and parses what the tool
//! left behind. Spawning, streaming and killing belong to `hyops-process`.

pub mod ansible;
pub mod ansible_events;
pub mod ansible_files;
mod ansible_steps;
pub mod driver;
pub mod error;
pub mod packer;
pub mod packer_provisioners;
pub mod packer_result;
pub mod packer_state;
mod packer_steps;
pub mod packer_vars;
pub mod packer_wrap;
pub mod shell;
mod shell_steps;
pub mod steps;
pub mod terraform;
pub mod terraform_json;
mod terraform_steps;
pub mod toolchain;
pub mod workdir;

pub use ansible::AnsiblePolicy;
pub use ansible_events::PlaybookEvents;
pub use ansible_steps::AnsibleSteps;
pub use driver::{CommandPlan, Stage, destroyed_with_producers, nothing_to_destroy};
pub use error::DriverError;
pub use packer::PackerPolicy;
pub use packer_steps::PackerSteps;
pub use shell::{ShellDriver, input_env_name, parse_outputs, write_inputs_file};
pub use shell_steps::ShellSteps;
pub use steps::{
    DeferredWrite, DriverContext, KeptFile, LineView, Next, ShownLevel, ShownLine, Step,
    StepDriver, StepOutcome, Verdict, step_driver,
};
pub use terraform::TerraformPolicy;
pub use terraform_steps::{PLAN_ARTIFACT_SCHEMA, TerraformSteps};
pub use workdir::{PreparedWorkdir, blank_file, prepare_workdir};
