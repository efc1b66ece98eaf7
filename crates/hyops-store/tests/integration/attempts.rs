//! Attempts: append-only events, ordering rules, write-once pid, database-enforced append-only.

use hyops_contract::AttemptStatus;
use hyops_store::{AttemptEvent, StoreError};

use crate::support::{TestLedger, new_attempt, new_run, raw_execute};

ledger_test!(
    events_are_appended_and_read_back_in_order,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let run = l
            .create_run(&new_run("web/site", "dev", "a0", 1))
            .await
            .unwrap();
        let started = l
            .start_attempt(&new_attempt(&run.run_id, 1, 10))
            .await
            .unwrap();
        assert_eq!(started.status, AttemptStatus::Running);
        assert_eq!(
            started.pid, None,
            "the running record is written before the child exists"
        );
        l.set_attempt_pid(&run.run_id, 1, 4321).await.unwrap();

        let mut failed = AttemptEvent::new(AttemptStatus::Failed, 30);
        failed.exit_code = Some(2);
        failed.error_code = Some("hyops::driver::exit".into());
        failed.message = Some("terraform apply exited with 2".into());
        failed.retryable = Some(true);
        failed.detail = Some(serde_json::json!({"signal": null, "tail": ["Error: x"]}));
        let mut note = AttemptEvent::new(AttemptStatus::Running, 20);
        note.message = Some("driver finished; probing".into());
        l.append_event(&run.run_id, 1, &note).await.unwrap();
        l.append_event(&run.run_id, 1, &failed).await.unwrap();

        let events = l.events(&run.run_id, 1).await.unwrap();
        let statuses: Vec<_> = events.iter().map(|e| e.event.status).collect();
        assert_eq!(
            statuses,
            [
                AttemptStatus::Running,
                AttemptStatus::Running,
                AttemptStatus::Failed
            ]
        );
        assert!(events.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(events[2].event, failed);

        let attempts = l.attempts(&run.run_id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        let a = &attempts[0];
        assert_eq!(a.status, AttemptStatus::Failed);
        assert_eq!(
            (a.pid, a.exit_code, a.retryable),
            (Some(4321), Some(2), Some(true))
        );
        assert_eq!(a.error_code.as_deref(), Some("hyops::driver::exit"));
        assert_eq!((a.created_at_ms, a.updated_at_ms), (10, 30));
        assert_eq!(a.host.as_deref(), Some("test-host"));
        assert_eq!(
            a.evidence_path.as_deref(),
            Some(format!("evidence/dev/t/{}/attempt-1", run.run_id).as_str())
        );
    }
);

ledger_test!(
    an_ended_attempt_takes_no_more_events,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let run = l
            .create_run(&new_run("web/site", "dev", "a1", 1))
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&run.run_id, 1, 2))
            .await
            .unwrap();
        l.append_event(
            &run.run_id,
            1,
            &AttemptEvent::new(AttemptStatus::ProbeFailed, 3),
        )
        .await
        .unwrap();
        let err = l
            .append_event(&run.run_id, 1, &AttemptEvent::new(AttemptStatus::Passed, 4))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::AttemptEnded {
                    status: AttemptStatus::ProbeFailed,
                    new_status: AttemptStatus::Passed,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            l.attempts(&run.run_id).await.unwrap()[0].status,
            AttemptStatus::ProbeFailed
        );
        let err = l
            .append_event(&run.run_id, 9, &AttemptEvent::new(AttemptStatus::Lost, 5))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownAttempt { attempt: 9, .. }),
            "{err}"
        );
    }
);

ledger_test!(
    attempts_start_in_order_after_the_previous_ended,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let run = l
            .create_run(&new_run("web/site", "dev", "a2", 1))
            .await
            .unwrap();
        let err = l
            .start_attempt(&new_attempt(&run.run_id, 2, 2))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::AttemptOutOfOrder { attempt: 2, .. }),
            "{err}"
        );
        l.start_attempt(&new_attempt(&run.run_id, 1, 2))
            .await
            .unwrap();
        let err = l
            .start_attempt(&new_attempt(&run.run_id, 2, 3))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("attempt 1 is still running"),
            "{err}"
        );
        l.append_event(
            &run.run_id,
            1,
            &AttemptEvent::new(AttemptStatus::TimedOut, 4),
        )
        .await
        .unwrap();
        l.start_attempt(&new_attempt(&run.run_id, 2, 5))
            .await
            .unwrap();
        let err = l
            .start_attempt(&new_attempt("missing-1", 1, 5))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UnknownRun { .. }), "{err}");
    }
);

ledger_test!(attempt_pid_is_write_once, |t: TestLedger| async move {
    let l = &t.ledger;
    let run = l
        .create_run(&new_run("web/site", "dev", "a3", 1))
        .await
        .unwrap();
    l.start_attempt(&new_attempt(&run.run_id, 1, 2))
        .await
        .unwrap();
    l.set_attempt_pid(&run.run_id, 1, 100).await.unwrap();
    l.set_attempt_pid(&run.run_id, 1, 100).await.unwrap();
    let err = l.set_attempt_pid(&run.run_id, 1, 200).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::PidAlreadyRecorded {
                recorded: 100,
                pid: 200,
                ..
            }
        ),
        "{err}"
    );
    let err = l.set_attempt_pid(&run.run_id, 7, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownAttempt { .. }), "{err}");
    // The pid's own commit skips the fsync; every later commit is fsynced again.
    let expected = t.url.starts_with("sqlite:").then_some(2);
    assert_eq!(l.sqlite_synchronous().await.unwrap(), expected);
    let recorded = l.attempts(&run.run_id).await.unwrap();
    assert_eq!(recorded[0].pid, Some(100));
});

ledger_test!(
    the_database_refuses_rewriting_history,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let run = l
            .create_run(&new_run("web/site", "dev", "a4", 1))
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&run.run_id, 1, 2))
            .await
            .unwrap();
        l.append_admin_event(&crate::prune::admin_event("adm-1"))
            .await
            .unwrap();
        for sql in [
            "UPDATE attempt_events SET status = 'passed'",
            "DELETE FROM attempt_events",
            "UPDATE admin_events SET reason = 'nothing happened'",
            "DELETE FROM admin_events",
        ] {
            let err = raw_execute(&t.url, sql).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        assert_eq!(l.events(&run.run_id, 1).await.unwrap().len(), 1);
        assert_eq!(l.admin_events().await.unwrap().len(), 1);
    }
);
