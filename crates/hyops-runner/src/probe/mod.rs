//! Probe execution: render a declared probe's templates, run its check with readiness retries under
//! an overall deadline, and report what was expected and what was seen.
//!
//! Probes run synchronously on the calling thread (they sleep between tries and block on sockets
//! and child processes). From async code call [`run_probes`] inside `tokio::task::spawn_blocking`
//! so no runtime worker thread is blocked.
//!
//! `expected`, `observed` and `message` may contain input or output values (a body_contains rendered
//! from a secret input, an output probe on a secret output): pass them through the redactor before
//! writing them anywhere (DESIGN.md invariant 6).

mod junit;
mod probe_command;
mod probe_file;
mod probe_http;
mod probe_output;
mod probe_tcp;
#[cfg(test)]
mod test_server;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hyops_contract::{DeclaredProbe, Probe};
use serde::{Deserialize, Serialize};

use crate::template::{TemplateContext, render_value};

pub use junit::render_junit;
pub use probe_command::{CommandCapture, spawn_probe_command};

/// Overall deadline of a probe (all tries together) when it declares no `timeout`.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// What a probe can see.
#[derive(Debug, Clone, Default)]
pub struct ProbeContext {
    /// Template variables; `template.outputs` holds the attempt's published outputs (real values),
    /// which `output` probes check.
    pub template: TemplateContext,
    /// The attempt's work dir: relative `file` probe paths and `command` probes start here.
    pub work_dir: PathBuf,
    /// The complete environment of `command` probes (the profile's allowlist, already read from
    /// hyops' environment by the caller). Nothing else is inherited.
    pub command_env: BTreeMap<String, OsString>,
}

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// Probe name.
    pub name: String,
    /// `file:line:col` of the declaration.
    pub declared_at: String,
    /// Whether the probe passed.
    pub passed: bool,
    /// Checks performed (0 when the probe could not even be prepared).
    pub tries: u32,
    /// Wall time from the first try to the verdict.
    pub duration_ms: u64,
    /// What the probe expected, e.g. `HTTP 200 with body containing "hello"`.
    pub expected: String,
    /// What the last try saw, e.g. `HTTP 503`.
    pub observed: String,
    /// One sentence for humans naming the probe, its site, expectation and observation.
    pub message: String,
}

/// One try's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// Passed; what was seen.
    Pass(String),
    /// Failed, but a later try may pass (the service may not be ready yet).
    Retry(String),
    /// Failed in a way retrying cannot change (bad regex, unsupported scheme, missing output).
    Final(String),
}

/// Runs every probe in declaration order, also after a failure, so evidence is complete.
pub fn run_probes(probes: &[DeclaredProbe], ctx: &ProbeContext) -> Vec<ProbeResult> {
    probes.iter().map(|probe| run_probe(probe, ctx)).collect()
}

/// Renders and runs one probe with its readiness retries.
pub fn run_probe(declared: &DeclaredProbe, ctx: &ProbeContext) -> ProbeResult {
    let started = Instant::now();
    let probe = &declared.probe;
    let site = declared.declared_at.as_str();
    let finish = |passed: bool, tries: u32, expected: String, observed: String, note: &str| {
        let message = verdict_message(&probe.name, site, passed, tries, &expected, &observed, note);
        ProbeResult {
            name: probe.name.clone(),
            declared_at: declared.declared_at.clone(),
            passed,
            tries,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            expected,
            observed,
            message,
        }
    };

    let (attempts, interval, timeout) = match retry_policy(probe) {
        Ok(policy) => policy,
        Err(problem) => return finish(false, 0, "a valid probe".into(), problem, ""),
    };
    let rendered = match render_probe(probe, ctx, site) {
        Ok(rendered) => rendered,
        Err(problem) => return finish(false, 0, "a renderable probe".into(), problem, ""),
    };
    let kind = match ProbeKind::of(&rendered) {
        Ok(kind) => kind,
        Err(problem) => return finish(false, 0, "exactly one probe kind".into(), problem, ""),
    };
    let expected = kind.expected();
    let deadline = started + timeout;

    let mut tries = 0;
    loop {
        tries += 1;
        let check = kind.check(ctx, deadline);
        let observed = match check {
            Check::Pass(observed) => return finish(true, tries, expected, observed, ""),
            Check::Final(observed) => return finish(false, tries, expected, observed, ""),
            Check::Retry(observed) => observed,
        };
        if tries >= attempts {
            return finish(false, tries, expected, observed, "");
        }
        let now = Instant::now();
        if now + interval >= deadline {
            let note = format!(" (timeout {} reached)", text_of(timeout));
            return finish(false, tries, expected, observed, &note);
        }
        std::thread::sleep(interval);
    }
}

fn verdict_message(
    name: &str,
    site: &str,
    passed: bool,
    tries: u32,
    expected: &str,
    observed: &str,
    note: &str,
) -> String {
    let after = match tries {
        0 => "before running it".to_owned(),
        1 => "after 1 try".to_owned(),
        n => format!("after {n} tries"),
    };
    if passed {
        format!("probe {name:?} ({site}) passed: expected {expected}, saw {observed} {after}")
    } else {
        format!("probe {name:?} ({site}) expected {expected}, saw {observed} {after}{note}")
    }
}

fn text_of(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `(attempts, interval, overall timeout)` with defaults applied.
fn retry_policy(probe: &Probe) -> Result<(u32, Duration, Duration), String> {
    let timeout = match &probe.timeout {
        None => DEFAULT_PROBE_TIMEOUT,
        Some(text) => Duration::from_millis(
            text.to_millis()
                .ok_or_else(|| format!("invalid timeout {:?}", text.0))?,
        ),
    };
    let (attempts, interval) = match &probe.retry {
        None => (1, Duration::ZERO),
        Some(retry) => {
            let interval = retry
                .interval
                .to_millis()
                .ok_or_else(|| format!("invalid retry interval {:?}", retry.interval.0))?;
            (retry.attempts.max(1), Duration::from_millis(interval))
        }
    };
    Ok((attempts, interval, timeout))
}

/// Renders every template string of the probe (the name is kept as declared).
fn render_probe(probe: &Probe, ctx: &ProbeContext, site: &str) -> Result<Probe, String> {
    let value =
        serde_json::to_value(probe).map_err(|err| format!("unserialisable probe: {err}"))?;
    let rendered =
        render_value(&value, &ctx.template, Some(site)).map_err(|err| err.to_string())?;
    let mut probe_out: Probe = serde_json::from_value(rendered)
        .map_err(|err| format!("probe changed shape while rendering: {err}"))?;
    probe_out.name.clone_from(&probe.name);
    Ok(probe_out)
}

/// The one kind a (rendered) probe has.
enum ProbeKind<'a> {
    Command(&'a hyops_contract::CommandProbe),
    Http(&'a hyops_contract::HttpProbe),
    Tcp(&'a hyops_contract::TcpProbe),
    File(&'a hyops_contract::FileProbe),
    Output(&'a hyops_contract::OutputProbe),
}

impl<'a> ProbeKind<'a> {
    fn of(probe: &'a Probe) -> Result<Self, String> {
        let kinds = probe.kinds_set();
        if kinds.len() != 1 {
            return Err(format!(
                "{} kinds set ({})",
                kinds.len(),
                if kinds.is_empty() {
                    "none".to_owned()
                } else {
                    kinds.join(", ")
                }
            ));
        }
        Ok(
            match (
                &probe.command,
                &probe.http,
                &probe.tcp,
                &probe.file,
                &probe.output,
            ) {
                (Some(command), ..) => Self::Command(command),
                (_, Some(http), ..) => Self::Http(http),
                (_, _, Some(tcp), ..) => Self::Tcp(tcp),
                (_, _, _, Some(file), _) => Self::File(file),
                (_, _, _, _, Some(output)) => Self::Output(output),
                _ => return Err("no probe kind set".to_owned()),
            },
        )
    }

    fn expected(&self) -> String {
        match self {
            Self::Command(p) => probe_command::expected(p),
            Self::Http(p) => probe_http::expected(p),
            Self::Tcp(p) => probe_tcp::expected(p),
            Self::File(p) => probe_file::expected(p),
            Self::Output(p) => probe_output::expected(p),
        }
    }

    fn check(&self, ctx: &ProbeContext, deadline: Instant) -> Check {
        match self {
            Self::Command(p) => probe_command::check(p, ctx, deadline),
            Self::Http(p) => probe_http::check(p, deadline),
            Self::Tcp(p) => probe_tcp::check(p, deadline),
            Self::File(p) => probe_file::check(p, ctx),
            Self::Output(p) => probe_output::check(p, ctx),
        }
    }
}

/// Time left until `deadline`, at least `floor` so a first try always gets a chance.
pub(crate) fn remaining(deadline: Instant, floor: Duration) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(floor)
}

/// Shortens `text` to at most `max` characters for messages, marking the cut.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests;
