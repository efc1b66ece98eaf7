//! Attempts and their append-only status events.
//!
//! An attempt's status is its event with the highest id. Starting an attempt inserts the attempt
//! row and its `running` event in one transaction, before the driver is spawned (steno's "log
//! first"); the tool's pid is filled in right after the spawn by [`Ledger::set_attempt_pid`], the
//! only UPDATE in this file, on a write-once column of `attempts` (never on events).

use hyops_contract::{AttemptRecord, AttemptStatus};

use crate::backend::{RowExt, with_backend};
use crate::ledger::{parse_status, to_i64, to_u32};
use crate::ledger_locks::DELETE_LOCK;
use crate::ledger_outputs::{INSERT_ARTIFACT, INSERT_OUTPUTS};
use crate::write_batch::{Batch, WriteSession, params};
use crate::{
    AttemptEvent, AttemptEventRecord, FinishWith, Ledger, LockKey, NewAttempt, StoreError,
};

/// Attempt columns plus the fields of its latest event.
macro_rules! attempt_select {
    () => {
        "SELECT a.run_id, a.attempt, a.created_at_ms, a.host, a.pid, a.runner_pid, a.evidence_path, \
         e.status, e.at_ms, e.exit_code, e.error_code, e.message, e.retryable \
         FROM attempts a JOIN attempt_events e ON e.id = ( \
           SELECT MAX(e2.id) FROM attempt_events e2 WHERE e2.run_id = a.run_id AND e2.attempt = a.attempt)"
    };
}
pub(crate) use attempt_select;

/// `WHERE` lock (target `$1`, env `$2`) is held by run `$3`, or no lock is named (`$1` NULL).
macro_rules! if_lock_held {
    () => {
        " WHERE $1 IS NULL OR EXISTS (SELECT 1 FROM locks WHERE target = $1 AND env = $2 AND run_id = $3)"
    };
}

/// Pushes attempt `new` as `running` (its row and its first event) onto `batch`; with
/// `only_if_locked`, only when that lock is held by the attempt's run.
pub(crate) fn push_running_attempt(
    batch: &mut Batch,
    new: &NewAttempt,
    only_if_locked: Option<LockKey<'_>>,
) {
    let target = only_if_locked.map(|lock| lock.target.to_owned());
    let env = only_if_locked.map(|lock| lock.env.to_owned());
    batch
        .push(
            concat!(
                "INSERT INTO attempts (run_id, attempt, created_at_ms, host, runner_pid, evidence_path) \
                 SELECT $3, $4, $5, $6, $7, $8",
                if_lock_held!()
            ),
            params![
                &target,
                &env,
                &new.run_id,
                new.attempt,
                new.at_ms,
                &new.host,
                new.runner_pid,
                &new.evidence_path
            ],
        )
        .push(
            concat!(
                "INSERT INTO attempt_events (run_id, attempt, status, at_ms) SELECT $3, $4, $5, $6",
                if_lock_held!()
            ),
            params![
                &target,
                &env,
                &new.run_id,
                new.attempt,
                AttemptStatus::Running.as_str(),
                new.at_ms
            ],
        );
}

pub(crate) const INSERT_EVENT: &str = "INSERT INTO attempt_events \
     (run_id, attempt, status, at_ms, exit_code, error_code, message, retryable, detail_json) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

/// An attempt and the status of its latest event (`$1` run id, `$2` attempt).
const ATTEMPT_WITH_LATEST_STATUS: &str = "SELECT a.attempt, (SELECT e.status FROM attempt_events e \
       WHERE e.run_id = a.run_id AND e.attempt = a.attempt ORDER BY e.id DESC LIMIT 1) AS latest \
     FROM attempts a WHERE a.run_id = $1 AND a.attempt = $2";

/// A run (`$1`), its last attempt and that attempt's latest status.
const LAST_ATTEMPT_OF_RUN: &str = "SELECT r.run_id, \
       (SELECT MAX(a.attempt) FROM attempts a WHERE a.run_id = r.run_id) AS last_attempt, \
       (SELECT e.status FROM attempt_events e WHERE e.run_id = r.run_id AND e.attempt = \
         (SELECT MAX(a.attempt) FROM attempts a WHERE a.run_id = r.run_id) \
        ORDER BY e.id DESC LIMIT 1) AS last_status \
     FROM runs r WHERE r.run_id = $1";

impl Ledger {
    /// Records a new attempt as `running` (call before spawning the driver). The attempt number
    /// must be one more than the run's last attempt, and that attempt must have ended.
    pub async fn start_attempt(&self, new: &NewAttempt) -> Result<AttemptRecord, StoreError> {
        let run_id = new.run_id.as_str();
        let action = || format!("start attempt {} of run `{run_id}`", new.attempt);
        let out_of_order = |reason: String| StoreError::AttemptOutOfOrder {
            run_id: run_id.to_owned(),
            attempt: new.attempt,
            reason,
        };
        let mut session = WriteSession::begin(&self.backend, false)
            .await
            .map_err(StoreError::query(action()))?;
        // The run row is the serialisation point: two starters of the same run queue here.
        let found = session
            .read_for_update(LAST_ATTEMPT_OF_RUN, params![run_id])
            .await
            .map_err(StoreError::query(action()))?;
        let refusal = match found {
            None => Some(StoreError::UnknownRun {
                run_id: run_id.to_owned(),
            }),
            Some(row) => {
                let last = row.opt_i64("last_attempt")?;
                let expected = last.unwrap_or(0) + 1;
                if i64::from(new.attempt) != expected {
                    Some(out_of_order(format!("the next attempt is {expected}")))
                } else {
                    match (last, row.opt_string("last_status")?) {
                        (Some(last), Some(status)) if !parse_status(&status)?.is_terminal() => {
                            Some(out_of_order(format!("attempt {last} is still {status}")))
                        }
                        _ => None,
                    }
                }
            }
        };
        if let Some(refusal) = refusal {
            return Err(session.refuse(refusal, StoreError::query(action())).await);
        }
        let mut insert = Batch::new();
        push_running_attempt(&mut insert, new, None);
        session
            .commit(insert)
            .await
            .map_err(StoreError::query(action()))?;
        Ok(AttemptRecord {
            run_id: run_id.to_owned(),
            attempt: new.attempt,
            status: AttemptStatus::Running,
            created_at_ms: new.at_ms,
            updated_at_ms: new.at_ms,
            pid: None,
            host: Some(new.host.clone()),
            exit_code: None,
            error_code: None,
            message: None,
            retryable: None,
            evidence_path: new.evidence_path.clone(),
        })
    }

    /// Records the driver's pid once it is spawned. Write-once: recording the same pid again is a
    /// no-op, a different pid is refused.
    ///
    /// On SQLite this one commit is not fsynced: a pid only matters while the machine that runs
    /// the tool stays up (a crashed hyops leaves it in the page cache, where the next command
    /// reads it), and the next synced commit makes it durable anyway (the WAL is synced as a
    /// whole). A stack's members queue their ledger writes behind SQLite's single connection,
    /// so one fsync less per member is one less wait for all of them.
    pub async fn set_attempt_pid(
        &self,
        run_id: &str,
        attempt: u32,
        pid: u32,
    ) -> Result<(), StoreError> {
        let action = || format!("record the pid of attempt {attempt} of run `{run_id}`");
        let session = WriteSession::autocommit(&self.backend, true)
            .await
            .map_err(StoreError::query(action()))?;
        let mut update = Batch::new();
        update.push(UPDATE_PID, params![run_id, attempt, pid]);
        let updated = session
            .commit(update)
            .await
            .map_err(StoreError::query(action()))?
            .len();
        if updated == 1 {
            return Ok(());
        }
        let recorded: Option<Option<i64>> = with_backend!(&self.backend, |pool, kind, begin| {
            sqlx::query_scalar("SELECT pid FROM attempts WHERE run_id = $1 AND attempt = $2")
                .bind(run_id)
                .bind(i64::from(attempt))
                .fetch_optional(pool)
                .await
                .map_err(StoreError::query(action()))?
        });
        match recorded {
            None => Err(StoreError::UnknownAttempt {
                run_id: run_id.to_owned(),
                attempt,
            }),
            Some(Some(stored)) if stored == i64::from(pid) => Ok(()),
            Some(stored) => Err(StoreError::PidAlreadyRecorded {
                run_id: run_id.to_owned(),
                attempt,
                recorded: stored.and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
                pid,
            }),
        }
    }

    /// Appends a status event. Refused once the attempt has a terminal status: an attempt ends
    /// exactly once, and a retry is a new attempt.
    pub async fn append_event(
        &self,
        run_id: &str,
        attempt: u32,
        event: &AttemptEvent,
    ) -> Result<AttemptEventRecord, StoreError> {
        self.finish_attempt(run_id, attempt, event, FinishWith::default())
            .await
    }

    /// [`Ledger::append_event`], recording `with` in the same transaction: a passed attempt and
    /// its published outputs become visible together, and the run's last attempt releases the
    /// run lock with its verdict. One commit, not three.
    pub async fn finish_attempt(
        &self,
        run_id: &str,
        attempt: u32,
        event: &AttemptEvent,
        with: FinishWith<'_>,
    ) -> Result<AttemptEventRecord, StoreError> {
        let action = || {
            format!(
                "record `{}` for attempt {attempt} of run `{run_id}`",
                event.status
            )
        };
        let detail_json = event
            .detail
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|source| StoreError::Json {
                what: "event detail".to_owned(),
                source,
            })?;
        let mut session = WriteSession::begin(&self.backend, with.defer_sync)
            .await
            .map_err(StoreError::query(action()))?;
        // The attempt row is the serialisation point; its latest status comes in the same query.
        let found = session
            .read_for_update(ATTEMPT_WITH_LATEST_STATUS, params![run_id, attempt])
            .await
            .map_err(StoreError::query(action()))?;
        let refusal = match found {
            None => Some(StoreError::UnknownAttempt {
                run_id: run_id.to_owned(),
                attempt,
            }),
            Some(row) => match row.opt_string("latest")?.as_deref().map(parse_status) {
                Some(latest) => Some(latest?)
                    .filter(|latest| latest.is_terminal())
                    .map(|latest| StoreError::AttemptEnded {
                        run_id: run_id.to_owned(),
                        attempt,
                        status: latest,
                        new_status: event.status,
                    }),
                None => None,
            },
        };
        if let Some(refusal) = refusal {
            return Err(session.refuse(refusal, StoreError::query(action())).await);
        }
        let mut writes = Batch::new();
        writes.push(
            INSERT_EVENT,
            params![
                run_id,
                attempt,
                event.status.as_str(),
                event.at_ms,
                event.exit_code.map(i64::from),
                &event.error_code,
                &event.message,
                event.retryable,
                &detail_json
            ],
        );
        // The outputs artifact is registered with the others, at the final event's time.
        let outputs_artifact = with.outputs.as_ref().map(|out| out.artifact);
        for artifact in with.artifacts.iter().chain(outputs_artifact) {
            writes.push(
                INSERT_ARTIFACT,
                params![
                    &artifact.digest,
                    &artifact.locator,
                    &artifact.digest_alg,
                    to_i64(artifact.size_bytes),
                    &artifact.schema_version,
                    event.at_ms
                ],
            );
        }
        if let Some(out) = with.outputs {
            writes.push(
                INSERT_OUTPUTS,
                params![
                    run_id,
                    attempt,
                    &out.artifact.digest,
                    out.outputs_json,
                    out.created_at_ms
                ],
            );
        }
        if let Some(lock) = with.release_lock {
            writes.push(DELETE_LOCK, params![lock.target, lock.env, run_id]);
        }
        let rows = session
            .commit(writes)
            .await
            .map_err(StoreError::query(action()))?;
        let id = match rows.first() {
            Some(row) => row.i64("id")?,
            None => {
                return Err(StoreError::Corrupt {
                    what: "attempt_events.id".to_owned(),
                    value: "no id returned by the insert".to_owned(),
                });
            }
        };
        Ok(AttemptEventRecord {
            id,
            run_id: run_id.to_owned(),
            attempt,
            event: event.clone(),
        })
    }

    /// The attempts of a run, in order, each with its current status.
    pub async fn attempts(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        let action = || format!("read attempts of run `{run_id}`");
        with_backend!(&self.backend, |pool, kind, begin| {
            let rows = sqlx::query(concat!(
                attempt_select!(),
                " WHERE a.run_id = $1 ORDER BY a.attempt"
            ))
            .bind(run_id)
            .fetch_all(pool)
            .await
            .map_err(StoreError::query(action()))?;
            rows.iter().map(map_attempt).collect()
        })
    }

    /// The events of one attempt, oldest first.
    pub async fn events(
        &self,
        run_id: &str,
        attempt: u32,
    ) -> Result<Vec<AttemptEventRecord>, StoreError> {
        let action = || format!("read events of attempt {attempt} of run `{run_id}`");
        with_backend!(&self.backend, |pool, kind, begin| {
            let rows = sqlx::query(
                "SELECT id, status, at_ms, exit_code, error_code, message, retryable, detail_json \
                 FROM attempt_events WHERE run_id = $1 AND attempt = $2 ORDER BY id",
            )
            .bind(run_id)
            .bind(i64::from(attempt))
            .fetch_all(pool)
            .await
            .map_err(StoreError::query(action()))?;
            rows.iter()
                .map(|row| {
                    let detail = row
                        .opt_string("detail_json")?
                        .map(|text| {
                            serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
                                what: "attempt_events.detail_json".to_owned(),
                                value: text,
                            })
                        })
                        .transpose()?;
                    Ok(AttemptEventRecord {
                        id: row.i64("id")?,
                        run_id: run_id.to_owned(),
                        attempt,
                        event: AttemptEvent {
                            status: parse_status(&row.string("status")?)?,
                            at_ms: row.i64("at_ms")?,
                            exit_code: opt_i32(row.opt_i64("exit_code")?, "exit_code")?,
                            error_code: row.opt_string("error_code")?,
                            message: row.opt_string("message")?,
                            retryable: row.opt_bool("retryable")?,
                            detail,
                        },
                    })
                })
                .collect()
        })
    }
}

/// Maps an [`attempt_select!`] row.
pub(crate) fn map_attempt(row: &impl RowExt) -> Result<AttemptRecord, StoreError> {
    Ok(AttemptRecord {
        run_id: row.string("run_id")?,
        attempt: to_u32(row.i64("attempt")?, "attempts.attempt")?,
        status: parse_status(&row.string("status")?)?,
        created_at_ms: row.i64("created_at_ms")?,
        updated_at_ms: row.i64("at_ms")?,
        pid: row
            .opt_i64("pid")?
            .map(|p| to_u32(p, "attempts.pid"))
            .transpose()?,
        host: row.opt_string("host")?,
        exit_code: opt_i32(row.opt_i64("exit_code")?, "exit_code")?,
        error_code: row.opt_string("error_code")?,
        message: row.opt_string("message")?,
        retryable: row.opt_bool("retryable")?,
        evidence_path: row.opt_string("evidence_path")?,
    })
}

fn opt_i32(value: Option<i64>, what: &str) -> Result<Option<i32>, StoreError> {
    value
        .map(|v| {
            i32::try_from(v).map_err(|_| StoreError::Corrupt {
                what: what.to_owned(),
                value: v.to_string(),
            })
        })
        .transpose()
}

const UPDATE_PID: &str =
    "UPDATE attempts SET pid = $3 WHERE run_id = $1 AND attempt = $2 AND pid IS NULL RETURNING pid";
