//! Test fixtures: a ledger per backend, fresh for each test.

use std::sync::atomic::{AtomicU32, Ordering};

use hyops_contract::AttemptStatus;
use hyops_store::{AttemptEvent, Ledger, NewAttempt, NewRun};
use sqlx::Connection;

/// The environment variable naming an admin URL of a throwaway PostgreSQL cluster.
pub const PG_URL_VAR: &str = "HYOPS_TEST_PG_URL";

/// A ledger plus what keeps it alive and a URL for raw SQL access.
pub struct TestLedger {
    pub ledger: Ledger,
    pub url: String,
    dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl TestLedger {
    /// Keeps the temp dir alive: a test body's `async move` block captures only the fields it
    /// uses (disjoint captures), so without this guard the folder would vanish mid-test.
    pub fn guard(&self) -> Option<std::sync::Arc<tempfile::TempDir>> {
        self.dir.clone()
    }
}

pub async fn sqlite_ledger() -> TestLedger {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("ledger.sqlite");
    let ledger = Ledger::open_sqlite(&path).await.unwrap();
    TestLedger {
        ledger,
        url: format!("sqlite:{}", path.display()),
        dir: Some(std::sync::Arc::new(dir)),
    }
}

/// A fresh database in the cluster at `HYOPS_TEST_PG_URL`, or `None` (with the skip line printed).
pub async fn pg_ledger(test: &str) -> Option<TestLedger> {
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        println!("skipped: {PG_URL_VAR} not set (postgres variant of {test})");
        return None;
    };
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let db = format!(
        "hyops_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let db: String = db.chars().take(60).collect();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let url = with_database(&admin_url, &db);
    let ledger = Ledger::connect(&url).await.unwrap();
    Some(TestLedger {
        ledger,
        url,
        dir: None,
    })
}

/// Replaces the database name of a `postgres://…/db?params` URL.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").unwrap() + 3;
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Defines `mod $name { sqlite(), postgres() }` running `$body(TestLedger)` on each backend.
macro_rules! ledger_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::support::sqlite_ledger().await;
                let _guard = t.guard();
                ($body)(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = $crate::support::pg_ledger(stringify!($name)).await else {
                    return;
                };
                ($body)(t).await;
            }
        }
    };
}

/// A valid fingerprint whose first hex digits are `prefix` (padded with `0`).
pub fn fingerprint(prefix: &str) -> String {
    format!("sha256:{prefix:0<64}")
}

pub fn new_run(target: &str, env: &str, fp_prefix: &str, at_ms: i64) -> NewRun {
    NewRun {
        target: target.to_owned(),
        env: env.to_owned(),
        fingerprint: fingerprint(fp_prefix),
        stage: "run".to_owned(),
        request_json: format!(r#"{{"target":"{target}"}}"#),
        created_at_ms: at_ms,
    }
}

pub fn new_attempt(run_id: &str, attempt: u32, at_ms: i64) -> NewAttempt {
    NewAttempt {
        run_id: run_id.to_owned(),
        attempt,
        host: "test-host".to_owned(),
        runner_pid: std::process::id(),
        evidence_path: Some(format!("evidence/dev/t/{run_id}/attempt-{attempt}")),
        at_ms,
    }
}

/// Creates a run with one attempt that ends in `status`; returns its run id.
pub async fn run_ending(
    ledger: &Ledger,
    target: &str,
    env: &str,
    fp: &str,
    status: AttemptStatus,
    at_ms: i64,
) -> String {
    let run = ledger
        .create_run(&new_run(target, env, fp, at_ms))
        .await
        .unwrap();
    ledger
        .start_attempt(&new_attempt(&run.run_id, 1, at_ms + 1))
        .await
        .unwrap();
    ledger
        .append_event(&run.run_id, 1, &AttemptEvent::new(status, at_ms + 2))
        .await
        .unwrap();
    run.run_id
}

/// A run of web/site in dev at `stage` whose one attempt ends `status`; `outputs` records
/// outputs for it first, `started` sets its tool's pid.
pub async fn staged_run(
    l: &Ledger,
    stage: &str,
    status: AttemptStatus,
    outputs: bool,
    started: bool,
    at_ms: i64,
) -> String {
    let mut spec = new_run("web/site", "dev", "e", at_ms);
    spec.stage = stage.to_owned();
    let run = l.create_run(&spec).await.unwrap();
    l.start_attempt(&new_attempt(&run.run_id, 1, at_ms + 1))
        .await
        .unwrap();
    if started {
        l.set_attempt_pid(&run.run_id, 1, 4242).await.unwrap();
    }
    if outputs {
        let hex: String = std::iter::repeat_n('a', 64).collect();
        let artifact = hyops_contract::ArtifactRef {
            locator: format!("artifacts/sha256/aa/{hex}"),
            digest: format!("sha256:{hex}"),
            digest_alg: "sha256".into(),
            size_bytes: 2,
            schema_version: Some("outputs/v1".into()),
        };
        l.record_outputs(&run.run_id, 1, &artifact, "{}", at_ms + 2)
            .await
            .unwrap();
    }
    l.append_event(&run.run_id, 1, &AttemptEvent::new(status, at_ms + 3))
        .await
        .unwrap();
    run.run_id
}

/// Executes raw SQL against the test database (to prove what the database itself refuses).
pub async fn raw_execute(url: &str, sql: &str) -> Result<u64, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
    }
}

#[test]
fn database_name_is_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://p@127.0.0.1:5/postgres", "x"),
        "postgres://p@127.0.0.1:5/x"
    );
    assert_eq!(
        with_database("postgres://p@h:5/postgres?sslmode=disable", "x"),
        "postgres://p@h:5/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://p@h:5", "x"), "postgres://p@h:5/x");
}
