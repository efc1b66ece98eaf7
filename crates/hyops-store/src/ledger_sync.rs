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
//! The lowering and the restore ride on the write's own batches (`write_batch.rs`): no round trip
//! of their own. PostgreSQL commits follow the server's `synchronous_commit`; nothing is deferred
//! there.
//!
//! The WAL stays between commands (`keep_wal_on_close` in `backend.rs`), and the first connection
//! of each command rebuilds SQLite's WAL index by reading every frame in it (the `-shm` is reset
//! when no other process has it open). [`Ledger::fold_wal`] empties it into the database file
//! while a tool runs, so that read stays short for the next command.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::{Backend, sqlite_sidecar};
use crate::{Ledger, StoreError};

/// Group commit for [`Ledger::sync`]: callers that ask while an fsync is running wait for it to
/// end, and the first of them then fsyncs once for all of them. Each call takes a ticket after
/// its commits returned; an fsync that starts after ticket `t` was taken covers `t`'s commits
/// (the WAL is one file), and records every ticket taken before it started as synced.
#[derive(Debug, Default)]
pub(crate) struct GroupSync {
    tickets: AtomicU64,
    synced: AtomicU64,
    flushing: tokio::sync::Mutex<()>,
}

/// The WAL size from which [`Ledger::fold_wal`] folds it: about two runs' commits. A command
/// then reads at most a few hundred KiB of WAL when it opens the ledger, instead of up to the
/// 4 MiB at which SQLite's automatic checkpoint (1,000 pages) would fold it (about 5 ms of a
/// command's start on a slow VM, measured for bench/packer_overhead.sh).
pub const FOLD_WAL_FROM_BYTES: u64 = 256 * 1024;

impl Ledger {
    /// Folds the SQLite WAL into the database file and empties it (`wal_checkpoint(TRUNCATE)`)
    /// when it holds at least `min_bytes`; says whether it did. Nothing to do on PostgreSQL.
    ///
    /// The checkpoint fsyncs the WAL and the database file and waits (SQLite's busy timeout)
    /// for other processes' readers of older snapshots; the next commit rewrites the WAL header
    /// and syncs it once. The runner calls this while a tool runs, so none of that lengthens a
    /// command. A checkpoint that other processes keep busy is not an error: it reports `false`
    /// and SQLite's automatic checkpoint still folds the WAL later.
    pub async fn fold_wal(&self, min_bytes: u64) -> Result<bool, StoreError> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Ok(false);
        };
        let Some(wal) = sqlite_sidecar(&pool.connect_options(), "-wal") else {
            return Ok(false);
        };
        let size = match std::fs::metadata(&wal) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(source) => {
                return Err(StoreError::Io {
                    action: "read the size of the ledger's write-ahead log",
                    path: wal,
                    source,
                });
            }
        };
        if size < min_bytes {
            return Ok(false);
        }
        let (busy, _frames, _folded): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(pool)
                .await
                .map_err(StoreError::query(
                    "fold the write-ahead log into the ledger",
                ))?;
        Ok(busy == 0)
    }

    /// Makes every commit so far durable, including those made with deferred sync: on SQLite it
    /// fsyncs the WAL file (a checkpoint syncs what it copies into the database itself); on
    /// PostgreSQL there is nothing to do.
    ///
    /// Concurrent calls share fsyncs (see [`GroupSync`]): stack members that record their runs
    /// at about the same time wait for one flush, not one each.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Ok(());
        };
        let Some(wal) = sqlite_sidecar(&pool.connect_options(), "-wal") else {
            return Ok(());
        };
        let ticket = self.syncs.tickets.fetch_add(1, Ordering::AcqRel) + 1;
        let _flushing = self.syncs.flushing.lock().await;
        if self.syncs.synced.load(Ordering::Acquire) >= ticket {
            return Ok(());
        }
        let upto = self.syncs.tickets.load(Ordering::Acquire);
        let path = wal.clone();
        let synced = tokio::task::spawn_blocking(move || match std::fs::File::open(&path) {
            Ok(file) => file.sync_all(),
            // No WAL: nothing was written since the last checkpoint removed it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .unwrap_or_else(|join| Err(std::io::Error::other(join)));
        if synced.is_ok() {
            self.syncs.synced.fetch_max(upto, Ordering::AcqRel);
        }
        synced.map_err(|source| StoreError::Io {
            action: "sync the ledger's write-ahead log",
            path: wal,
            source,
        })
    }
}
