//! The two ledger backends (SQLite now, PostgreSQL for scale-out), how each is opened and migrated,
//! and the small seams that let one query text serve both.
//!
//! Queries are plain `sqlx::query` strings with `$N` placeholders, which both PostgreSQL and sqlx's
//! SQLite driver bind positionally. The few statements that must differ (transaction start, row
//! locks) are chosen by [`BackendKind`]. [`with_backend!`] expands a body once per concrete pool
//! type, so there are no generic sqlx bounds and no `Any` driver.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlStr};

use crate::StoreError;

/// How long a SQLite writer waits for another process's write transaction before `SQLITE_BUSY`.
pub(crate) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQLite allows one writer; a few connections let readers proceed alongside it (WAL).
const SQLITE_MAX_CONNECTIONS: u32 = 1;
const POSTGRES_MAX_CONNECTIONS: u32 = 8;
/// How long opening a PostgreSQL ledger keeps retrying an unreachable server by default.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Embedded migrations: (version, description, SQL). A unit test checks these lists match the
/// files in `migrations/<backend>/`, so a new file cannot be forgotten here.
pub(crate) const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "ledger",
        include_str!("../migrations/sqlite/0001_ledger.sql"),
    ),
    (
        2,
        "promotions",
        include_str!("../migrations/sqlite/0002_promotions.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "ledger",
        include_str!("../migrations/postgres/0001_ledger.sql"),
    ),
    (
        2,
        "promotions",
        include_str!("../migrations/postgres/0002_promotions.sql"),
    ),
];

/// Which database the ledger talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// A local SQLite file (WAL, `synchronous=FULL`).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A connection pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool, `$kind` to its [`BackendKind`] and `$begin`
/// to the statement that starts a write transaction: `BEGIN IMMEDIATE` on SQLite, so the write lock
/// is taken up front and a concurrent writer waits on `busy_timeout` instead of failing on a
/// read-to-write upgrade; plain `BEGIN` on PostgreSQL (row locks do the rest).
macro_rules! with_backend {
    ($backend:expr, |$pool:ident, $kind:ident, $begin:ident| $body:expr) => {
        match $backend {
            $crate::backend::Backend::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $kind = $crate::backend::BackendKind::Sqlite;
                #[allow(unused_variables)]
                let $begin: &'static str = "BEGIN IMMEDIATE";
                $body
            }
            $crate::backend::Backend::Postgres($pool) => {
                #[allow(unused_variables)]
                let $kind = $crate::backend::BackendKind::Postgres;
                #[allow(unused_variables)]
                let $begin: &'static str = "BEGIN";
                $body
            }
        }
    };
}
pub(crate) use with_backend;

impl Backend {
    /// Opens (creating if missing) a SQLite ledger file and applies migrations.
    ///
    /// Durability: WAL with `synchronous=FULL`, so every committed transaction is fsynced to the
    /// WAL before the call returns (NORMAL would lose the last commits on power loss, which would
    /// break "the ledger is written before the child is spawned").
    pub(crate) async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                action: "create the ledger folder",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new().filename(path);
        Self::open_sqlite_with(options, &path.display().to_string()).await
    }

    async fn open_sqlite_with(
        options: SqliteConnectOptions,
        location: &str,
    ) -> Result<Self, StoreError> {
        // sqlx's migrator takes no lock on SQLite: two processes opening a fresh ledger at once
        // (a `hyops run` and a `hyops runs list`) both saw "no migrations applied" and the
        // second failed with "table already exists". An exclusive lock on a sidecar file
        // serialises create + migrate across processes. Never the database file itself: closing
        // any descriptor of it would drop SQLite's own POSIX locks held by this process.
        let _migrate_lock = match sqlite_sidecar(&options, ".lock") {
            Some(lock_path) => Some(lock_sidecar(lock_path).await?),
            None => None,
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            // sqlx pings a connection each time it leaves the pool: a round trip to SQLite's
            // worker thread per ledger call, for a file that cannot hang up.
            .test_before_acquire(false)
            .after_connect(|conn, _meta| Box::pin(keep_wal_on_close(conn)))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                location: location.to_owned(),
                source,
            })?;
        migrator(SQLITE_MIGRATIONS)
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                location: location.to_owned(),
                source,
            })?;
        Ok(Backend::Sqlite(pool))
    }

    /// Connects by URL scheme: `sqlite:PATH` or `postgres://…` / `postgresql://…`.
    pub(crate) async fn connect(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let location = redact_url_password(url);
        if url.starts_with("sqlite:") {
            let options =
                SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Open {
                    location: location.clone(),
                    source,
                })?;
            return Self::open_sqlite_with(options, &location).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_MAX_CONNECTIONS)
                .acquire_timeout(timeout)
                .connect(url)
                .await
                .map_err(|source| StoreError::Open {
                    location: location.clone(),
                    source,
                })?;
            // The default migrator takes a PostgreSQL advisory lock, so two processes opening a
            // fresh database at once do not both apply the schema.
            migrator(POSTGRES_MIGRATIONS)
                .run(&pool)
                .await
                .map_err(|source| StoreError::Migrate { location, source })?;
            return Ok(Backend::Postgres(pool));
        }
        Err(StoreError::UnsupportedUrl { url: location })
    }

    pub(crate) fn kind(&self) -> BackendKind {
        match self {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// Turns off SQLite's checkpoint when the last connection closes (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`).
///
/// Every `hyops` command is a short process whose last connection closes at exit. The close-time
/// checkpoint copied the WAL into the database file, fsynced it and deleted the WAL, so the next
/// command recreated it: one fsync for its header and one for the directory, on every run, for
/// no durability gain (each commit is already fsynced in the WAL, `synchronous=FULL`). The WAL
/// now persists between commands and SQLite's automatic checkpoint (every 1,000 pages) folds it
/// into the database inside a commit, as in any long-lived process.
async fn keep_wal_on_close(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut now: std::ffi::c_int = -1;
    #[allow(unsafe_code)]
    // SAFETY: `db` is this connection's open handle, kept from sqlx's worker thread by `handle`
    // for the duration of the call. SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE takes an int (1 = on) and a
    // pointer to an int that receives the setting now in force; both are valid for the call.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            1 as std::ffi::c_int,
            &mut now as *mut std::ffi::c_int,
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK || now != 1 {
        return Err(sqlx::Error::Configuration(
            format!("SQLite refused SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE (code {rc}, now {now})")
                .into(),
        ));
    }
    Ok(())
}

/// `<database><suffix>` next to a file-backed SQLite database (`.lock`, `-wal`); `None` for
/// in-memory databases.
pub(crate) fn sqlite_sidecar(
    options: &SqliteConnectOptions,
    suffix: &str,
) -> Option<std::path::PathBuf> {
    let file = options.get_filename();
    let text = file.to_string_lossy();
    if text.is_empty() || text == ":memory:" || text.starts_with("file::memory:") {
        return None;
    }
    let mut sidecar = file.as_os_str().to_owned();
    sidecar.push(suffix);
    Some(sidecar.into())
}

/// Opens (creating) and exclusively locks `path`; the lock lasts until the file is dropped.
async fn lock_sidecar(path: std::path::PathBuf) -> Result<std::fs::File, StoreError> {
    tokio::task::spawn_blocking(move || {
        let io_error = |source| StoreError::Io {
            action: "lock the ledger for migration",
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_error)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error)?;
        file.lock().map_err(io_error)?;
        Ok(file)
    })
    .await
    .map_err(|join| StoreError::Io {
        action: "lock the ledger for migration",
        path: std::path::PathBuf::new(),
        source: std::io::Error::other(join),
    })?
}

fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, so URLs can appear in errors.
pub(crate) fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

/// Typed column access implemented for both row types, so record mapping is written once.
/// A failed read names the column.
pub(crate) trait RowExt {
    fn i64(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_i64(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn string(&self, column: &str) -> Result<String, StoreError>;
    fn opt_string(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn opt_bool(&self, column: &str) -> Result<Option<bool>, StoreError>;
}

fn column_error(column: &str) -> impl FnOnce(sqlx::Error) -> StoreError {
    StoreError::query(format!("read ledger column `{column}`"))
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn i64(&self, column: &str) -> Result<i64, StoreError> {
                self.try_get(column).map_err(column_error(column))
            }
            fn opt_i64(&self, column: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(column).map_err(column_error(column))
            }
            fn string(&self, column: &str) -> Result<String, StoreError> {
                self.try_get(column).map_err(column_error(column))
            }
            fn opt_string(&self, column: &str) -> Result<Option<String>, StoreError> {
                self.try_get(column).map_err(column_error(column))
            }
            fn opt_bool(&self, column: &str) -> Result<Option<bool>, StoreError> {
                self.try_get(column).map_err(column_error(column))
            }
        }
    };
}
impl_row_ext!(SqliteRow);
impl_row_ext!(PgRow);

#[cfg(test)]
mod tests {
    use super::*;

    fn listed_files(dir: &str) -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_migration_file_is_embedded_with_its_version() {
        for (dir, embedded) in [
            ("sqlite", SQLITE_MIGRATIONS),
            ("postgres", POSTGRES_MIGRATIONS),
        ] {
            let files = listed_files(dir);
            assert_eq!(files.len(), embedded.len(), "{dir}: {files:?}");
            for (file, (version, _, sql)) in files.iter().zip(embedded) {
                let prefix: i64 = file.split('_').next().unwrap().parse().unwrap();
                assert_eq!(prefix, *version, "{dir}/{file}");
                let on_disk = std::fs::read_to_string(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("migrations")
                        .join(dir)
                        .join(file),
                )
                .unwrap();
                assert_eq!(&on_disk, sql, "{dir}/{file}");
            }
        }
    }

    #[test]
    fn both_backends_define_the_same_tables() {
        let tables = |sql: &str| {
            let mut names: Vec<String> = sql
                .lines()
                .filter_map(|l| l.strip_prefix("CREATE TABLE "))
                .map(|l| l.split_whitespace().next().unwrap().to_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            tables(SQLITE_MIGRATIONS[0].2),
            tables(POSTGRES_MIGRATIONS[0].2)
        );
    }

    #[test]
    fn url_passwords_are_redacted() {
        assert_eq!(
            redact_url_password("postgres://u:s3cret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url_password("postgres://u@h/db"),
            "postgres://u@h/db"
        );
        assert_eq!(redact_url_password("sqlite:x.db"), "sqlite:x.db");
    }
}
