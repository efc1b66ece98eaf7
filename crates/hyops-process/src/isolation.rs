//! How a tool is separated from hyops: its own process group always, its own session when it must.
//!
//! Both make the tool the leader of a new process group, so one `killpg` reaches its whole tree,
//! and keep terminal signals (Ctrl-C) away from it: hyops stops it itself, gracefully. They differ
//! only when hyops has a controlling terminal. A tool in a background process group of that
//! session could still open `/dev/tty`, and a read from it would stop the tool (SIGTTIN) and hang
//! the attempt; in a new session there is no terminal to open, so `/dev/tty` fails at once (packer
//! opens it) and the tool falls back to non-interactive behaviour. Without a controlling terminal
//! (CI, cron, a service, a stack run in the background) the two are equivalent for the tool, and
//! the new process group is cheaper: std can spawn it with `posix_spawn` (no copy of hyops' page
//! tables by `fork`), which made a 1,000-member stack of no-op shell members ~22% faster
//! (bench/stack_dag.sh, 2026-11-29). A new session needs `setsid` in a `pre_exec` hook, so `fork`.

use std::os::unix::fs::OpenOptionsExt;
use std::sync::OnceLock;

use nix::fcntl::OFlag;

/// How a spawned process is separated from hyops' session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// [`Isolation::Session`] when hyops has a controlling terminal, else [`Isolation::Group`].
    #[default]
    Auto,
    /// A new session (`setsid`): no controlling terminal, `/dev/tty` cannot be opened.
    Session,
    /// A new process group in hyops' session (spawned with `posix_spawn`).
    Group,
}

impl Isolation {
    /// What [`Isolation::Auto`] means for this process; the others unchanged.
    pub fn resolve(self) -> Isolation {
        match self {
            Isolation::Auto if has_controlling_terminal() => Isolation::Session,
            Isolation::Auto => Isolation::Group,
            other => other,
        }
    }
}

/// Whether hyops has a controlling terminal (checked once: opening `/dev/tty` fails without one).
pub fn has_controlling_terminal() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        std::fs::OpenOptions::new()
            .read(true)
            // O_NOCTTY: looking must never make a terminal ours.
            .custom_flags(OFlag::O_NOCTTY.bits())
            .open("/dev/tty")
            .is_ok()
    })
}
