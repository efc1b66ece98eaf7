//! Runs: sequence numbers, run ids, status derivation, listing, config versions, concurrency.

use hyops_contract::{AttemptStatus, ConfigVersionRef};
use hyops_store::{AttemptEvent, Ledger, RunFilter, RunHolder, StoreError};
use sqlx::Connection;

use crate::support::{TestLedger, fingerprint, new_attempt, new_run, run_ending};

ledger_test!(
    seq_increments_per_target_env_and_run_id_derives_from_fingerprint,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let a1 = l
            .create_run(&new_run("web/site", "dev", "abcdef0123456789", 10))
            .await
            .unwrap();
        let a2 = l
            .create_run(&new_run("web/site", "dev", "abcdef0123456789", 20))
            .await
            .unwrap();
        let b1 = l
            .create_run(&new_run("web/site", "prod", "1234567890abcdef", 30))
            .await
            .unwrap();
        let c1 = l
            .create_run(&new_run("net/vpc", "dev", "fedcba9876543210", 40))
            .await
            .unwrap();
        assert_eq!((a1.seq, a2.seq, b1.seq, c1.seq), (1, 2, 1, 1));
        assert_eq!(a1.run_id, "abcdef012345-1");
        assert_eq!(a2.run_id, "abcdef012345-2");
        assert_eq!(b1.run_id, "1234567890ab-1");
        assert_eq!(a1.status, AttemptStatus::Queued);
        assert_eq!(a1.attempts, 0);

        let stored = l.get_run(&a2.run_id).await.unwrap().unwrap();
        assert_eq!(stored, a2);
        assert_eq!(
            l.run_request_json(&a2.run_id).await.unwrap().unwrap(),
            r#"{"target":"web/site"}"#
        );
        assert!(l.get_run("nope-1").await.unwrap().is_none());
    }
);

ledger_test!(
    invalid_fingerprint_is_refused_before_anything_is_written,
    |t: TestLedger| async move {
        let mut run = new_run("web/site", "dev", "ab", 1);
        run.fingerprint = "sha256:../../etc".to_owned();
        let err = t.ledger.create_run(&run).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidFingerprint { .. }),
            "{err}"
        );
        let ok = t
            .ledger
            .create_run(&new_run("web/site", "dev", "ab", 2))
            .await
            .unwrap();
        assert_eq!(
            ok.seq, 1,
            "a refused run must not consume a sequence number"
        );
    }
);

ledger_test!(
    run_status_is_latest_event_of_latest_attempt,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let run = l
            .create_run(&new_run("web/site", "dev", "aa", 100))
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&run.run_id, 1, 110))
            .await
            .unwrap();
        let r = l.get_run(&run.run_id).await.unwrap().unwrap();
        assert_eq!(
            (r.status, r.attempts, r.updated_at_ms),
            (AttemptStatus::Running, 1, 110)
        );
        l.append_event(
            &run.run_id,
            1,
            &AttemptEvent::new(AttemptStatus::Failed, 120),
        )
        .await
        .unwrap();
        l.start_attempt(&new_attempt(&run.run_id, 2, 130))
            .await
            .unwrap();
        let r = l.get_run(&run.run_id).await.unwrap().unwrap();
        assert_eq!(
            (r.status, r.attempts, r.updated_at_ms),
            (AttemptStatus::Running, 2, 130)
        );
        l.append_event(
            &run.run_id,
            2,
            &AttemptEvent::new(AttemptStatus::Passed, 140),
        )
        .await
        .unwrap();
        let r = l.get_run(&run.run_id).await.unwrap().unwrap();
        assert_eq!(
            (r.status, r.attempts, r.updated_at_ms),
            (AttemptStatus::Passed, 2, 140)
        );
    }
);

ledger_test!(
    list_runs_filters_and_orders_newest_first,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let first = run_ending(l, "web/site", "dev", "a1", AttemptStatus::Passed, 1_000).await;
        let second = run_ending(l, "web/site", "dev", "a2", AttemptStatus::Failed, 2_000).await;
        let other_env = run_ending(l, "web/site", "prod", "a3", AttemptStatus::Passed, 3_000).await;
        let queued = l
            .create_run(&new_run("net/vpc", "dev", "a4", 4_000))
            .await
            .unwrap()
            .run_id;

        let ids = |runs: Vec<hyops_contract::RunRecord>| {
            runs.into_iter().map(|r| r.run_id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(l.list_runs(&RunFilter::default()).await.unwrap()),
            vec![
                queued.clone(),
                other_env.clone(),
                second.clone(),
                first.clone()
            ]
        );
        let dev_site = RunFilter {
            target: Some("web/site".into()),
            env: Some("dev".into()),
            ..Default::default()
        };
        assert_eq!(
            ids(l.list_runs(&dev_site).await.unwrap()),
            vec![second.clone(), first.clone()]
        );
        let passed = RunFilter {
            status: Some(AttemptStatus::Passed),
            ..Default::default()
        };
        assert_eq!(
            ids(l.list_runs(&passed).await.unwrap()),
            vec![other_env, first]
        );
        let queued_only = RunFilter {
            status: Some(AttemptStatus::Queued),
            ..Default::default()
        };
        assert_eq!(
            ids(l.list_runs(&queued_only).await.unwrap()),
            vec![queued.clone()]
        );
        let limited = RunFilter {
            limit: Some(1),
            ..Default::default()
        };
        assert_eq!(ids(l.list_runs(&limited).await.unwrap()), vec![queued]);
        // A stack's name matches its members (`STACK.MEMBER`), not a stack that shares a prefix
        // or a target with `_` where the name has another character.
        let db = run_ending(l, "shop.db", "dev", "c1", AttemptStatus::Passed, 5_000).await;
        let app = run_ending(l, "shop.app", "dev", "c2", AttemptStatus::Passed, 6_000).await;
        run_ending(l, "shops.db", "dev", "c3", AttemptStatus::Passed, 7_000).await;
        run_ending(l, "sho_.db", "dev", "c4", AttemptStatus::Passed, 8_000).await;
        let shop = RunFilter {
            target: Some("shop".into()),
            ..Default::default()
        };
        assert_eq!(ids(l.list_runs(&shop).await.unwrap()), vec![app, db]);
    }
);

ledger_test!(
    config_versions_are_stored_per_run,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let run = l
            .create_run(&new_run("web/site", "dev", "cc", 1))
            .await
            .unwrap();
        let versions = vec![
            ConfigVersionRef {
                config_name: "module:web/site".into(),
                config_version: "1.0.0".into(),
                digest: Some(fingerprint("11")),
                locator: Some("modules/web/site/module.yaml".into()),
            },
            ConfigVersionRef {
                config_name: "environment:dev".into(),
                config_version: "-".into(),
                digest: None,
                locator: None,
            },
        ];
        l.record_config_versions(&run.run_id, &versions)
            .await
            .unwrap();
        let mut expected = versions.clone();
        expected.sort_by(|a, b| a.config_name.cmp(&b.config_name));
        assert_eq!(l.config_versions(&run.run_id).await.unwrap(), expected);

        // Recording the same name twice is refused as a whole (nothing half-written).
        let err = l
            .record_config_versions(&run.run_id, &[versions[0].clone()])
            .await
            .unwrap_err();
        assert!(err.is_unique_violation(), "{err}");
        assert!(!err.is_retryable());
        assert_eq!(l.config_versions(&run.run_id).await.unwrap().len(), 2);
    }
);

ledger_test!(
    a_write_failing_midway_leaves_nothing_behind_and_the_next_write_works,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let version = ConfigVersionRef {
            config_name: "module:web/site".into(),
            config_version: "1.0.0".into(),
            digest: None,
            locator: None,
        };
        let evidence = |run_id: &str| format!("evidence/{run_id}");
        let holder = RunHolder {
            pid: std::process::id(),
            host: "host-a",
            start_first_attempt: Some(&evidence),
            defer_sync: true,
        };
        // The run row and its sequence number are written before the duplicate name fails the
        // config versions' insert, in the same transaction: all of it must be rolled back.
        let err = l
            .create_run_and_lock(
                &new_run("web/site", "dev", "e1", 1),
                &[version.clone(), version.clone()],
                holder,
            )
            .await
            .unwrap_err();
        assert!(err.is_unique_violation(), "{err}");
        let filter = RunFilter {
            target: Some("web/site".into()),
            ..RunFilter::default()
        };
        assert!(l.list_runs(&filter).await.unwrap().is_empty());
        assert!(l.lock_holder("web/site", "dev").await.unwrap().is_none());
        let expected = t.url.starts_with("sqlite:").then_some(2);
        assert_eq!(l.sqlite_synchronous().await.unwrap(), expected);

        let created = l
            .create_run_and_lock(&new_run("web/site", "dev", "e1", 2), &[version], holder)
            .await
            .unwrap();
        assert_eq!(
            created.run.seq, 1,
            "the failed run's sequence number is unused"
        );
        assert!(created.locked && created.first_attempt_started);
        assert_eq!(
            l.config_versions(&created.run.run_id).await.unwrap().len(),
            1
        );
        assert_eq!(
            l.attempts(&created.run.run_id).await.unwrap()[0].status,
            AttemptStatus::Running
        );
        // A second run of the same (target, env) finds the lock taken: no attempt starts.
        let second = l
            .create_run_and_lock(&new_run("web/site", "dev", "e2", 3), &[], holder)
            .await
            .unwrap();
        assert!(!second.locked && !second.first_attempt_started);
        assert!(l.attempts(&second.run.run_id).await.unwrap().is_empty());
    }
);

ledger_test!(
    concurrent_writers_on_two_pools_get_distinct_seqs,
    |t: TestLedger| async move {
        // Two independent pools on the same database: what two hyops processes would have.
        let other = Ledger::connect(&t.url).await.unwrap();
        let mut tasks = Vec::new();
        for (i, ledger) in [t.ledger.clone(), other.clone()]
            .into_iter()
            .cycle()
            .take(24)
            .enumerate()
        {
            tasks.push(tokio::spawn(async move {
                ledger
                    .create_run(&new_run("web/site", "dev", &format!("{i:02x}"), i as i64))
                    .await
                    .unwrap()
                    .seq
            }));
        }
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await.unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=24).collect::<Vec<u64>>());
        other.close().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let ledger = Ledger::open_sqlite(&path).await.unwrap();
    let id = run_ending(&ledger, "web/site", "dev", "dd", AttemptStatus::Passed, 5).await;
    ledger.close().await;
    // No checkpoint at close: the committed transactions stay in the WAL for the next process
    // (which saves every short command a WAL header and a database fsync).
    let wal = std::fs::metadata(dir.path().join("ledger.sqlite-wal")).unwrap();
    assert!(
        wal.len() > 0,
        "the WAL was checkpointed and emptied at close"
    );
    let reopened = Ledger::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let run = reopened.get_run(&id).await.unwrap().unwrap();
    assert_eq!(run.status, AttemptStatus::Passed);
    let next = reopened
        .create_run(&new_run("web/site", "dev", "dd", 6))
        .await
        .unwrap();
    assert_eq!(next.seq, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fold_wal_empties_a_grown_wal_into_the_database_and_leaves_a_small_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let wal = dir.path().join("ledger.sqlite-wal");
    let ledger = Ledger::open_sqlite(&path).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..8 {
        let fp = format!("{i:02x}");
        ids.push(run_ending(&ledger, "web/site", "dev", &fp, AttemptStatus::Passed, i).await);
    }
    let grown = std::fs::metadata(&wal).unwrap().len();
    assert!(grown > 0, "eight runs left nothing in the WAL");
    // Below the threshold: nothing happens.
    assert!(!ledger.fold_wal(grown + 1).await.unwrap());
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), grown);
    // At the threshold: folded and emptied.
    assert!(ledger.fold_wal(grown).await.unwrap());
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        0,
        "the WAL was not emptied"
    );
    // The next commit starts a fresh WAL; everything is still there after a reopen.
    let next = ledger
        .create_run(&new_run("web/site", "dev", "ff", 9))
        .await
        .unwrap();
    assert_eq!(next.seq, 9);
    ledger.close().await;
    let after = std::fs::metadata(&wal).unwrap().len();
    assert!(
        after > 0 && after < grown,
        "WAL {after} bytes after one commit (was {grown})"
    );
    let reopened = Ledger::open_sqlite(&path).await.unwrap();
    for id in &ids {
        let run = reopened.get_run(id).await.unwrap().unwrap();
        assert_eq!(run.status, AttemptStatus::Passed, "{id}");
    }
    assert!(reopened.get_run(&next.run_id).await.unwrap().is_some());
    reopened.close().await;
}

#[tokio::test]
async fn unknown_url_scheme_is_refused_with_help() {
    let err = Ledger::connect("mysql://u:pw@h/db").await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("unsupported ledger url scheme"), "{text}");
    assert!(
        text.contains("u:***@h"),
        "password must be redacted: {text}"
    );
    assert!(text.contains("help:"), "{text}");
}

/// Per-run ledger overhead: create_run + start_attempt + 3 events + record_outputs on SQLite with
/// synchronous=FULL. The engine's whole per-run budget is 20 ms; the ledger must stay well inside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_run_ledger_overhead_on_sqlite() {
    let t = crate::support::sqlite_ledger().await;
    let l = &t.ledger;
    let artifact = hyops_contract::ArtifactRef {
        locator: format!("artifacts/sha256/00/{}", "0".repeat(64)),
        digest: format!("sha256:{}", "0".repeat(64)),
        digest_alg: "sha256".into(),
        size_bytes: 2,
        schema_version: None,
    };
    let mut samples = Vec::new();
    for i in 0..30 {
        let start = std::time::Instant::now();
        let run = l
            .create_run(&new_run("web/site", "dev", "ee", i))
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&run.run_id, 1, i))
            .await
            .unwrap();
        l.set_attempt_pid(&run.run_id, 1, 4242).await.unwrap();
        let mut probing = AttemptEvent::new(AttemptStatus::Running, i);
        probing.message = Some("probing".into());
        l.append_event(&run.run_id, 1, &probing).await.unwrap();
        l.record_outputs(&run.run_id, 1, &artifact, "{}", i)
            .await
            .unwrap();
        l.append_event(&run.run_id, 1, &probing).await.unwrap();
        l.append_event(&run.run_id, 1, &AttemptEvent::new(AttemptStatus::Passed, i))
            .await
            .unwrap();
        samples.push(start.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    println!(
        "per-run ledger overhead on sqlite (synchronous=FULL): median {median:?}, max {worst:?}"
    );
    assert!(
        median < std::time::Duration::from_millis(100),
        "median {median:?}"
    );
}

/// A ledger opened read-only reads what was committed (the WAL included), refuses writes, and
/// refuses a schema it would have to migrate, or one written by a newer hyops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_opens_read_only_and_checks_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let missing = Ledger::open_sqlite_read_only(&path).await.unwrap_err();
    assert!(
        matches!(missing, StoreError::ReadOnlyNoLedger { .. }),
        "{missing:?}"
    );
    assert!(!path.exists(), "a read-only open created the ledger");

    let ledger = Ledger::open_sqlite(&path).await.unwrap();
    let id = run_ending(&ledger, "web/site", "dev", "ee", AttemptStatus::Passed, 5).await;
    ledger.close().await;
    let reader = Ledger::open_sqlite_read_only(&path).await.unwrap();
    let run = reader.get_run(&id).await.unwrap().unwrap();
    assert_eq!(run.status, AttemptStatus::Passed);
    let write = reader
        .create_run(&new_run("web/site", "dev", "ee", 6))
        .await
        .unwrap_err();
    assert!(format!("{write:?}").contains("readonly"), "{write:?}");
    reader.close().await;

    // Schema drift either way is refused, with what to do.
    let edit = |sql: &'static str| {
        let path = path.clone();
        async move {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    };
    edit("UPDATE _sqlx_migrations SET version = 999 WHERE version = 2").await;
    let errors = [Ledger::open_sqlite_read_only(&path).await.unwrap_err(), {
        edit("DELETE FROM _sqlx_migrations WHERE version = 999").await;
        Ledger::open_sqlite_read_only(&path).await.unwrap_err()
    }];
    let texts = errors.map(|e| e.to_string());
    assert!(
        texts[0].contains("schema version 999, written by a newer hyops"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("lacks schema version 2")
            && texts[1].contains("as a user who can write it"),
        "{}",
        texts[1]
    );
}
