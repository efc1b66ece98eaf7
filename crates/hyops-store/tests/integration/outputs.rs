//! Outputs: readable only from an attempt whose latest event is `passed` (invariant 5).

use hyops_contract::{ArtifactRef, AttemptStatus};
use hyops_store::{AttemptEvent, FinishWith, NewOutputs};

use crate::support::{TestLedger, fingerprint, new_attempt, new_run, staged_run};

fn artifact(fill: char) -> ArtifactRef {
    let hex: String = std::iter::repeat_n(fill, 64).collect();
    ArtifactRef {
        locator: format!("artifacts/sha256/{}/{hex}", &hex[..2]),
        digest: format!("sha256:{hex}"),
        digest_alg: "sha256".into(),
        size_bytes: 17,
        schema_version: Some("outputs/v1".into()),
    }
}

ledger_test!(
    outputs_are_readable_only_after_pass,
    |t: TestLedger| async move {
        let l = &t.ledger;
        assert!(
            l.latest_passed_outputs("web/site", "dev")
                .await
                .unwrap()
                .is_none()
        );

        // Run 1 passes.
        let run1 = l
            .create_run(&new_run("web/site", "dev", "b1", 1))
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&run1.run_id, 1, 2))
            .await
            .unwrap();
        l.record_outputs(&run1.run_id, 1, &artifact('1'), r#"{"url":"one"}"#, 3)
            .await
            .unwrap();
        assert!(
            l.latest_passed_outputs("web/site", "dev")
                .await
                .unwrap()
                .is_none(),
            "outputs of a running attempt are not readable"
        );
        l.append_event(
            &run1.run_id,
            1,
            &AttemptEvent::new(AttemptStatus::Passed, 4),
        )
        .await
        .unwrap();

        // Run 2: attempt 1 records outputs but its probes fail; attempt 2 is still running.
        let run2 = l
            .create_run(&new_run("web/site", "dev", "b2", 10))
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&run2.run_id, 1, 11))
            .await
            .unwrap();
        l.record_outputs(&run2.run_id, 1, &artifact('2'), r#"{"url":"two"}"#, 12)
            .await
            .unwrap();
        l.append_event(
            &run2.run_id,
            1,
            &AttemptEvent::new(AttemptStatus::ProbeFailed, 13),
        )
        .await
        .unwrap();
        l.start_attempt(&new_attempt(&run2.run_id, 2, 14))
            .await
            .unwrap();
        l.record_outputs(&run2.run_id, 2, &artifact('3'), r#"{"url":"three"}"#, 15)
            .await
            .unwrap();

        let got = l
            .latest_passed_outputs("web/site", "dev")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.run_id.as_str(), got.attempt),
            (run1.run_id.as_str(), 1)
        );
        assert_eq!(got.outputs_json, r#"{"url":"one"}"#);
        assert_eq!(got.artifact, artifact('1'));
        assert_eq!(got.fingerprint, fingerprint("b1"));
        assert!(
            l.passed_outputs_of_run(&run2.run_id)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            l.last_passed_fingerprint("web/site", "dev").await.unwrap(),
            Some(fingerprint("b1"))
        );

        // Attempt 2 passes: now run 2's second outputs are the latest.
        l.append_event(
            &run2.run_id,
            2,
            &AttemptEvent::new(AttemptStatus::Passed, 16),
        )
        .await
        .unwrap();
        let got = l
            .latest_passed_outputs("web/site", "dev")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.run_id.as_str(), got.attempt),
            (run2.run_id.as_str(), 2)
        );
        assert_eq!(got.outputs_json, r#"{"url":"three"}"#);
        assert_eq!(
            l.passed_outputs_of_run(&run2.run_id)
                .await
                .unwrap()
                .unwrap()
                .attempt,
            2
        );
        assert_eq!(
            l.last_passed_fingerprint("web/site", "dev").await.unwrap(),
            Some(fingerprint("b2"))
        );
        // Other (target, env) pairs see nothing.
        assert!(
            l.latest_passed_outputs("web/site", "prod")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            l.last_passed_fingerprint("net/vpc", "dev")
                .await
                .unwrap()
                .is_none()
        );
    }
);

ledger_test!(outputs_are_write_once, |t: TestLedger| async move {
    let l = &t.ledger;
    let run = l
        .create_run(&new_run("web/site", "dev", "b3", 1))
        .await
        .unwrap();
    l.start_attempt(&new_attempt(&run.run_id, 1, 2))
        .await
        .unwrap();
    l.record_outputs(&run.run_id, 1, &artifact('4'), "{}", 3)
        .await
        .unwrap();
    let err = l
        .record_outputs(&run.run_id, 1, &artifact('5'), "{}", 4)
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
});

ledger_test!(
    finish_attempt_records_the_passed_event_and_its_outputs_together,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let run = l
            .create_run(&new_run("web/api", "dev", "c1", 1))
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&run.run_id, 1, 2))
            .await
            .unwrap();
        let a = artifact('6');
        let plan = artifact('5');
        let outputs = NewOutputs {
            artifact: &a,
            outputs_json: r#"{"url":"six"}"#,
            created_at_ms: 3,
        };
        l.finish_attempt(
            &run.run_id,
            1,
            &AttemptEvent::new(AttemptStatus::Passed, 3),
            FinishWith {
                outputs: Some(outputs),
                artifacts: std::slice::from_ref(&plan),
                release_lock: None,
                defer_sync: false,
            },
        )
        .await
        .unwrap();
        // The attempt's other artifacts are registered in the same transaction.
        assert_eq!(l.artifact(&plan.digest).await.unwrap(), Some(plan.clone()));
        assert_eq!(l.artifact(&a.digest).await.unwrap(), Some(a.clone()));
        let got = l
            .latest_passed_outputs("web/api", "dev")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.attempt, got.outputs_json.as_str()),
            (1, r#"{"url":"six"}"#)
        );
        assert_eq!(got.artifact.digest, a.digest);

        // An ended attempt refuses a second final event, and its outputs are not recorded either.
        let b = artifact('7');
        let err = l
            .finish_attempt(
                &run.run_id,
                1,
                &AttemptEvent::new(AttemptStatus::Passed, 4),
                FinishWith {
                    outputs: Some(NewOutputs {
                        artifact: &b,
                        outputs_json: r#"{"url":"seven"}"#,
                        created_at_ms: 4,
                    }),
                    artifacts: &[],
                    release_lock: None,
                    defer_sync: false,
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("attempt"), "{err}");
        let got = l
            .latest_passed_outputs("web/api", "dev")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.outputs_json, r#"{"url":"six"}"#);
    }
);

ledger_test!(
    a_pass_counts_as_destroyed_only_after_a_destroy_whose_tool_started_or_that_says_it_went_later,
    |t: TestLedger| async move {
        let l = &t.ledger;
        // A destroy before the PASS (its tool ran) does not touch what was applied after it.
        let early = staged_run(l, "destroy", AttemptStatus::Failed, false, true, 1).await;
        staged_run(l, "run", AttemptStatus::Passed, true, true, 10).await;
        let passed = l
            .latest_passed_outputs("web/site", "dev")
            .await
            .unwrap()
            .unwrap();
        let destroyed = || l.destroyed_after("web/site", "dev", &passed, "destroy", "test::gone");
        assert_eq!(destroyed().await.unwrap(), None, "{early} ran before");
        // A destroy that never started its tool (refused by the lock, skipped) removes nothing.
        staged_run(l, "destroy", AttemptStatus::Cancelled, false, false, 20).await;
        assert_eq!(destroyed().await.unwrap(), None);
        // Unless it recorded the code saying what the target made went with its producers (a
        // playbook's configuration with its hosts).
        let mut spec = new_run("web/site", "dev", "e", 25);
        spec.stage = "destroy".to_owned();
        let gone = l.create_run(&spec).await.unwrap();
        l.start_attempt(&new_attempt(&gone.run_id, 1, 26))
            .await
            .unwrap();
        let mut event = AttemptEvent::new(AttemptStatus::Skipped, 27);
        event.error_code = Some("test::gone".into());
        l.append_event(&gone.run_id, 1, &event).await.unwrap();
        assert_eq!(destroyed().await.unwrap(), Some(gone.run_id.clone()));
        // One whose tool started does, whatever its verdict; another target's does not.
        let late = staged_run(l, "destroy", AttemptStatus::Failed, false, true, 30).await;
        assert_eq!(destroyed().await.unwrap(), Some(late.clone()));
        assert_eq!(
            l.destroyed_after("web/other", "dev", &passed, "destroy", "test::gone")
                .await
                .unwrap(),
            None
        );
    }
);
