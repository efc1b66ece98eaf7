//! `command` probes: run an argv in the work dir, check its exit code and stdout.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use hyops_contract::CommandProbe;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{Check, ProbeContext, excerpt, remaining};

/// How much of stdout a probe keeps for `stdout_contains`; the rest is read and dropped.
const STDOUT_CAP: usize = 1024 * 1024;
/// How much of stderr a probe keeps for the failure message.
const STDERR_CAP: usize = 16 * 1024;
/// How often the child is polled for exit.
const POLL: Duration = Duration::from_millis(10);

/// What a probe command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandCapture {
    /// Exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
    /// Whether hyops killed it at the deadline.
    pub timed_out: bool,
    /// Standard output (lossy UTF-8, first MiB).
    pub stdout: String,
    /// Standard error (lossy UTF-8, first 16 KiB).
    pub stderr: String,
}

/// Runs `argv` to completion or until `timeout`, capturing output.
///
/// The child gets stdin null, `cwd` as working directory and exactly `env` as its environment
/// (the profile's allowlist; nothing is inherited). It runs in its own process group, which is
/// killed with SIGKILL at the timeout and also after a normal exit, so a probe leaves no
/// background processes behind.
///
/// This is the only place probes spawn. It will switch to `hyops_process::run_capture` when that
/// crate lands, so process groups, signals and draining are implemented once.
pub fn spawn_probe_command(
    argv: &[String],
    cwd: &Path,
    env: &BTreeMap<String, OsString>,
    timeout: Duration,
) -> io::Result<CommandCapture> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty argv"))?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let group = i32::try_from(child.id())
        .map(Pid::from_raw)
        .map_err(|_| io::Error::other("child pid out of range"))?;
    let stdout = child.stdout.take().map(|pipe| drain(pipe, STDOUT_CAP));
    let stderr = child.stderr.take().map(|pipe| drain(pipe, STDERR_CAP));

    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            // ESRCH just means the group is already gone.
            let _ = killpg(group, Signal::SIGKILL);
            break child.wait()?;
        }
        thread::sleep(POLL);
    };
    // Background children of the probe would otherwise keep the pipes open and linger.
    let _ = killpg(group, Signal::SIGKILL);

    let collect = |handle: Option<thread::JoinHandle<Vec<u8>>>| {
        handle
            .and_then(|h| h.join().ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    Ok(CommandCapture {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

/// Reads a pipe to EOF on its own thread, keeping the first `cap` bytes.
fn drain(mut pipe: impl Read + Send + 'static, cap: usize) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    })
}

pub(super) fn expected(probe: &CommandProbe) -> String {
    let code = probe.expect.exit_code.unwrap_or(0);
    let mut text = format!("`{}` to exit {code}", probe.run.join(" "));
    if let Some(needle) = &probe.expect.stdout_contains {
        text.push_str(&format!(" with stdout containing {needle:?}"));
    }
    text
}

pub(super) fn check(probe: &CommandProbe, ctx: &ProbeContext, deadline: Instant) -> Check {
    if probe.run.is_empty() {
        return Check::Final("an empty `run` list".to_owned());
    }
    let timeout = remaining(deadline, Duration::from_millis(100));
    let capture = match spawn_probe_command(&probe.run, &ctx.work_dir, &ctx.command_env, timeout) {
        Ok(capture) => capture,
        Err(err) => return Check::Retry(format!("a failure to start `{}` ({err})", probe.run[0])),
    };
    if capture.timed_out {
        return Check::Retry(format!(
            "it still running after {}ms (killed)",
            timeout.as_millis()
        ));
    }
    let wanted = probe.expect.exit_code.unwrap_or(0);
    let mut seen = match (capture.exit_code, capture.signal) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "no exit status".to_owned(),
    };
    let stdout_ok = probe
        .expect
        .stdout_contains
        .as_ref()
        .is_none_or(|needle| capture.stdout.contains(needle.as_str()));
    if capture.exit_code == Some(wanted) && stdout_ok {
        return Check::Pass(seen);
    }
    if probe.expect.stdout_contains.is_some() {
        seen.push_str(&format!(
            " with stdout {:?}",
            excerpt(capture.stdout.trim_end(), 200)
        ));
    }
    let stderr = capture.stderr.trim_end();
    if !stderr.is_empty() {
        let tail: String = stderr
            .chars()
            .rev()
            .take(200)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        seen.push_str(&format!(" (stderr: {tail:?})"));
    }
    Check::Retry(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, OsString> {
        BTreeMap::from([("PATH".to_owned(), OsString::from("/usr/bin:/bin"))])
    }

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn captures_exit_code_and_output_with_a_cleared_environment() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = env();
        env.insert("ONLY_THIS".into(), "yes".into());
        let capture = spawn_probe_command(
            &argv(&[
                "sh",
                "-c",
                "echo out=$ONLY_THIS home=${HOME:-unset}; pwd; echo err >&2; exit 3",
            ]),
            dir.path(),
            &env,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(capture.exit_code, Some(3));
        assert!(!capture.timed_out);
        assert!(
            capture.stdout.starts_with("out=yes home=unset\n"),
            "{capture:?}"
        );
        let cwd = dir.path().canonicalize().unwrap();
        assert!(
            capture.stdout.contains(cwd.to_str().unwrap()),
            "{capture:?}"
        );
        assert_eq!(capture.stderr, "err\n");
    }

    #[test]
    fn stdin_is_null() {
        let dir = tempfile::tempdir().unwrap();
        let capture = spawn_probe_command(
            &argv(&["sh", "-c", "cat; echo done"]),
            dir.path(),
            &env(),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(capture.stdout, "done\n");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        // The background sleep holds stdout open; only a group kill lets the readers finish.
        let capture = spawn_probe_command(
            &argv(&["sh", "-c", "sleep 30 & sleep 30"]),
            dir.path(),
            &env(),
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(capture.timed_out);
        assert_eq!(capture.signal, Some(9));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_program_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = spawn_probe_command(
            &argv(&["definitely-not-a-program-hyops"]),
            dir.path(),
            &env(),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
