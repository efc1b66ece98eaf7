//! A ledger write as a few statement batches: one round trip per batch on SQLite.
//!
//! sqlx talks to SQLite through a worker thread: every statement is a message to that thread and
//! a reply, two thread wake-ups. A run's write-ahead record and its verdict were ~20 statements, so
//! a stack's members queued ~20 such hand-offs each on the ledger's single connection, and their
//! commits waited behind each other's. A [`Batch`] is a list of statements with backend-neutral
//! [`Param`]s, run by a [`WriteSession`]:
//! - on SQLite as one multi-statement query (sqlx binds every statement's `$N` from one argument
//!   list, so each statement's placeholders are renumbered past the arguments before it), with
//!   the transaction's `BEGIN IMMEDIATE`, `COMMIT` and any `synchronous` lowering in the same text;
//! - on PostgreSQL statement by statement on one connection (its extended protocol takes one
//!   statement per query), inside `BEGIN` … `COMMIT`.
//!
//! A batch's rows are those of its statements, in order. A session dropped with its transaction
//! open or its `synchronous` lowered (an error, a statement that failed midway through a batch, or
//! the future dropped) closes its connection instead of returning it to the pool: closing rolls an
//! open transaction back, and the pool opens a fresh connection with SQLite's FULL default.

use std::fmt::Write as _;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Postgres, Sqlite};

use crate::StoreError;
use crate::backend::{Backend, RowExt};

/// One bound value, the same on both backends (times and counts are `i64`, JSON is text).
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Param::Int(Some(value))
    }
}
impl From<u32> for Param {
    fn from(value: u32) -> Self {
        Param::Int(Some(i64::from(value)))
    }
}
impl From<Option<i64>> for Param {
    fn from(value: Option<i64>) -> Self {
        Param::Int(value)
    }
}
impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::Text(Some(value.to_owned()))
    }
}
impl From<&String> for Param {
    fn from(value: &String) -> Self {
        Param::Text(Some(value.clone()))
    }
}
impl From<&Option<String>> for Param {
    fn from(value: &Option<String>) -> Self {
        Param::Text(value.clone())
    }
}
impl From<Option<bool>> for Param {
    fn from(value: Option<bool>) -> Self {
        Param::Bool(value)
    }
}

/// `vec![Param::from(a), Param::from(b), …]`: a statement's parameters, `$1` first.
macro_rules! params {
    ($($value:expr),* $(,)?) => { vec![$($crate::write_batch::Param::from($value)),*] };
}
pub(crate) use params;

/// Statements to run in one go; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    statements: Vec<(String, Vec<Param>)>,
}

impl Batch {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends `sql`, whose placeholders `$1`…`$n` are `params` in order.
    pub(crate) fn push(&mut self, sql: impl Into<String>, params: Vec<Param>) -> &mut Self {
        self.statements.push((sql.into(), params));
        self
    }

    /// The SQLite text of `prefix`, this batch and `suffix` (plain statements) and its arguments.
    fn sqlite_text(self, prefix: &[&str], suffix: &[&str]) -> (String, Vec<Param>) {
        let mut text = String::new();
        let mut args = Vec::new();
        for plain in prefix {
            let _ = writeln!(text, "{plain};");
        }
        for (sql, params) in self.statements {
            renumber_into(&mut text, &sql, args.len());
            text.push_str(";\n");
            args.extend(params);
        }
        for plain in suffix {
            let _ = writeln!(text, "{plain};");
        }
        (text, args)
    }
}

/// Appends `sql` to `out` with every `$N` placeholder raised by `offset`. Our statements never
/// hold a `$` inside a string literal, which is the only place this would be wrong.
fn renumber_into(out: &mut String, sql: &str, offset: usize) {
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = rest[..digits].parse::<usize>() {
            let _ = write!(out, "{}", n + offset);
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
}

/// One row of a batch, from either backend.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

macro_rules! delegate_row {
    ($($method:ident -> $ty:ty),* $(,)?) => {
        impl RowExt for Row {
            $(fn $method(&self, column: &str) -> Result<$ty, StoreError> {
                match self {
                    Row::Sqlite(row) => row.$method(column),
                    Row::Postgres(row) => row.$method(column),
                }
            })*
        }
    };
}
delegate_row!(
    i64 -> i64,
    opt_i64 -> Option<i64>,
    string -> String,
    opt_string -> Option<String>,
    opt_bool -> Option<bool>,
);

enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// One write on one pooled connection: a transaction ([`WriteSession::begin`]) or a single
/// autocommitted batch ([`WriteSession::autocommit`]).
pub(crate) struct WriteSession {
    conn: Conn,
    /// `BEGIN` has been (or is about to be) executed and neither `COMMIT` nor `ROLLBACK` has.
    open: bool,
    /// SQLite's `synchronous` is (or is about to be) NORMAL on this connection.
    lowered: bool,
    /// SQLite statements not sent yet, sent ahead of the next batch (the lowering, the `BEGIN`).
    pending: Vec<&'static str>,
}

const LOWER: &str = "PRAGMA synchronous = NORMAL";
const RESTORE: &str = "PRAGMA synchronous = FULL";

impl Drop for WriteSession {
    fn drop(&mut self) {
        if self.open || self.lowered {
            match &mut self.conn {
                Conn::Sqlite(conn) => conn.close_on_drop(),
                Conn::Postgres(conn) => conn.close_on_drop(),
            }
        }
    }
}

impl WriteSession {
    /// Starts a write transaction; `defer_sync` commits it on SQLite without an fsync of its own
    /// (see `ledger_sync.rs`). Costs no round trip on SQLite: the `BEGIN IMMEDIATE` (which takes
    /// the write lock up front, so a concurrent writer waits on `busy_timeout` instead of failing
    /// on a read-to-write upgrade) goes out with the first batch.
    pub(crate) async fn begin(backend: &Backend, defer_sync: bool) -> Result<Self, sqlx::Error> {
        let mut session = Self::autocommit(backend, defer_sync).await?;
        session.open = true;
        match &mut session.conn {
            Conn::Sqlite(_) => session.pending.push("BEGIN IMMEDIATE"),
            Conn::Postgres(conn) => {
                sqlx::query("BEGIN").execute(&mut **conn).await?;
            }
        }
        Ok(session)
    }

    /// A session for one batch committed by itself ([`WriteSession::commit`] sends no `COMMIT`).
    pub(crate) async fn autocommit(
        backend: &Backend,
        defer_sync: bool,
    ) -> Result<Self, sqlx::Error> {
        Ok(match backend {
            Backend::Sqlite(pool) => Self {
                conn: Conn::Sqlite(pool.acquire().await?),
                open: false,
                lowered: defer_sync,
                pending: if defer_sync { vec![LOWER] } else { Vec::new() },
            },
            Backend::Postgres(pool) => Self {
                conn: Conn::Postgres(pool.acquire().await?),
                open: false,
                lowered: false,
                pending: Vec::new(),
            },
        })
    }

    /// Runs `batch` inside the open transaction and returns its rows.
    pub(crate) async fn run(&mut self, batch: Batch) -> Result<Vec<Row>, sqlx::Error> {
        self.send(batch, &[]).await
    }

    /// Runs `batch`, then commits (on SQLite in the same round trip, with `synchronous` set back
    /// to FULL if it was lowered) and returns the batch's rows.
    pub(crate) async fn commit(mut self, batch: Batch) -> Result<Vec<Row>, sqlx::Error> {
        let mut end: Vec<&str> = Vec::new();
        if self.open {
            end.push("COMMIT");
        }
        if self.lowered {
            end.push(RESTORE);
        }
        let rows = self.send(batch, &end).await?;
        (self.open, self.lowered) = (false, false);
        Ok(rows)
    }

    /// Runs `select` in the open transaction and returns its first row, with the rows it reads
    /// locked on PostgreSQL (`FOR UPDATE`); SQLite's `BEGIN IMMEDIATE` already holds the
    /// database's write lock.
    pub(crate) async fn read_for_update(
        &mut self,
        select: &str,
        params: Vec<Param>,
    ) -> Result<Option<Row>, sqlx::Error> {
        let sql = match self.conn {
            Conn::Sqlite(_) => select.to_owned(),
            Conn::Postgres(_) => format!("{select} FOR UPDATE"),
        };
        let mut batch = Batch::new();
        batch.push(sql, params);
        Ok(self.run(batch).await?.into_iter().next())
    }

    /// Rolls back a write its checks refused and returns `refusal`, or the rollback's own error
    /// (through `failed`) if that fails.
    pub(crate) async fn refuse<E>(self, refusal: E, failed: impl FnOnce(sqlx::Error) -> E) -> E {
        match self.rollback().await {
            Ok(()) => refusal,
            Err(e) => failed(e),
        }
    }

    /// Rolls the transaction back and keeps the connection for the pool.
    async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let mut end: Vec<&str> = Vec::new();
        // On SQLite, a `pending` BEGIN was never sent: there is nothing to undo.
        if self.pending.is_empty() {
            if self.open {
                end.push("ROLLBACK");
            }
            if self.lowered {
                end.push(RESTORE);
            }
        }
        self.pending.clear();
        self.send(Batch::new(), &end).await?;
        (self.open, self.lowered) = (false, false);
        Ok(())
    }

    /// Sends the pending statements, `batch`, then `end` (`COMMIT`, `ROLLBACK`, the restore;
    /// PostgreSQL has no restore to make).
    async fn send(&mut self, batch: Batch, end: &[&str]) -> Result<Vec<Row>, sqlx::Error> {
        match &mut self.conn {
            Conn::Sqlite(conn) => {
                let prefix = std::mem::take(&mut self.pending);
                let (text, args) = batch.sqlite_text(&prefix, end);
                if text.is_empty() {
                    return Ok(Vec::new());
                }
                let rows = bind_all(sqlx::query(AssertSqlSafe(text)), args)
                    .fetch_all(&mut **conn)
                    .await?;
                Ok(rows.into_iter().map(Row::Sqlite).collect())
            }
            Conn::Postgres(conn) => {
                let mut rows = Vec::new();
                for (sql, params) in batch.statements {
                    let query = bind_all(sqlx::query(AssertSqlSafe(sql)), params);
                    rows.extend(
                        query
                            .fetch_all(&mut **conn)
                            .await?
                            .into_iter()
                            .map(Row::Postgres),
                    );
                }
                for plain in end.iter().filter(|s| **s != RESTORE) {
                    sqlx::query(AssertSqlSafe(*plain))
                        .execute(&mut **conn)
                        .await?;
                }
                Ok(rows)
            }
        }
    }
}

/// Binds `params` to `query` in order.
fn bind_all<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    params: Vec<Param>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<bool>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
            Param::Bool(v) => query.bind(v),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_past_the_arguments_before_them() {
        let mut batch = Batch::new();
        batch
            .push("INSERT INTO t VALUES ($1, $2, $1)", params![1_i64, "a"])
            .push("DELETE FROM t WHERE a = $1 AND b = $2", params![2_i64, "b"])
            .push("SELECT 1", params![]);
        let (text, args) = batch.sqlite_text(&["BEGIN IMMEDIATE"], &["COMMIT"]);
        assert_eq!(
            text,
            "BEGIN IMMEDIATE;\nINSERT INTO t VALUES ($1, $2, $1);\n\
             DELETE FROM t WHERE a = $3 AND b = $4;\nSELECT 1;\nCOMMIT;\n"
        );
        assert_eq!(args.len(), 4);
    }

    #[test]
    fn a_dollar_not_followed_by_digits_is_left_alone() {
        let mut out = String::new();
        renumber_into(&mut out, "SELECT '$x', $10", 5);
        assert_eq!(out, "SELECT '$x', $15");
    }
}
