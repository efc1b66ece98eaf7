//! Crash recovery: attempts whose hyops process died (kill -9, power loss) are marked `lost` by
//! the next hyops command, their orphaned tool stopped, their evidence sealed as partial.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::error::RunError;
use crate::run::Runner;

impl Runner {
    /// Marks every unfinished attempt on this host whose hyops process is gone as `lost`, after
    /// stopping the tool it left behind. Runs at the start of every command that opens the ledger.
    pub async fn recover(&self) -> Result<usize, RunError> {
        // A tool whose supervisor died is still "alive" to the ledger's query; treat it as dead
        // here (we stop it below), so only the hyops process's liveness decides. The orphan test
        // applies to tools only: a live hyops may well lead its own group with a shell as parent.
        let orphans = self
            .ledger
            .running_attempts_with_dead_holders(&self.host, hyops_store::pid_is_alive, |pid| {
                hyops_store::pid_is_alive(pid) && !is_orphaned_group_leader(pid)
            })
            .await
            .map_err(RunError::store("look for attempts left by a crashed hyops"))?;
        let mut runs: Vec<String> = orphans.iter().map(|a| a.run_id.clone()).collect();
        runs.dedup();
        for run_id in &runs {
            self.mark_lost(run_id, "the hyops process running it died")
                .await?;
            if let Some(run) = self
                .ledger
                .get_run(run_id)
                .await
                .map_err(RunError::store("read a lost run"))?
            {
                let _ = self
                    .ledger
                    .release_lock(&run.target, &run.env, run_id)
                    .await;
            }
        }
        Ok(runs.len())
    }
}

/// Whether `pid` is a process group leader whose parent is not a live hyops (init or a subreaper
/// adopted it): the shape of a tool whose hyops supervisor died. hyops starts every tool as the
/// leader of a new process group (of a new session too when it has a terminal).
fn is_orphaned_group_leader(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Fields after the parenthesised command name: state ppid pgrp session ...
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (Some(ppid), Some(pgrp)) = (fields.get(1), fields.get(2)) else {
        return false;
    };
    let group_leader = pgrp.parse::<u32>().ok() == Some(pid);
    let parent_alive_hyops = ppid
        .parse::<u32>()
        .ok()
        .is_some_and(|p| p > 1 && is_hyops_process(p));
    group_leader && !parent_alive_hyops
}

fn is_hyops_process(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().starts_with("hyops"))
        .unwrap_or(false)
}

/// Stops the process group of an orphaned tool: SIGTERM, up to 5 s grace, SIGKILL. Only acts on
/// a pid that still looks like an orphaned hyops-started group leader (guards against reuse).
pub(crate) fn stop_orphan_group(pid: u32) {
    if !is_orphaned_group_leader(pid) {
        return;
    }
    let Ok(raw) = i32::try_from(pid) else { return };
    let group = Pid::from_raw(raw);
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if killpg(group, None).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(group, Signal::SIGKILL);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyops_store::{NewAttempt, NewRun};

    /// A live process that leads its own process group and session and whose parent exited, so
    /// init (or a subreaper) adopted it: what a hyops started by `setsid`, systemd or a container
    /// runtime looks like, and also what an orphaned tool looks like.
    fn adopted_group_leader() -> u32 {
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", "setsid sleep 30 >/dev/null 2>&1 & echo $!"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Records run `t/x` with attempt 1 `running`, owned by hyops process `runner_pid`.
    async fn running_attempt_owned_by(runner: &Runner, runner_pid: u32) -> String {
        let run = runner
            .ledger
            .create_run(&NewRun {
                target: "t/x".into(),
                env: "dev".into(),
                fingerprint: format!("sha256:{}", "ab".repeat(32)),
                stage: "run".into(),
                request_json: "{}".into(),
                created_at_ms: 1,
            })
            .await
            .unwrap();
        runner
            .ledger
            .start_attempt(&NewAttempt {
                run_id: run.run_id.clone(),
                attempt: 1,
                host: runner.host.clone(),
                runner_pid,
                evidence_path: None,
                at_ms: 2,
            })
            .await
            .unwrap();
        run.run_id
    }

    #[tokio::test]
    async fn a_live_runner_leading_its_own_group_is_not_taken_for_an_orphaned_tool() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Runner::open(dir.path()).await.unwrap();
        let live_runner = adopted_group_leader();
        running_attempt_owned_by(&runner, live_runner).await;
        // Its runner is alive (between tool steps, no tool pid recorded): nothing is lost.
        assert_eq!(runner.recover().await.unwrap(), 0);

        let pid = nix::unistd::Pid::from_raw(i32::try_from(live_runner).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while hyops_store::pid_is_alive(live_runner) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(runner.recover().await.unwrap(), 1, "now it is gone");
    }

    struct Quiet;
    impl crate::StackProgress for Quiet {
        fn member_progress(&self, _: &str) -> std::sync::Arc<dyn crate::Progress> {
            std::sync::Arc::new(crate::NoProgress)
        }
        fn member_started(&self, _: &str, _: &str) {}
        fn member_finished(&self, _: &crate::MemberReport) {}
    }

    #[tokio::test]
    async fn a_stack_recovers_crashed_attempts_once_before_its_members() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Runner::open(dir.path()).await.unwrap();
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let dead = gone.id();
        gone.wait().unwrap();
        let run_id = running_attempt_owned_by(&runner, dead).await;
        let plan = crate::StackPlan {
            stack: "s".into(),
            env: "dev".into(),
            members: Vec::new(),
        };
        let options = crate::StackOptions {
            run: crate::RunOptions::new(hyops_drivers::Stage::Apply, dir.path()),
            concurrency: 1,
            keep_going: false,
            affected: false,
        };
        runner
            .run_stack(&plan, &options, std::sync::Arc::new(Quiet))
            .await
            .unwrap();
        let attempts = runner.ledger.attempts(&run_id).await.unwrap();
        assert_eq!(attempts[0].status, hyops_contract::AttemptStatus::Lost);
    }
}
