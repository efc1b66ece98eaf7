//! Prune: keeps the newest N per (target, env), the latest passed run, the latest run with readable
//! outputs and a destroy after it, and is audited.

use hyops_contract::{AdminActionType, AdminEvent, AttemptStatus};
use hyops_store::{PruneRequest, StoreError};

use crate::support::{TestLedger, new_attempt, new_run, run_ending, staged_run};

pub fn admin_event(id: &str) -> AdminEvent {
    AdminEvent {
        admin_event_id: id.into(),
        action_type: AdminActionType::Pause,
        actor: "alice".into(),
        observed_at_utc: "2025-01-01T00:00:00Z".into(),
        reason: "maintenance window".into(),
        targets: vec!["web/site@dev".into()],
        before: Some(serde_json::json!({"paused": false})),
        after: Some(serde_json::json!({"paused": true})),
        result: Some("ok".into()),
    }
}

ledger_test!(
    admin_events_round_trip_and_ids_are_unique,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let first = admin_event("adm-1");
        let mut second = admin_event("adm-2");
        second.action_type = AdminActionType::RotateSecret;
        second.targets.clear();
        second.before = None;
        l.append_admin_event(&first).await.unwrap();
        l.append_admin_event(&second).await.unwrap();
        assert_eq!(l.admin_events().await.unwrap(), vec![first.clone(), second]);
        let err = l.append_admin_event(&first).await.unwrap_err();
        assert!(err.is_unique_violation(), "{err}");
    }
);

ledger_test!(
    prune_keeps_newest_and_latest_passed_and_is_audited,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let s1 = run_ending(l, "web/site", "dev", "d1", AttemptStatus::Failed, 10).await;
        let s2 = run_ending(l, "web/site", "dev", "d2", AttemptStatus::Passed, 20).await;
        let s3 = run_ending(l, "web/site", "dev", "d3", AttemptStatus::Failed, 30).await;
        let s4 = run_ending(l, "web/site", "dev", "d4", AttemptStatus::Failed, 40).await;
        let s5 = run_ending(l, "web/site", "dev", "d5", AttemptStatus::Failed, 50).await;
        let p1 = run_ending(l, "web/site", "prod", "e1", AttemptStatus::Failed, 60).await;
        // An old run still in flight on another pair is never pruned.
        let v1 = l
            .create_run(&new_run("net/vpc", "dev", "f1", 70))
            .await
            .unwrap()
            .run_id;
        l.start_attempt(&new_attempt(&v1, 1, 71)).await.unwrap();
        let v2 = run_ending(l, "net/vpc", "dev", "f2", AttemptStatus::Failed, 80).await;
        l.record_config_versions(
            &s1,
            &[hyops_contract::ConfigVersionRef {
                config_name: "module:web/site".into(),
                config_version: "1.0.0".into(),
                digest: None,
                locator: None,
            }],
        )
        .await
        .unwrap();

        let request = PruneRequest {
            keep: 1,
            admin_event_id: "adm-prune-1".into(),
            actor: "ops".into(),
            reason: "disk".into(),
            observed_at_utc: "2025-01-02T00:00:00Z".into(),
            destroy_stage: "destroy".into(),
            gone_code: "test::gone".into(),
            dry_run: true,
        };
        // A dry run reports the same choice and writes nothing: no run gone, no admin event.
        let preview = l.prune(&request).await.unwrap();
        for run in [&s1, &s2, &s3, &s4, &s5, &p1, &v1, &v2] {
            assert!(l.get_run(run).await.unwrap().is_some(), "{run}");
            assert_eq!(l.pruned_by(run).await.unwrap(), None);
        }
        assert!(l.admin_events().await.unwrap().is_empty());
        let report = l
            .prune(&PruneRequest {
                dry_run: false,
                ..request
            })
            .await
            .unwrap();
        assert_eq!(preview, report);
        let mut deleted = report.deleted_run_ids.clone();
        deleted.sort();
        let mut expected = vec![s1.clone(), s3.clone(), s4.clone()];
        expected.sort();
        assert_eq!(deleted, expected);
        let mut protected = report.protected_run_ids.clone();
        protected.sort();
        let mut expected_protected = vec![s2.clone(), v1.clone()];
        expected_protected.sort();
        assert_eq!(protected, expected_protected);

        for gone in [&s1, &s3, &s4] {
            assert!(l.get_run(gone).await.unwrap().is_none());
            assert!(l.attempts(gone).await.unwrap().is_empty());
            assert!(l.events(gone, 1).await.unwrap().is_empty());
            assert_eq!(
                l.pruned_by(gone).await.unwrap().as_deref(),
                Some("adm-prune-1")
            );
        }
        assert!(l.config_versions(&s1).await.unwrap().is_empty());
        for kept in [&s2, &s5, &p1, &v1, &v2] {
            assert!(
                l.get_run(kept).await.unwrap().is_some(),
                "{kept} must be kept"
            );
            assert_eq!(l.pruned_by(kept).await.unwrap(), None);
        }

        let events = l.admin_events().await.unwrap();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.action_type, AdminActionType::Prune);
        assert_eq!(
            (event.actor.as_str(), event.reason.as_str()),
            ("ops", "disk")
        );
        let mut targets = event.targets.clone();
        targets.sort();
        assert_eq!(targets, expected);
        assert_eq!(event.after.as_ref().unwrap()["deleted"], 3);

        // Sequence numbers are never reused after a prune.
        let next = l
            .create_run(&new_run("web/site", "dev", "d6", 90))
            .await
            .unwrap();
        assert_eq!(next.seq, 6);

        // Pruning again with the same event id is refused and changes nothing.
        let again = l
            .prune(&PruneRequest {
                keep: 0,
                admin_event_id: "adm-prune-1".into(),
                actor: "ops".into(),
                reason: "again".into(),
                observed_at_utc: "2025-01-03T00:00:00Z".into(),
                destroy_stage: "destroy".into(),
                gone_code: "test::gone".into(),
                dry_run: false,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(again, StoreError::Query { .. }) && again.is_unique_violation(),
            "{again}"
        );
        assert!(l.get_run(&s5).await.unwrap().is_some());
    }
);

ledger_test!(
    prune_keeps_the_readable_outputs_and_the_destroy_that_ran_after_them,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let applied = staged_run(l, "run", AttemptStatus::Passed, true, true, 10).await;
        let plan1 = staged_run(l, "plan", AttemptStatus::Passed, false, true, 20).await;
        let request = |id: &str| PruneRequest {
            keep: 1,
            admin_event_id: id.into(),
            actor: "ops".into(),
            reason: "disk".into(),
            observed_at_utc: "2025-01-02T00:00:00Z".into(),
            destroy_stage: "destroy".into(),
            gone_code: "test::gone".into(),
            dry_run: false,
        };
        // A later passed plan publishes nothing: the apply's outputs stay readable.
        let plan2 = staged_run(l, "plan", AttemptStatus::Passed, false, true, 30).await;
        let report = l.prune(&request("p1")).await.unwrap();
        assert_eq!(report.deleted_run_ids, vec![plan1]);
        let readable = l.latest_passed_outputs("web/site", "dev").await.unwrap();
        assert_eq!(readable.map(|p| p.run_id), Some(applied.clone()));
        // A destroy whose tool ran (it failed) and more plans: pruning keeps the destroy, so the
        // apply's outputs never read as current again.
        let destroy = staged_run(l, "destroy", AttemptStatus::Failed, false, true, 40).await;
        staged_run(l, "plan", AttemptStatus::Failed, false, true, 50).await;
        let last = staged_run(l, "plan", AttemptStatus::Failed, false, true, 60).await;
        let report = l.prune(&request("p2")).await.unwrap();
        let passed = l
            .latest_passed_outputs("web/site", "dev")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(passed.run_id, applied);
        assert_eq!(
            l.destroyed_after("web/site", "dev", &passed, "destroy", "test::gone")
                .await
                .unwrap(),
            Some(destroy.clone())
        );
        for kept in [&applied, &plan2, &destroy, &last] {
            assert!(!report.deleted_run_ids.contains(kept), "{kept}: {report:?}");
        }
    }
);
