//! The ledger: hyops' authoritative state. Opening, runs, their sequence numbers and config versions.
//!
//! Attempts and events live in `ledger_attempts.rs`, outputs in `ledger_outputs.rs`, locks and crash
//! recovery in `ledger_locks.rs`, admin events and pruning in `ledger_admin.rs`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use hyops_contract::{AttemptStatus, ConfigVersionRef, RunRecord};

use crate::backend::{Backend, BackendKind, DEFAULT_CONNECT_TIMEOUT, RowExt, with_backend};
use crate::ledger_attempts::push_running_attempt;
use crate::ledger_locks::INSERT_LOCK;
use crate::write_batch::{Batch, WriteSession, params};
use crate::{
    CreatedRun, LockKey, NewAttempt, NewRun, RunFilter, RunHolder, StoreError, run_id_for,
};

/// The ledger over SQLite or PostgreSQL. Cheap to clone (a pool handle).
///
/// Every method that returns `Ok` after writing has committed; on SQLite the commit is fsynced
/// (WAL, `synchronous=FULL`), on PostgreSQL it follows the server's `synchronous_commit`.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub(crate) backend: Backend,
    pub(crate) syncs: std::sync::Arc<crate::ledger_sync::GroupSync>,
}

/// The columns every run query selects; `status` is the latest event of the latest attempt
/// (`queued` while the run has no attempt) and `updated_at_ms` that event's time.
macro_rules! run_select {
    () => {
        "SELECT r.run_id, r.target, r.env, r.seq, r.fingerprint, r.stage, r.created_at_ms, \
         (SELECT COUNT(*) FROM attempts a WHERE a.run_id = r.run_id) AS attempt_count, \
         COALESCE(e.status, 'queued') AS status, COALESCE(e.at_ms, r.created_at_ms) AS updated_at_ms \
         FROM runs r LEFT JOIN attempt_events e ON e.id = ( \
           SELECT MAX(e2.id) FROM attempt_events e2 WHERE e2.run_id = r.run_id AND e2.attempt = \
             (SELECT MAX(a2.attempt) FROM attempts a2 WHERE a2.run_id = r.run_id))"
    };
}

/// Pushes one multi-row INSERT of a run's configuration versions onto `batch` (nothing when
/// there are none): one statement on PostgreSQL, whatever their number.
fn push_config_versions(batch: &mut Batch, run_id: &str, versions: &[ConfigVersionRef]) {
    if versions.is_empty() {
        return;
    }
    let mut sql = String::from(
        "INSERT INTO config_versions (run_id, config_name, config_version, digest, locator) VALUES ",
    );
    let mut values = Vec::with_capacity(versions.len() * 5);
    for (i, version) in versions.iter().enumerate() {
        let n = i * 5;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(
            sql,
            "{sep}(${}, ${}, ${}, ${}, ${})",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5
        );
        values.extend(params![
            run_id,
            &version.config_name,
            &version.config_version,
            &version.digest,
            &version.locator
        ]);
    }
    batch.push(sql, values);
}

impl Ledger {
    /// Opens (creating if missing) the SQLite ledger at `path` and applies pending migrations.
    pub async fn open_sqlite(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Ok(Self {
            backend: Backend::open_sqlite(path.as_ref()).await?,
            syncs: Default::default(),
        })
    }

    /// Opens the SQLite ledger at `path` for reading only, for a state dir this process cannot
    /// write: no lock file, no migration, no file created. Refuses a missing file and a schema
    /// other than the current one (an older ledger needs one open with write access first).
    /// Every write through this ledger fails with SQLite's "readonly database" error.
    pub async fn open_sqlite_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Ok(Self {
            backend: Backend::open_sqlite_read_only(path.as_ref()).await?,
            syncs: Default::default(),
        })
    }

    /// Connects by URL scheme (`sqlite:PATH`, `postgres://…`) and applies pending migrations.
    /// An unreachable PostgreSQL server is retried for 10 s, then reported (retryable).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_timeout(url, DEFAULT_CONNECT_TIMEOUT).await
    }

    /// [`Ledger::connect`] with an explicit limit on waiting for a PostgreSQL connection.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        Ok(Self {
            backend: Backend::connect(url, timeout).await?,
            syncs: Default::default(),
        })
    }

    /// Which backend this ledger uses.
    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// SQLite's `synchronous` setting on the ledger's connection (2 = FULL: every commit fsynced),
    /// `None` on PostgreSQL. Diagnostics: only [`Ledger::set_attempt_pid`] lowers it, for its own
    /// commit.
    pub async fn sqlite_synchronous(&self) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .map(Some)
                .map_err(StoreError::query("read PRAGMA synchronous")),
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// Closes the pool, waiting for connections to finish (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.backend.close().await;
    }

    /// Creates a run, assigning the next `seq` of its (target, env) and the derived `run_id`
    /// ([`run_id_for`]). The sequence lives in its own table, so it is never reused, even after
    /// `prune`; it is incremented in the same write transaction that inserts the run.
    pub async fn create_run(&self, run: &NewRun) -> Result<RunRecord, StoreError> {
        self.create_run_with_config_versions(run, &[]).await
    }

    /// [`Ledger::create_run`] and [`Ledger::record_config_versions`] in one write transaction:
    /// a run is never visible without the configuration versions that went into it, and the run
    /// path pays for one commit instead of two.
    pub async fn create_run_with_config_versions(
        &self,
        run: &NewRun,
        versions: &[ConfigVersionRef],
    ) -> Result<RunRecord, StoreError> {
        Ok(self.insert_run(run, versions, None).await?.run)
    }

    /// [`Ledger::create_run_with_config_versions`] that, in the same transaction, also takes the
    /// run's (target, env) lock for `holder` when the lock is free, and then, if asked, records
    /// attempt 1 as `running`. When the lock is not free, the run still exists and the caller goes
    /// on with [`Ledger::take_over_stale_lock`] (a stale or live holder).
    pub async fn create_run_and_lock(
        &self,
        run: &NewRun,
        versions: &[ConfigVersionRef],
        holder: RunHolder<'_>,
    ) -> Result<CreatedRun, StoreError> {
        self.insert_run(run, versions, Some(holder)).await
    }

    async fn insert_run(
        &self,
        run: &NewRun,
        versions: &[ConfigVersionRef],
        holder: Option<RunHolder<'_>>,
    ) -> Result<CreatedRun, StoreError> {
        let invalid_fingerprint = || StoreError::InvalidFingerprint {
            target: run.target.clone(),
            env: run.env.clone(),
            fingerprint: run.fingerprint.clone(),
        };
        if run_id_for(&run.fingerprint, 1).is_none() {
            return Err(invalid_fingerprint());
        }
        let action = || format!("create a run for {}@{}", run.target, run.env);
        let defer_sync = holder.is_some_and(|h| h.defer_sync);
        let mut session = WriteSession::begin(&self.backend, defer_sync)
            .await
            .map_err(StoreError::query(action()))?;
        // First round trip: the run's sequence number, which its id is made of.
        let mut next_seq = Batch::new();
        next_seq.push(
            "INSERT INTO run_sequences (target, env, last_seq) VALUES ($1, $2, 1) \
             ON CONFLICT (target, env) DO UPDATE SET last_seq = run_sequences.last_seq + 1 \
             RETURNING last_seq",
            params![&run.target, &run.env],
        );
        let rows = session
            .run(next_seq)
            .await
            .map_err(StoreError::query(action()))?;
        let seq = rows.first().map_or(Ok(0), |row| row.i64("last_seq"))?;
        let seq = to_u64(seq, "runs.seq")?;
        let run_id = run_id_for(&run.fingerprint, seq).ok_or_else(invalid_fingerprint)?;
        // Second: everything else, and the commit.
        let mut rest = Batch::new();
        rest.push(
            "INSERT INTO runs (run_id, target, env, seq, fingerprint, stage, request_json, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                &run_id,
                &run.target,
                &run.env,
                to_i64(seq),
                &run.fingerprint,
                &run.stage,
                &run.request_json,
                run.created_at_ms
            ],
        );
        push_config_versions(&mut rest, &run_id, versions);
        if let Some(holder) = holder {
            rest.push(
                INSERT_LOCK,
                params![
                    &run.target,
                    &run.env,
                    &run_id,
                    holder.pid,
                    holder.host,
                    run.created_at_ms
                ],
            );
            if let Some(evidence_path) = holder.start_first_attempt {
                // Attempt 1 starts only if the lock just inserted is this run's.
                push_running_attempt(
                    &mut rest,
                    &NewAttempt {
                        run_id: run_id.clone(),
                        attempt: 1,
                        at_ms: run.created_at_ms,
                        host: holder.host.to_owned(),
                        runner_pid: holder.pid,
                        evidence_path: Some(evidence_path(&run_id)),
                    },
                    Some(LockKey {
                        target: &run.target,
                        env: &run.env,
                    }),
                );
            }
            rest.push(
                "SELECT COUNT(*) AS locked FROM locks WHERE target = $1 AND env = $2 AND run_id = $3",
                params![&run.target, &run.env, &run_id],
            );
        }
        let rows = session
            .commit(rest)
            .await
            .map_err(StoreError::query(action()))?;
        let locked = match rows.first() {
            Some(row) => row.i64("locked")? == 1,
            None => false,
        };
        let started = locked && holder.is_some_and(|h| h.start_first_attempt.is_some());
        let record = RunRecord {
            run_id,
            target: run.target.clone(),
            env: run.env.clone(),
            seq,
            fingerprint: run.fingerprint.clone(),
            stage: run.stage.clone(),
            status: AttemptStatus::Queued,
            attempts: 0,
            created_at_ms: run.created_at_ms,
            updated_at_ms: run.created_at_ms,
        };
        Ok(CreatedRun {
            run: record,
            locked,
            first_attempt_started: started,
        })
    }

    /// The stored (redacted) RunRequest JSON of a run.
    pub async fn run_request_json(&self, run_id: &str) -> Result<Option<String>, StoreError> {
        let action = || format!("read the request of run `{run_id}`");
        with_backend!(&self.backend, |pool, kind, begin| {
            sqlx::query_scalar("SELECT request_json FROM runs WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::query(action()))
        })
    }

    /// Records the configuration versions that went into a run (all or nothing).
    pub async fn record_config_versions(
        &self,
        run_id: &str,
        versions: &[ConfigVersionRef],
    ) -> Result<(), StoreError> {
        if versions.is_empty() {
            return Ok(());
        }
        let action = || format!("record config versions of run `{run_id}`");
        let mut batch = Batch::new();
        push_config_versions(&mut batch, run_id, versions);
        let session = WriteSession::begin(&self.backend, false)
            .await
            .map_err(StoreError::query(action()))?;
        session
            .commit(batch)
            .await
            .map_err(StoreError::query(action()))?;
        Ok(())
    }

    /// The configuration versions of a run, by name.
    pub async fn config_versions(&self, run_id: &str) -> Result<Vec<ConfigVersionRef>, StoreError> {
        let action = || format!("read config versions of run `{run_id}`");
        with_backend!(&self.backend, |pool, kind, begin| {
            let rows = sqlx::query(
                "SELECT config_name, config_version, digest, locator FROM config_versions \
                 WHERE run_id = $1 ORDER BY config_name",
            )
            .bind(run_id)
            .fetch_all(pool)
            .await
            .map_err(StoreError::query(action()))?;
            rows.iter()
                .map(|row| {
                    Ok(ConfigVersionRef {
                        config_name: row.string("config_name")?,
                        config_version: row.string("config_version")?,
                        digest: row.opt_string("digest")?,
                        locator: row.opt_string("locator")?,
                    })
                })
                .collect()
        })
    }

    /// One run with its current status, or `None` if unknown.
    pub async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let action = || format!("read run `{run_id}`");
        with_backend!(&self.backend, |pool, kind, begin| {
            let row = sqlx::query(concat!(run_select!(), " WHERE r.run_id = $1"))
                .bind(run_id)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::query(action()))?;
            row.map(|row| map_run(&row)).transpose()
        })
    }

    /// Runs matching `filter`, newest first (by creation time, then sequence).
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let action = || "list runs".to_owned();
        let limit = filter.limit.map_or(i64::MAX, i64::from);
        let status = filter.status.map(|s| s.as_str());
        with_backend!(&self.backend, |pool, kind, begin| {
            let rows = sqlx::query(concat!(
                "SELECT * FROM (",
                run_select!(),
                ") x WHERE ($1 IS NULL OR x.target = $1 \
                   OR substr(x.target, 1, length($1) + 1) = $1 || '.') \
                 AND ($2 IS NULL OR x.env = $2) \
                 AND ($3 IS NULL OR x.status = $3) \
                 ORDER BY x.created_at_ms DESC, x.seq DESC, x.run_id DESC LIMIT $4"
            ))
            .bind(&filter.target)
            .bind(&filter.env)
            .bind(status)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(StoreError::query(action()))?;
            rows.iter().map(map_run).collect()
        })
    }
}

/// Maps a [`run_select!`] row.
pub(crate) fn map_run(row: &impl RowExt) -> Result<RunRecord, StoreError> {
    Ok(RunRecord {
        run_id: row.string("run_id")?,
        target: row.string("target")?,
        env: row.string("env")?,
        seq: to_u64(row.i64("seq")?, "runs.seq")?,
        fingerprint: row.string("fingerprint")?,
        stage: row.string("stage")?,
        status: parse_status(&row.string("status")?)?,
        attempts: to_u32(row.i64("attempt_count")?, "attempt count")?,
        created_at_ms: row.i64("created_at_ms")?,
        updated_at_ms: row.i64("updated_at_ms")?,
    })
}

pub(crate) fn parse_status(text: &str) -> Result<AttemptStatus, StoreError> {
    AttemptStatus::parse(text).ok_or_else(|| StoreError::Corrupt {
        what: "attempt status".to_owned(),
        value: text.to_owned(),
    })
}

pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        what: what.to_owned(),
        value: value.to_string(),
    })
}

pub(crate) fn to_u32(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        what: what.to_owned(),
        value: value.to_string(),
    })
}

/// Sequence numbers and sizes are stored as signed 64-bit integers (both backends' widest type);
/// values beyond `i64::MAX` cannot occur in practice and saturate rather than wrap.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
