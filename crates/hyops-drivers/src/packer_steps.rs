//! The packer driver as a [`StepDriver`]. Before packer starts: provisioner assets verified, the
//! pack's source checked against `hyops.lock`, var-files rendered into `configs/<env>/`. Then
//! `version` (skipped when `packer-state.json` knows this binary), and `fmt -check` + `validate`
//! (plan) or `build -machine-readable` (apply), whose manifest becomes the structured result,
//! published as outputs, stored as artifacts and recorded in `packer-state.json`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use hyops_contract::DriverName;
use serde_json::Value;

use crate::packer::{
    HYOPS_VARS_FILE, INPUTS_VARS_FILE, PackerPolicy, PinnedSource, check_version, pinned_source,
    reported_version,
};
use crate::packer_result::{
    MANIFEST_SCHEMA, PackerResult, RESULT_SCHEMA, human_lines, parse_machine_line,
    summarise_stream, ui_text,
};
use crate::packer_state::{LastRun, ManifestState, PackerBinary, PackerState, SourceState};
use crate::packer_vars::{VarsContext, hcl_assignments, render_vars_template, template_list};
use crate::packer_wrap;
use crate::steps::{
    DeferredWrite, DriverContext, KeptFile, Next, ShownLevel, ShownLine, Step, StepDriver,
    StepOutcome, Verdict,
};
use crate::{DriverError, Stage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Version,
    Fmt,
    Validate,
    Build,
}

/// State of a packer attempt.
#[derive(Debug, Default)]
pub struct PackerSteps {
    phase: Option<Phase>,
    policy: Option<PackerPolicy>,
    env: BTreeMap<String, OsString>,
    var_files: Vec<PathBuf>,
    binary: Option<PackerBinary>,
    source: Option<PinnedSource>,
    evidence: Vec<(String, Vec<u8>)>,
    /// The build's `packer-state.json` update, left to the runner (see [`DeferredWrite`]).
    deferred: Option<DeferredWrite>,
}

/// Build output: `ui` records as text, everything else only in the capture.
fn show_build_line(line: &str) -> Option<ShownLine> {
    let record = parse_machine_line(line)?;
    let (error, text) = ui_text(&record)?;
    Some(ShownLine {
        component: "packer",
        level: if error {
            ShownLevel::Error
        } else {
            ShownLevel::Info
        },
        text,
    })
}

/// Human output (fmt, validate, version) as is.
fn show_plain_line(line: &str) -> Option<ShownLine> {
    Some(ShownLine {
        component: "packer",
        level: ShownLevel::Info,
        text: line.to_owned(),
    })
}

/// The program's file, found like the process module finds it, for the version cache key.
fn resolve_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn binary_key(program: &Path) -> Option<PackerBinary> {
    let path = resolve_program(program)?;
    let meta = std::fs::metadata(&path).ok()?;
    let mtime_ms = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis();
    Some(PackerBinary {
        path: path.to_string_lossy().into_owned(),
        version: String::new(),
        size: meta.len(),
        mtime_ms: i64::try_from(mtime_ms).unwrap_or(i64::MAX),
    })
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), DriverError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(DriverError::io("create", parent))?;
    }
    std::fs::write(path, bytes).map_err(DriverError::io("write", path))
}

impl PackerSteps {
    fn policy(&self) -> &PackerPolicy {
        self.policy
            .as_ref()
            .expect("start() sets the policy before any step")
    }

    fn run(&mut self, phase: Phase, name: &str, args: Vec<OsString>) -> Next {
        self.phase = Some(phase);
        let command = self.policy().command(&self.env, args);
        let view = if phase == Phase::Build {
            show_build_line
        } else {
            show_plain_line
        };
        let mut step = Step::streamed(name, command, view);
        step.stderr_view = Some(packer_wrap::show_stderr_line);
        Next::Run(Box::new(step))
    }

    fn done(&mut self, mut verdict: Verdict) -> Next {
        let mut evidence = std::mem::take(&mut self.evidence);
        evidence.append(&mut verdict.evidence);
        verdict.evidence = evidence;
        Next::Done(Box::new(verdict))
    }

    fn tool_failed(&mut self, step: &str, outcome: &StepOutcome, retryable: bool) -> Next {
        let how = match outcome.exit_code {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_owned(),
        };
        let mut message = format!("`{} {step}` {how}", self.policy().program.display());
        // A build's capture is machine-readable: say the errors packer printed (a script's
        // stderr among them), else the last lines a person would have read, never raw records.
        let lines = if self.phase == Some(Phase::Build) {
            let errors = summarise_stream(&outcome.stdout).errors;
            if errors.is_empty() {
                human_lines(&outcome.stdout)
            } else {
                message.push_str("\nerrors:\n");
                message.push_str(&errors.join("\n"));
                Vec::new()
            }
        } else {
            String::from_utf8_lossy(&outcome.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        };
        let tail = &lines[lines.len().saturating_sub(20)..];
        if !tail.is_empty() {
            message.push_str("\noutput (last lines):\n");
            message.push_str(&tail.join("\n"));
        }
        // Packer's debug log is in driver.log; the message keeps what else it printed there.
        let stderr = packer_wrap::tail_without_log(&outcome.stderr_tail, 20);
        if !stderr.is_empty() {
            message.push_str("\nstderr (last lines):\n");
            message.push_str(&stderr.join("\n"));
        }
        self.done(Verdict::failed(message, retryable))
    }

    fn first_packer_step(&mut self, ctx: &DriverContext<'_>) -> Next {
        match ctx.stage {
            Stage::Plan => {
                let args = self.policy().fmt_args();
                self.run(Phase::Fmt, "fmt -check", args)
            }
            Stage::Apply => {
                let args = self.policy().build_args(&self.var_files);
                self.run(Phase::Build, "build", args)
            }
            // start() refuses destroy before any step.
            Stage::Destroy => {
                let why = crate::nothing_to_destroy(DriverName::Packer).unwrap_or_default();
                self.done(Verdict::failed(why, false))
            }
        }
    }

    /// Renders the pack's var-file templates (or serialises the inputs) and hyops' own
    /// variables into `configs/<env>/`, keeping a copy of each for the evidence.
    fn render_var_files(
        &mut self,
        ctx: &DriverContext<'_>,
        policy: &PackerPolicy,
    ) -> Result<(), DriverError> {
        let request = ctx.request;
        let env_name = &request.environment.name;
        let configs = ctx.work_dir.join("configs").join(env_name);
        let mut inputs = crate::terraform::tfvars(request, ctx.secret_inputs)?;
        inputs.retain(|k, _| k != "ansible_enabled" && k != "puppet_enabled");
        let vars_ctx = VarsContext {
            inputs,
            environment: env_name.clone(),
            module: request.module.name.clone(),
        };
        let templates = template_list(ctx.work_dir);
        let mut files: Vec<(String, String)> = Vec::new();
        for (rel, out_name) in &templates {
            let path = ctx.work_dir.join(rel);
            let source = std::fs::read_to_string(&path).map_err(DriverError::io("read", &path))?;
            let name = format!("{}/{rel}", request.pack.path);
            files.push((
                out_name.clone(),
                render_vars_template(&name, &source, &vars_ctx)?,
            ));
        }
        if templates.is_empty() {
            let vars: BTreeMap<String, Value> = vars_ctx.inputs.clone().into_iter().collect();
            files.push((INPUTS_VARS_FILE.to_owned(), hcl_assignments(&vars)));
        }
        // Paths inside the work dir are written relative to where packer runs: the var-files
        // then depend on the inputs only, never on the run id or the state dir.
        let depth = policy
            .template_dir
            .strip_prefix(ctx.work_dir)
            .map_or(0, |p| p.components().count());
        let mut own = policy.provisioners.variables(&"../".repeat(depth));
        own.insert(
            "hyops_manifest".to_owned(),
            Value::String(policy.manifest.clone()),
        );
        if let Some(source) = &self.source {
            own.insert(
                "hyops_source_dir".to_owned(),
                Value::String(source.dir.to_string_lossy().into_owned()),
            );
        }
        files.push((HYOPS_VARS_FILE.to_owned(), hcl_assignments(&own)));
        for (name, text) in files {
            let path = configs.join(&name);
            write_file(&path, text.as_bytes())?;
            self.evidence
                .push((format!("configs/{env_name}/{name}"), text.into_bytes()));
            self.var_files.push(path);
        }
        Ok(())
    }

    fn after_build(&mut self, ctx: &DriverContext<'_>, outcome: StepOutcome) -> Next {
        let stream = summarise_stream(&outcome.stdout);
        let policy = self.policy().clone();
        let manifest_path = policy.manifest_path();
        let manifest = std::fs::read(&manifest_path).ok();
        let result = PackerResult::build(
            outcome.exit_code,
            &stream,
            &policy.manifest,
            manifest.as_deref(),
        );
        let result_json = serde_json::to_vec_pretty(&result).unwrap_or_default();
        self.evidence
            .push(("machine-readable.log".to_owned(), outcome.stdout.clone()));
        self.evidence
            .push(("packer-result.json".to_owned(), result_json.clone()));
        let mut artifacts = Vec::new();
        let result_file = ctx.io_dir.join("packer-result.json");
        if write_file(&result_file, &result_json).is_ok() {
            artifacts.push(KeptFile {
                name: RESULT_SCHEMA.to_owned(),
                path: result_file,
            });
        }
        if let Some(bytes) = &manifest {
            self.evidence
                .push(("manifest.json".to_owned(), bytes.clone()));
            artifacts.push(KeptFile {
                name: MANIFEST_SCHEMA.to_owned(),
                path: manifest_path,
            });
        }
        // Two fsyncs and a rename: the runner overlaps them with storing the artifacts and
        // running the probes, and waits for them before the attempt's verdict.
        let record = self.state_record(ctx, &result);
        let state_dir = ctx.state_dir.to_path_buf();
        self.deferred = Some(DeferredWrite {
            failure: "packer-state.json could not be written".to_owned(),
            write: Box::new(move || PackerState::update(&state_dir, |state| record.apply(state))),
        });
        let mut verdict = if result.success {
            let mut v = Verdict::succeeded(result.raw_outputs());
            v.summary = Some(format!(
                "packer built {} artifact{}: {}",
                result.artifact_ids.len(),
                if result.artifact_ids.len() == 1 {
                    ""
                } else {
                    "s"
                },
                result.artifact_ids.join(", ")
            ));
            v
        } else if outcome.success {
            Verdict::failed(result.errors.join("\n"), false)
        } else {
            match self.tool_failed("build", &outcome, true) {
                Next::Done(v) => *v,
                Next::Run(_) => Verdict::failed("packer build failed", true),
            }
        };
        verdict.artifacts = artifacts;
        self.done(verdict)
    }

    /// What the build changes in `packer-state.json`, owned so the write can run elsewhere.
    fn state_record(&self, ctx: &DriverContext<'_>, result: &PackerResult) -> StateRecord {
        let request = ctx.request;
        StateRecord {
            binary: self.binary.clone(),
            builder_types: result.builder_types.clone(),
            source: self.source.as_ref().map(|s| {
                (
                    s.name.clone(),
                    SourceState {
                        url: s.url.clone(),
                        commit: s.commit.clone(),
                    },
                )
            }),
            manifest: result.manifest_sha256.as_ref().map(|digest| {
                (
                    format!("{}/{}", request.environment.name, request.module.name),
                    ManifestState {
                        sha256: digest.clone(),
                        run_uuid: result.run_uuid.clone(),
                        artifact_ids: result.artifact_ids.clone(),
                        updated_at: String::new(),
                    },
                )
            }),
            last_run: LastRun {
                module: request.module.name.clone(),
                environment: request.environment.name.clone(),
                stage: ctx.stage.as_str().to_owned(),
                success: result.success,
                exit_code: result.exit_code,
                finished_at: String::new(),
                fingerprint: request.fingerprint.clone(),
            },
        }
    }
}

/// A build's changes to `packer-state.json` (see [`PackerSteps::state_record`]).
struct StateRecord {
    binary: Option<PackerBinary>,
    builder_types: Vec<String>,
    source: Option<(String, SourceState)>,
    /// Key (`env/module`) and entry; `updated_at` is set when applied.
    manifest: Option<(String, ManifestState)>,
    /// `finished_at` is set when applied.
    last_run: LastRun,
}

impl StateRecord {
    fn apply(self, state: &mut PackerState) {
        if let Some(binary) = self.binary {
            for t in &self.builder_types {
                state
                    .plugins
                    .insert(t.clone(), format!("bundled with packer {}", binary.version));
            }
            state.packer = Some(binary);
        }
        if let Some((name, source)) = self.source {
            state.sources.insert(name, source);
        }
        let now = now_rfc3339();
        if let Some((key, manifest)) = self.manifest {
            let updated_at = now.clone();
            state.manifests.insert(
                key,
                ManifestState {
                    updated_at,
                    ..manifest
                },
            );
        }
        state.last_run = Some(LastRun {
            finished_at: now,
            ..self.last_run
        });
    }
}

impl StepDriver for PackerSteps {
    fn name(&self) -> DriverName {
        DriverName::Packer
    }

    fn take_deferred(&mut self) -> Option<DeferredWrite> {
        self.deferred.take()
    }

    fn start(&mut self, ctx: &DriverContext<'_>) -> Result<Next, DriverError> {
        let policy = PackerPolicy::from_request(ctx.request, ctx.work_dir, ctx.catalog_root)?;
        if ctx.stage == Stage::Destroy {
            let why = crate::nothing_to_destroy(DriverName::Packer).unwrap_or_default();
            return Ok(Next::Done(Box::new(Verdict::failed(why, false))));
        }
        // Fail fast, before packer starts: a missing playbook would fail minutes into a build.
        policy
            .provisioners
            .verify_assets(ctx.work_dir, &ctx.request.pack.path)?;
        if let Some(name) = &ctx.request.pack.source {
            let pinned = ctx.request.pack.source_commit.as_deref();
            self.source = Some(pinned_source(
                name,
                pinned,
                ctx.state_dir,
                ctx.catalog_root,
            )?);
        }
        self.render_var_files(ctx, &policy)?;
        write_file(&ctx.io_dir.join("packerconfig.json"), b"{}\n")?;
        self.env = policy.env(ctx.io_dir, ctx.secret_inputs);
        let state = PackerState::load(ctx.state_dir)?;
        let key = binary_key(&policy.program);
        self.policy = Some(policy);
        // An unchanged binary (same path, size, mtime) needs no `packer version` run.
        if let (Some(key), Some(known)) = (&key, &state.packer)
            && key.path == known.path
            && key.size == known.size
            && key.mtime_ms == known.mtime_ms
            && !known.version.is_empty()
        {
            if let Err(message) = check_version(self.policy(), &known.version) {
                return Ok(Next::Done(Box::new(Verdict::failed(message, false))));
            }
            self.binary = Some(known.clone());
            return Ok(self.first_packer_step(ctx));
        }
        self.binary = key;
        let args = self.policy().version_args();
        Ok(self.run(Phase::Version, "version", args))
    }

    fn after(
        &mut self,
        ctx: &DriverContext<'_>,
        outcome: StepOutcome,
    ) -> Result<Next, DriverError> {
        let Some(phase) = self.phase else {
            return Ok(self.done(Verdict::failed("packer step out of order", false)));
        };
        Ok(match phase {
            Phase::Version => {
                if !outcome.success {
                    return Ok(self.tool_failed("version", &outcome, true));
                }
                let Some(found) = reported_version(&outcome.stdout) else {
                    return Ok(self.done(Verdict::failed(
                        "`packer version` printed no version\nhelp: toolchain.binary must name packer",
                        false,
                    )));
                };
                if let Err(message) = check_version(self.policy(), &found) {
                    return Ok(self.done(Verdict::failed(message, false)));
                }
                if let Some(binary) = &mut self.binary {
                    binary.version = found;
                    let binary = binary.clone();
                    PackerState::update(ctx.state_dir, |state| state.packer = Some(binary))?;
                }
                self.first_packer_step(ctx)
            }
            Phase::Fmt if outcome.success => {
                let args = self.policy().validate_args(&self.var_files);
                self.run(Phase::Validate, "validate", args)
            }
            Phase::Fmt if outcome.exit_code == Some(3) => {
                let files = String::from_utf8_lossy(&outcome.stdout)
                    .lines()
                    .filter(|l| l.ends_with(".hcl"))
                    .map(|l| format!("{}/{l}", ctx.request.pack.path))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.done(Verdict::failed(
                    format!(
                        "packer templates are not formatted: {files}\nhelp: run `packer fmt` in the pack folder (the diff is in driver.log)"
                    ),
                    false,
                ))
            }
            Phase::Fmt => self.tool_failed("fmt -check", &outcome, false),
            Phase::Validate if outcome.success => {
                let mut v = Verdict::succeeded(serde_json::Map::new());
                v.summary = Some("packer template is formatted and valid".to_owned());
                self.done(v)
            }
            Phase::Validate => self.tool_failed("validate", &outcome, false),
            Phase::Build => self.after_build(ctx, outcome),
        })
    }
}
