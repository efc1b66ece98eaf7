//! Spawns one process in its own process group (and session, see [`crate::Isolation`]), drains its
//! output, enforces timeout and cancellation (SIGTERM, grace, SIGKILL to the whole group) and
//! reports the outcome.
//!
//! Group policy. Every process hyops starts is the leader of a new process group (in a new session
//! when hyops has a terminal), so one `killpg` reaches the whole tree that did not deliberately
//! leave it. When the leader exits on its own, processes still in its group are stopped too
//! (SIGTERM, grace, SIGKILL) and the outcome says `stragglers: true`. nextest only reports such
//! leaks (its "leak timeout"), turborepo kills the group when it stops a task; we kill, because an
//! attempt's processes must not outlive the attempt: its work dir is removed, its lock released and
//! the next attempt may start. A process that left the group on purpose (`setsid`, a daemon) is not
//! ours to kill; if it still holds our output pipes we stop reading after `drain_timeout` and mark
//! the output incomplete instead of hanging.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use process_wrap::tokio::{CommandWrap, ProcessSession};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::error::ProcessError;
use crate::isolation::Isolation;
use crate::outcome::{ExitStatus, ProcessOutcome, StopReason, StopSignal};
use crate::output::{LineSink, LineSplitter, OutputLine, OutputStream, StderrTail, StreamFilter};
use crate::spec::ProcessSpec;

/// Size of one read from a pipe.
const READ_CHUNK: usize = 64 * 1024;
/// Batches of lines in flight between the readers and the sink; bounds memory while a sink is slow.
const CHANNEL_BATCHES: usize = 8;
/// How often we look whether any process is left in the group after the leader exited.
const GROUP_POLL: Duration = Duration::from_millis(20);

/// Everything a run needs besides the spec: where lines go, byte filters, hooks and cancellation.
pub struct ProcessIo<'a> {
    sink: &'a mut dyn LineSink,
    stdout_filter: Option<Box<dyn StreamFilter>>,
    stderr_filter: Option<Box<dyn StreamFilter>>,
    on_spawn: Option<Box<dyn FnOnce(u32) + Send + 'a>>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for ProcessIo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessIo")
            .field("stdout_filter", &self.stdout_filter.is_some())
            .field("stderr_filter", &self.stderr_filter.is_some())
            .field("on_spawn", &self.on_spawn.is_some())
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl<'a> ProcessIo<'a> {
    /// Lines go to `sink`; no filters, no hook, never cancelled.
    pub fn new(sink: &'a mut dyn LineSink) -> Self {
        Self {
            sink,
            stdout_filter: None,
            stderr_filter: None,
            on_spawn: None,
            cancel: CancellationToken::new(),
        }
    }

    /// Filters raw stdout bytes before they are split into lines.
    pub fn stdout_filter(mut self, filter: Box<dyn StreamFilter>) -> Self {
        self.stdout_filter = Some(filter);
        self
    }

    /// Filters raw stderr bytes before they are split into lines or kept in the tail.
    pub fn stderr_filter(mut self, filter: Box<dyn StreamFilter>) -> Self {
        self.stderr_filter = Some(filter);
        self
    }

    /// Called with the pid right after spawn, before any output is read.
    pub fn on_spawn(mut self, hook: impl FnOnce(u32) + Send + 'a) -> Self {
        self.on_spawn = Some(Box::new(hook));
        self
    }

    /// Triggering `token` stops the group like a timeout does; the outcome says `cancelled`.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }
}

/// Runs `spec` to completion: see the module docs for how the process group is handled.
///
/// Errors only when the process could not be started or waited for; a non-zero exit, a signal, a
/// timeout or a cancellation are all normal outcomes.
pub async fn run(spec: &ProcessSpec, io: ProcessIo<'_>) -> Result<ProcessOutcome, ProcessError> {
    let ProcessIo {
        sink,
        stdout_filter,
        stderr_filter,
        on_spawn,
        cancel,
    } = io;
    if !spec.cwd.is_dir() {
        return Err(ProcessError::CwdMissing {
            cwd: spec.cwd.clone(),
        });
    }
    let program = resolve_program(spec)?;

    let mut command = tokio::process::Command::new(&program);
    command
        .arg0(&spec.program)
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(&spec.env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let session = spec.isolation.resolve() == Isolation::Session;
    if !session {
        // No pre_exec hook: std spawns with posix_spawn(POSIX_SPAWN_SETPGROUP).
        command.process_group(0);
    }
    let mut wrap = CommandWrap::from(command);
    if session {
        wrap.wrap(ProcessSession);
    }
    let mut child = spawn_retrying_busy(&mut wrap)
        .await
        .map_err(|source| spawn_error(spec, &program, source))?;
    let started_at = SystemTime::now();
    let pid = child.id().ok_or_else(|| ProcessError::Spawn {
        program: program.clone(),
        source: std::io::Error::other("child exited before its pid could be read"),
    })?;
    let pgid = Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
    // If this future is dropped mid-run (the caller's task is aborted) the group must not live on.
    let mut guard = GroupGuard { pgid, armed: true };
    if let Some(hook) = on_spawn {
        hook(pid);
    }

    let (tx, mut rx) = mpsc::channel::<Vec<OutputLine>>(CHANNEL_BATCHES);
    let mut readers: Vec<JoinHandle<()>> = Vec::with_capacity(2);
    if let Some(out) = child.stdout().take() {
        readers.push(tokio::spawn(read_stream(
            out,
            OutputStream::Stdout,
            stdout_filter,
            tx.clone(),
        )));
    }
    if let Some(err) = child.stderr().take() {
        readers.push(tokio::spawn(read_stream(
            err,
            OutputStream::Stderr,
            stderr_filter,
            tx.clone(),
        )));
    }
    drop(tx);

    let mut tail = StderrTail::default();
    let mut leader: Option<ExitStatus> = None;
    let mut streams_open = true;
    let mut stop = Stopper::new(pgid, spec.kill_grace);
    let mut stop_reason: Option<StopReason> = None;
    let mut stragglers = false;
    // Set once no process is left in the group (or SIGKILL was sent to it).
    let mut group_gone_at: Option<Instant> = None;
    let mut output_incomplete = false;
    let deadline = spec.timeout.map(|t| Instant::now() + t);
    let far_future = Instant::now() + Duration::from_secs(86_400 * 365);

    while leader.is_none() || streams_open {
        let running = leader.is_none();
        let may_stop = running && stop_reason.is_none();
        let kill_at = stop.kill_at();
        let drain_at = group_gone_at.map(|t| t + spec.drain_timeout);
        tokio::select! {
            batch = rx.recv(), if streams_open => match batch {
                Some(lines) => {
                    for line in lines {
                        if line.stream == OutputStream::Stderr {
                            tail.push(&line);
                        }
                        sink.line(line);
                    }
                }
                None => streams_open = false,
            },
            status = child.wait(), if running => {
                let status = status.map_err(|source| ProcessError::Wait { pid, source })?;
                leader = Some(ExitStatus::from_std(status));
                if group_alive(pgid) {
                    if stop_reason.is_none() {
                        stragglers = true;
                        stop_reason = Some(StopReason::Stragglers);
                        stop.term();
                    }
                } else {
                    group_gone_at = Some(Instant::now());
                }
            },
            () = sleep_until(deadline.unwrap_or(far_future)), if may_stop && deadline.is_some() => {
                stop_reason = Some(StopReason::Timeout);
                stop.term();
            },
            () = cancel.cancelled(), if may_stop => {
                stop_reason = Some(StopReason::Cancelled);
                stop.term();
            },
            () = sleep_until(kill_at.unwrap_or(far_future)), if kill_at.is_some() => {
                stop.kill();
                if leader.is_some() && group_gone_at.is_none() {
                    group_gone_at = Some(Instant::now());
                }
            },
            () = tokio::time::sleep(GROUP_POLL), if !running && group_gone_at.is_none() => {
                if !group_alive(pgid) {
                    group_gone_at = Some(Instant::now());
                }
            },
            () = sleep_until(drain_at.unwrap_or(far_future)), if streams_open && drain_at.is_some() => {
                output_incomplete = true;
                for reader in &readers {
                    reader.abort();
                }
                break;
            },
        }
        if group_gone_at.is_some() {
            stop.group_gone();
        }
    }
    guard.armed = false;
    for reader in readers {
        // A reader either finished (channel closed) or was aborted above; neither is an error.
        let _ = reader.await;
    }

    Ok(ProcessOutcome {
        status: leader.unwrap_or(ExitStatus::Exited(-1)),
        timed_out: stop_reason == Some(StopReason::Timeout),
        cancelled: stop_reason == Some(StopReason::Cancelled),
        stragglers,
        stop: stop.strongest(),
        output_incomplete,
        pid,
        started_at,
        finished_at: SystemTime::now(),
        stderr_tail: tail.into_bytes(),
    })
}

/// Sends SIGTERM, then SIGKILL after the grace period unless the group is gone by then.
struct Stopper {
    pgid: Pid,
    grace: Duration,
    kill_at: Option<Instant>,
    strongest: Option<StopSignal>,
}

impl Stopper {
    fn new(pgid: Pid, grace: Duration) -> Self {
        Self {
            pgid,
            grace,
            kill_at: None,
            strongest: None,
        }
    }

    fn term(&mut self) {
        if self.strongest.is_none() {
            signal_group(self.pgid, Signal::SIGTERM);
            self.strongest = Some(StopSignal::Term);
            self.kill_at = Some(Instant::now() + self.grace);
        }
    }

    fn kill(&mut self) {
        signal_group(self.pgid, Signal::SIGKILL);
        self.strongest = Some(StopSignal::Kill);
        self.kill_at = None;
    }

    /// Nothing is left to kill: cancel a pending SIGKILL.
    fn group_gone(&mut self) {
        self.kill_at = None;
    }

    fn kill_at(&self) -> Option<Instant> {
        self.kill_at
    }

    fn strongest(&self) -> Option<StopSignal> {
        self.strongest
    }
}

/// SIGKILLs the group if the supervising future is dropped before the run finished.
struct GroupGuard {
    pgid: Pid,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, Signal::SIGKILL);
        }
    }
}

fn signal_group(pgid: Pid, signal: Signal) {
    // ESRCH (nobody left) is the good case; EPERM (a member changed uid) cannot be helped here.
    let _ = killpg(pgid, signal);
}

/// Whether any process (zombies included) is still in the group.
fn group_alive(pgid: Pid) -> bool {
    !matches!(killpg(pgid, None), Err(Errno::ESRCH))
}

async fn read_stream<R: AsyncRead + Unpin>(
    mut reader: R,
    stream: OutputStream,
    mut filter: Option<Box<dyn StreamFilter>>,
    tx: mpsc::Sender<Vec<OutputLine>>,
) {
    let mut splitter = LineSplitter::new(stream);
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = match reader.read(&mut buf).await {
            // A read error on a pipe means the other end is unusable; treat it as end of stream.
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut batch = Vec::new();
        match filter.as_mut() {
            Some(f) => splitter.push(&f.push(&buf[..n]), &mut |l| batch.push(l)),
            None => splitter.push(&buf[..n], &mut |l| batch.push(l)),
        }
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            return;
        }
    }
    let mut batch = Vec::new();
    if let Some(f) = filter.as_mut() {
        splitter.push(&f.finish(), &mut |l| batch.push(l));
    }
    splitter.finish(&mut |l| batch.push(l));
    if !batch.is_empty() {
        let _ = tx.send(batch).await;
    }
}

/// Finds the program the way a shell would, but only on the child's own `PATH`.
fn resolve_program(spec: &ProcessSpec) -> Result<PathBuf, ProcessError> {
    let given = Path::new(&spec.program);
    if given.is_absolute() {
        return Ok(given.to_path_buf());
    }
    if given.components().count() > 1 {
        return Ok(spec.cwd.join(given));
    }
    let path_var = spec.env.get("PATH");
    which::which_in(&spec.program, path_var, &spec.cwd).map_err(|_| ProcessError::ProgramNotFound {
        program: spec.program.clone(),
        path_var: path_var.cloned(),
    })
}

/// Spawns, retrying briefly while the program is "busy" (ETXTBSY). A script the runner has just
/// copied into the work dir can be: another thread of hyops may be between spawning a process and
/// its exec, holding a copy of the descriptor that wrote the script (`O_CLOEXEC` closes it only at
/// exec). The window is microseconds; a stack run of 4,000 members hit it once. Go's os/exec has
/// the same race (golang/go#22315).
async fn spawn_retrying_busy(
    wrap: &mut CommandWrap,
) -> std::io::Result<Box<dyn process_wrap::tokio::ChildWrapper>> {
    let mut delay = Duration::from_millis(1);
    for _ in 0..8 {
        match wrap.spawn() {
            Err(e) if e.raw_os_error() == Some(Errno::ETXTBSY as i32) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    wrap.spawn()
}

fn spawn_error(spec: &ProcessSpec, program: &Path, source: std::io::Error) -> ProcessError {
    match source.kind() {
        std::io::ErrorKind::NotFound => ProcessError::ProgramNotFound {
            program: spec.program.clone(),
            path_var: spec.env.get("PATH").cloned(),
        },
        std::io::ErrorKind::PermissionDenied => ProcessError::PermissionDenied {
            program: program.to_path_buf(),
            source,
        },
        _ => ProcessError::Spawn {
            program: program.to_path_buf(),
            source,
        },
    }
}
