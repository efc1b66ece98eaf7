//! The ledger (sqlx: SQLite now, PostgreSQL later) and the content-addressed artifact store.
