//! Reading a SQLite ledger without write access (a state dir on a read-only mount, or owned by
//! another user): no migration lock, no migration, no `-wal` or `-shm` created.
//!
//! The normal open takes an exclusive lock on `ledger.sqlite.lock` and applies migrations, both
//! writes. Here the connection is opened `mode=ro` instead and the schema is checked rather than
//! upgraded: every migration this hyops knows must be recorded as applied, and none it does not
//! know. SQLite reads a WAL-mode database read-only when its `-wal` and `-shm` files exist (since
//! 3.22); hyops keeps them between commands. When they are absent everything is in the database
//! file, which is then opened `immutable` (no locks, no `-shm`).

use std::collections::BTreeSet;
use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::StoreError;
use crate::backend::{Backend, SQLITE_BUSY_TIMEOUT, SQLITE_MIGRATIONS, sqlite_sidecar};

impl Backend {
    /// Opens the SQLite ledger at `path` for reading only. Fails when the file does not exist, or
    /// when its schema is not exactly the one this hyops writes.
    pub(crate) async fn open_sqlite_read_only(path: &Path) -> Result<Self, StoreError> {
        let location = path.display().to_string();
        if !path.is_file() {
            return Err(StoreError::ReadOnlyNoLedger { location });
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        let has_wal = sqlite_sidecar(&options, "-wal").is_some_and(|wal| wal.exists());
        let options = options.immutable(!has_wal);
        let open_error = |source| StoreError::Open {
            location: location.clone(),
            source,
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        let applied: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .map_err(open_error)?;
        if let Some((problem, help)) = schema_problem(applied.into_iter().collect()) {
            pool.close().await;
            return Err(StoreError::ReadOnlySchema {
                location,
                problem,
                help: help.to_owned(),
            });
        }
        Ok(Backend::Sqlite(pool))
    }
}

/// What keeps a ledger with the `applied` migrations from being read without migrating it, and
/// what to do about it; `None` when its schema is exactly this hyops'.
fn schema_problem(applied: BTreeSet<i64>) -> Option<(String, &'static str)> {
    let known: BTreeSet<i64> = SQLITE_MIGRATIONS.iter().map(|m| m.0).collect();
    if let Some(newer) = applied.difference(&known).next() {
        return Some((
            format!("it has schema version {newer}, written by a newer hyops"),
            "read it with that hyops version",
        ));
    }
    let missing = known.difference(&applied).next()?;
    Some((
        format!(
            "it lacks schema version {missing}: an older hyops wrote it, and upgrading it needs \
             write access"
        ),
        "run any hyops command on this state dir once as a user who can write it (the ledger is \
         upgraded on open), then read it here",
    ))
}
