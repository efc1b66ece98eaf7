//! The shell driver as a one-step [`StepDriver`]: write the 0600 inputs file, run
//! `<entry> <stage>`, read `HYOPS_OUTPUTS_FILE` after `apply`.

use hyops_contract::DriverName;

use crate::shell::{ShellDriver, parse_outputs, write_inputs_file};
use crate::steps::{DriverContext, Next, Step, StepDriver, StepOutcome, Verdict};
use crate::{DriverError, Stage};

/// State of a shell attempt (there is only one step).
#[derive(Debug, Default)]
pub struct ShellSteps;

impl ShellSteps {
    fn files(ctx: &DriverContext<'_>) -> (std::path::PathBuf, std::path::PathBuf) {
        (
            ctx.io_dir.join("inputs.json"),
            ctx.io_dir.join("outputs.json"),
        )
    }
}

impl StepDriver for ShellSteps {
    fn name(&self) -> DriverName {
        DriverName::Shell
    }

    fn start(&mut self, ctx: &DriverContext<'_>) -> Result<Next, DriverError> {
        let (inputs_file, outputs_file) = Self::files(ctx);
        let driver = ShellDriver;
        let inputs = driver.inputs_document(ctx.request, ctx.secret_inputs)?;
        write_inputs_file(&inputs_file, &inputs)?;
        let command = driver.command(
            ctx.request,
            ctx.stage,
            ctx.work_dir,
            &inputs_file,
            &outputs_file,
            ctx.secret_inputs,
        )?;
        Ok(Next::Run(Box::new(Step::logged("entry", command))))
    }

    fn after(
        &mut self,
        ctx: &DriverContext<'_>,
        outcome: StepOutcome,
    ) -> Result<Next, DriverError> {
        let (inputs_file, outputs_file) = Self::files(ctx);
        // The inputs file holds secret values: emptied as soon as the tool is gone (the entry
        // goes with the io dir).
        crate::blank_file(&inputs_file);
        if !outcome.success {
            let how = match outcome.exit_code {
                Some(code) => format!("exited with code {code}"),
                None => "was killed by a signal".to_owned(),
            };
            let mut message = format!("`{} {}` {how}", ctx.request.pack.entry, ctx.stage);
            if !outcome.stderr_tail.is_empty() {
                message.push_str("\nstderr (last lines):\n");
                message.push_str(&outcome.stderr_tail);
            }
            // A failing tool may be flaky; the profile's max_attempts decides how often to retry.
            return Ok(Next::Done(Box::new(Verdict::failed(message, true))));
        }
        let raw = if ctx.stage == Stage::Apply {
            parse_outputs(&outputs_file)?
        } else {
            serde_json::Map::new()
        };
        Ok(Next::Done(Box::new(Verdict::succeeded(raw))))
    }
}
