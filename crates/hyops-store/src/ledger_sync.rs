//! How a commit reaches the disk: synced by itself (the default), or deferred to a later sync.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`, so every commit fsyncs the WAL before it
//! returns, while it holds the database's write lock and hyops' single connection. The WAL is one
//! file, so an fsync makes every frame written before it durable: a commit made with
//! `synchronous=NORMAL` (no fsync of its own) becomes durable with the next synced commit, or with
//! [`Ledger::sync`], which fsyncs the WAL through a descriptor of its own without holding the
//! connection. Three writes use that:
//! - the tool's pid (always: a pid only matters while the machine stays up);
//! - a stack member's write-ahead run record ([`crate::RunHolder::defer_sync`]): the runner calls
//!   [`Ledger::sync`] before it spawns the tool, so the record is as durable as a synced commit,
//!   and the other members' statements do not queue behind its fsync;
//! - a stack member's final event ([`crate::FinishWith::defer_sync`]): a dependent starts only
//!   after its own write-ahead record is synced, which carries its producers' verdicts to disk
//!   first, and the stack calls [`Ledger::sync`] before it reports.
//!
//! PostgreSQL commits follow the server's `synchronous_commit`; nothing is deferred there.

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::backend::{Backend, sqlite_sidecar};
use crate::{Ledger, StoreError};

/// A pooled connection for one write, with SQLite's `synchronous` lowered to NORMAL when asked.
///
/// The lowering rides on the transaction's `BEGIN` ([`WriteTx::begin`]: one round trip to
/// SQLite's worker thread, not two) or, for a single statement, on [`WriteTx::lower`].
/// [`WriteTx::restore`] sets FULL again. A connection dropped unrestored (an error, or the future
/// dropped midway) is closed instead of going back to the pool, which then opens a fresh one, with
/// FULL as every connection starts.
pub(crate) struct WriteConn<DB: Database> {
    pub(crate) conn: PoolConnection<DB>,
    /// NORMAL was asked for: set (or about to be) on the connection until restored.
    lowered: bool,
}

impl<DB: Database> Drop for WriteConn<DB> {
    fn drop(&mut self) {
        if self.lowered {
            self.conn.close_on_drop();
        }
    }
}

/// Acquiring a [`WriteConn`] from either backend's pool.
pub(crate) trait AcquireWrite {
    type Db: Database;
    /// A connection whose next commit is not fsynced by itself when `defer_sync` (SQLite only).
    async fn acquire_write(&self, defer_sync: bool) -> Result<WriteConn<Self::Db>, sqlx::Error>;
}

impl AcquireWrite for SqlitePool {
    type Db = Sqlite;
    async fn acquire_write(&self, defer_sync: bool) -> Result<WriteConn<Sqlite>, sqlx::Error> {
        Ok(WriteConn {
            conn: self.acquire().await?,
            lowered: defer_sync,
        })
    }
}

impl AcquireWrite for PgPool {
    type Db = Postgres;
    async fn acquire_write(&self, _defer_sync: bool) -> Result<WriteConn<Postgres>, sqlx::Error> {
        Ok(WriteConn {
            conn: self.acquire().await?,
            lowered: false,
        })
    }
}

/// A write on a [`WriteConn`]: its transaction, or its single statement, then the restore.
pub(crate) trait WriteTx {
    type Db: Database;
    /// Starts the write transaction with `begin` (lowering `synchronous` first when asked).
    async fn begin(
        &mut self,
        begin: &'static str,
    ) -> Result<Transaction<'_, Self::Db>, sqlx::Error>;
    /// Lowers `synchronous` for a write made without a transaction, when asked.
    async fn lower(&mut self) -> Result<(), sqlx::Error>;
    /// Sets `synchronous` back to FULL if it was lowered.
    async fn restore(self) -> Result<(), sqlx::Error>;
}

/// SQLite's `BEGIN IMMEDIATE` preceded by the lowering, executed together (`sqlite3_exec`).
const LOWER_AND_BEGIN: &str = "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE";

impl WriteTx for WriteConn<Sqlite> {
    type Db = Sqlite;
    async fn begin(&mut self, begin: &'static str) -> Result<Transaction<'_, Sqlite>, sqlx::Error> {
        let statement = if self.lowered { LOWER_AND_BEGIN } else { begin };
        (*self.conn).begin_with(statement).await
    }

    async fn lower(&mut self) -> Result<(), sqlx::Error> {
        if self.lowered {
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *self.conn)
                .await?;
        }
        Ok(())
    }

    async fn restore(mut self) -> Result<(), sqlx::Error> {
        if self.lowered {
            sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *self.conn)
                .await?;
            self.lowered = false;
        }
        Ok(())
    }
}

impl WriteTx for WriteConn<Postgres> {
    type Db = Postgres;
    async fn begin(
        &mut self,
        begin: &'static str,
    ) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
        (*self.conn).begin_with(begin).await
    }

    async fn lower(&mut self) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn restore(self) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl Ledger {
    /// Makes every commit so far durable, including those made with deferred sync: on SQLite it
    /// fsyncs the WAL file (a checkpoint syncs what it copies into the database itself); on
    /// PostgreSQL there is nothing to do.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Ok(());
        };
        let Some(wal) = sqlite_sidecar(&pool.connect_options(), "-wal") else {
            return Ok(());
        };
        let path = wal.clone();
        let synced = tokio::task::spawn_blocking(move || match std::fs::File::open(&path) {
            Ok(file) => file.sync_all(),
            // No WAL: nothing was written since the last checkpoint removed it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .unwrap_or_else(|join| Err(std::io::Error::other(join)));
        synced.map_err(|source| StoreError::Io {
            action: "sync the ledger's write-ahead log",
            path: wal,
            source,
        })
    }
}
