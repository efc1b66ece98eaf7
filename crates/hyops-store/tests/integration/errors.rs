//! Error classification against real database failures.

use std::time::Duration;

use hyops_store::StoreError;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnectOptions;

/// A real SQLITE_BUSY (another connection holds the write lock, no busy timeout) is retryable.
#[tokio::test]
async fn sqlite_busy_is_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let ledger = hyops_store::Ledger::open_sqlite(&path).await.unwrap();
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .busy_timeout(Duration::ZERO);
    let mut holder = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let mut waiter = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let source = sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut waiter)
        .await
        .unwrap_err();
    let err = StoreError::Query {
        action: "test".into(),
        source,
    };
    assert!(err.is_retryable(), "{err:?}");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    ledger.close().await;
}

/// An unreachable PostgreSQL server is a retryable open error, and the password is not shown.
#[tokio::test]
async fn refused_connection_is_retryable_and_redacted() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://u:hunter2@127.0.0.1:{port}/db");
    let err = hyops_store::Ledger::connect_with_timeout(&url, Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let text = err.to_string();
    assert!(
        !text.contains("hunter2") && text.contains("u:***@"),
        "{text}"
    );
}
