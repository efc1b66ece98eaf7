//! Per-(target, env) locks held by hyops processes, stale-lock takeover and crash recovery.
//!
//! A lock row names the hyops process (pid + host) running a run. Acquiring is one atomic
//! `INSERT … ON CONFLICT DO NOTHING`; taking over a stale lock is a compare-and-swap UPDATE that
//! only succeeds if the row still names the dead holder, so two processes racing to take over the
//! same stale lock cannot both win.

use hyops_contract::{AttemptRecord, AttemptStatus};
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::backend::{RowExt, with_backend};
use crate::ledger::to_u32;
use crate::ledger_attempts::{attempt_select, map_attempt};
use crate::{Holder, Ledger, LockError, LockInfo, StoreError};

/// Deletes the (target $1, env $2) lock if run $3 holds it.
pub(crate) const DELETE_LOCK: &str =
    "DELETE FROM locks WHERE target = $1 AND env = $2 AND run_id = $3";
/// Inserts the (target $1, env $2) lock for run $3 (pid $4 on host $5, at $6) unless one exists.
pub(crate) const INSERT_LOCK: &str = "INSERT INTO locks (target, env, run_id, pid, host, acquired_at_ms, heartbeat_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (target, env) DO NOTHING";

/// How often acquisition re-reads when the row vanished between the insert and the read.
const LOCK_RACE_RETRIES: usize = 5;

impl Ledger {
    /// Takes the (target, env) lock for `holder`, or reports who holds it. Re-acquiring a lock the
    /// same holder already has succeeds.
    pub async fn acquire_lock(
        &self,
        target: &str,
        env: &str,
        holder: &Holder,
        at_ms: i64,
    ) -> Result<(), LockError> {
        for _ in 0..LOCK_RACE_RETRIES {
            if self.try_insert_lock(target, env, holder, at_ms).await? {
                return Ok(());
            }
            match self.lock_holder(target, env).await? {
                Some(info) if info.holder == *holder => return Ok(()),
                Some(info) => return Err(held(target, env, info)),
                // Released between our insert and our read: try again.
                None => continue,
            }
        }
        match self.lock_holder(target, env).await? {
            Some(info) => Err(held(target, env, info)),
            None => Err(LockError::Store(StoreError::Corrupt {
                what: format!("lock of {target}@{env}"),
                value: "released and re-taken repeatedly while acquiring".to_owned(),
            })),
        }
    }

    async fn try_insert_lock(
        &self,
        target: &str,
        env: &str,
        holder: &Holder,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let action = || format!("acquire the lock of {target}@{env}");
        with_backend!(&self.backend, |pool, kind, begin| {
            let inserted = sqlx::query(INSERT_LOCK)
                .bind(target)
                .bind(env)
                .bind(&holder.run_id)
                .bind(i64::from(holder.pid))
                .bind(&holder.host)
                .bind(at_ms)
                .execute(pool)
                .await
                .map_err(StoreError::query(action()))?;
            Ok(inserted.rows_affected() == 1)
        })
    }

    /// Who holds the (target, env) lock, if anyone.
    pub async fn lock_holder(
        &self,
        target: &str,
        env: &str,
    ) -> Result<Option<LockInfo>, StoreError> {
        let action = || format!("read the lock of {target}@{env}");
        with_backend!(&self.backend, |pool, kind, begin| {
            let row = sqlx::query(
                "SELECT run_id, pid, host, acquired_at_ms, heartbeat_at_ms FROM locks \
                 WHERE target = $1 AND env = $2",
            )
            .bind(target)
            .bind(env)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::query(action()))?;
            row.as_ref()
                .map(|row| {
                    Ok(LockInfo {
                        holder: Holder {
                            run_id: row.string("run_id")?,
                            pid: to_u32(row.i64("pid")?, "locks.pid")?,
                            host: row.string("host")?,
                        },
                        acquired_at_ms: row.i64("acquired_at_ms")?,
                        heartbeat_at_ms: row.i64("heartbeat_at_ms")?,
                    })
                })
                .transpose()
        })
    }

    /// Releases the lock if `run_id` holds it; returns whether it did.
    pub async fn release_lock(
        &self,
        target: &str,
        env: &str,
        run_id: &str,
    ) -> Result<bool, StoreError> {
        let action = || format!("release the lock of {target}@{env}");
        with_backend!(&self.backend, |pool, kind, begin| {
            let deleted = sqlx::query(DELETE_LOCK)
                .bind(target)
                .bind(env)
                .bind(run_id)
                .execute(pool)
                .await
                .map_err(StoreError::query(action()))?;
            Ok(deleted.rows_affected() == 1)
        })
    }

    /// Refreshes the heartbeat of a lock `run_id` holds; returns whether it still holds it.
    pub async fn heartbeat_lock(
        &self,
        target: &str,
        env: &str,
        run_id: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let action = || format!("refresh the lock of {target}@{env}");
        with_backend!(&self.backend, |pool, kind, begin| {
            let updated = sqlx::query(
                "UPDATE locks SET heartbeat_at_ms = $4 WHERE target = $1 AND env = $2 AND run_id = $3",
            )
            .bind(target)
            .bind(env)
            .bind(run_id)
            .bind(at_ms)
            .execute(pool)
            .await
            .map_err(StoreError::query(action()))?;
            Ok(updated.rows_affected() == 1)
        })
    }

    /// Takes the lock for `new_holder`: directly if free, or from a holder `is_dead` declares
    /// dead, returning that previous holder (the caller then appends `lost` to its running
    /// attempt). A live holder → [`LockError::Held`]. `is_dead` must answer `false` for holders on
    /// other hosts it cannot check (see [`local_holder_is_dead`]).
    pub async fn take_over_stale_lock(
        &self,
        target: &str,
        env: &str,
        new_holder: &Holder,
        at_ms: i64,
        is_dead: impl Fn(&Holder) -> bool,
    ) -> Result<Option<Holder>, LockError> {
        let action = || format!("take over the lock of {target}@{env}");
        for _ in 0..LOCK_RACE_RETRIES {
            if self.try_insert_lock(target, env, new_holder, at_ms).await? {
                return Ok(None);
            }
            let Some(info) = self.lock_holder(target, env).await? else {
                continue;
            };
            if info.holder == *new_holder {
                return Ok(None);
            }
            if !is_dead(&info.holder) {
                return Err(held(target, env, info));
            }
            let old = &info.holder;
            let swapped = with_backend!(&self.backend, |pool, kind, begin| {
                sqlx::query(
                    "UPDATE locks SET run_id = $6, pid = $7, host = $8, acquired_at_ms = $9, \
                     heartbeat_at_ms = $9 \
                     WHERE target = $1 AND env = $2 AND run_id = $3 AND pid = $4 AND host = $5",
                )
                .bind(target)
                .bind(env)
                .bind(&old.run_id)
                .bind(i64::from(old.pid))
                .bind(&old.host)
                .bind(&new_holder.run_id)
                .bind(i64::from(new_holder.pid))
                .bind(&new_holder.host)
                .bind(at_ms)
                .execute(pool)
                .await
                .map_err(StoreError::query(action()))?
                .rows_affected()
                    == 1
            });
            if swapped {
                tracing::warn!(
                    target_name = target,
                    env,
                    dead_run = %old.run_id,
                    dead_pid = old.pid,
                    "took over a stale lock from a dead holder"
                );
                return Ok(Some(info.holder));
            }
        }
        match self.lock_holder(target, env).await? {
            Some(info) => Err(held(target, env, info)),
            None => Err(LockError::Store(StoreError::Corrupt {
                what: format!("lock of {target}@{env}"),
                value: "changed hands repeatedly during takeover".to_owned(),
            })),
        }
    }

    /// Crash recovery: attempts on `host` whose latest event is `queued` or `running` but whose
    /// owner is gone — the hyops process that started them (`runner_pid`) is not alive by
    /// `is_runner_alive` and neither is the tool (`pid`, if recorded) by `is_tool_alive`. An
    /// attempt whose tool still runs is left alone: it may still be changing infrastructure. The
    /// caller appends `lost` to each returned attempt.
    pub async fn running_attempts_with_dead_holders(
        &self,
        host: &str,
        is_runner_alive: impl Fn(u32) -> bool,
        is_tool_alive: impl Fn(u32) -> bool,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        let action = || format!("find orphaned attempts on {host}");
        let candidates: Vec<(AttemptRecord, Option<u32>)> =
            with_backend!(&self.backend, |pool, kind, begin| {
                let rows = sqlx::query(concat!(
                    attempt_select!(),
                    " WHERE a.host = $1 AND e.status IN ($2, $3) ORDER BY a.run_id, a.attempt"
                ))
                .bind(host)
                .bind(AttemptStatus::Queued.as_str())
                .bind(AttemptStatus::Running.as_str())
                .fetch_all(pool)
                .await
                .map_err(StoreError::query(action()))?;
                rows.iter()
                    .map(|row| {
                        let runner = row
                            .opt_i64("runner_pid")?
                            .map(|p| to_u32(p, "attempts.runner_pid"))
                            .transpose()?;
                        Ok((map_attempt(row)?, runner))
                    })
                    .collect::<Result<_, StoreError>>()?
            });
        Ok(candidates
            .into_iter()
            .filter(|(attempt, runner)| {
                let runner_alive = runner.is_some_and(&is_runner_alive);
                let tool_alive = attempt.pid.is_some_and(&is_tool_alive);
                !runner_alive && !tool_alive
            })
            .map(|(attempt, _)| attempt)
            .collect())
    }
}

fn held(target: &str, env: &str, info: LockInfo) -> LockError {
    LockError::Held {
        target: target.to_owned(),
        env: env.to_owned(),
        holder: info.holder,
        acquired_at_ms: info.acquired_at_ms,
    }
}

/// Whether a process with this pid exists on this machine (`kill(pid, 0)`). A process owned by
/// another user counts as alive (EPERM). Pid 0 and pids beyond `i32::MAX` name no single process
/// and are reported dead. Pids are reused by the kernel, so "alive" can be a false positive after
/// a long time; it is never a false negative.
pub fn pid_is_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw == 0 {
        return false;
    }
    match kill(Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        // EPERM: exists but is not ours. Anything else: unsure, so do not declare it dead.
        Err(_) => true,
    }
}

/// An `is_dead` for [`Ledger::take_over_stale_lock`]: a holder is dead only if it ran on
/// `local_host` and its pid is gone. Holders on other hosts are never declared dead from here.
pub fn local_holder_is_dead(local_host: &str) -> impl Fn(&Holder) -> bool + '_ {
    move |holder| holder.host == local_host && !pid_is_alive(holder.pid)
}
